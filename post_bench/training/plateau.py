"""POST's plateau stopping rule: each prompt's transfer stops once its POST loss on held-out *public* texts stops
improving, and its best checkpoint is kept. Only public text is read, so the rule needs no private data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from post_bench.training.post_loss import post_loss


@dataclass(frozen=True)
class Plateau:
    """Stop a prompt's transfer once its POST loss on held-out *public* texts has plateaued: checked every
    ``every`` steps (and before the first), a check that does not lower the best loss by more than ``min_delta``
    (relative) counts against ``patience``; after ``patience`` such checks in a row the prompt stops and its best
    checkpoint is kept. ``steps`` stays the ceiling. Only public text is read, so the rule needs no private data."""

    every: int = 8
    patience: int = 3
    min_delta: float = 0.01

    def __post_init__(self):
        if self.every < 1 or self.patience < 1 or not 0.0 <= self.min_delta < 1.0:
            raise ValueError(f"plateau rule needs every >= 1, patience >= 1 and 0 <= min_delta < 1; got {self}")


def label_agreement(s_p: torch.Tensor, t_p: torch.Tensor, label_columns: list[int]) -> float:
    """How often the target's top label word equals the source's, on [B, V] logits: the transfer's fidelity
    on the private task's label words, read on public text (a development check that needs no private data)."""
    cols = torch.as_tensor(label_columns, device=s_p.device)
    return float((s_p[:, cols].argmax(1) == t_p[:, cols].to(s_p.device).argmax(1)).float().mean())


def hold_out(drawn, n_train: int) -> tuple:
    """(public set, validation set) of the texts drawn for a transfer: the first ``n_train`` train the prompt,
    the rest are held out for the stopping rule only."""
    return (dataclasses.replace(drawn, texts=drawn.texts[:n_train]),
            dataclasses.replace(drawn, texts=drawn.texts[n_train:]))


def label_columns(backbone, task) -> list[int]:
    """One vocabulary id per class (each label word's first token): what :func:`label_agreement` compares."""
    return [ids[0] for ids in backbone.label_token_ids(task)]


class PlateauWatch:
    """The plateau rule's bookkeeping during a transfer: validation logits cached once, one check every
    ``rule.every`` steps, each prompt's best checkpoint kept."""

    def __init__(self, rule: Plateau, source, target, source_prompts, validation, alphas, temperature, cols,
                 label_columns, batch_size):
        enc_s, enc_t = validation
        if len(enc_s) != len(enc_t) or len(enc_t) == 0:
            raise ValueError(f"public validation set: {len(enc_s)} source rows vs {len(enc_t)} target rows")
        self.rule, self.target, self.enc_t, self.alphas, self.temperature = rule, target, enc_t, alphas, temperature
        self.cols, self.label_columns, self.batch_size = cols, label_columns, batch_size
        dev = target.device
        self.s_p = [source.vocab_logits_dataset(enc_s, p, batch_size=batch_size).to(dev) for p in source_prompts]
        self.s_0 = source.vocab_logits_dataset(enc_s, None, batch_size=batch_size).to(dev)
        self.t_0 = target.vocab_logits_dataset(enc_t, None, batch_size=batch_size).to(dev)
        K = len(source_prompts)
        self.best = [(float("inf"), 0, None)] * K
        self.bad, self.stopped_at = [0] * K, [None] * K
        self.checks: list[list[list[float]]] = [[] for _ in range(K)]

    def check(self, step: int, prompts: torch.Tensor, active: list[int], final: bool = False) -> list[int]:
        """Score the active prompts when a check is due; returns the prompts still training."""
        if not final and step % self.rule.every:
            return active
        still = []
        for k in active:
            if final and self.checks[k] and self.checks[k][-1][0] == step:
                continue
            t_p = self.target.vocab_logits_dataset(self.enc_t, prompts[k].detach(), batch_size=self.batch_size)
            t_p = t_p.to(self.s_0.device)
            loss = float(post_loss(self.s_p[k], self.s_0, t_p, self.t_0, self.alphas[k], self.temperature, self.cols))
            row = [step, round(loss, 6)]
            if self.label_columns:
                row.append(round(label_agreement(self.s_p[k], t_p, self.label_columns), 6))
            self.checks[k].append(row)
            best_loss = self.best[k][0]
            if loss < best_loss * (1.0 - self.rule.min_delta) or best_loss == float("inf"):
                self.best[k], self.bad[k] = (loss, step, prompts[k].detach().clone()), 0
            else:
                self.bad[k] += 1
            if self.bad[k] >= self.rule.patience and not final:
                self.stopped_at[k] = step
            else:
                still.append(k)
        return still

    def finish(self, steps: int, prompts: torch.Tensor, active: list[int], stops: list | None) -> torch.Tensor:
        """After the last step: a final check, then every prompt's best checkpoint; ``stops``, if given, receives
        one record per prompt."""
        self.check(steps, prompts, active, final=True)
        out = self.best_prompts(prompts.detach())
        if stops is not None:
            stops.extend(self.records())
        return out

    def best_prompts(self, prompts: torch.Tensor) -> torch.Tensor:
        out = prompts.clone()
        for k, (_, _, best) in enumerate(self.best):
            if best is not None:
                out[k] = best
        return out

    def records(self) -> list[dict]:
        return [{"rule": "plateau", "every": self.rule.every, "patience": self.rule.patience,
                 "min_delta": self.rule.min_delta, "stopped_at": self.stopped_at[k], "best_step": self.best[k][1],
                 "best_val_loss": round(self.best[k][0], 6), "checks": self.checks[k]}
                for k in range(len(self.best))]
