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
    if isinstance(b, Mapping):
        seeds = sorted(set(a) & set(b), key=str)
        unpaired = tuple(sorted(set(a) ^ set(b), key=str))
        diffs = [float(a[s]) - float(b[s]) + offset for s in seeds]
    else:
        if not (isinstance(b, (int, float)) and math.isfinite(b)):
            raise ValueError(f"b: expected a mapping or a finite number; got {b!r}")
        seeds, unpaired = sorted(a, key=str), ()
        diffs = [float(a[s]) - float(b) + offset for s in seeds]
    if not seeds:
        raise ValueError("no seed has both values")
    return PairedDifference(t_interval(diffs, confidence), tuple(seeds), unpaired)


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
