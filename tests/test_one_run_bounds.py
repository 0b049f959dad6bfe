"""One-run ε lower bounds: Steinke et al. 2023 (``one_run``) and Mahloujifar et al. 2025 (``fdp_one_run``), checked
against golden values from jax_privacy (tests/data/one_run_golden.json, written by make_one_run_golden.py)."""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib

import numpy as np
import pytest
from scipy import stats

from post_bench.attacks import fdp_one_run, one_run
from post_bench.attacks.fdp_one_run import (
    eps_delta_blow_up_inverse,
    epsilon_lower_bound_fdp,
    fdp_audit_margin,
    gdp_blow_up_inverse,
    gdp_delta,
    gdp_epsilon,
    mu_lower_bound_gdp,
)

GOLDEN = json.loads((pathlib.Path(__file__).parent / "data" / "one_run_golden.json").read_text())
CASES = GOLDEN["cases"]
TOL = 1e-6  # absolute, on ε


def _id(c: dict) -> str:
    return f"m{c['m']}-r{c['r']}-v{c['v']}-d{c['delta']:g}-c{c['confidence']}"


def _ours(c: dict) -> dict:
    kw = {"delta": c["delta"], "confidence": c["confidence"]}
    out = {"steinke": one_run.epsilon_lower_bound(c["m"], c["r"], c["v"], **kw),
           "fdp_eps_delta": epsilon_lower_bound_fdp(c["m"], c["r"], c["v"], curve="eps-delta", **kw)}
    if c["delta"] > 0:
        out["fdp_gdp"] = epsilon_lower_bound_fdp(c["m"], c["r"], c["v"], curve="gdp", **kw)
    return out


def test_golden_file_is_from_jax_privacy_and_covers_the_grid():
    assert GOLDEN["jax_privacy_version"] and GOLDEN["source"].startswith("jax_privacy")
    assert {c["m"] for c in CASES} == {100, 1000} and {c["delta"] for c in CASES} == {0.0, 1e-5}
    assert sum(c["steinke"] > 0 for c in CASES) >= 20 and len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_bounds_match_jax_privacy(case):
    ours = _ours(case)
    for name, value in ours.items():
        assert value == pytest.approx(case[name], abs=TOL), name
        # jax_privacy as shipped stops its search at brentq xtol 1e-6; still within a few 1e-7 on this grid
        shipped = case.get(name + "_shipped")
        if shipped is not None:
            assert value == pytest.approx(shipped, abs=2 * TOL), name + "_shipped"
    if case["delta"] == 0:
        assert case["fdp_gdp"] is None
        with pytest.raises(ValueError, match="delta > 0"):
            epsilon_lower_bound_fdp(case["m"], case["r"], case["v"], delta=0.0, curve="gdp")


@pytest.mark.parametrize("case", [c for c in CASES if c["delta"] > 0], ids=_id)
def test_gaussian_fdp_bound_is_at_least_steinke(case):
    """The paper's tighter estimates come from the Gaussian curve: ≥ Steinke's on every shared input (> where > 0)."""
    ours = _ours(case)
    assert ours["fdp_gdp"] >= ours["steinke"]
    if ours["steinke"] > 0:
        assert ours["fdp_gdp"] > 1.2 * ours["steinke"]


def test_eps_delta_fdp_bound_versus_steinke():
    """Against the (ε, δ)-DP curve itself the f-DP bound is NOT uniformly tighter. On this grid: equal to Steinke's
    when every guess is right and δ = 0; below it whenever δ = 0 and some guess is wrong (by 0.4–11%: Steinke's
    binomial tail is exact for randomised response); with δ = 1e-5 within ±0.03 of it, above it when every guess
    is right (Steinke's 2mδ term costs more there) and in one 99%-confidence case."""
    for c in CASES:
        ours = _ours(c)
        s, f = ours["steinke"], ours["fdp_eps_delta"]
        if s == 0:
            assert f == 0
        elif c["delta"] == 0 and c["v"] == c["r"]:
            assert f == pytest.approx(s, abs=1e-8)
        elif c["delta"] == 0:
            assert 0.88 * s < f < s
        else:
            assert 0.88 * s < f and abs(f - s) < 0.03
            if c["v"] == c["r"]:
                assert f > s
    assert epsilon_lower_bound_fdp(1000, 100, 90, delta=0.0) < one_run.epsilon_lower_bound(1000, 100, 90, delta=0.0)
    assert epsilon_lower_bound_fdp(1000, 100, 90, delta=1e-5, confidence=0.99) > one_run.epsilon_lower_bound(
        1000, 100, 90, delta=1e-5, confidence=0.99)


@pytest.mark.parametrize("delta", [0.0, 1e-5])
def test_more_correct_guesses_give_a_larger_bound_and_chance_gives_zero(delta):
    m, r = 1000, 200
    curves = ["eps-delta", "gdp"] if delta else ["eps-delta"]
    for v in (90, 100, 105):  # v ≈ r/2: chance guessing proves nothing
        assert one_run.epsilon_lower_bound(m, r, v, delta=delta) == 0.0
        for curve in curves:
            assert epsilon_lower_bound_fdp(m, r, v, delta=delta, curve=curve) == 0.0
    vs = range(100, r + 1, 10)
    for bound in ([lambda v: one_run.epsilon_lower_bound(m, r, v, delta=delta)]
                  + [lambda v, c=c: epsilon_lower_bound_fdp(m, r, v, delta=delta, curve=c) for c in curves]):
        values = [bound(v) for v in vs]
        assert all(b >= a for a, b in zip(values, values[1:])), values
        assert values[0] == 0.0 and values[-1] > 2.0 and values[-1] > values[-2] > values[-3]
    mus = [mu_lower_bound_gdp(m, r, v) for v in vs]
    assert all(b >= a for a, b in zip(mus, mus[1:])) and mus[0] == 0.0


def test_higher_confidence_and_larger_delta_give_smaller_bounds():
    a = epsilon_lower_bound_fdp(1000, 200, 160, delta=0.0, confidence=0.95)
    assert epsilon_lower_bound_fdp(1000, 200, 160, delta=0.0, confidence=0.99) < a
    assert epsilon_lower_bound_fdp(1000, 200, 160, delta=1e-3, confidence=0.95) < a


def test_bound_is_the_largest_rejected_parameter():
    m, r, v = 1000, 100, 90
    eps = epsilon_lower_bound_fdp(m, r, v, delta=1e-5)
    assert fdp_audit_margin(m, r, v, eps_delta_blow_up_inverse(eps, 1e-5)) > 0
    assert fdp_audit_margin(m, r, v, eps_delta_blow_up_inverse(eps + 1e-6, 1e-5)) <= 0
    mu = mu_lower_bound_gdp(m, r, v)
    assert fdp_audit_margin(m, r, v, gdp_blow_up_inverse(mu)) > 0 >= fdp_audit_margin(m, r, v, gdp_blow_up_inverse(mu + 1e-6))
    assert epsilon_lower_bound_fdp(m, r, v, delta=1e-5, curve="gdp") == pytest.approx(gdp_epsilon(mu, 1e-5), abs=1e-9)
    lb = one_run.epsilon_lower_bound(m, r, v, delta=1e-5)
    assert one_run.p_value(m, r, v, lb, 1e-5) < 0.05 <= one_run.p_value(m, r, v, lb + 1e-8, 1e-5)


def test_curves_from_their_definitions():
    for eps, delta in ((0.0, 0.0), (1.0, 0.0), (2.0, 1e-3), (0.3, 0.1)):
        inverse = eps_delta_blow_up_inverse(eps, delta)
        for x in np.linspace(0, 1 - delta, 23)[1:-1]:
            f = max(0.0, 1 - delta - math.exp(eps) * x, math.exp(-eps) * (1 - delta - x))
            assert inverse(1 - f) == pytest.approx(x, abs=1e-12)
        assert inverse(delta / 2) == 0.0
    for mu in (0.0, 0.5, 3.0):
        inverse = gdp_blow_up_inverse(mu)
        for x in (1e-6, 0.01, 0.3, 0.7, 0.99):
            f = stats.norm.cdf(stats.norm.ppf(1 - x) - mu)
            assert inverse(1 - f) == pytest.approx(x, rel=1e-9)
    assert gdp_delta(0.0, 1.0) == pytest.approx(2 * stats.norm.cdf(0.5) - 1, rel=1e-12)
    assert gdp_delta(50.0, 1.0) == 0.0 and gdp_delta(1.0, 0.0) == 0.0
    for mu in (0.5, 1.0, 4.0):
        eps = gdp_epsilon(mu, 1e-5)
        assert gdp_delta(eps, mu) == pytest.approx(1e-5, rel=1e-8)
    assert gdp_epsilon(0.0, 1e-5) == 0.0


@pytest.mark.parametrize("call, match", [
    (lambda: epsilon_lower_bound_fdp(100, 20, 21, delta=0.0), "v <= r"),
    (lambda: epsilon_lower_bound_fdp(100, 101, 50, delta=0.0), "r <= m"),
    (lambda: epsilon_lower_bound_fdp(100, 20, -1, delta=0.0), "v <= r"),
    (lambda: epsilon_lower_bound_fdp(0, 0, 0, delta=0.0), "m >= 1"),
    (lambda: epsilon_lower_bound_fdp(100, 20.5, 10, delta=0.0), "integers"),
    (lambda: epsilon_lower_bound_fdp(100, 20, 10, delta=-1e-5), "delta"),
    (lambda: epsilon_lower_bound_fdp(100, 20, 10, delta=2.0), "delta"),
    (lambda: epsilon_lower_bound_fdp(100, 20, 10, delta=0.0, confidence=1.0), "confidence"),
    (lambda: epsilon_lower_bound_fdp(100, 20, 10, delta=0.0, confidence=float("nan")), "confidence"),
    (lambda: epsilon_lower_bound_fdp(100, 20, 10, delta=1e-5, curve="laplace"), "curve"),
    (lambda: epsilon_lower_bound_fdp(100, 20, 10, delta=0.0, curve="gdp"), "delta > 0"),
    (lambda: mu_lower_bound_gdp(100, 20, 10, confidence=0.0), "confidence"),
    (lambda: gdp_epsilon(1.0, 0.0), "delta"),
    (lambda: gdp_epsilon(-1.0, 1e-5), "mu"),
    (lambda: eps_delta_blow_up_inverse(-0.1, 0.0), "eps"),
    (lambda: eps_delta_blow_up_inverse(float("nan"), 0.0), "eps"),
    (lambda: gdp_blow_up_inverse(float("inf")), "mu"),
    (lambda: one_run.epsilon_lower_bound(100, 20, 10, delta=0.0, confidence=1.5), "confidence"),
    (lambda: one_run.epsilon_lower_bound(100, 20, 30, delta=0.0), "v <= r"),
    (lambda: one_run.epsilon_lower_bound(100, 20, 10, delta=-0.5), "delta"),
])
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_audit_reports_both_bounds_and_stays_backward_compatible():
    rng = np.random.default_rng(3)
    m = 1000
    inc = rng.random(m) < 0.5
    score = inc + rng.normal(0, 0.7, m)
    res = one_run.audit(score, inc, k_plus=60, k_minus=60, delta=1e-5)
    assert res.bound == one_run.BOUND and res.bound_fdp == one_run.BOUND_FDP
    assert res.eps_lower_bound == one_run.epsilon_lower_bound(m, 120, res.correct, delta=1e-5)
    assert res.eps_lower_bound_fdp == epsilon_lower_bound_fdp(m, 120, res.correct, delta=1e-5)
    assert res.mu_lower_bound_gdp == mu_lower_bound_gdp(m, 120, res.correct)
    assert res.eps_lower_bound_gdp == epsilon_lower_bound_fdp(m, 120, res.correct, delta=1e-5, curve="gdp")
    assert res.eps_lower_bound_gdp > res.eps_lower_bound > 0 and res.eps_lower_bound_fdp > 0
    d = res.to_dict()
    assert {"eps_lower_bound", "eps_lower_bound_fdp", "eps_lower_bound_gdp", "mu_lower_bound_gdp", "bound",
            "bound_fdp", "confidence", "delta", "m", "guesses", "correct", "k_plus", "k_minus"} <= set(d)
    assert json.loads(json.dumps(d)) == d
    pure = one_run.audit(score, inc, k_plus=60, delta=0.0)
    assert pure.eps_lower_bound_gdp is None and pure.mu_lower_bound_gdp is not None
    old = one_run.OneRunResult(0.5, 0.95, 0.0, 10, 4, 3, 4, 0)  # the pre-f-DP positional form still builds
    assert old.eps_lower_bound_fdp is None and old.to_dict()["bound"] == one_run.BOUND
    assert [f.name for f in dataclasses.fields(old)][:8] == ["eps_lower_bound", "confidence", "delta", "m", "guesses",
                                                             "correct", "k_plus", "k_minus"]


def test_one_bound_at_m_1000_is_fast():
    import time
    t = time.perf_counter()
    epsilon_lower_bound_fdp(1000, 1000, 650, delta=1e-5)
    epsilon_lower_bound_fdp(1000, 1000, 650, delta=1e-5, curve="gdp")
    one_run.epsilon_lower_bound(1000, 1000, 650, delta=1e-5)
    assert time.perf_counter() - t < 0.5
    assert fdp_one_run.CURVES == ("eps-delta", "gdp")


def test_audit_canaries_fixed_or_best_of_guesses_and_the_canary_auc():
    rng = np.random.default_rng(5)
    m = 64
    inc = rng.random(m) < 0.5
    score = inc + rng.normal(0, 0.5, m)
    fixed = one_run.audit_canaries(score, inc, delta=1e-5, k_plus=None, k_minus=2, seed=0)
    assert fixed.result == one_run.audit(score, inc, k_plus=one_run.default_k_plus(m), k_minus=2, delta=1e-5)
    assert (fixed.tried, fixed.how, fixed.confidence) == (None, "fixed k+/k- guesses", 0.95)
    assert one_run.default_k_plus(m) == 16 and one_run.default_k_plus(3) == 1
    ks = one_run.default_guesses(m)
    best = one_run.audit_canaries(score, inc, delta=1e-5, guesses=ks, seed=0)
    res, tried = one_run.audit_best_of(score, inc, guesses=ks, delta=1e-5)
    assert (best.result, best.tried, best.confidence) == (res, tried, 0.95) and res.confidence > 0.95
    assert best.how.startswith(f"best of k in/k out guesses for k in {ks}, each at {res.confidence:.4f}")
    assert best.auc == fixed.auc and set(best.auc) == {"auc", "balanced_accuracy", "tpr_at_fpr", "tpr_null_reason",
                                                       "roc", "n_members", "n_nonmembers", "ci"}
    assert best.auc["auc"] > 0.8 and best.auc["ci"]["auc"][0] <= best.auc["auc"] <= best.auc["ci"]["auc"][1]
    assert one_run.canary_auc(score, np.ones(m, bool), seed=0) == {}  # no left-out canary: no AUC
    assert one_run.canary_auc(score, np.zeros(m, bool), seed=0) == {}


def test_canary_signal_is_calibrated_by_the_reference_prompt(monkeypatch):
    calls = []

    def fake(backbone, prompt, canaries, labels, task, max_tokens, batch_size):
        calls.append(prompt)
        return np.array([1.0, 2.0]) * (10 if prompt == "trained" else 1)

    monkeypatch.setattr(one_run, "canary_scores", fake)
    raw = one_run.canary_signal(None, "trained", ["a", "b"], [0, 1], None, 8, 2)
    calibrated = one_run.canary_signal(None, "trained", ["a", "b"], [0, 1], None, 8, 2, reference="untrained")
    assert raw.tolist() == [10.0, 20.0] and calibrated.tolist() == [9.0, 18.0]
    assert calls == ["trained", "trained", "untrained"]
