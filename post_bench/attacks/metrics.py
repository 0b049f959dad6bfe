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
    tpr_at_fpr: dict[str, float | None]
    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    n_members: int
    n_nonmembers: int
    tpr_null_reason: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the ROC goes under ``"roc": {"fpr", "tpr"}`` as in results.json."""
        return {
            "auc": self.auc,
            "balanced_accuracy": self.balanced_accuracy,
            "tpr_at_fpr": dict(self.tpr_at_fpr),
            "roc": {"fpr": list(self.fpr), "tpr": list(self.tpr)},
            "n_members": self.n_members,
            "n_nonmembers": self.n_nonmembers,
            "tpr_null_reason": dict(self.tpr_null_reason),
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


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, n_nonmembers: int) -> tuple[dict[str, float | None], dict[str, str]]:
    """TPR at FPR ≤ each level, or ``None`` with a reason when fewer than 1/level non-members exist (there
    the only FPR ≤ level is 0, and the number would silently mean "TPR at zero false positives")."""
    values, reasons = {}, {}
    for lvl in FPR_LEVELS:
        if n_nonmembers * float(lvl) < 1.0:
            values[lvl] = None
            reasons[lvl] = f"{n_nonmembers} non-members < 1/FPR = {round(1 / float(lvl))}"
        else:
            values[lvl] = float(tpr[fpr <= float(lvl)].max())
    return values, reasons


def attack_metrics(statistics: np.ndarray, is_member: np.ndarray) -> AttackMetrics:
    """AUC, best balanced accuracy, TPR at FPR ≤ 0.1%/1%/10% (None below 1/FPR non-members) and a ROC."""
    s, y = _check(statistics, is_member)
    fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
    tpr_at, reasons = tpr_at_fpr(fpr, tpr, int((~y).sum()))
    dfpr, dtpr = _downsample(fpr, tpr)
    return AttackMetrics(
        auc=float(skm.roc_auc_score(y, s)),
        balanced_accuracy=float(np.max((tpr + 1.0 - fpr) / 2.0)),
        tpr_at_fpr=tpr_at,
        fpr=tuple(float(v) for v in dfpr),
        tpr=tuple(float(v) for v in dtpr),
        n_members=int(y.sum()),
        n_nonmembers=int((~y).sum()),
        tpr_null_reason=reasons,
    )


def auc_and_tpr(pos: np.ndarray, neg: np.ndarray, levels=FPR_LEVELS) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """AUC and TPR at FPR ≤ each level for B samples at once: ``pos`` [B, n_pos], ``neg`` [B, n_neg].

    Same values as ``attack_metrics`` (sklearn) row by row: AUC = P(pos > neg) + ½ P(pos = neg); TPR at
    FPR ≤ f = the share of members strictly above the (k+1)-th highest non-member, k = ⌊f · n_neg⌋.
    """
    pos, neg = np.atleast_2d(pos), np.sort(np.atleast_2d(neg), axis=1)
    B, n_pos, n_neg = pos.shape[0], pos.shape[1], neg.shape[1]
    ranks = np.unique(np.r_[pos.ravel(), neg.ravel()], return_inverse=True)[1]
    offset = (np.arange(B) * (ranks.max() + 1))[:, None]
    p = ranks[: pos.size].reshape(pos.shape) + offset
    q = ranks[pos.size :].reshape(neg.shape) + offset  # still sorted per row
    flat = q.ravel()
    below = np.searchsorted(flat, p.ravel(), "left").reshape(p.shape) - (np.arange(B) * n_neg)[:, None]
    upto = np.searchsorted(flat, p.ravel(), "right").reshape(p.shape) - (np.arange(B) * n_neg)[:, None]
    auc = (below + 0.5 * (upto - below)).sum(axis=1) / (n_pos * n_neg)
    tprs = {}
    for lvl in levels:
        k = int(np.floor(float(lvl) * n_neg + 1e-9))
        if k >= n_neg:
            tprs[lvl] = np.ones(B)
        else:
            tprs[lvl] = (p > q[:, n_neg - 1 - k][:, None]).sum(axis=1) / n_pos
    return auc, tprs


def bootstrap_ci(statistics: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> dict[str, Any]:
    """Percentile bootstrap CIs for the AUC and each TPR@FPR: members and non-members are resampled
    separately (their counts stay fixed). ``{"auc": [lo, hi], "tpr_at_fpr": {level: [lo, hi] | None},
    "confidence", "n_boot"}``; a TPR level that is null in ``attack_metrics`` is null here too."""
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2; got {n_boot}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    s, y = _check(statistics, is_member)
    pos, neg = s[y], s[~y]
    rng = np.random.default_rng([seed, 0xB00])
    aucs, tprs = auc_and_tpr(pos[rng.integers(pos.size, size=(n_boot, pos.size))],
                             neg[rng.integers(neg.size, size=(n_boot, neg.size))])
    q = [100 * (1 - confidence) / 2, 100 * (1 + confidence) / 2]
    null = {lvl for lvl in FPR_LEVELS if neg.size * float(lvl) < 1.0}
    return {"auc": [float(v) for v in np.percentile(aucs, q)],
            "tpr_at_fpr": {lvl: None if lvl in null else [float(v) for v in np.percentile(tprs[lvl], q)]
                           for lvl in FPR_LEVELS},
            "confidence": confidence, "n_boot": n_boot}


def _cp_lower(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson lower bound on a proportion (k successes of n) at level 1 - alpha."""
    return np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)


def _cp_upper(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper bound on a proportion (k successes of n) at level 1 - alpha."""
    return np.where(k < n, stats.beta.ppf(1.0 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)


THRESHOLD_CHOICES = ("split", "bonferroni")


@dataclasses.dataclass(frozen=True)
class EpsilonBound:
    """An empirical ε lower bound: with probability ≥ ``confidence`` the mechanism is not (ε', δ)-DP for
    any ε' < ``value`` (0.0: no evidence). ``threshold_choice`` says how the threshold was made valid."""

    value: float
    confidence: float
    delta: float
    threshold_choice: str
    threshold: float | None
    direction: str | None
    n_trials: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _bounds(tp, fp, n_pos: int, n_neg: int, alpha: float, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """log((TPR_lo − δ)/FPR_hi) and log((TNR_lo − δ)/FNR_hi) per threshold (−inf where not positive);
    each Clopper-Pearson bound one-sided at ``alpha / 2`` (a union bound over the two rates)."""
    a = alpha / 2.0
    out = []
    for num, den in ((_cp_lower(tp, n_pos, a), _cp_upper(fp, n_neg, a)),
                     (_cp_lower(n_neg - fp, n_neg, a), _cp_upper(n_pos - tp, n_pos, a))):
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(num - delta > 0, np.log(np.maximum(num - delta, 1e-300) / den), -np.inf))
    return out[0], out[1]


def _counts_at(s: np.ndarray, y: np.ndarray, t: float) -> tuple[int, int]:
    pred = s >= t
    return int((pred & y).sum()), int((pred & ~y).sum())


def epsilon_lower_bound(statistics: np.ndarray, is_member: np.ndarray, *, delta: float, confidence: float = 0.95,
                        threshold_choice: str = "split", seed: int = 0) -> EpsilonBound:
    """Empirical lower bound on ε from an attack's outcomes, valid at ``confidence``.

    Predict "member" when statistic ≥ t. For a fixed t, with one-sided Clopper-Pearson bounds,
    ``ε ≥ log((TPR_lo − δ) / FPR_hi)`` and, from the complementary events, ``ε ≥ log((TNR_lo − δ) / FNR_hi)``.
    Choosing t on the same outcomes would void the confidence level, so t is made valid by either

    - ``"split"``: a seeded, stratified random half of the outcomes picks (t, direction) and the other half
      is bounded at that single threshold (at level ``1 − confidence``); or
    - ``"bonferroni"``: every threshold and both directions on all outcomes, each at level
      ``(1 − confidence) / (2 × number of thresholds)``, and the max is taken.

    The outcomes are treated as independent Bernoulli trials given membership (exact for one trained model
    per trial; the one_run attack is the bound that needs only one training run).
    """
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1); got {delta}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    if threshold_choice not in THRESHOLD_CHOICES:
        raise ValueError(f"threshold_choice must be one of {', '.join(THRESHOLD_CHOICES)}; got {threshold_choice!r}")
    s, y = _check(statistics, is_member)
    alpha = 1.0 - confidence
    none = EpsilonBound(0.0, confidence, delta, threshold_choice, None, None, int(s.size))
    if threshold_choice == "bonferroni":
        tp, fp = _counts(s, y)
        fwd, rev = _bounds(tp, fp, int(y.sum()), int((~y).sum()), alpha / (2 * tp.size), delta)
        best = max(fwd.max(), rev.max())
        if not best > 0:
            return none
        direction = "member-if-above" if fwd.max() >= rev.max() else "nonmember-if-below"
        i = int(np.argmax(fwd if direction == "member-if-above" else rev))
        thresholds = np.r_[np.inf, np.sort(np.unique(s))[::-1]]
        return EpsilonBound(float(best), confidence, delta, "bonferroni", float(thresholds[i]), direction, int(s.size))
    rng = np.random.default_rng([seed, 0x5E1])
    pick = np.zeros(s.size, bool)
    for group in (np.flatnonzero(y), np.flatnonzero(~y)):  # stratified: half of each class picks t
        pick[rng.permutation(group)[: group.size // 2]] = True
    sa, ya, sb, yb = s[pick], y[pick], s[~pick], y[~pick]
    if ya.all() or not ya.any() or yb.all() or not yb.any():
        return none
    tp, fp = _counts(sa, ya)
    fwd, rev = _bounds(tp, fp, int(ya.sum()), int((~ya).sum()), alpha, delta)
    if not max(fwd.max(), rev.max()) > -np.inf:
        return none
    direction = "member-if-above" if fwd.max() >= rev.max() else "nonmember-if-below"
    i = int(np.argmax(fwd if direction == "member-if-above" else rev))
    t = float(np.r_[np.inf, np.sort(np.unique(sa))[::-1]][i])
    tp_b, fp_b = _counts_at(sb, yb, t)
    f, r = _bounds(np.array([tp_b]), np.array([fp_b]), int(yb.sum()), int((~yb).sum()), alpha, delta)
    value = float((f if direction == "member-if-above" else r)[0])
    return EpsilonBound(max(value, 0.0) if math.isfinite(value) else 0.0, confidence, delta, "split", t, direction,
                        int(sb.size))
