"""Prompt tuning on a frozen model: one prompt or K prompts at once, with or without DP-SGD.

K prompts (e.g. LiRA shadows) train together: each step draws a batch for every prompt from its own
member set, the batches run through the frozen model as one (each example with its own prompt), and Adam
updates the stacked [K, P, H] tensor — element-wise, so exactly K independent optimisers.

DP-SGD: Poisson sampling (rate q = batch_size / N_k), per-example gradients taken exactly from the
per-example copy of the prompt (each row of ``prompts[k_of_example]`` only touches its own example),
clipping to norm C, Gaussian noise σ·C per prompt, division by the expected batch size q·N_k.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from post_bench.models.backbone import Backbone, Encoded
from post_bench.training.gradient_canaries import CanaryTrace
from post_bench.training.settings import TuneSettings

FP16_LOSS_SCALE = 1024.0
"""Static loss scale under fp16 autocast (CUDA): the frozen fp16 layers' backward would underflow small
gradients; the scaled gradient is unscaled before clipping (DP) and the step. A non-finite gradient stops the
run with one line (use bf16 or fp32) rather than skipping steps, which would change what DP accounted for."""


def loss_scale(backbone) -> float:
    return FP16_LOSS_SCALE if getattr(backbone, "autocast", False) and \
        getattr(backbone, "autocast_dtype", None) == torch.float16 else 1.0


def check_finite(grad: torch.Tensor, scale: float) -> None:
    if scale != 1.0 and not torch.isfinite(grad).all():
        raise RuntimeError(f"fp16 gradient overflow at loss scale {scale:g}; allowed: precision bf16 or fp32")


def per_example_losses(backbone: Backbone, enc: Encoded, idx, label_ids, prompts: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each example in ``idx`` under its own prompt (``prompts`` [B, P, H] or [P, H])."""
    ids, mask, pos = backbone.collate(enc, idx)
    scores = backbone.class_scores(ids, mask, pos, label_ids, prompts)
    labels = torch.as_tensor(enc.labels[np.asarray(idx)], device=scores.device)
    return F.cross_entropy(scores, labels, reduction="none")


def per_example_grads(backbone: Backbone, enc: Encoded, idx, label_ids, prompt: torch.Tensor) -> torch.Tensor:
    """Exact per-example gradients [B, P, H] of the loss w.r.t. a shared prompt [P, H]."""
    expanded = prompt.detach().unsqueeze(0).repeat(len(idx), 1, 1).requires_grad_(True)
    losses = per_example_losses(backbone, enc, idx, label_ids, expanded)
    (grads,) = torch.autograd.grad(losses.sum(), expanded)
    return grads


def clip_rows(grads: torch.Tensor, clip: float) -> torch.Tensor:
    norms = grads.flatten(1).norm(dim=1)
    return grads * (clip / (norms + 1e-12)).clamp(max=1.0).view(-1, *([1] * (grads.dim() - 1)))


class _BatchSampler:
    """Per-prompt batches: Poisson (DP) or shuffled epochs without replacement (non-DP)."""

    def __init__(self, members: list[np.ndarray], batch_size: int, poisson: bool, rng: np.random.Generator):
        self.members, self.batch_size, self.poisson, self.rng = members, batch_size, poisson, rng
        self.queues = [np.array([], dtype=np.int64) for _ in members]

    def draw(self, k: int) -> np.ndarray:
        m = self.members[k]
        if self.poisson:
            return m[self.rng.random(len(m)) < min(1.0, self.batch_size / len(m))]
        size = min(self.batch_size, len(m))
        if len(self.queues[k]) < size:
            self.queues[k] = np.concatenate([self.queues[k], self.rng.permutation(m)])
        batch, self.queues[k] = self.queues[k][:size], self.queues[k][size:]
        return batch


def tune_prompts(backbone: Backbone, enc: Encoded, label_ids, init: torch.Tensor, settings: TuneSettings,
                 members: list[np.ndarray] | None = None, seed: int = 0, desc: str = "tune",
                 trace: CanaryTrace | None = None):
    """Train prompts [K, P, H] (or one [P, H]) on ``enc``; returns (prompts on CPU, mean loss per step).
    ``trace``: gradient canaries put into a single prompt's steps, and what an auditor sees of them recorded."""
    single = init.dim() == 2
    prompts = (init.unsqueeze(0) if single else init).detach().clone().float().to(backbone.device)
    K = prompts.shape[0]
    members = members or [np.arange(len(enc))] * K
    if len(members) != K:
        raise ValueError(f"{K} prompts but {len(members)} member sets")
    if any(len(m) == 0 for m in members):
        raise ValueError("every prompt needs at least one training example")
    if trace is not None and K != 1:
        raise ValueError(f"gradient canaries go into one prompt's training; got {K} prompts")
    prompts.requires_grad_(True)
    opt = torch.optim.Adam([prompts], lr=settings.lr)
    rng = np.random.default_rng(seed)
    noise_gen = torch.Generator(device=backbone.device).manual_seed(seed + 1)
    sampler = _BatchSampler([np.asarray(m) for m in members], settings.batch_size, settings.private, rng)
    history = []
    scale = loss_scale(backbone)
    for _ in tqdm(range(settings.steps), desc=desc, leave=False, mininterval=1.0):
        picks = [sampler.draw(k) for k in range(K)]
        idx = np.concatenate(picks).astype(np.int64)
        owner = np.concatenate([np.full(len(p), k) for k, p in enumerate(picks)]).astype(np.int64)
        denom = (np.full(K, float(settings.batch_size)) if settings.private
                 else np.array([max(1, len(p)) for p in picks], dtype=float))
        grad = torch.zeros_like(prompts)
        total = 0.0
        for start in range(0, len(idx), settings.micro_batch):
            sl = slice(start, start + settings.micro_batch)
            who = torch.as_tensor(owner[sl], device=backbone.device)
            if settings.private:
                rows = prompts.detach()[who].requires_grad_(True)
                losses = per_example_losses(backbone, enc, idx[sl], label_ids, rows)
                (g,) = torch.autograd.grad(losses.sum() * scale, rows)
                check_finite(g, scale)
                grad.index_add_(0, who, clip_rows(g / scale, settings.clip) if settings.clipping else g / scale)
            else:
                losses = per_example_losses(backbone, enc, idx[sl], label_ids, prompts[who])
                weights = torch.as_tensor(1.0 / denom[owner[sl]], device=losses.device, dtype=losses.dtype)
                (g,) = torch.autograd.grad((losses * weights).sum() * scale, prompts)
                check_finite(g, scale)
                grad += g / scale
            total += float(losses.detach().sum())
        scale_by = torch.as_tensor(denom, device=grad.device, dtype=grad.dtype).view(K, 1, 1)
        if settings.private:
            noise = torch.randn(prompts.shape, generator=noise_gen, device=backbone.device)
            noise = noise * settings.noise_multiplier * settings.clip
            grad = (grad + noise if trace is None
                    else trace.step(grad[0], noise[0], settings.clip, settings.clipping).unsqueeze(0)) / scale_by
        elif trace is not None:  # non-private: the batch mean; the canaries join the sum, unclipped, no noise
            grad = trace.step(grad[0] * scale_by[0], None, settings.clip, clipping=False).unsqueeze(0) / scale_by
        prompts.grad = grad
        opt.step()
        opt.zero_grad(set_to_none=True)
        history.append(total / max(1, len(idx)))
    out = prompts.detach().cpu()
    return (out[0] if single else out), history
