"""Gradient canaries for white-box one-run audits of DP-SGD (Steinke, Nasr, Jagielski, NeurIPS 2023, §7; the
"Dirac canaries" of Nasr et al. 2021/2023).

A gradient canary is an example whose per-example gradient is chosen by the auditor: ``norm`` · C (C: the clip
norm) along one coordinate of the prompt, with a random sign. Each canary is in the training set independently
with probability ½; an included canary is Poisson-sampled at every step at the data's own rate q, clipped like
any example and summed with the batch before the noise is added. So a correct DP-SGD gives every canary the
guarantee it gives every example (the guarantee depends on q, σ, C and the steps only), and a canary whose
coordinate moved more than noise explains is evidence of inclusion.

What the auditor observes (:class:`CanaryTrace`), per canary, summed over the steps and multiplied by its sign:

- ``released``: the privatised gradient sum DP-SGD releases (clipped batch + canaries + noise) at the canary's
  coordinate: the white-box threat model of DP-SGD (every noisy gradient is public);
- ``known_data``: the clipped sum of the *other* examples at that coordinate, which DP's worst-case adversary
  knows (the guarantee holds for an adversary who knows every other example and whether it was sampled).

``released − known_data`` is then the canary's own contribution plus the noise: the strongest score, which tests
the noise, the clipping, the sampling rate and the accountant together. ``released`` alone tests the same mechanism
with the data's gradients as extra noise. Pure torch/numpy; :func:`tune_prompts` calls :meth:`CanaryTrace.step`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from post_bench.data.canaries import inclusion_mask

if TYPE_CHECKING:
    import torch

CANARY_NORM = 10.0
"""A canary's gradient norm in units of the clip norm: a correct mechanism clips it to C; one that does not clip
lets ten times as much through (a missing clip is then as visible as a missing noise)."""

VIEWS = ("known-data", "released")
TRACE_FILE = "gradient_canaries.safetensors"  # what a tune unit with gradient canaries writes beside its prompt


@dataclasses.dataclass(frozen=True)
class GradientCanaries:
    """``count`` Dirac canaries on distinct coordinates of a flattened prompt (``coords``), with signs ±1 and
    the inclusion bits (each ½, independent), all drawn from ``seed`` before training."""

    coords: np.ndarray
    signs: np.ndarray
    included: np.ndarray
    norm: float = CANARY_NORM

    def __post_init__(self):
        n = len(self.coords)
        if n == 0 or len(self.signs) != n or len(self.included) != n:
            raise ValueError(f"need as many signs and inclusion bits as coordinates (> 0); got {n}, "
                             f"{len(self.signs)}, {len(self.included)}")
        if len(np.unique(self.coords)) != n:
            raise ValueError("gradient canaries need distinct coordinates")
        if not self.norm > 0:
            raise ValueError(f"norm must be positive; got {self.norm}")

    def __len__(self) -> int:
        return len(self.coords)


def make_gradient_canaries(count: int, size: int, *, seed: int, norm: float = CANARY_NORM) -> GradientCanaries:
    """``count`` canaries on distinct coordinates of a prompt of ``size`` numbers (``P·H``)."""
    if not 0 < count <= size:
        raise ValueError(f"need 0 < count <= {size} (one coordinate per canary); got {count}")
    rng = np.random.default_rng([seed, 0x6C4])
    coords = np.sort(rng.choice(size, size=count, replace=False))
    signs = rng.choice(np.array([-1.0, 1.0]), size=count)
    included = inclusion_mask(count, seed)  # as the text canaries'
    return GradientCanaries(coords.astype(np.int64), signs, included, float(norm))


@dataclasses.dataclass(frozen=True)
class CanaryObservations:
    """Per canary, summed over the steps and multiplied by its sign: the ``released`` gradient sum and the other
    examples' ``known_data`` part of it; ``draws``: how often each included canary was sampled (the run's secret
    randomness, kept for diagnosis only: no score may read it)."""

    released: np.ndarray
    known_data: np.ndarray
    draws: np.ndarray
    steps: int

    def scores(self, view: str) -> np.ndarray:
        """Higher = more likely included: ``known-data`` (released − known_data) or ``released``."""
        if view == "known-data":
            return self.released - self.known_data
        if view == "released":
            return self.released.copy()
        raise ValueError(f"unknown view {view!r}; allowed: {', '.join(VIEWS)}")


class CanaryTrace:
    """Puts the included canaries into a single prompt's DP-SGD steps and records what the auditor sees."""

    def __init__(self, canaries: GradientCanaries, sample_rate: float, seed: int):
        if not 0 < sample_rate <= 1:
            raise ValueError(f"sample rate must be in (0, 1]; got {sample_rate}")
        self.canaries, self.sample_rate = canaries, float(sample_rate)
        self.rng = np.random.default_rng([seed, 0x6C5])  # its own stream: the data's batches do not change
        m = len(canaries)
        self._released, self._known, self._draws, self._steps = np.zeros(m), np.zeros(m), np.zeros(m, np.int64), 0

    def step(self, grad_sum: torch.Tensor, noise: torch.Tensor | None, clip: float, clipping: bool) -> torch.Tensor:
        """``grad_sum``: the batch's (clipped) gradient sum, shape of one prompt; ``noise``: what DP-SGD adds to
        it (None: non-private). Returns the released sum: batch + sampled included canaries (+ noise)."""
        import torch  # noqa: F811  deferred: the attacks registry imports VIEWS without torch

        c = self.canaries
        idx = torch.as_tensor(c.coords, device=grad_sum.device)
        flat = grad_sum.reshape(-1)
        sampled = c.included & (self.rng.random(len(c)) < self.sample_rate)
        size = clip * (min(c.norm, 1.0) if clipping else c.norm)  # a Dirac of norm norm·C, clipped to C
        canary = torch.zeros_like(flat)
        canary[idx] = torch.as_tensor(np.where(sampled, c.signs * size, 0.0), dtype=flat.dtype, device=flat.device)
        released = flat + canary + (noise.reshape(-1) if noise is not None else 0.0)
        self._known += flat[idx].double().cpu().numpy() * c.signs
        self._released += released[idx].double().cpu().numpy() * c.signs
        self._draws += sampled
        self._steps += 1
        return released.view_as(grad_sum)

    def observations(self) -> CanaryObservations:
        return CanaryObservations(self._released.copy(), self._known.copy(), self._draws.copy(), self._steps)

    def save(self, path) -> None:
        """The canaries and what was observed of them, as safetensors (read back by :func:`load_trace`)."""
        seen, c = self.observations(), self.canaries
        save_file({"released": seen.released, "known_data": seen.known_data, "draws": seen.draws,
                   "coords": c.coords, "signs": c.signs, "included": c.included.astype(np.uint8)}, str(path),
                  metadata={"steps": str(seen.steps), "norm": repr(c.norm), "sample_rate": repr(self.sample_rate)})


def load_trace(path) -> tuple[GradientCanaries, CanaryObservations, float]:
    """(canaries, observations, sample rate) from a file :meth:`CanaryTrace.save` wrote."""
    with safe_open(str(path), framework="numpy") as f:
        meta, t = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    canaries = GradientCanaries(t["coords"], t["signs"], t["included"].astype(bool), float(meta["norm"]))
    seen = CanaryObservations(t["released"], t["known_data"], t["draws"], int(meta["steps"]))
    return canaries, seen, float(meta["sample_rate"])
