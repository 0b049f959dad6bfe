"""POST's prompt transfer (Wang et al., ICML 2025): train a target prompt so that the target reacts to it as
the source reacts to the private source prompt, on public text only.

The loss is :func:`post_bench.training.post_loss.post_loss` at the verbalizer position. s_p (source with its
prompt), s_0 and t_0 (source and target without a prompt) do not change during training: they are computed once
for the public set; each step runs only the target with the prompt (with gradients). No private data is used
anywhere here (``alpha: auto`` is chosen before, in :mod:`post_bench.training.alpha`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from post_bench.models.backbone import Backbone, Encoded
from post_bench.models.soft_prompt import init_prompt
from post_bench.training.plateau import Plateau, PlateauWatch
from post_bench.training.post_loss import post_loss
from post_bench.training.prompt_tuning import check_finite, loss_scale


def initial_prompts(target: Backbone, source_prompts: torch.Tensor, init: str, length: int, instruction: str,
                    seed: int) -> torch.Tensor:
    """Where the K target prompts [K, P', H_t] start: the source prompts themselves (``source``, when the hidden
    sizes match; across hidden sizes ``source`` falls back to the task text), else ``init_prompt``'s ``init``."""
    if init == "source" and source_prompts.shape[2] == target.hidden_size:
        return source_prompts
    how = "text" if init == "source" else init
    one = init_prompt(target, length, init=how, text=instruction, seed=seed)
    return one.unsqueeze(0).repeat(len(source_prompts), 1, 1)


def loss_columns(loss: str, target: Backbone, task) -> list[int] | None:
    """The vocabulary ids POST's loss is restricted to: every token of every label word (``label_words``), or
    None for the paper's loss over the full vocabulary."""
    if loss == "label_words":
        return [i for ids in target.label_token_ids(task) for i in ids]
    return None


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
    _check_inputs(source, target, source_prompts, enc_source, enc_target, init, alphas, seeds, plateau, validation)
    goal = _Goal.cache(source, target, source_prompts, enc_source, enc_target, s_0, t_0, cache_batch_size,
                       alphas, temperature, columns)
    K = source_prompts.shape[0]
    prompts = init.detach().clone().float().to(target.device).requires_grad_(True)
    opt = torch.optim.Adam([prompts], lr=lr)
    epochs = _Epochs(seeds, len(enc_target), min(batch_size, len(enc_target)))
    histories: list[list[float]] = [[] for _ in range(K)]
    scale = loss_scale(target)  # fp16 autocast on CUDA: a static loss scale (training.prompt_tuning)
    watch = None if plateau is None else PlateauWatch(plateau, source, target, source_prompts, validation, alphas,
                                                      temperature, goal.cols, label_columns, cache_batch_size)
    active = list(range(K))
    for step in tqdm(range(steps), desc=desc, leave=False, mininterval=1.0):
        if watch is not None:
            active = watch.check(step, prompts, active)
            if not active:
                break
        losses = _step(target, enc_target, prompts, opt, goal, epochs.draw(active), active, scale)
        for k, loss in zip(active, losses):
            histories[k].append(loss)
    out = prompts.detach() if watch is None else watch.finish(steps, prompts, active, stops)
    return out.cpu(), histories


def _check_inputs(source, target, source_prompts, enc_source, enc_target, init, alphas, seeds, plateau,
                  validation) -> None:
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


@dataclass(frozen=True)
class _Goal:
    """What each prompt's loss is measured against: the source's logits with it (``s_p[k]``) and without a prompt
    (``s_0``), the bare target's (``t_0``), all on the target's device; its α; the temperature; the columns."""

    s_p: list[torch.Tensor]
    s_0: torch.Tensor
    t_0: torch.Tensor
    alphas: list[float]
    temperature: float
    cols: torch.Tensor | None

    @classmethod
    def cache(cls, source, target, source_prompts, enc_source, enc_target, s_0, t_0, batch_size, alphas,
              temperature, columns) -> _Goal:
        """Each source prompt's logits, the bare source and the bare target, once for the whole public set
        (``s_0`` / ``t_0``: the caller's, when it has them)."""
        dev = target.device
        s_p = [source.vocab_logits_dataset(enc_source, p, batch_size=batch_size).to(dev) for p in source_prompts]
        if s_0 is None:
            s_0 = source.vocab_logits_dataset(enc_source, None, batch_size=batch_size)
        if t_0 is None:
            t_0 = target.vocab_logits_dataset(enc_target, None, batch_size=batch_size)
        cols = None if columns is None else torch.as_tensor(sorted(set(columns)), device=dev)
        return cls(s_p, s_0.to(dev), t_0.to(dev), list(alphas), temperature, cols)

    def loss(self, k: int, rows: torch.Tensor, t_p: torch.Tensor) -> torch.Tensor:
        return post_loss(self.s_p[k][rows], self.s_0[rows], t_p, self.t_0[rows], self.alphas[k], self.temperature,
                         self.cols)


class _Epochs:
    """Each prompt's batches: shuffled epochs of the public set (no replacement within one), its own seeded rng."""

    def __init__(self, seeds, n: int, size: int):
        self.rngs = [np.random.default_rng(s) for s in seeds]
        self.n, self.size = n, size
        self.queues = [np.array([], dtype=np.int64) for _ in seeds]

    def draw(self, active: list[int]) -> list[np.ndarray]:
        picks = []
        for k in active:
            if len(self.queues[k]) < self.size:
                self.queues[k] = np.concatenate([self.queues[k], self.rngs[k].permutation(self.n)])
            picks.append(self.queues[k][:self.size])
            self.queues[k] = self.queues[k][self.size:]
        return picks


def _step(target, enc_target, prompts, opt, goal: _Goal, picks, active, scale) -> list[float]:
    """One Adam step on the active prompts' summed losses (each row of the batch with its own prompt)."""
    dev, size = target.device, len(picks[0])
    ids, mask, pos = target.collate(enc_target, np.concatenate(picks))
    owner = torch.as_tensor(np.repeat(active, size), device=dev)
    t_p = target.vocab_logits(ids, mask, pos, prompts[owner] if prompts.shape[0] > 1 else prompts[0])
    losses = [goal.loss(k, torch.as_tensor(picks[j], device=dev), t_p[j * size:(j + 1) * size])
              for j, k in enumerate(active)]
    opt.zero_grad(set_to_none=True)
    (torch.stack(losses).sum() * scale).backward()
    if scale != 1.0:
        check_finite(prompts.grad, scale)
        prompts.grad /= scale
    opt.step()
    return [float(loss.detach()) for loss in losses]
