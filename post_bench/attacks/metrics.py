"""Membership-inference metrics and an empirical ε lower bound. Pure numpy/scipy/sklearn.

Convention: ``statistics`` are higher for "more likely member"; ``is_member`` is boolean (or 0/1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats
from sklearn import metrics as skm

FPR_LEVELS: tuple[str, ...] = ("0.001", "0.01", "0.1")
MAX_ROC_POINTS = 256


@dataclasses.dataclass(frozen=True)
class AttackMetrics:
    """Summary of one attack. ``fpr``/``tpr``: the ROC, at most ``MAX_ROC_POINTS`` points, log-spaced in FPR."""

    auc: float
    balanced_accuracy: float
    tpr_at_fpr: dict[str, float]
    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    n_members: int
    n_nonmembers: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the ROC goes under ``"roc": {"fpr", "tpr"}`` as in results.json."""
        return {
            "auc": self.auc,
            "balanced_accuracy": self.balanced_accuracy,
            "tpr_at_fpr": dict(self.tpr_at_fpr),
            "roc": {"fpr": list(self.fpr), "tpr": list(self.tpr)},
            "n_members": self.n_members,
            "n_nonmembers": self.n_nonmembers,
        }


def _check(statistics: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(statistics, dtype=np.float64).ravel()
    y = np.asarray(is_member).ravel()
    if s.size == 0:
        raise ValueError("statistics is empty")
    if y.shape != s.shape:
        raise ValueError(f"is_member has {y.size} entries, statistics {s.size}")
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("is_member must be boolean or 0/1")
        y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("is_member needs both members and non-members")
    if np.isnan(s).any():
        raise ValueError("statistics contain NaN")
    return s, y


def _counts(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (true positives, false positives) when predicting "member" for ``s >= t``, per distinct t."""
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    tp = np.cumsum(y)[last]
    return np.r_[0, tp], np.r_[0, last + 1 - tp]


def _downsample(fpr: np.ndarray, tpr: np.ndarray, k: int = MAX_ROC_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Keep ≤ k ROC corners: for a log-spaced FPR grid, the last (highest-TPR) point at or below each value."""
    if fpr.size <= k:
        return fpr, tpr
    lo = fpr[fpr > 0].min()
    grid = np.r_[0.0, np.geomspace(lo, 1.0, k - 2)]
    idx = np.unique(np.r_[0, np.searchsorted(fpr, grid, side="right") - 1, fpr.size - 1])
    return fpr[idx], tpr[idx]


def attack_metrics(statistics: np.ndarray, is_member: np.ndarray) -> AttackMetrics:
    """AUC, best balanced accuracy, TPR at FPR ≤ 0.1%/1%/10% and a downsampled ROC."""
    s, y = _check(statistics, is_member)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    tpr_at = {lvl: float(tpr[fpr <= float(lvl)].max()) for lvl in FPR_LEVELS}
    dfpr, dtpr = _downsample(fpr, tpr)
    return AttackMetrics(
        auc=float(skm.roc_auc_score(y, s)),
        balanced_accuracy=float(np.max((tpr + 1.0 - fpr) / 2.0)),
        tpr_at_fpr=tpr_at,
        fpr=tuple(float(v) for v in dfpr),
        tpr=tuple(float(v) for v in dtpr),
        n_members=int(y.sum()),
        n_nonmembers=int((~y).sum()),
    )


def _cp_lower(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson lower bound on a proportion (k successes of n) at level 1 - alpha."""
    return np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)


def _cp_upper(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper bound on a proportion (k successes of n) at level 1 - alpha."""
    return np.where(k < n, stats.beta.ppf(1.0 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)


def epsilon_lower_bound(
    statistics: np.ndarray, is_member: np.ndarray, *, delta: float, confidence: float = 0.95
) -> float:
    """Empirical lower bound on ε from an attack's outcomes (0.0 if no threshold gives a positive bound).

    For every threshold t (predict "member" when statistic ≥ t), with Clopper-Pearson bounds at
    ``alpha = 1 - confidence`` split evenly between the two rates,
    ``ε ≥ log((TPR_lo - δ) / FPR_hi)`` and, from the complementary events,
    ``ε ≥ log((TNR_lo - δ) / FNR_hi)``; the result is the max over thresholds and both directions.

    Taking the max over thresholds chosen on the same data makes the confidence level heuristic (as in most
    audits); for a strict guarantee pick the threshold on held-out outcomes and pass only one split here.
    """
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1); got {delta}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    s, y = _check(statistics, is_member)
    tp, fp = _counts(s, y)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    a = (1.0 - confidence) / 2.0
    best = 0.0
    for num, den in (
        (_cp_lower(tp, n_pos, a), _cp_upper(fp, n_neg, a)),  # TPR_lo, FPR_hi
        (_cp_lower(n_neg - fp, n_neg, a), _cp_upper(n_pos - tp, n_pos, a)),  # TNR_lo, FNR_hi
    ):
        ok = num - delta > 0
        if ok.any():
            best = max(best, float(np.max(np.log((num[ok] - delta) / den[ok]))))
    return best if math.isfinite(best) else 0.0
