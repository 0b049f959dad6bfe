"""RMIA (Zarifzadeh et al., "Low-Cost High-Power Membership Inference Attacks", ICML 2024). Pure numpy.

For a target model θ and example x with true-label probability ``p(x|θ)``:
``ratio(x) = p(x|θ) / p(x)`` with ``p(x)`` the reference models' mean probability (online: all references;
offline: out references only, scaled as ``((1 + a) p_out(x) + (1 - a)) / 2`` to stand in for the in
half). The statistic is the fraction of population samples z with ``ratio(x) / ratio(z) ≥ γ``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from post_bench.attacks.base import ATTACKS, MembershipAttack

GAMMA = 1.0
OFFLINE_A = 0.3


def _prob(scores: np.ndarray) -> np.ndarray:
    """True-label probability from the logit-scaled confidence ``log p − log(1 − p)``."""
    return special.expit(np.asarray(scores, dtype=np.float64))


def rmia_scores(target: np.ndarray, refs: np.ndarray, refs_in: np.ndarray, variant: str = "online",
                gamma: float = GAMMA, a: float = OFFLINE_A, z: np.ndarray | None = None) -> np.ndarray:
    """RMIA statistic ``[N]`` from logit-scaled confidences (``target`` [N], ``refs`` [K, N]).

    ``z``: indices of the population samples to compare against (default: every example except x itself).
    """
    x = np.asarray(target, dtype=np.float64)
    r = np.asarray(refs, dtype=np.float64)
    m = np.asarray(refs_in).astype(bool)
    if x.ndim != 1 or r.ndim != 2 or r.shape[1] != x.size or m.shape != r.shape or r.shape[0] == 0:
        raise ValueError(f"need target [N], refs [K, N] and refs_in [K, N]; got {x.shape}, {r.shape}, {m.shape}")
    if variant not in RMIA.variants:
        raise ValueError(f"unknown RMIA variant {variant!r}; allowed: {', '.join(RMIA.variants)}")
    if not gamma > 0:
        raise ValueError(f"gamma must be > 0; got {gamma}")
    if not 0 <= a <= 1:
        raise ValueError(f"a must lie in [0, 1]; got {a}")
    p_ref = _prob(r)
    if variant == "online":
        p_x = p_ref.mean(axis=0)
    else:
        out = ~m
        p_out = np.where(out, p_ref, 0).sum(0) / np.maximum(out.sum(0), 1)
        p_out = np.where(out.sum(0) > 0, p_out, p_ref[out].mean() if out.any() else 0.5)
        p_x = 0.5 * ((1 + a) * p_out + (1 - a))
    ratio = _prob(x) / np.maximum(p_x, 1e-300)
    if z is None:  # all others: count z ≠ x with ratio(z) ≤ ratio(x) / γ, by sorting
        sorted_ratio = np.sort(ratio)
        count = np.searchsorted(sorted_ratio, ratio / gamma, side="right")
        count = count - (ratio <= ratio / gamma)  # x itself is not a z
        return count / max(x.size - 1, 1)
    zr = np.sort(ratio[np.asarray(z)])
    return np.searchsorted(zr, ratio / gamma, side="right") / zr.size


@ATTACKS.register("rmia")
class RMIA(MembershipAttack):
    description = ("robust membership inference (Zarifzadeh et al. 2024): likelihood ratio of the target's and the "
                   "reference prompts' probabilities, compared pairwise with population samples; strong with 1-2 "
                   "references; variants online, offline")
    variants = ("online", "offline")
    default_variants = ("online",)
    audit_variants = ("online", "offline")
    in_reference_variants = frozenset({"online"})  # p(x) over all references, IN ones included

    def statistic(self, target, refs, refs_in, variant):
        return rmia_scores(target, refs, refs_in, variant)
