"""Claims decided per test example: pair rows within each seed, then combine the seeds.

Pure numpy/scipy; no model code. Within one seed every method is evaluated on the same test rows, so a
claim such as "method A − method B > 0" has a per-row contrast d_i = Σ_k w_k · x_k[i] + offset (``align``
builds it from {row_id: value} mappings). Pairing the rows removes the row-difficulty variation that both
methods share, which is what makes a 400-row seed informative. A seed changes the data split (so the rows)
and the training noise, so the seeds are combined on top of the rows.

The estimator (``row_contrast``), for seeds s = 1..S with n_s rows each:

- per seed: m_s = mean(d), w_s = var(d, ddof = 1) / n_s, the squared standard error of m_s from its rows.
- estimate = (1/S) Σ_s m_s. Every seed weighs the same: a seed is one trained prompt on one split, and the
  question is about the method over training runs, not about the seed that happened to have more rows.
- within variance V_w = Σ_s w_s / S²: the variance of the estimate from sampling the rows only, conditional
  on the trained prompts.
- between variance V_b = var(m_s, ddof = 1) / S for S ≥ 2, else 0: unbiased for the total variance of the
  estimate, training-seed variation included, but with only S − 1 degrees of freedom.
- V = max(V_w, V_b). Why: with a random seed effect of variance τ², Var(m_s) = w_s + τ², so the moment
  estimator τ̂² = max(0, var(m_s) − mean(w_s)) (DerSimonian–Laird with equal weights, truncated at zero)
  gives V_w + τ̂²/S = V_w + max(0, V_b − V_w) = max(V_w, V_b). The rows set a floor (V_b from 2–3 seeds alone
  is often far too small by chance), and when the seeds disagree more than row noise explains, the
  between-seed spread takes over. Adding V_w + V_b would count the row noise twice (V_b already holds it).
- the interval is estimate ± z · √V with z the two-sided normal quantile of ``confidence``. The row part has
  hundreds of degrees of freedom; the seed part has S − 1, and with 2–3 seeds a real seed effect is poorly
  estimated, so the interval under-covers when one exists (tests/test_paired_rows.py measures by how much:
  about 9 % exclusions of a true 0 at 95 % with 3 seeds × 400 rows and a seed effect sd of 0.03, against
  about 16 % for the rows-only interval; without a seed effect about 4 %, and the cost is power: 68 % against
  78 % for the rows-only interval at a true difference of 5 points).

What the interval covers: the expected contrast over rows drawn like the test rows and, when ``variance`` is
"seeds", over training seeds too; when it is "rows", the seeds showed no more spread than the rows explain
and the interval is the row-sampling one. Cochran's Q = Σ_s (m_s − estimate)² / w_s with its χ²(S − 1)
p-value is recorded as a heterogeneity check (exact in distribution only for equal w_s, since the estimate
weighs seeds equally rather than by 1 / w_s).

``fieller_rows`` is the ratio of two such contrasts on the same rows, ``mcnemar`` the exact test of one
seed's paired 0/1 correctness.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from post_bench.report.stats import CONFIDENCE, Interval, Ratio, _check_confidence

ROWS_PAIRED = "paired rows within seeds"
ROWS, SEEDS = "rows", "seeds"
NO_SPREAD = "no spread: every paired row has the same difference"

__all__ = ["ROWS", "ROWS_PAIRED", "SEEDS", "McNemar", "RowContrast", "align", "fieller_rows", "mcnemar",
           "row_contrast"]


@dataclasses.dataclass(frozen=True)
class RowContrast:
    """A contrast estimated from paired rows within seeds (see the module docstring) and its two-sided
    ``confidence`` interval estimate ± z · se."""

    estimate: float  # equal-weight mean over seeds of the per-seed row means
    low: float
    high: float
    se: float  # √max(V_w, V_b)
    confidence: float
    n_seeds: int
    n_rows: int  # rows over all seeds
    variance: str  # ROWS (V_w ≥ V_b) | SEEDS (V_b > V_w)
    q: float | None  # Cochran's Q over the seeds; None when S = 1 or a seed has w_s = 0
    q_p: float | None  # its χ²(S − 1) upper-tail p-value
    per_seed: tuple  # ((seed, m_s, √w_s, n_s), ...) in seed order
    reason: str = ""  # NO_SPREAD when the interval has zero width

    def interval(self) -> Interval:
        """The same interval as a ``stats.Interval`` (kind ROWS_PAIRED, n = seeds), for ``stats.verdict``."""
        return Interval(self.estimate, self.low, self.high, self.n_seeds, ROWS_PAIRED, self.reason)


@dataclasses.dataclass(frozen=True)
class McNemar:
    """Exact two-sided McNemar test of paired 0/1 values a, b."""

    n01: int  # rows with a = 0, b = 1
    n10: int  # rows with a = 1, b = 0
    n: int  # paired rows (discordant or not)
    p: float  # two-sided binomial p-value of n10 among n01 + n10 at ½; 1.0 when none is discordant


def _sorted_ids(ids) -> list:
    """Row ids or seeds in natural order (numbers numerically, strings alphabetically); mixed types fall
    back to (type name, str)."""
    try:
        return sorted(ids)
    except TypeError:
        return sorted(ids, key=lambda r: (type(r).__name__, str(r)))


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def _seed_arrays(per_seed: Mapping, name: str) -> list[tuple[object, np.ndarray]]:
    """[(seed, 1-D finite float array of ≥ 2 rows), ...] in seed order; ValueError otherwise."""
    if not isinstance(per_seed, Mapping):
        raise ValueError(f"{name}: expected a mapping seed -> per-row values; got {type(per_seed).__name__}")
    if not per_seed:
        raise ValueError(f"{name}: no seed")
    out = []
    for s in _sorted_ids(per_seed):
        d = np.asarray(per_seed[s], dtype=np.float64)
        if d.ndim != 1:
            raise ValueError(f"{name}[{s!r}]: expected a 1-D array of per-row values; got shape {d.shape}")
        if d.size < 2:
            raise ValueError(f"{name}[{s!r}]: {d.size} row(s); a seed needs at least 2 to estimate its spread")
        if not np.isfinite(d).all():
            raise ValueError(f"{name}[{s!r}]: contains NaN or infinity")
        out.append((s, d))
    return out


def _combine(m: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(estimate, V_w, V_b) from per-seed means ``m`` and squared standard errors ``w`` along the last axis
    (any leading axes are independent experiments, so simulations can run vectorised)."""
    s = m.shape[-1]
    est = m.mean(axis=-1)
    v_w = w.sum(axis=-1) / (s * s)
    v_b = m.var(axis=-1, ddof=1) / s if s >= 2 else np.zeros_like(est)
    return est, v_w, v_b


def row_contrast(per_seed: Mapping, confidence: float = CONFIDENCE) -> RowContrast:
    """The contrast over seeds from per-row values d_i paired within each seed: ``per_seed`` = {seed: 1-D
    array of d_i}. Estimate, variance and interval as in the module docstring: the equal-weight mean of
    the per-seed means ± z · √max(V_w, V_b).

    When every row of every seed has the same difference (V = 0) the interval is [estimate, estimate] with
    reason NO_SPREAD. Raises ValueError on an empty or non-mapping ``per_seed``, a seed whose values are not
    1-D, have fewer than 2 rows or are not finite, and a ``confidence`` outside (0, 1)."""
    _check_confidence(confidence)
    seeds = _seed_arrays(per_seed, "per_seed")
    n = np.array([d.size for _, d in seeds], dtype=np.int64)
    m = np.array([d.mean() for _, d in seeds])
    w = np.array([d.var(ddof=1) for _, d in seeds]) / n
    est_a, v_w_a, v_b_a = _combine(m, w)
    est, v_w, v_b = float(est_a), float(v_w_a), float(v_b_a)
    s = len(seeds)
    q = q_p = None
    if s >= 2 and bool((w > 0.0).all()):
        q = float(np.sum((m - est) ** 2 / w))
        q_p = float(stats.chi2.sf(q, df=s - 1))
    per = tuple((seed, float(mi), math.sqrt(float(wi)), int(ni)) for (seed, _), mi, wi, ni in zip(seeds, m, w, n))
    variance = SEEDS if v_b > v_w else ROWS
    v = max(v_w, v_b)
    if v == 0.0:
        return RowContrast(est, est, est, 0.0, confidence, s, int(n.sum()), variance, q, q_p, per, NO_SPREAD)
    se = math.sqrt(v)
    half = _z(confidence) * se
    return RowContrast(est, est - half, est + half, se, confidence, s, int(n.sum()), variance, q, q_p, per)


def _finite_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(float(x))


def align(sides: Sequence[tuple[float, Mapping | float]], offset: float = 0.0) -> tuple[np.ndarray, tuple]:
    """One seed's per-row contrast d_i = Σ_k w_k · x_k[i] + offset over the row ids every mapping side has.

    ``sides`` = ((w_k, x_k), ...) with each x_k a {row_id: value} mapping (one method's per-row values in this
    seed) or a finite constant (e.g. chance 1/K). Returns (d as a float array in row-id order, the row ids that
    only some mapping sides have, in row-id order). Raises ValueError when no side is a mapping, a weight,
    constant or ``offset`` is not finite, a paired value is not a finite number, or no row is in every mapping.
    """
    sides = list(sides)
    if not _finite_number(offset):
        raise ValueError(f"offset: {offset!r} is not a finite number")
    for i, side in enumerate(sides):
        if not (isinstance(side, tuple | list) and len(side) == 2):
            raise ValueError(f"sides[{i}]: expected a (weight, values) pair; got {side!r}")
        w, x = side
        if not _finite_number(w):
            raise ValueError(f"sides[{i}]: weight {w!r} is not a finite number")
        if not isinstance(x, Mapping) and not _finite_number(x):
            raise ValueError(f"sides[{i}]: expected a mapping row_id -> value or a finite number; got {x!r}")
    maps = [x for _, x in sides if isinstance(x, Mapping)]
    if not maps:
        raise ValueError("sides: no side is a mapping row_id -> value (only constants)")
    common = set(maps[0]).intersection(*maps[1:])
    unpaired = tuple(_sorted_ids(set().union(*maps) - common))
    if not common:
        raise ValueError("no row has a value in every mapping side")
    rows = _sorted_ids(common)
    d = np.full(len(rows), float(offset))
    for i, (w, x) in enumerate(sides):
        if isinstance(x, Mapping):
            try:
                v = np.array([float(x[r]) for r in rows], dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise ValueError(f"sides[{i}]: a value is not a number ({e})") from None
            if not np.isfinite(v).all():
                bad = rows[int(np.flatnonzero(~np.isfinite(v))[0])]
                raise ValueError(f"sides[{i}]: row {bad!r} has a non-finite value {x[bad]!r}")
        else:
            v = float(x)
        d += float(w) * v
    return d, unpaired


def mcnemar(a, b) -> McNemar:
    """Exact two-sided McNemar test on paired 0/1 values (e.g. per-row correctness of two methods on one seed's
    rows): the binomial test of n10 successes in n01 + n10 discordant pairs at ½ (``scipy.stats.binomtest``).

    Raises ValueError unless ``a`` and ``b`` are non-empty 1-D arrays of the same length with values in {0, 1}.
    """
    x = np.asarray(a)
    y = np.asarray(b)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(f"a, b: expected two non-empty 1-D arrays of the same length; got shapes {x.shape}, "
                         f"{y.shape}")
    for name, v in (("a", x), ("b", y)):
        try:
            ok = bool(np.isin(v, (0, 1)).all())
        except TypeError:
            ok = False
        if not ok:
            raise ValueError(f"{name}: values must be 0 or 1")
    x = x.astype(bool)
    y = y.astype(bool)
    n01 = int(np.count_nonzero(~x & y))
    n10 = int(np.count_nonzero(x & ~y))
    p = 1.0 if n01 + n10 == 0 else float(stats.binomtest(n10, n01 + n10, 0.5).pvalue)
    return McNemar(n01, n10, int(x.size), min(p, 1.0))


def fieller_rows(per_seed_a: Mapping, per_seed_b: Mapping, confidence: float = CONFIDENCE) -> Ratio:
    """Ratio â / b̂ of two contrasts computed on the same rows (``per_seed_x`` = {seed: 1-D array of per-row
    values}, the same seeds and the same row count per seed in both) with Fieller's interval.

    â, b̂ are the equal-weight means over seeds of the per-seed row means, as in ``row_contrast``. Their
    covariance matrix is the row one, within = Σ_s Cov_rows,s / n_s / S² (ddof = 1; the pairing of a and b on a
    row enters through the covariance), scaled by f = max(1, V_b,aa / V_w,aa, V_b,bb / V_w,bb) where V_b is the
    covariance of the per-seed means (ddof = 1) / S (S ≥ 2, else 0): as in ``row_contrast``, the rows set the
    floor and the seeds inflate it when they disagree more than the rows explain. A ratio whose V_w is 0 is left
    out of f when its V_b is 0 too; when V_w is 0 but V_b is not (constant rows within seeds that differ across
    seeds) the row covariance cannot be scaled to the seed spread, and the between-seed matrix is used instead.

    With z the two-sided normal quantile, ρ is in the set when (â − ρ b̂)² ≤ z² (v_aa − 2ρ v_ab + ρ² v_bb): the
    interval between the roots of (b̂² − z² v_bb) ρ² − 2 (â b̂ − z² v_ab) ρ + (â² − z² v_aa) = 0 when
    b̂² > z² v_bb, else unbounded (``low``/``high`` None, with the reason). ``n`` is the number of seeds.

    Raises ValueError on different seeds or row counts in a and b, and the checks of ``row_contrast``."""
    _check_confidence(confidence)
    sa = _seed_arrays(per_seed_a, "per_seed_a")
    sb = _seed_arrays(per_seed_b, "per_seed_b")
    if set(per_seed_a) != set(per_seed_b):
        raise ValueError(f"per_seed_a, per_seed_b: different seeds {[s for s, _ in sa]} and {[s for s, _ in sb]}")
    for (s, x), (_, y) in zip(sa, sb):
        if x.size != y.size:
            raise ValueError(f"seed {s!r}: {x.size} rows in a but {y.size} in b; the contrasts must share rows")
    n_seeds = len(sa)
    means = np.array([[x.mean(), y.mean()] for (_, x), (_, y) in zip(sa, sb)])  # (S, 2)
    within = sum(np.cov(np.vstack([x, y]), ddof=1) / x.size for (_, x), (_, y) in zip(sa, sb)) / n_seeds ** 2
    between = np.cov(means.T, ddof=1) / n_seeds if n_seeds >= 2 else np.zeros((2, 2))
    f = 1.0
    cov = None
    for k in (0, 1):
        if within[k, k] > 0.0:
            f = max(f, float(between[k, k] / within[k, k]))
        elif between[k, k] > 0.0:
            cov = between
    if cov is None:
        cov = f * within
    vaa, vbb, vab = float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])
    ma, mb = float(means[:, 0].mean()), float(means[:, 1].mean())
    z2 = _z(confidence) ** 2
    estimate = ma / mb if mb != 0.0 else None
    lead = mb * mb - z2 * vbb
    if lead <= 0.0:
        return Ratio(estimate, None, None, n_seeds,
                     f"unbounded: the denominator's estimate {mb:+.4g} is not significantly non-zero (its "
                     f"{confidence:.0%} interval over paired rows includes 0)")
    half = ma * mb - z2 * vab
    root = math.sqrt(max(half * half - lead * (ma * ma - z2 * vaa), 0.0))  # ≥ 0 when lead > 0, up to rounding
    return Ratio(estimate, (half - root) / lead, (half + root) / lead, n_seeds)
