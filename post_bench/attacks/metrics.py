"""Membership-inference metrics, bootstrap CIs and an empirical ε lower bound. Pure numpy/scipy.

Convention: ``statistics`` are higher for "more likely member"; ``is_member`` is boolean (or 0/1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import special

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


def check_outcomes(statistics: np.ndarray, is_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat float statistics and bool membership, or a ValueError (empty, shapes, non-0/1, one class, NaN)."""
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
    s, y = check_outcomes(statistics, is_member)
    tp, fp = _counts(s, y)  # the full ROC (sklearn's roc_curve without drop_intermediate), in counts
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    tpr, fpr = tp / n_pos, fp / n_neg
    tpr_at, reasons = tpr_at_fpr(fpr, tpr, n_neg)
    dfpr, dtpr = _downsample(fpr, tpr)
    return AttackMetrics(
        auc=float(np.sum(np.diff(fp) * (tp[1:] + tp[:-1])) / (2.0 * n_pos * n_neg)),  # trapezoid: ties count ½
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

    Same values as ``attack_metrics`` row by row: AUC = P(pos > neg) + ½ P(pos = neg); TPR at
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
    """Percentile bootstrap CIs for the AUC and each TPR@FPR of independent outcomes (each its own example:
    one attacked prompt's candidates, canaries): members and non-members are resampled separately (their
    counts stay fixed). Outcomes that share examples (several prompts attacked on the same examples) need
    ``example_bootstrap_ci`` instead. ``{"auc": [lo, hi], "tpr_at_fpr": {level: [lo, hi] | None},
    "confidence", "n_boot", "method", "unit", "n_units"}``; a TPR level that is null in ``attack_metrics`` is
    null here too."""
    _check_ci_args(n_boot, confidence, "percentile")
    s, y = check_outcomes(statistics, is_member)
    pos, neg = s[y], s[~y]
    rng = np.random.default_rng([seed, 0xB00])
    aucs, tprs = auc_and_tpr(pos[rng.integers(pos.size, size=(n_boot, pos.size))],
                             neg[rng.integers(neg.size, size=(n_boot, neg.size))])
    null = {lvl for lvl in FPR_LEVELS if neg.size * float(lvl) < 1.0}
    return {"auc": _percentile(aucs, confidence, "linear"),
            "tpr_at_fpr": {lvl: None if lvl in null else _percentile(tprs[lvl], confidence, "linear")
                           for lvl in FPR_LEVELS},
            "confidence": confidence, "n_boot": n_boot, "method": _METHOD["percentile"],
            "unit": "outcomes (each an independent example; members and non-members resampled separately)",
            "n_units": int(s.size)}


@dataclasses.dataclass(frozen=True)
class ExampleOutcomes:
    """Pooled attack outcomes summarised per example, so that the AUC and TPR@FPR of the outcomes under any
    example weighting (bootstrap multiplicities, a jackknife's dropped example) are a few matrix products.

    Built from ``statistics``/``is_member`` [M, N] (column n: the M outcomes on example n). With integer
    weights w [B, N], row b of ``metrics(w)`` equals ``attack_metrics`` of the outcomes in which every outcome on
    example n appears w[b, n] times:

    - AUC = wᵀ P w / ((w · n_pos)(w · n_neg)), ``pair[a, c]`` = Σ over members i of example a and non-members j of
      example c of [s_i > s_j] + ½ [s_i = s_j];
    - TPR at FPR ≤ f = the member weight strictly above u / (w · n_pos), u the highest distinct non-member value
      whose non-member weight at or above it exceeds f · (w · n_neg) (TPR 1 if none does).

    Cost: building O(M N log(M N) + M N²) time, O(M N²) memory; each weighting O(N² + N · K_f), K_f ≈ 2 f M N
    the top distinct non-member values a level scans (all of them if a weighting needs more).
    """

    n: int
    n_pos: np.ndarray  # [N] members among the M outcomes of each example
    n_neg: np.ndarray  # [N]
    pair: np.ndarray  # [N, N]
    below: np.ndarray  # [K + 1, N] non-members of each example under the j-th distinct non-member value
    member_lo: np.ndarray  # distinct non-member values under each member
    member_ex: np.ndarray  # each member's example
    _tables: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_arrays(cls, statistics: np.ndarray, is_member: np.ndarray) -> ExampleOutcomes:
        s2 = np.asarray(statistics, dtype=np.float64)
        y2 = np.asarray(is_member)
        if s2.ndim != 2 or y2.shape != s2.shape:
            raise ValueError(f"need statistics and is_member of one shape [M, N]; got {s2.shape}, {y2.shape}")
        s, y = check_outcomes(s2.T, y2.T)  # pooled example by example: outcome l is on example l // M
        n = s2.shape[1]
        ex = np.repeat(np.arange(n), s2.shape[0])
        n_pos = np.bincount(ex[y], minlength=n).astype(np.float64)
        n_neg = np.bincount(ex[~y], minlength=n).astype(np.float64)
        values = np.unique(s[~y])  # ascending distinct non-member statistics
        k = values.size
        lo = np.searchsorted(values, s[y], side="left")  # per member: distinct non-member values below it
        hi = np.searchsorted(values, s[y], side="right")  # ... at or below it
        tally = np.bincount(np.searchsorted(values, s[~y]) * n + ex[~y] + n, minlength=(k + 1) * n)
        below = np.cumsum(tally.reshape(k + 1, n), axis=0)  # int: a float cumsum down axis 0 is 3x slower
        mine = ex[y]  # the members' examples, in order
        starts = np.flatnonzero(np.r_[True, mine[1:] != mine[:-1]])
        # per member at v: non-members of each example < v (row lo) and <= v (row hi); ties count half
        pair = np.zeros((n, n))
        pair[mine[starts]] = np.add.reduceat(below[lo], starts, axis=0)
        if (hi > lo).any():
            pair[mine[starts]] = 0.5 * (pair[mine[starts]] + np.add.reduceat(below[hi], starts, axis=0))
        return cls(n, n_pos, n_neg, pair, below, lo, mine)

    def _top(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """For the ``count`` highest distinct non-member values u_0 > u_1 > ...: [N, count] non-members of each
        example at or above u_j, and members strictly above u_j."""
        k = self.below.shape[0] - 1
        count = min(count, k)
        if count not in self._tables:
            neg_from = (self.n_neg - self.below[k - count:k][::-1]).T
            top = self.member_lo > k - count  # a member with lo distinct values under it is above u_j for j >= k - lo
            cols = (k - self.member_lo[top]) * self.n + self.member_ex[top]
            tally = np.bincount(cols, minlength=count * self.n).reshape(count, self.n)
            self._tables[count] = (neg_from.astype(np.float64), np.cumsum(tally, axis=0).T.astype(np.float64))
        return self._tables[count]

    def metrics(self, weights: np.ndarray, levels=FPR_LEVELS) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(auc [B], {level: tpr [B]})`` under example weights [B, N] ≥ 0; NaN for a weighting that leaves
        no member or no non-member."""
        return self.auc_se(weights)[0], self.tpr_at_fpr(weights, levels)

    def tpr_at_fpr(self, weights: np.ndarray, levels=FPR_LEVELS) -> dict[str, np.ndarray]:
        """``{level: tpr [B]}`` under example weights [B, N] ≥ 0 (NaN as in ``metrics``)."""
        w = self._weights(weights)
        w_pos, w_neg = w @ self.n_pos, w @ self.n_neg
        bad = (w_pos <= 0) | (w_neg <= 0)
        tprs = {}
        k_all = self.below.shape[0] - 1
        for lvl in levels:
            allowed = float(lvl) * w_neg * (1 + 1e-12) + 1e-9
            k, first = min(k_all, int(2 * float(lvl) * k_all) + 16), None
            while first is None:  # scan the top k distinct non-member values; all of them if that is not enough
                neg_from, pos_above = self._top(k)
                over = (w @ neg_from) > allowed[:, None]
                if over.any(axis=1).all() or k == k_all:
                    first = np.where(over.any(axis=1), over.argmax(axis=1), -1)
                k = k_all
            hit = np.einsum("bn,nb->b", w, pos_above[:, np.maximum(first, 0)])
            with np.errstate(divide="ignore", invalid="ignore"):
                tprs[lvl] = np.where(bad, np.nan, np.where(first < 0, w_pos, hit) / w_pos)
        return tprs

    def auc_se(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(auc [B], se [B])`` under example weights [B, N]: the AUC and its clustered DeLong standard error
        (Obuchowski 1997), examples as the independent units: with X_a (Y_a) the summed placements of example
        a's members (non-members), Z_a = (X_a − m_a θ)/m + (Y_a − n_a θ)/n and var = N/(N − 1) Σ_a w_a Z_a²,
        N = Σ_a w_a. NaN where a weighting leaves no member, no non-member or fewer than 2 examples."""
        w = self._weights(weights)
        m, q, units = w @ self.n_pos, w @ self.n_neg, w.sum(axis=1)
        x = w @ self.pair.T  # [B, N]: members of example a against every weighted non-member
        y = w @ self.pair  # [B, N]: every weighted member against the non-members of example c
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = (x * w).sum(axis=1) / (m * q)
            z = (x / q[:, None] - self.n_pos * auc[:, None]) / m[:, None] + \
                (y / m[:, None] - self.n_neg * auc[:, None]) / q[:, None]
            var = units / (units - 1) * (w * z**2).sum(axis=1)
        bad = (m <= 0) | (q <= 0) | (units < 2)
        return np.where(bad, np.nan, auc), np.where(bad, np.nan, np.sqrt(np.maximum(var, 0.0)))

    def _weights(self, weights: np.ndarray) -> np.ndarray:
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if w.ndim != 2 or w.shape[1] != self.n:
            raise ValueError(f"weights must have shape [B, {self.n}]; got {w.shape}")
        if not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError("weights must be finite and >= 0")
        return w


INTERVALS = ("studentized", "percentile")
_METHOD = {
    "studentized": ("symmetric studentized bootstrap (bootstrap-t: each replicate's AUC standardised by its "
                    "clustered DeLong SE) for the AUC; percentile bootstrap for TPR"),
    "percentile": "percentile bootstrap",
}


QUANTILE = "weibull"
"""Bootstrap quantiles as the order statistic at p (B + 1) (numpy's "weibull"; Davison & Hinkley 1997, §5.2).
numpy's default "linear" takes the one at p (B − 1) + 1: at 200 replicates its 95% quantile of |t*| is about
the 94.5% one, which added ~0.5 points to the null exclusion rate of the 95% AUC intervals."""


def _percentile(boot: np.ndarray, confidence: float, method: str = QUANTILE) -> list[float] | None:
    b = boot[np.isfinite(boot)]
    if b.size == 0:
        return None
    return [float(v) for v in np.quantile(b, [(1 - confidence) / 2, (1 + confidence) / 2], method=method)]


def _studentized(boot: np.ndarray, boot_se: np.ndarray, estimate: float, se: float,
                 confidence: float) -> list[float] | None:
    """Symmetric bootstrap-t interval θ ± q · se, q the ``confidence`` quantile of |t*| = |θ* − θ| / se*
    (Hall 1988: two-sided coverage error O(n⁻²); its one tail quantile rests on twice the replicates of each
    of an equal-tailed interval's, so less Monte Carlo noise at a few hundred replicates), clipped to [0, 1].
    The percentile interval where the SE is 0 (a perfect or constant attack) in the data or in more than half
    of the replicates."""
    ok = np.isfinite(boot) & np.isfinite(boot_se) & (boot_se > 0)
    if not (np.isfinite(se) and se > 0) or ok.sum() < max(2, boot.size // 2):
        return _percentile(boot, confidence)
    q = float(np.quantile(np.abs(boot[ok] - estimate) / boot_se[ok], confidence, method=QUANTILE))
    return [float(np.clip(estimate - q * se, 0.0, 1.0)), float(np.clip(estimate + q * se, 0.0, 1.0))]


def _check_ci_args(n_boot: int, confidence: float, interval: str) -> None:
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2; got {n_boot}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}; got {interval!r}")


def example_bootstrap_ci(statistics: np.ndarray, is_member: np.ndarray, *, n_boot: int = 1000,
                         confidence: float = 0.95, seed: int = 0, interval: str = "studentized",
                         unit: str | None = None) -> dict[str, Any]:
    """Cluster (block) bootstrap CIs for the pooled AUC and TPR@FPR of M targets scored on the same N examples.

    ``statistics``/``is_member``: [M, N], column n = the M outcomes on example n. The outcomes of one example
    are not independent (they share the example's difficulty and, for an attack in turn, its reference scores),
    so the resampled unit is the example: each replicate draws N examples with replacement and takes all M
    outcomes of each drawn example together (multiplicities [B, N] through ``ExampleOutcomes``: exact, and the
    replicate's member and non-member counts are not fixed). Assumes the examples are independent draws; a
    statistic that depends on other examples (a pooled σ, RMIA's population comparison) is held fixed, not
    recomputed. M = 1 (one prompt's outcomes) is the ordinary bootstrap over its examples.

    ``interval``: ``"studentized"`` (default) or ``"percentile"`` for the AUC; TPR levels always get the
    percentile interval. Under a null model with the privacy suite's layout (1 + K prompts, 128 examples; see
    tests/test_membership_null.py) the percentile interval over examples was slightly too narrow: its 95% CI
    excluded AUC 0.5 in 6.2-6.4% of runs on average over the registered attacks (K = 2, 8, 16; numpy's
    "linear" quantiles, 400 replicates), up to 8.2% for one. The symmetric bootstrap-t, each replicate
    standardised by its own clustered DeLong SE (``ExampleOutcomes.auc_se``), with ``QUANTILE`` order
    statistics: 4.8%, 5.1%, 5.4% at K = 2, 8, 16 (3000 runs each, 200 replicates; single attacks 4.5-5.8%).
    Pooled outcomes resampled as independent (``bootstrap_ci``, the old pooled CI): up to 16%.

    Returns ``{"auc": [lo, hi], "tpr_at_fpr": {level: [lo, hi] | None}, "confidence", "n_boot", "method",
    "unit", "n_units"}``; a TPR level that is null in ``attack_metrics`` of the pooled outcomes is null here.
    """
    _check_ci_args(n_boot, confidence, interval)
    out = ExampleOutcomes.from_arrays(statistics, is_member)
    n = out.n
    if n < 2:
        raise ValueError(f"need at least 2 examples to resample; got {n}")
    rng = np.random.default_rng([seed, 0xB0C])
    draws = rng.integers(n, size=(n_boot, n))
    mult = np.bincount((draws + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n).reshape(n_boot, n)
    levels = [lvl for lvl in FPR_LEVELS if out.n_neg.sum() * float(lvl) >= 1.0]  # the others are null
    aucs, auc_se = out.auc_se(mult)
    tprs = out.tpr_at_fpr(mult, levels)
    if interval == "studentized":
        est, se = (float(v[0]) for v in out.auc_se(np.ones((1, n))))
        auc_ci = _studentized(aucs, auc_se, est, se, confidence)
    else:
        auc_ci = _percentile(aucs, confidence)
    m = np.asarray(statistics).shape[0]
    return {"auc": auc_ci,
            "tpr_at_fpr": {lvl: _percentile(tprs[lvl], confidence) if lvl in levels else None for lvl in FPR_LEVELS},
            "confidence": confidence, "n_boot": n_boot, "method": _METHOD[interval],
            "unit": unit or f"examples (the {m} targets' outcomes on one example resampled together)",
            "n_units": n}


def _cp_lower(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson lower bound on a proportion (k successes of n) at level 1 - alpha."""
    return np.where(k > 0, special.betaincinv(np.maximum(k, 1), n - k + 1, alpha), 0.0)  # = beta.ppf, less overhead


def _cp_upper(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper bound on a proportion (k successes of n) at level 1 - alpha."""
    return np.where(k < n, special.betaincinv(k + 1, np.maximum(n - k, 1), 1.0 - alpha), 1.0)


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


def _log_ratio(num: np.ndarray, den: np.ndarray, delta: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(num - delta > 0, np.log(np.maximum(num - delta, 1e-300) / den), -np.inf)


def _bounds(tp, fp, n_pos: int, n_neg: int, alpha: float, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """log((TPR_lo − δ)/FPR_hi) and log((TNR_lo − δ)/FNR_hi) per threshold (−inf where not positive);
    each Clopper-Pearson bound one-sided at ``alpha / 2`` (a union bound over the two rates)."""
    a = alpha / 2.0
    return (_log_ratio(_cp_lower(tp, n_pos, a), _cp_upper(fp, n_neg, a), delta),
            _log_ratio(_cp_lower(n_neg - fp, n_neg, a), _cp_upper(n_pos - tp, n_pos, a), delta))


def _best_threshold(tp, fp, n_pos: int, n_neg: int, alpha: float, delta: float) -> tuple[float, str, int]:
    """(bound, direction, threshold index) maximising ``_bounds``, evaluating only the thresholds that can win
    (same argmax, half the Clopper-Pearson inversions): "member-if-above" improves with TP at a fixed FP, so
    the last threshold of each run of equal FP; "nonmember-if-below" the first of each run of equal TP."""
    a = alpha / 2.0
    f = np.flatnonzero(np.r_[fp[1:] != fp[:-1], True])
    r = np.flatnonzero(np.r_[True, tp[1:] != tp[:-1]])
    fwd = _log_ratio(_cp_lower(tp[f], n_pos, a), _cp_upper(fp[f], n_neg, a), delta)
    rev = _log_ratio(_cp_lower(n_neg - fp[r], n_neg, a), _cp_upper(n_pos - tp[r], n_pos, a), delta)
    if fwd.max() >= rev.max():
        return float(fwd.max()), "member-if-above", int(f[np.argmax(fwd)])
    return float(rev.max()), "nonmember-if-below", int(r[np.argmax(rev)])


def _counts_at(s: np.ndarray, y: np.ndarray, t: float) -> tuple[int, int]:
    pred = s >= t
    return int((pred & y).sum()), int((pred & ~y).sum())


def epsilon_lower_bound(statistics: np.ndarray, is_member: np.ndarray, *, delta: float, confidence: float = 0.95,
                        threshold_choice: str = "split", seed: int = 0, groups=None) -> EpsilonBound:
    """Empirical lower bound on ε from an attack's outcomes, valid at ``confidence``.

    Predict "member" when statistic ≥ t. For a fixed t, with one-sided Clopper-Pearson bounds,
    ``ε ≥ log((TPR_lo − δ) / FPR_hi)`` and, from the complementary events, ``ε ≥ log((TNR_lo − δ) / FNR_hi)``.
    Choosing t on the same outcomes would void the confidence level, so t is made valid by either

    - ``"split"``: a seeded, stratified random half of the outcomes picks (t, direction) and the other half
      is bounded at that single threshold (at level ``1 − confidence``); with ``groups`` (one label per
      outcome, e.g. its example) a random half of the groups picks and the other groups' outcomes are
      bounded, so no group informs both the choice and the bound; or
    - ``"bonferroni"``: every threshold and both directions on all outcomes, each at level
      ``(1 − confidence) / (2 × number of thresholds)``, and the max is taken.

    The outcomes are treated as independent Bernoulli trials given membership (exact for one trained model
    per trial; the one_run attack is the bound that needs only one training run). ``groups`` only decides the
    split; it does not make dependent outcomes within a group independent.
    """
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1); got {delta}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    if threshold_choice not in THRESHOLD_CHOICES:
        raise ValueError(f"threshold_choice must be one of {', '.join(THRESHOLD_CHOICES)}; got {threshold_choice!r}")
    s, y = check_outcomes(statistics, is_member)
    if groups is not None:
        groups = np.asarray(groups).ravel()
        if groups.shape != s.shape:
            raise ValueError(f"groups has {groups.size} entries, statistics {s.size}")
    none = EpsilonBound(0.0, confidence, delta, threshold_choice, None, None, int(s.size))
    if threshold_choice == "bonferroni":
        return _bonferroni_bound(s, y, confidence, delta) or none
    return _split_bound(s, y, _split_pick(s, y, groups, seed), confidence, delta) or none


def _bonferroni_bound(s: np.ndarray, y: np.ndarray, confidence: float, delta: float) -> EpsilonBound | None:
    """The best bound over every threshold and both directions, each at ``(1 − confidence) / (2 × thresholds)``;
    None when none is positive."""
    tp, fp = _counts(s, y)
    fwd, rev = _bounds(tp, fp, int(y.sum()), int((~y).sum()), (1.0 - confidence) / (2 * tp.size), delta)
    best = max(fwd.max(), rev.max())
    if not best > 0:
        return None
    direction = "member-if-above" if fwd.max() >= rev.max() else "nonmember-if-below"
    i = int(np.argmax(fwd if direction == "member-if-above" else rev))
    thresholds = np.r_[np.inf, np.sort(np.unique(s))[::-1]]
    return EpsilonBound(float(best), confidence, delta, "bonferroni", float(thresholds[i]), direction, int(s.size))


def _split_pick(s: np.ndarray, y: np.ndarray, groups: np.ndarray | None, seed: int) -> np.ndarray:
    """The outcomes that pick the threshold (True) for ``"split"``: a seeded random half of each class, or with
    ``groups`` every outcome of a seeded random half of the groups."""
    rng = np.random.default_rng([seed, 0x5E1])
    if groups is not None:
        labels = np.unique(groups)
        return np.isin(groups, rng.permutation(labels)[: labels.size // 2])
    pick = np.zeros(s.size, bool)
    for group in (np.flatnonzero(y), np.flatnonzero(~y)):  # stratified: half of each class picks t
        pick[rng.permutation(group)[: group.size // 2]] = True
    return pick


def _split_bound(s: np.ndarray, y: np.ndarray, pick: np.ndarray, confidence: float,
                 delta: float) -> EpsilonBound | None:
    """(threshold, direction) chosen on the outcomes ``pick`` and the bound at that one threshold on the others;
    None when a half lacks a class or no threshold bounds anything."""
    alpha = 1.0 - confidence
    sa, ya, sb, yb = s[pick], y[pick], s[~pick], y[~pick]
    if ya.all() or not ya.any() or yb.all() or not yb.any():
        return None
    tp, fp = _counts(sa, ya)
    best, direction, i = _best_threshold(tp, fp, int(ya.sum()), int((~ya).sum()), alpha, delta)
    if not best > -np.inf:
        return None
    t = float(np.r_[np.inf, np.sort(np.unique(sa))[::-1]][i])
    tp_b, fp_b = _counts_at(sb, yb, t)
    f, r = _bounds(np.array([tp_b]), np.array([fp_b]), int(yb.sum()), int((~yb).sum()), alpha, delta)
    value = float((f if direction == "member-if-above" else r)[0])
    return EpsilonBound(max(value, 0.0) if math.isfinite(value) else 0.0, confidence, delta, "split", t, direction,
                        int(sb.size))
