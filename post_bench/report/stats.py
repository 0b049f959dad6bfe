"""Confidence intervals over seeds and over test examples, and the verdict of a paired difference.

Pure numpy/scipy; no model code. What an interval covers:

- ``t_interval``: a Student-t interval for the mean over seeds. A seed changes the data split (so the test
  examples) and the training noise, so it covers the run-to-run variation of a method's accuracy: the
  expected accuracy over random seeds of this suite, not a single trained prompt.
- ``wilson_interval``: with one seed there is no spread over seeds to estimate. The Wilson score interval on
  the ``n_test`` predictions covers only the sampling of the test examples for that one trained prompt;
  it says nothing about training noise, so the report marks it as such and claims never use it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
HOLDS, DOES_NOT_HOLD, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
T_SEEDS, WILSON, NONE = "t over seeds", "Wilson over test examples", "none"


@dataclasses.dataclass(frozen=True)
class Interval:
    """A mean and its two-sided ``confidence`` interval; ``low``/``high`` are None when unavailable."""

    mean: float
    low: float | None
    high: float | None
    n: int  # values (seeds) the mean is over
    kind: str  # T_SEEDS | WILSON | NONE
    reason: str = ""  # why there is no interval

    @property
    def available(self) -> bool:
        return self.low is not None and self.high is not None


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: {confidence!r} is not in (0, 1)")


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean of ``values`` and its Student-t interval (df = n − 1, standard error with ddof = 1).

    One value gives no interval (kind NONE). Identical values give the degenerate interval [mean, mean].
    """
    _check_confidence(confidence)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values: expected a non-empty 1-D sequence; got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("values: contain NaN or infinity")
    mean = float(v.mean())
    if v.size < 2:
        return Interval(mean, None, None, 1, NONE, "one seed: no spread over seeds to estimate")
    sem = float(stats.sem(v))
    if sem == 0.0:
        return Interval(mean, mean, mean, int(v.size), T_SEEDS)
    low, high = stats.t.interval(confidence, df=v.size - 1, loc=mean, scale=sem)
    return Interval(mean, float(low), float(high), int(v.size), T_SEEDS)


def wilson_interval(accuracy: float, n_test: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval of one accuracy measured on ``n_test`` examples (k = round(accuracy · n_test))."""
    _check_confidence(confidence)
    if isinstance(n_test, bool) or not isinstance(n_test, (int, np.integer)) or n_test < 1:
        raise ValueError(f"n_test: {n_test!r} is not a positive integer")
    if not (isinstance(accuracy, (int, float)) and 0.0 <= accuracy <= 1.0):
        raise ValueError(f"accuracy: {accuracy!r} is not in [0, 1]")
    k = int(round(accuracy * n_test))
    ci = stats.binomtest(k, int(n_test)).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(accuracy), float(ci.low), float(ci.high), 1, WILSON)


def cell_interval(accuracies: Sequence[float], n_test: int | None = None,
                  confidence: float = CONFIDENCE) -> Interval:
    """The interval shown for a (dataset, method, ε) accuracy cell: t over seeds when there are ≥ 2 seeds,
    clipped to [0, 1] (an accuracy cannot leave it; with 2–3 seeds the t-interval often would); with one
    seed a Wilson interval on its ``n_test`` predictions when ``n_test`` is known, else none."""
    if len(accuracies) == 1 and n_test:
        return wilson_interval(float(accuracies[0]), int(n_test), confidence)
    iv = t_interval(accuracies, confidence)
    if not iv.available:
        return iv
    return dataclasses.replace(iv, low=max(iv.low, 0.0), high=min(iv.high, 1.0))


@dataclasses.dataclass(frozen=True)
class PairedDifference:
    """Per-seed differences a − b + offset over the seeds both sides have, and their interval."""

    interval: Interval
    seeds: tuple  # the paired seeds
    unpaired: tuple  # seeds only one side has (a failed or missing run)


def paired_difference(a: Mapping, b: Mapping | float, offset: float = 0.0,
                      confidence: float = CONFIDENCE) -> PairedDifference:
    """Pair ``a`` and ``b`` ({seed: value}; ``b`` may be a constant) by seed; d_s = a_s − b_s + offset.

    Raises ValueError when no seed is in both.
    """
    if not isinstance(a, Mapping):
        raise ValueError(f"a: expected a mapping seed -> value; got {type(a).__name__}")
    if not isinstance(b, Mapping) and not (isinstance(b, (int, float)) and math.isfinite(b)):
        raise ValueError(f"b: expected a mapping or a finite number; got {b!r}")
    if not (set(a) & set(b) if isinstance(b, Mapping) else a):
        raise ValueError("no seed has both values")
    return weighted_paired_difference(((1.0, a), (-1.0, b)), offset, confidence)


def verdict(interval: Interval) -> tuple[str, str]:
    """(verdict, reason) for the claim "difference > 0": holds when the whole CI is above 0, does not hold
    when it is below 0, inconclusive when it touches or crosses 0, when there is no CI, or when the CI has
    zero width (all paired differences equal: the t-interval then has no spread to judge by)."""
    if not interval.available:
        return INCONCLUSIVE, interval.reason or "no confidence interval"
    if interval.low == interval.high:
        return INCONCLUSIVE, "all paired differences are equal: zero-width CI, no spread to judge by"
    if interval.low > 0.0:
        return HOLDS, ""
    if interval.high < 0.0:
        return DOES_NOT_HOLD, ""
    return INCONCLUSIVE, f"the {CONFIDENCE:.0%} CI of the difference includes 0"


def combine(verdicts: Sequence[str]) -> str:
    """A conjunction of checks: does not hold if any does not, holds if all hold, else inconclusive."""
    if not verdicts:
        raise ValueError("verdicts: empty")
    unknown = set(verdicts) - {HOLDS, DOES_NOT_HOLD, INCONCLUSIVE}
    if unknown:
        raise ValueError(f"verdicts: unknown {sorted(unknown)}; allowed: {HOLDS}, {DOES_NOT_HOLD}, {INCONCLUSIVE}")
    if DOES_NOT_HOLD in verdicts:
        return DOES_NOT_HOLD
    return HOLDS if all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def weighted_paired_difference(sides: Sequence[tuple[float, Mapping | float]], offset: float = 0.0,
                               confidence: float = CONFIDENCE) -> PairedDifference:
    """d_s = Σ_i w_i · x_i[s] + offset over the seeds every mapping side has; ``sides`` = ((w_i, x_i), ...) with
    each x_i a {seed: value} mapping or a constant, the first a mapping. ``paired_difference(a, b, offset)`` is
    ``((1, a), (−1, b))``; "POST recovers more than half the gap", d = post − ½ direct − ½ zero-shot, is
    ``((1, post), (−0.5, direct), (−0.5, zero_shot))``.

    Raises ValueError when the first side is not a mapping, a weight or constant is not finite, or no seed is in
    every mapping."""
    sides = list(sides)
    if not sides or not isinstance(sides[0][1], Mapping):
        raise ValueError("sides: expected ((weight, {seed: value}), ...) with a mapping first")
    for i, (w, x) in enumerate(sides):
        if not (isinstance(w, (int, float)) and math.isfinite(w)):
            raise ValueError(f"sides[{i}]: weight {w!r} is not a finite number")
        if not isinstance(x, Mapping) and not (isinstance(x, (int, float)) and math.isfinite(x)):
            raise ValueError(f"sides[{i}]: expected a mapping or a finite number; got {x!r}")
    maps = [x for _, x in sides if isinstance(x, Mapping)]
    common = set(maps[0]).intersection(*maps[1:])
    seeds = sorted(common, key=str)
    unpaired = tuple(sorted(set().union(*maps) - common, key=str))
    if not seeds:
        raise ValueError("no seed has every value")
    diffs = []
    for s in seeds:
        d = 0.0
        for w, x in sides:
            d += w * float(x[s] if isinstance(x, Mapping) else x)
        diffs.append(d + offset)
    return PairedDifference(t_interval(diffs, confidence), tuple(seeds), unpaired)


@dataclasses.dataclass(frozen=True)
class Ratio:
    """A ratio of means ā / b̄ and its Fieller confidence interval; ``low``/``high`` are None when the set is
    unbounded (the denominator's mean is not significantly non-zero at this confidence)."""

    estimate: float | None  # None when b̄ = 0
    low: float | None
    high: float | None
    n: int
    reason: str = ""  # why the interval is unbounded

    @property
    def bounded(self) -> bool:
        return self.low is not None and self.high is not None


def fieller_ratio(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Ratio:
    """Ratio of the means of paired values (a_s, b_s) with Fieller's confidence interval.

    With ā, b̄ the means, v_aa, v_bb, v_ab the (co)variances of the means (sample (co)variance, ddof = 1, over
    n) and t the two-sided ``confidence`` quantile of Student-t with n − 1 df, the set of ρ with
    (ā − ρ b̄)² ≤ t² (v_aa − 2ρ v_ab + ρ² v_bb) is the interval between the roots of
    (b̄² − t² v_bb) ρ² − 2 (ā b̄ − t² v_ab) ρ + (ā² − t² v_aa) = 0 when b̄² > t² v_bb (b̄ significantly
    non-zero); otherwise it is unbounded (a union of two rays or the whole line) and ``low``/``high`` are None.
    ρ is inside the interval exactly when the t-interval of d_s = a_s − ρ b_s includes 0, so "lower end > ρ₀"
    is the one-sided check mean(a − ρ₀ b) > 0 with a positive denominator.

    Raises ValueError on fewer than 2 pairs, unequal lengths, non-finite values or a bad ``confidence``."""
    _check_confidence(confidence)
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"a, b: expected two 1-D sequences of the same length; got shapes {x.shape}, {y.shape}")
    if x.size < 2:
        raise ValueError(f"a, b: {x.size} pair(s); Fieller's interval needs at least 2")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("a, b: contain NaN or infinity")
    n = int(x.size)
    ma, mb = float(x.mean()), float(y.mean())
    cov = np.cov(np.vstack([x, y]), ddof=1) / n
    vaa, vbb, vab = float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])
    t2 = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) ** 2
    estimate = ma / mb if mb != 0.0 else None
    lead = mb * mb - t2 * vbb
    if lead <= 0.0:
        return Ratio(estimate, None, None, n, f"unbounded: the denominator's mean {mb:+.4g} is not significantly "
                                              f"non-zero (its {confidence:.0%} t-interval includes 0)")
    half = ma * mb - t2 * vab
    disc = max(half * half - lead * (ma * ma - t2 * vaa), 0.0)  # ≥ 0 when lead > 0, up to rounding
    root = math.sqrt(disc)
    return Ratio(estimate, (half - root) / lead, (half + root) / lead, n)
