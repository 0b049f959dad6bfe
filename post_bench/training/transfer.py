"""POST's prompt transfer (Wang et al., ICML 2025): train a target prompt so that the target reacts to it as
the source reacts to the private source prompt, on public text only.

Loss at the verbalizer position (logits over the shared vocabulary), P from the source, Q from the target:
  α·T²·KL(σ((s_p − s_0)/T) ‖ σ((t_p − t_0)/T)) + (1 − α)·T²·KL(σ(s_p/T) ‖ σ(t_p/T)),
s_p / s_0: source with / without its prompt, t_p / t_0: target with / without the prompt being trained.
s_p, s_0 and t_0 do not change during training: they are computed once for the public set; each step
runs only the target with the prompt (with gradients). No private data is used anywhere here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from post_bench.models.backbone import Backbone, Encoded
from post_bench.training.prompt_tuning import check_finite, loss_scale


def _kl(p_logits: torch.Tensor, q_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T²·KL(softmax(p/T) ‖ softmax(q/T)), mean over the batch."""
    log_p = F.log_softmax(p_logits / temperature, dim=-1)
    log_q = F.log_softmax(q_logits / temperature, dim=-1)
    return temperature**2 * F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")


def post_loss(s_p: torch.Tensor, s_0: torch.Tensor, t_p: torch.Tensor, t_0: torch.Tensor,
              alpha: float = 0.5, temperature: float = 2.0, columns: torch.Tensor | None = None) -> torch.Tensor:
    """POST's loss on [B, V] logits: α·(change the prompt causes) + (1 − α)·(prompted output) distillation.

    ``columns``: restrict both distributions to these vocabulary ids (the ``label_words`` ablation); ``None``
    is the paper's loss over the full vocabulary.
    """
    s_p, s_0, t_p, t_0 = (x.float() if columns is None else x.float()[:, columns] for x in (s_p, s_0, t_p, t_0))
    return alpha * _kl(s_p - s_0, t_p - t_0, temperature) + (1 - alpha) * _kl(s_p, t_p, temperature)


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


def auto_alpha(zero_shot: float, compressed: float, chance: float) -> float:
    """The paper's Eq. 6: α = min((ZS − RG) / (C − RG), 1), clipped to [0, 1].

    ZS: the target's zero-shot accuracy, C: the source prompt's accuracy on the source, RG: random guessing.
    A source prompt no better than chance (C ≤ RG) gives α = 1: only the change it causes is transferred.
    """
    for name, value in (("zero_shot", zero_shot), ("compressed", compressed), ("chance", chance)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} accuracy must be in [0, 1], got {value}")
    if compressed <= chance:
        return 1.0
    return float(min(max((zero_shot - chance) / (compressed - chance), 0.0), 1.0))


def transfer_prompt(source: Backbone, target: Backbone, source_prompt: torch.Tensor, enc_source: Encoded,
                    enc_target: Encoded, *, steps: int, batch_size: int, lr: float = 1e-3, alpha: float = 0.5,
                    temperature: float = 2.0, init: torch.Tensor, seed: int = 0, cache_batch_size: int = 32,
                    desc: str = "transfer", s_0: torch.Tensor | None = None, t_0: torch.Tensor | None = None,
                    columns: list[int] | None = None, **stopping) -> tuple[torch.Tensor, list[float]]:
    """Train a target prompt ([P', H_t], starting at ``init``) with POST's loss; returns (prompt on CPU, loss per step).

    ``enc_source`` / ``enc_target``: the same public texts encoded for each backbone (row i = text i).
    ``s_0`` / ``t_0``: the prompt-free logits, if the caller already has them (they do not depend on p_s).
    ``columns``: vocabulary ids the loss is restricted to (ablation); ``None``: the full vocabulary (paper).
    """
    prompts, histories = transfer_prompts(source, target, source_prompt.unsqueeze(0), enc_source, enc_target,
                                          steps=steps, batch_size=batch_size, lr=lr, alphas=[alpha],
                                          temperature=temperature, init=init.unsqueeze(0), seeds=[seed],
                                          cache_batch_size=cache_batch_size, desc=desc, s_0=s_0, t_0=t_0,
                                          columns=columns, **stopping)
    return prompts[0], histories[0]


def transfer_prompts(source: Backbone, target: Backbone, source_prompts: torch.Tensor, enc_source: Encoded,
                     enc_target: Encoded, *, steps: int, batch_size: int, lr: float = 1e-3, alphas=(0.5,),
                     temperature: float = 2.0, init: torch.Tensor, seeds=(0,), cache_batch_size: int = 32,
                     desc: str = "transfer", s_0: torch.Tensor | None = None, t_0: torch.Tensor | None = None,
                     columns: list[int] | None = None, plateau: Plateau | None = None,
                     validation: tuple[Encoded, Encoded] | None = None, label_columns: list[int] | None = None,
                     stops: list | None = None) -> tuple[torch.Tensor, list[list[float]]]:
    """K source prompts [K, P, H_s] transferred at once, exactly as K prompts tune together in prompt_tuning:
    each step draws every prompt's own batch (its own seeded shuffle, as ``transfer_prompt`` with that seed
    would), runs the K batches through the target as one (each row with its prompt), and sums the K losses;
    Adam on the stacked [K, P', H_t] tensor is element-wise, so this is K independent transfers.

    ``alphas`` / ``seeds``: one per prompt. Returns (prompts [K, P', H_t] on CPU, K loss histories).

    ``plateau`` with ``validation`` (the same held-out public texts encoded for source and target): each prompt
    stops by the ``Plateau`` rule and its best checkpoint is returned; a stopped prompt leaves the batch, so the
    others run exactly as they would alone. ``label_columns`` (one vocabulary id per class): the checks also
    record ``label_agreement``. ``stops``, if given, receives one record per prompt (steps run, best step, checks).
    """
    if source.vocab_size != target.vocab_size:
        raise ValueError(f"POST needs source and target to share the vocabulary: source {source.name!r} has "
                         f"{source.vocab_size} tokens, target {target.name!r} {target.vocab_size}")
    if len(enc_source) != len(enc_target) or len(enc_target) == 0:
        raise ValueError(f"public set: {len(enc_source)} source rows vs {len(enc_target)} target rows (need equal, > 0)")
    K = source_prompts.shape[0]
    if source_prompts.dim() != 3 or init.dim() != 3 or init.shape[0] != K or init.shape[2] != target.hidden_size:
        raise ValueError(f"need source prompts [K, P, H_s] and inits [K, P', {target.hidden_size}]; got "
                         f"{tuple(source_prompts.shape)} and {tuple(init.shape)}")
    if len(alphas) != K or len(seeds) != K:
        raise ValueError(f"{K} prompts but {len(alphas)} alphas and {len(seeds)} seeds")
    if (plateau is None) != (validation is None):
        raise ValueError("the plateau rule needs a public validation set, and a validation set needs the rule")
    dev = target.device
    # cache: each source prompt's logits, the bare source and the bare target, once for the whole public set
    s_p = [source.vocab_logits_dataset(enc_source, p, batch_size=cache_batch_size).to(dev) for p in source_prompts]
    if s_0 is None:
        s_0 = source.vocab_logits_dataset(enc_source, None, batch_size=cache_batch_size)
    if t_0 is None:
        t_0 = target.vocab_logits_dataset(enc_target, None, batch_size=cache_batch_size)
    s_0, t_0 = s_0.to(dev), t_0.to(dev)

    cols = None if columns is None else torch.as_tensor(sorted(set(columns)), device=dev)
    prompts = init.detach().clone().float().to(dev).requires_grad_(True)
    opt = torch.optim.Adam([prompts], lr=lr)
    rngs = [np.random.default_rng(s) for s in seeds]
    n, size = len(enc_target), min(batch_size, len(enc_target))
    queues = [np.array([], dtype=np.int64) for _ in range(K)]
    histories: list[list[float]] = [[] for _ in range(K)]
    scale = loss_scale(target)  # fp16 autocast on CUDA: a static loss scale (training.prompt_tuning)
    watch = None if plateau is None else _Watch(plateau, source, target, source_prompts, validation, alphas,
                                                temperature, cols, label_columns, cache_batch_size)
    active = list(range(K))
    for step in tqdm(range(steps), desc=desc, leave=False, mininterval=1.0):
        if watch is not None:
            active = watch.check(step, prompts, active)
            if not active:
                break
        picks = []
        for k in active:
            if len(queues[k]) < size:  # shuffled epochs, no replacement within one
                queues[k] = np.concatenate([queues[k], rngs[k].permutation(n)])
            picks.append(queues[k][:size])
            queues[k] = queues[k][size:]
        idx = np.concatenate(picks)
        ids, mask, pos = target.collate(enc_target, idx)
        owner = torch.as_tensor(np.repeat(active, size), device=dev)
        t_p = target.vocab_logits(ids, mask, pos, prompts[owner] if K > 1 else prompts[0])
        losses = []
        for j, k in enumerate(active):
            rows = torch.as_tensor(picks[j], device=dev)
            losses.append(post_loss(s_p[k][rows], s_0[rows], t_p[j * size:(j + 1) * size], t_0[rows], alphas[k],
                                    temperature, cols))
        opt.zero_grad(set_to_none=True)
        (torch.stack(losses).sum() * scale).backward()
        if scale != 1.0:
            check_finite(prompts.grad, scale)
            prompts.grad /= scale
        opt.step()
        for j, k in enumerate(active):
            histories[k].append(float(losses[j].detach()))
    out = prompts.detach()
    if watch is not None:
        watch.check(steps, prompts, active, final=True)
        out = watch.best_prompts(out)
        if stops is not None:
            stops.extend(watch.records())
    return out.cpu(), histories


class _Watch:
    """The plateau rule's bookkeeping: validation logits cached once, one check every ``rule.every`` steps."""

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
