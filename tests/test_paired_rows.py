"""Paired-row contrasts within seeds (report/paired.py): hand-computed values, edge cases and simulations of
the null coverage and the power of the interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from post_bench.report.paired import (
    NO_SPREAD,
    ROWS,
    ROWS_PAIRED,
    SEEDS,
    McNemar,
    _combine,
    align,
    fieller_rows,
    mcnemar,
    row_contrast,
)
from post_bench.report.stats import HOLDS, INCONCLUSIVE, verdict

Z95 = float(stats.norm.ppf(0.975))

# ---- row_contrast ----------------------------------------------------------------------------------------


def test_row_contrast_hand_computed_two_seeds():
    # seed 1: d = 1 0 1 0 -> m = 1/2, var = 1/3, w = 1/12;  seed 2: d = 1 1 0 -> m = 2/3, var = 1/3, w = 1/9
    # estimate = 7/12; V_w = (1/12 + 1/9) / 4 = 7/144; V_b = var(1/2, 2/3) / 2 = (1/72) / 2 = 1/144 -> rows
    # Q = (1/12)² / (1/12) + (1/12)² / (1/9) = 1/12 + 1/16 = 7/48
    rc = row_contrast({1: [1, 0, 1, 0], 2: np.array([1.0, 1.0, 0.0])})
    assert rc.estimate == pytest.approx(7 / 12, abs=1e-15)
    assert rc.se == pytest.approx(math.sqrt(7) / 12, abs=1e-15)
    assert rc.variance == ROWS
    assert rc.low == pytest.approx(7 / 12 - Z95 * math.sqrt(7) / 12, abs=1e-12)
    assert rc.high == pytest.approx(7 / 12 + Z95 * math.sqrt(7) / 12, abs=1e-12)
    assert rc.q == pytest.approx(7 / 48, abs=1e-15)
    assert rc.q_p == pytest.approx(stats.chi2.sf(7 / 48, 1), abs=1e-12)
    assert (rc.n_seeds, rc.n_rows, rc.confidence, rc.reason) == (2, 7, 0.95, "")
    assert rc.per_seed[0] == (1, pytest.approx(0.5), pytest.approx(math.sqrt(1 / 12)), 4)
    assert rc.per_seed[1] == (2, pytest.approx(2 / 3), pytest.approx(1 / 3), 3)
    iv = rc.interval()
    assert (iv.mean, iv.low, iv.high, iv.n, iv.kind) == (rc.estimate, rc.low, rc.high, 2, ROWS_PAIRED)
    assert verdict(iv)[0] == HOLDS  # 7/12 − 1.96 · 0.22 > 0


def test_row_contrast_one_seed_is_the_normal_interval_of_the_paired_differences():
    d = np.random.default_rng(3).normal(0.1, 1.0, 50)
    rc = row_contrast({"s0": d}, confidence=0.9)
    sem = d.std(ddof=1) / math.sqrt(d.size)
    low, high = stats.norm.interval(0.9, loc=d.mean(), scale=sem)
    assert rc.variance == ROWS and rc.n_seeds == 1 and rc.n_rows == 50
    assert (rc.low, rc.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert rc.se == pytest.approx(sem, abs=1e-15)
    assert rc.q is None and rc.q_p is None


def test_row_contrast_equal_differences_give_a_zero_width_interval_with_reason():
    rc = row_contrast({0: [0.25] * 3, 1: [0.25] * 5})
    assert (rc.estimate, rc.low, rc.high, rc.se) == (0.25, 0.25, 0.25, 0.0)
    assert rc.reason == NO_SPREAD and rc.q is None
    assert verdict(rc.interval()) == (INCONCLUSIVE, "all paired differences are equal: zero-width CI, no spread "
                                                    "to judge by")


def test_row_contrast_constant_within_seeds_but_not_across_uses_the_seeds():
    rc = row_contrast({0: [0.1, 0.1], 1: [0.3, 0.3]})
    assert rc.variance == SEEDS and rc.reason == "" and rc.q is None  # w_s = 0: Q undefined
    assert rc.se == pytest.approx(0.1)  # var(0.1, 0.3) / 2 = 0.02 / 2


def test_row_contrast_seeds_that_disagree_take_over_and_the_interval_includes_0():
    rng = np.random.default_rng(7)
    rc = row_contrast({s: mu + rng.normal(0.0, 0.05, 200) for s, mu in enumerate((0.0, 0.3, -0.3))})
    assert rc.variance == SEEDS
    m = np.array([p[1] for p in rc.per_seed])
    assert rc.se == pytest.approx(math.sqrt(m.var(ddof=1) / 3), abs=1e-15)
    assert rc.low < 0.0 < rc.high
    assert rc.q > 1000 and rc.q_p < 1e-12  # far more spread than the rows explain
    assert verdict(rc.interval())[0] == INCONCLUSIVE


def test_row_contrast_orders_integer_seeds_numerically():
    rc = row_contrast({10: [0, 1], 2: [1, 1, 0]})
    assert [p[0] for p in rc.per_seed] == [2, 10]


@pytest.mark.parametrize("per_seed, match", [
    ({}, "no seed"),
    ([[0, 1]], "expected a mapping"),
    ({0: [[0, 1], [1, 0]]}, "1-D"),
    ({0: [0.0, np.nan]}, "NaN"),
    ({0: [0.0, 1.0], 1: [np.inf, 0.0]}, "NaN or infinity"),
    ({0: [0.0, 1.0], 1: [1.0]}, "at least 2"),
])
def test_row_contrast_rejects_bad_input(per_seed, match):
    with pytest.raises(ValueError, match=match):
        row_contrast(per_seed)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_row_contrast_rejects_bad_confidence(confidence):
    with pytest.raises(ValueError, match="confidence"):
        row_contrast({0: [0, 1]}, confidence)


# ---- align -----------------------------------------------------------------------------------------------


def test_align_pairs_the_common_rows_in_order_and_lists_the_others():
    a = {3: 1, 1: 1, 2: 0}
    b = {4: 1, 3: 0, 2: 1}
    d, unpaired = align(((1, a), (-1, b)))
    assert d.tolist() == [-1.0, 1.0]  # rows 2, 3
    assert unpaired == (1, 4)


def test_align_constants_offset_and_numeric_row_order():
    post = {10: 1.0, 2: 0.0, 7: 1.0}
    direct = {10: 1.0, 2: 1.0, 7: 0.0}
    # "recovers more than half the gap to chance 1/4": post − ½ direct − ½ · 0.25, plus an offset
    d, unpaired = align(((1.0, post), (-0.5, direct), (-0.5, 0.25)), offset=0.1)
    assert d.tolist() == pytest.approx([0.0 - 0.5 - 0.125 + 0.1, 1.0 - 0.0 - 0.125 + 0.1, 1.0 - 0.5 - 0.125 + 0.1])
    assert unpaired == ()
    assert align(((1, {"b": 2.0, "a": 1.0}),))[0].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("sides, offset, match", [
    (((1, 0.5), (-1, 0.25)), 0.0, "no side is a mapping"),
    ((), 0.0, "no side is a mapping"),
    (((float("nan"), {0: 1}),), 0.0, "weight"),
    (((1, {0: 1}), (-1, float("inf"))), 0.0, "finite number"),
    (((1, {0: 1}), (-1, "chance")), 0.0, "finite number"),
    (((1, {0: 1}), (-1, {1: 0})), 0.0, "no row"),
    (((1, {0: 1, 1: float("nan")}),), 0.0, "row 1"),
    (((1, {0: 1}),), float("nan"), "offset"),
])
def test_align_rejects_bad_sides(sides, offset, match):
    with pytest.raises(ValueError, match=match):
        align(sides, offset)


# ---- mcnemar ---------------------------------------------------------------------------------------------


def test_mcnemar_hand_count():
    a = [1, 1, 1, 0, 0, 1, 0, 1]
    b = [1, 0, 0, 1, 0, 0, 0, 1]
    # a right / b wrong at rows 1, 2, 5; a wrong / b right at row 3: P(|X − 2| ≥ 1), X ~ Bin(4, ½) = 10/16
    assert mcnemar(a, b) == McNemar(n01=1, n10=3, n=8, p=pytest.approx(0.625, abs=1e-12))
    assert mcnemar([0, 1], [0, 1]) == McNemar(0, 0, 2, 1.0)


def test_mcnemar_matches_scipy_binomtest():
    rng = np.random.default_rng(11)
    a = rng.random(300) < 0.7
    b = rng.random(300) < 0.6
    r = mcnemar(a, b.astype(int))
    assert r.n01 == int(np.sum(~a & b)) and r.n10 == int(np.sum(a & ~b)) and r.n == 300
    assert r.p == pytest.approx(stats.binomtest(r.n10, r.n01 + r.n10, 0.5).pvalue, abs=1e-15)
    assert r.p < 0.05  # 0.7 vs 0.6 on 300 rows


@pytest.mark.parametrize("a, b, match", [
    ([0, 1], [0, 1, 1], "same length"),
    ([], [], "non-empty"),
    ([0, 2], [0, 1], "a: values must be 0 or 1"),
    ([0, 1], [0.5, 1], "b: values must be 0 or 1"),
])
def test_mcnemar_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        mcnemar(a, b)


# ---- fieller_rows ----------------------------------------------------------------------------------------


def _fieller(ma, mb, cov, z):
    lead = mb * mb - z * z * cov[1, 1]
    half = ma * mb - z * z * cov[0, 1]
    root = math.sqrt(half * half - lead * (ma * ma - z * z * cov[0, 0]))
    return (half - root) / lead, (half + root) / lead


def test_fieller_rows_far_from_zero_is_close_to_the_delta_method():
    rng = np.random.default_rng(5)
    a, b = {}, {}
    for s, shift in enumerate((0.0, 0.015, -0.01)):  # a small seed effect: the seeds inflate the rows
        base = rng.random(3000)
        b[s] = (rng.random(3000) < 0.5 + shift).astype(float)  # denominator ≈ 0.5
        a[s] = 0.6 * b[s] + 0.2 * (base < 0.5)  # numerator correlated with it on each row
    r = fieller_rows(a, b)
    ma = np.mean([a[s].mean() for s in a])
    mb = np.mean([b[s].mean() for s in b])
    assert r.estimate == pytest.approx(ma / mb, abs=1e-15) and r.n == 3 and r.bounded
    assert r.low < ma / mb < r.high
    within = sum(np.cov(np.vstack([a[s], b[s]])) / 3000 for s in a) / 9
    between = np.cov(np.array([[a[s].mean(), b[s].mean()] for s in a]).T) / 3
    f = max(1.0, between[0, 0] / within[0, 0], between[1, 1] / within[1, 1])
    assert f > 1.0
    cov = f * within
    assert (r.low, r.high) == pytest.approx(_fieller(ma, mb, cov, Z95), abs=1e-12)
    rho = ma / mb
    half = Z95 * math.sqrt(cov[0, 0] - 2 * rho * cov[0, 1] + rho * rho * cov[1, 1]) / abs(mb)
    width = r.high - r.low
    assert r.low == pytest.approx(rho - half, abs=0.02 * width)
    assert r.high == pytest.approx(rho + half, abs=0.02 * width)


def test_fieller_rows_one_seed_ends_are_where_the_row_contrast_touches_zero():
    rng = np.random.default_rng(9)
    b = (rng.random(500) < 0.6).astype(float)
    a = b * (rng.random(500) < 0.8)
    r = fieller_rows({0: a}, {0: b})
    for rho in (r.low, r.high):
        rc = row_contrast({0: a - rho * b})
        assert min(abs(rc.low), abs(rc.high)) == pytest.approx(0.0, abs=1e-12)


def test_fieller_rows_uses_the_seed_matrix_when_rows_are_constant_within_seeds():
    a = {0: [1.0, 1.0, 1.0], 1: [2.0, 2.0, 2.0], 2: [3.0, 3.0, 3.0]}
    b = {0: [1.0, 1.1, 0.9], 1: [1.0, 1.2, 0.8], 2: [1.1, 1.0, 0.9]}
    r = fieller_rows(a, b)
    means = np.array([[np.mean(a[s]), np.mean(b[s])] for s in a])
    ma, mb = means.mean(axis=0)
    assert (r.low, r.high) == pytest.approx(_fieller(ma, mb, np.cov(means.T) / 3, Z95), abs=1e-12)


def test_fieller_rows_unbounded_when_the_denominator_is_not_significant():
    rng = np.random.default_rng(2)
    a = {s: rng.normal(1.0, 1.0, 100) for s in range(3)}
    b = {s: rng.normal(0.0, 1.0, 100) for s in range(3)}
    r = fieller_rows(a, b)
    assert (r.low, r.high, r.n) == (None, None, 3) and not r.bounded
    assert "unbounded" in r.reason and r.estimate is not None
    b0 = {s: np.array([-1.0, 1.0]) for s in range(2)}
    assert fieller_rows({s: [1.0, 2.0] for s in range(2)}, b0).estimate is None


@pytest.mark.parametrize("a, b, match", [
    ({0: [1, 2]}, {1: [1, 2]}, "different seeds"),
    ({0: [1, 2]}, {0: [1, 2, 3]}, "rows"),
    ({0: [1, 2]}, {0: [1, np.nan]}, "NaN"),
    ({}, {0: [1, 2]}, "no seed"),
])
def test_fieller_rows_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        fieller_rows(a, b)


# ---- simulations: 2000 experiments of 3 seeds × 400 rows, vectorised ------------------------------------

RUNS, SEEDS_PER_RUN, ROWS_PER_SEED = 2000, 3, 400


def _simulate(rng, shift=0.0, seed_sd=0.0):
    """Per-row differences d = A − B for RUNS experiments: every row has its own difficulty p ~ Beta(2, 2),
    a fresh split per seed; B is correct with probability p, A with min(1, p + shift), independently; a seed
    effect δ_s ~ N(0, seed_sd²) is added to every row of seed s. Returns (estimate, V_w, V_b) per experiment
    from the same ``_combine`` that ``row_contrast`` uses, and the differences."""
    shape = (RUNS, SEEDS_PER_RUN, ROWS_PER_SEED)
    p = rng.beta(2.0, 2.0, shape)
    d = (rng.random(shape) < np.minimum(p + shift, 1.0)).astype(np.float64) - (rng.random(shape) < p)
    if seed_sd:
        d += rng.normal(0.0, seed_sd, shape[:2] + (1,))
    m = d.mean(axis=-1)
    w = d.var(axis=-1, ddof=1) / ROWS_PER_SEED
    return _combine(m, w), d


def test_null_without_seed_effect_covers_0():
    """No difference, no seed effect: the 95 % interval excludes 0 in 4.2 % of the 2000 runs here (3.6 % over
    20 000 runs); allowance 0.06 = 5 % + 2 Monte Carlo standard errors (√(0.05 · 0.95 / 2000) ≈ 0.005). It
    is below 5 % because the seed variance takes over whenever V_b > V_w by chance (e⁻¹ ≈ 37 % of runs with 3
    seeds); the rows-only interval excludes 0 in 5.7 % here (4.6 % over 20 000 runs)."""
    (est, v_w, v_b), d = _simulate(np.random.default_rng(20240611))
    excluded = np.abs(est) > Z95 * np.sqrt(np.maximum(v_w, v_b))
    rows_only = np.abs(est) > Z95 * np.sqrt(v_w)
    assert excluded.mean() <= 0.06
    assert rows_only.mean() <= 0.065
    assert 0.30 < np.mean(v_b > v_w) < 0.44
    for r in range(20):  # the vectorised path is row_contrast's
        rc = row_contrast({s: d[r, s] for s in range(SEEDS_PER_RUN)})
        assert rc.estimate == pytest.approx(est[r], abs=1e-15)
        assert (abs(rc.estimate) > Z95 * rc.se) == excluded[r]
        assert rc.variance == (SEEDS if v_b[r] > v_w[r] else ROWS)


def test_null_with_a_seed_effect_is_far_better_covered_than_rows_only():
    """No difference on average, but each seed's true difference is δ_s ~ N(0, 0.03²) (about the row standard
    error of one seed, √(0.4 / 400) ≈ 0.032). The interval excludes 0 in 9.25 % of these 2000 runs (9.4 % over
    20 000 runs): above 5 %, since 3 seeds estimate the seed variance with 2 df and the quantile is normal;
    the rows-only interval, which ignores the seeds, excludes 0 in 15.15 % (16.2 % over 20 000 runs)."""
    (est, v_w, v_b), _ = _simulate(np.random.default_rng(20240612), seed_sd=0.03)
    excluded = np.mean(np.abs(est) > Z95 * np.sqrt(np.maximum(v_w, v_b)))
    rows_only = np.mean(np.abs(est) > Z95 * np.sqrt(v_w))
    assert excluded <= 0.12
    assert rows_only >= 0.13
    assert rows_only - excluded >= 0.04  # ≈ 14 Monte Carlo standard errors of the difference


def test_power_for_five_accuracy_points():
    """A is correct with probability min(1, p + 0.05), B with p, same difficulty p ~ Beta(2, 2) per row: the
    true difference is 0.05 − E[(p − 0.95)⁺] = 0.04988. The interval's lower end is above 0 in 67.6 % of these
    2000 runs (68.5 % over 20 000 runs), below the 70 % asked for: taking the seed variance when it is larger
    costs power (the rows-only interval: 76.75 % here, 78.2 % over 20 000 runs, but see the seed-effect null).
    Asserted ≥ 0.65: 3 Monte Carlo standard errors (≈ 0.010 each) below the measured rate."""
    (est, v_w, v_b), _ = _simulate(np.random.default_rng(20240613), shift=0.05)
    assert est.mean() == pytest.approx(0.04988, abs=0.001)
    power = np.mean(est - Z95 * np.sqrt(np.maximum(v_w, v_b)) > 0.0)
    rows_only = np.mean(est - Z95 * np.sqrt(v_w) > 0.0)
    assert power >= 0.65
    assert rows_only >= power
