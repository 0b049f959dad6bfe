"""LiRA membership inference maths (Carlini et al., "Membership Inference Attacks From First Principles", 2022).

Pure numpy/scipy. Conventions:

- A *score* is the logit-scaled confidence ``log p_y - log sum_{y' != y} p_y'`` of one model on one example.
- ``lira_scores`` returns a *statistic* per example: higher means "more likely a member".
- Gaussians are fitted with the sample mean and the ddof=0 standard deviation (the reference code's
  ``np.std``); the reference code uses the median for the mean, which we do not (the mean is the Gaussian MLE).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special

Variant = Literal["online", "offline", "fixed_variance", "offline_fixed_variance"]
VARIANTS: tuple[str, ...] = ("online", "offline", "fixed_variance", "offline_fixed_variance")

MIN_STD = 1e-6
"""Floor on every fitted standard deviation (identical shadow scores would give σ = 0)."""
MIN_SHADOWS_FOR_STD = 2
"""An example needs this many in (or out) shadows for its own σ; otherwise the pooled σ is used."""


def logit_scaled_from_logits(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``z_y - logsumexp_{y' != y} z_y'`` for logits ``[..., C]`` and integer labels ``[...]``.

    Equal to ``log p_y - log sum_{y' != y} p_y'`` under ``p = softmax(z)`` (the softmax normaliser cancels),
    and computed without forming probabilities, so it stays finite when ``p_y`` rounds to 1.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim < 1 or z.shape[-1] < 2:
        raise ValueError(f"logits must have shape [..., C] with C >= 2; got shape {z.shape}")
    if y.shape != z.shape[:-1]:
        raise ValueError(
            f"labels shape {y.shape} must equal logits shape without the class axis {z.shape[:-1]}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integers; got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= z.shape[-1]):
        raise ValueError(f"labels must lie in [0, {z.shape[-1] - 1}]")
    if np.isnan(z).any():
        raise ValueError("logits contain NaN")
    z_y = np.take_along_axis(z, y[..., None], axis=-1)[..., 0]
    others = z.copy()
    np.put_along_axis(others, y[..., None], -np.inf, axis=-1)
    return z_y - special.logsumexp(others, axis=-1)


def logit_scaled_confidence(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``log p_y - log sum_{y' != y} p_y'`` for probabilities ``[..., C]`` (need not sum to 1).

    Works in log space (sums the other classes directly rather than ``1 - p_y``); zero probabilities are
    clipped to the smallest positive float, so the result is always finite.
    """
    p = np.asarray(probs, dtype=np.float64)
    if np.isnan(p).any() or (p < 0).any():
        raise ValueError("probs must be non-negative and not NaN")
    return logit_scaled_from_logits(np.log(np.maximum(p, np.finfo(np.float64).tiny)), labels)


def _masked_mean_std(
    scores: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-column mean/std over rows where ``mask``; counts; pooled within-column σ (global fallback)."""
    count = mask.sum(axis=0)
    safe = np.maximum(count, 1)
    mean = np.where(mask, scores, 0.0).sum(axis=0) / safe
    sq = np.where(mask, (scores - mean) ** 2, 0.0).sum(axis=0)
    std = np.sqrt(sq / safe)
    enough = count >= MIN_SHADOWS_FOR_STD
    if enough.any():  # pooled within-example σ: sqrt(Σ squared deviations / Σ counts)
        pooled = float(np.sqrt(sq[enough].sum() / count[enough].sum()))
    elif count.sum() > 0:  # too few per example: the spread of all scores in this group
        pooled = float(np.std(scores[mask]))
    else:
        pooled = np.nan
    return mean, std, count, pooled


def _norm_logpdf(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """scipy's ``norm.logpdf(x, mu, sd)`` without its per-call argument handling (LiRA runs it M times a row)."""
    return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


def _fit(
    scores: np.ndarray, mask: np.ndarray, fixed_variance: bool, group: str
) -> tuple[np.ndarray, np.ndarray]:
    mean, std, count, pooled = _masked_mean_std(scores, mask)
    if count.sum() == 0:
        raise ValueError(f"no {group} shadow scores at all: check shadow_in_mask")
    mean = np.where(count > 0, mean, scores[mask].mean())  # no shadow for an example: global mean
    std = np.full_like(std, pooled) if fixed_variance else np.where(count >= MIN_SHADOWS_FOR_STD, std, pooled)
    return mean, np.maximum(std, MIN_STD)


def lira_scores(
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_in_mask: np.ndarray,
    variant: Variant = "online",
) -> np.ndarray:
    """The LiRA statistic for each of N examples against one target model; higher = more likely member.

    Args:
      target_scores: ``[N]`` logit-scaled confidences of the target model.
      shadow_scores: ``[K, N]`` the same for K shadow models.
      shadow_in_mask: ``[K, N]`` bool, whether example n was in shadow k's training set.
      variant:
        - ``"online"``: ``log N(x; μ_in, σ_in) - log N(x; μ_out, σ_out)``, per-example Gaussians.
        - ``"offline"``: one-sided test against the out Gaussian only, ``-log P(Z >= x)`` with
          ``Z ~ N(μ_out, σ_out)`` (``-norm.logsf``). This is a monotone transform of the paper's
          ``Λ = 1 - P(Z > x)`` (so same ROC), without saturating at 1 in the tail.
        - ``"fixed_variance"``: online, but σ_in and σ_out are single pooled values for all examples.
        - ``"offline_fixed_variance"``: offline with a pooled σ_out.

    Pooled σ = ``sqrt(Σ_n Σ_k (s_kn - μ_n)^2 / Σ_n K_n)`` over examples with at least
    ``MIN_SHADOWS_FOR_STD`` shadows in the group (the within-example spread; the reference code's
    ``np.std(dat_in)`` also mixes in the spread of the means across examples). An example with fewer
    shadows than that in a group uses the pooled σ; with none, the group's global mean. Every σ is floored
    at ``MIN_STD``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown LiRA variant {variant!r}; allowed: {', '.join(VARIANTS)}")
    x = np.asarray(target_scores, dtype=np.float64)
    s = np.asarray(shadow_scores, dtype=np.float64)
    m = np.asarray(shadow_in_mask)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"target_scores must have shape [N] with N >= 1; got {x.shape}")
    if s.ndim != 2 or s.shape[1] != x.shape[0] or s.shape[0] == 0:
        raise ValueError(f"shadow_scores must have shape [K, N={x.shape[0]}] with K >= 1; got {s.shape}")
    if m.shape != s.shape:
        raise ValueError(f"shadow_in_mask shape {m.shape} must equal shadow_scores shape {s.shape}")
    if m.dtype != bool:
        if not np.isin(m, (0, 1)).all():
            raise ValueError("shadow_in_mask must be boolean (or 0/1)")
        m = m.astype(bool)
    if not (np.isfinite(x).all() and np.isfinite(s).all()):
        raise ValueError("target_scores and shadow_scores must be finite")

    fixed = variant in ("fixed_variance", "offline_fixed_variance")
    mu_out, sd_out = _fit(s, ~m, fixed, "out")
    if variant.startswith("offline"):
        return -special.log_ndtr((mu_out - x) / sd_out)  # -log P(Z >= x), Z ~ N(mu_out, sd_out): scipy's norm.logsf
    mu_in, sd_in = _fit(s, m, fixed, "in")
    return _norm_logpdf(x, mu_in, sd_in) - _norm_logpdf(x, mu_out, sd_out)
