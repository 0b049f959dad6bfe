"""Confidence intervals and claim verdicts on fixed numbers (report/stats.py, report/claims.py)."""

from __future__ import annotations

import math

import pytest

from post_bench.report.claims import (
    accuracy_values,
    check_claims,
    from_results,
    num_classes_of,
    to_rows,
    training_cost_values,
)
from post_bench.report.stats import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    NONE,
    T_SEEDS,
    WILSON,
    Interval,
    cell_interval,
    combine,
    paired_difference,
    t_interval,
    verdict,
    wilson_interval,
)
from post_bench.rows import UtilityRow, parse_results

# ---- intervals -------------------------------------------------------------------------------------------


def test_t_interval_matches_scipy_reference():
    # scipy.stats.ttest_1samp([0.80, 0.84, 0.82], 0).confidence_interval(): mean 0.82, sd 0.02, t(.975, 2) 4.3027
    iv = t_interval([0.80, 0.84, 0.82])
    assert (iv.kind, iv.n) == (T_SEEDS, 3)
    assert iv.mean == pytest.approx(0.82)
    assert iv.low == pytest.approx(0.7703172457649935, abs=1e-12)
    assert iv.high == pytest.approx(0.8696827542350064, abs=1e-12)
    iv = t_interval([0.05, 0.09, 0.04, 0.07])
    assert (iv.low, iv.high) == pytest.approx((0.02721692141069304, 0.09778307858930696), abs=1e-12)
    narrower = t_interval([0.80, 0.84, 0.82], confidence=0.5)
    assert iv.available and 0.7703 < narrower.low < narrower.high < 0.8697


def test_wilson_interval_matches_scipy_reference():
    # scipy.stats.binomtest(84, 100).proportion_ci(method="wilson")
    iv = wilson_interval(0.84, 100)
    assert (iv.kind, iv.n, iv.mean) == (WILSON, 1, 0.84)
    assert (iv.low, iv.high) == pytest.approx((0.7557973061072976, 0.8990471151119521), abs=1e-12)
    zero = wilson_interval(0.0, 32)  # unlike a normal interval, it is not degenerate at 0
    assert zero.low == 0.0 and zero.high == pytest.approx(0.1071791982550706, abs=1e-12)


def test_cell_interval_one_seed_uses_wilson_or_none():
    assert cell_interval([0.84], 100).kind == WILSON
    one = cell_interval([0.84])  # no n_test: no CI is invented
    assert one.kind == NONE and not one.available and "one seed" in one.reason
    assert cell_interval([0.80, 0.84, 0.82], 100).kind == T_SEEDS
    same = t_interval([0.5, 0.5])
    assert (same.low, same.high) == (0.5, 0.5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: t_interval([]), "non-empty"),
        (lambda: t_interval([[0.1, 0.2]]), "1-D"),
        (lambda: t_interval([0.1, float("nan")]), "NaN"),
        (lambda: t_interval([0.1, 0.2], confidence=1.0), "confidence"),
        (lambda: wilson_interval(1.2, 10), "accuracy"),
        (lambda: wilson_interval(0.5, 0), "n_test"),
        (lambda: wilson_interval(0.5, 10.0), "n_test"),
        (lambda: paired_difference({0: 0.5}, {1: 0.4}), "no seed"),
        (lambda: paired_difference([0.5], 0.4), "mapping"),
        (lambda: paired_difference({0: 0.5}, float("inf")), "finite"),
        (lambda: combine([]), "empty"),
        (lambda: combine(["maybe"]), "unknown"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- verdicts --------------------------------------------------------------------------------------------


def test_verdict_holds_only_when_the_ci_is_above_zero():
    assert verdict(Interval(0.05, 0.01, 0.09, 3, T_SEEDS)) == (HOLDS, "")
    assert verdict(Interval(-0.05, -0.09, -0.01, 3, T_SEEDS)) == (DOES_NOT_HOLD, "")
    v, why = verdict(Interval(0.05, -0.01, 0.11, 3, T_SEEDS))  # mean > 0 but the CI crosses 0
    assert v == INCONCLUSIVE and "includes 0" in why
    assert verdict(Interval(0.05, 0.0, 0.1, 3, T_SEEDS))[0] == INCONCLUSIVE  # touching 0 is not above it
    assert verdict(Interval(0.05, None, None, 1, NONE, "one seed"))[0] == INCONCLUSIVE
    v, why = verdict(Interval(0.05, 0.05, 0.05, 2, T_SEEDS))  # identical differences: zero width
    assert v == INCONCLUSIVE and "zero-width" in why
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([INCONCLUSIVE, DOES_NOT_HOLD, HOLDS]) == DOES_NOT_HOLD


def test_paired_difference_pairs_by_seed_and_reports_unpaired():
    d = paired_difference({0: 0.9, 1: 0.8, 2: 0.7}, {0: 0.6, 2: 0.5, 3: 0.1}, offset=0.05)
    assert d.seeds == (0, 2) and d.unpaired == (1, 3)
    assert d.interval.mean == pytest.approx(((0.9 - 0.6) + (0.7 - 0.5)) / 2 + 0.05)
    c = paired_difference({0: 0.6, 1: 0.7}, 0.5)  # against a constant (chance)
    assert c.seeds == (0, 1) and c.interval.mean == pytest.approx(0.15)


# ---- claims on a synthetic run ---------------------------------------------------------------------------

ACC = {  # (method, ε) -> accuracies for seeds 0, 1, 2 (None: that seed failed)
    ("zero_shot", None): [0.50, 0.52, 0.48],
    ("direct", None): [0.88, 0.86, 0.90],
    ("direct", 8.0): [0.85, 0.86, 0.84],
    ("post", None): [0.86, 0.85, 0.88],
    ("post", 8.0): [0.83, 0.83, 0.82],
    ("direct_transfer", None): [0.55, 0.60, 0.52],
    ("direct_transfer", 8.0): [0.54, 0.58, 0.50],
    ("source_only", None): [0.70, 0.72, 0.71],
    ("source_only", 8.0): [0.21, 0.26, 0.18],  # below chance (1/3)
    ("ptfer", None): [0.84, 0.87, 0.86],  # crosses: inconclusive
    ("ptfer", 8.0): [0.40, 0.41, None],  # seed 2 failed
    ("dp_opt", None): [0.95, 0.94, 0.96],  # above POST: does not hold
}


def _utility(acc=ACC, dataset="bbc-news"):
    return [
        {"dataset": dataset, "method": m, "model": "t", "epsilon": e, "seed": s, "accuracy": a, "n_test": 100,
         "num_classes": 3}
        for (m, e), accs in acc.items() for s, a in enumerate(accs) if a is not None
    ]


def _cost(dataset="bbc-news", seeds=(0, 1, 2)):
    """Per seed and ε: POST = distill (once) + tune/source 2 s + transfer 3 s (+ seed); direct = tune/target 20 s."""
    rows = [{"unit": "distill", "kind": "distill", "model_role": "distill", "wall_s": 100.0, "flops": 1e12, "deps": []}]
    for eps in (None, 8.0):
        for s in seeds:
            tag = f"{eps}-{s}"
            rows += [
                {"unit": f"ts{tag}", "kind": "tune", "model_role": "source", "wall_s": 2.0, "flops": 1e9, "deps": ["distill"]},
                {"unit": f"tr{tag}", "kind": "transfer", "model_role": "target", "wall_s": 3.0 + s, "flops": 5e9,
                 "deps": [f"ts{tag}", "distill"]},
                {"unit": f"ep{tag}", "kind": "evaluate", "method": "post", "dataset": dataset, "epsilon": eps, "seed": s,
                 "model_role": "target", "wall_s": 1.0, "flops": 1e9, "deps": [f"tr{tag}"]},
                {"unit": f"tt{tag}", "kind": "tune", "model_role": "target", "wall_s": 20.0 + s * 0.5, "flops": 2e10,
                 "deps": []},
                {"unit": f"ed{tag}", "kind": "evaluate", "method": "direct", "dataset": dataset, "epsilon": eps, "seed": s,
                 "model_role": "target", "wall_s": 1.0, "flops": 1e9, "deps": [f"tt{tag}"]},
            ]
    return rows


def _cells(claims):
    return {(c["claim"], cell["epsilon"]): cell for c in claims for cell in c["cells"]}


def _claims(**sections):
    """The claims of a run with these results.json sections, as results.json writes them (ε ∞ as None)."""
    return [c.dump() for c in from_results(parse_results({"schema": 2, **sections}))]


def _typed(rows):
    return [UtilityRow.model_validate(r) for r in rows]


def test_claims_on_fixed_numbers():
    claims = _claims(utility=_utility(), cost=_cost())
    assert [c["claim"] for c in claims] == [1, 2, 3, 4, 6]
    cells = _cells(claims)
    # claim 1: post − direct_transfer at ε=∞: diffs .31, .25, .36 -> t-interval over 3 seeds above 0
    c1 = cells[(1, None)]["checks"][0]
    assert c1["verdict"] == HOLDS and c1["n"] == 3 and c1["seeds"] == [0, 1, 2]
    ref = t_interval([0.86 - 0.55, 0.85 - 0.60, 0.88 - 0.52])
    assert (c1["mean"], c1["ci_low"], c1["ci_high"]) == pytest.approx((ref.mean, ref.low, ref.high))
    assert c1["ci_low"] > 0
    # claim 2 at ε=∞: above zero-shot; gap recovery > ½: post − ½ direct − ½ zero_shot = .17, .16, .19 -> holds
    c2 = cells[(2, None)]
    assert [x["check"] for x in c2["checks"]] == ["post − zero_shot > 0",
                                                  "gap recovery > 0.5: post − ½·direct − ½·zero_shot > 0"]
    assert c2["checks"][0]["b"] == {"method": "zero_shot", "epsilon": None}  # ε-free baseline at every ε
    gap = c2["checks"][1]
    assert gap["c"] == {"method": "zero_shot", "epsilon": None} and gap["weights"] == {"a": 1.0, "b": 0.5, "c": 0.5}
    assert (gap["mean"], gap["ci_low"]) == pytest.approx((t_interval([0.17, 0.16, 0.19]).mean,
                                                          t_interval([0.17, 0.16, 0.19]).low))
    assert c2["verdict"] == HOLDS
    # its ratio, (post − zs) / (direct − zs) = mean(.36, .33, .40) / mean(.38, .34, .42), with Fieller's interval
    g = c2["gap_recovery"]
    assert g["estimate"] == pytest.approx(1.09 / 1.14) and g["bounded"] and g["seeds"] == [0, 1, 2]
    assert g["ci_low"] > 0.5 and g["paper"]["low"] == 0.59 and g["paper"]["high"] == 0.87
    assert f"gap recovery (POST − zero-shot)/(Full PT − zero-shot) {1.09 / 1.14:.2f} [" in c2["note"]
    assert "paper 0.59–0.87" in c2["note"]
    # at ε=8 the DP-POST vs POST(∞) check joins: post8 − post∞ + .05 = .02, .03, −.01 -> crosses 0
    c28 = cells[(2, 8.0)]
    assert c28["checks"][1]["b"] == {"method": "direct", "epsilon": 8.0}
    dp = c28["checks"][2]
    assert dp["a"] == {"method": "post", "epsilon": 8.0} and dp["b"] == {"method": "post", "epsilon": None}
    assert dp["verdict"] == INCONCLUSIVE and c28["verdict"] == INCONCLUSIVE
    # claim 3: chance = 1/3; ε=∞ holds, ε=8 (0.21, 0.26, 0.18) is below chance
    assert cells[(3, None)]["verdict"] == HOLDS and cells[(3, 8.0)]["verdict"] == DOES_NOT_HOLD
    assert cells[(3, None)]["checks"][0]["mean"] == pytest.approx(0.71 - 1 / 3)
    # claim 4: ptfer crosses (inconclusive), dp_opt beats POST (does not hold) -> does not hold
    c4 = cells[(4, None)]
    assert [x["verdict"] for x in c4["checks"]] == [INCONCLUSIVE, DOES_NOT_HOLD] and c4["verdict"] == DOES_NOT_HOLD
    # at ε=8: ptfer seed 2 failed (2 pairs remain, reported); no dp_opt at ε=8 -> inconclusive, not a crash
    c48 = cells[(4, 8.0)]["checks"]
    assert c48[0]["verdict"] == HOLDS and c48[0]["seeds"] == [0, 1] and "[2]" in c48[0]["reason"]
    assert c48[1]["verdict"] == INCONCLUSIVE and c48[1]["reason"] == "no dp_opt results at ε=8"
    # claim 6: direct 20, 20.5, 21 s vs POST 5, 6, 7 s -> holds; FLOPs 2e10 vs 1e9 + 5e9 on every seed -> holds;
    # distillation reported separately (these rows predate its one-off record: the unit's own wall time)
    c6 = cells[(6, None)]
    assert c6["verdict"] == HOLDS and c6["checks"][0]["mean"] == pytest.approx(20.5 - 6.0)
    assert c6["checks"][1]["metric"] == "train_flops" and c6["checks"][1]["mean"] == pytest.approx(2e10 - 6e9)
    assert c6["checks"][1]["verdict"] == HOLDS and "same FLOPs difference on every paired seed" in c6["checks"][1]["reason"]
    assert "100.0 s" in c6["note"] and "one-off" in c6["note"] and "no one-off record" in c6["note"]
    summary = {c["claim"]: (c["verdict"], c["counts"]) for c in claims}
    assert summary[1] == (HOLDS, {HOLDS: 2, DOES_NOT_HOLD: 0, INCONCLUSIVE: 0})
    assert summary[3][0] == "partly holds" and summary[4][0] == DOES_NOT_HOLD and summary[6][0] == HOLDS


def test_no_claim_holds_when_its_ci_crosses_zero():
    for claim in _claims(utility=_utility(), cost=_cost()):
        for cell in claim["cells"]:
            for chk in cell["checks"]:
                if chk["verdict"] == HOLDS:
                    assert chk["ci_low"] > 0 and chk["n"] >= 2
            if cell["verdict"] == HOLDS:
                assert all(chk["verdict"] == HOLDS for chk in cell["checks"])


def test_one_seed_and_missing_methods_are_inconclusive_not_a_crash():
    one_seed = {k: v[:1] for k, v in ACC.items() if k[0] in ("post", "zero_shot")}
    claims = _claims(utility=_utility(one_seed), cost=[])
    cells = _cells(claims)
    c2 = cells[(2, None)]["checks"][0]
    assert c2["verdict"] == INCONCLUSIVE and c2["n"] == 1 and c2["ci_low"] is None
    assert "one-seed difference is not a result" in c2["reason"]
    assert cells[(1, None)]["checks"][0]["reason"] == "no direct_transfer results at ε=∞"
    assert "no direct results" in cells[(6, 8.0)]["checks"][0]["reason"]  # no cost rows at all
    assert all(c["verdict"] == INCONCLUSIVE for c in claims)
    assert _claims(utility=[]) == [] and _claims() == []


def test_chance_needs_the_number_of_classes():
    rows = [{k: v for k, v in r.items() if k != "num_classes"} for r in _utility(dataset="my-file")]
    cells = _cells(_claims(utility=rows))
    assert "number of classes of my-file unknown" in cells[(3, None)]["checks"][0]["reason"]
    # without the field, a predefined task gives it (results.json written before rows carried it)
    bare = {"method": "m", "model": "t", "epsilon": None, "seed": 0, "accuracy": 0.5, "n_test": 10}
    assert num_classes_of(_typed([{**bare, "dataset": "bbc-news"}, {**bare, "dataset": "hf:sst2"}])) == {
        "bbc-news": 5, "hf:sst2": 2}


def test_values_flag_two_rows_for_one_seed():
    rows = _utility({("post", None): [0.8, 0.9], ("direct_transfer", None): [0.5, 0.6]})
    rows.append(dict(rows[0], model="other"))  # a second post row for seed 0
    acc = accuracy_values(_typed(rows))
    found = [c.dump() for c in to_rows(check_claims(acc, training_cost_values([]), {"bbc-news": 3}))]
    assert "several post rows per seed" in _cells(found)[(1, None)]["checks"][0]["reason"]


def test_cell_interval_is_clipped_to_accuracies():
    raw = t_interval([0.40, 0.95])  # two seeds: t(.975, 1) = 12.7 -> far outside [0, 1]
    assert raw.low < 0 and raw.high > 1
    iv = cell_interval([0.40, 0.95], 32)
    assert (iv.low, iv.high, iv.mean) == (0.0, 1.0, raw.mean)


# ---- claim 2's gap recovery: Fieller's interval and the three-term check -------------------------------------


def test_fieller_ratio_matches_a_hand_computation():
    from scipy import stats as sps

    from post_bench.report.stats import fieller_ratio

    # constant denominator: the interval is ā/b̄ ± t·se(a)/b̄ = 1 ± t(.975, 2)·sqrt(1/3)/2
    t = sps.t.ppf(0.975, 2)  # 4.3027
    r = fieller_ratio([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert r.estimate == 1.0 and r.bounded and r.n == 3
    assert (r.low, r.high) == pytest.approx((1 - t * (1 / 3) ** 0.5 / 2, 1 + t * (1 / 3) ** 0.5 / 2), abs=1e-12)
    # paired a = post − zs, b = direct − zs of the synthetic run: by hand, ā = .3633.., b̄ = .38,
    # var(a) = .001233.., var(b) = .0016, cov = .0014; /3 for the means; roots of
    # (b̄² − t² v_bb) ρ² − 2 (ā b̄ − t² v_ab) ρ + (ā² − t² v_aa)
    a, b = [0.36, 0.33, 0.40], [0.38, 0.34, 0.42]
    ma, mb = 1.09 / 3, 1.14 / 3
    vaa, vbb, vab = 0.0074 / 6 / 3, 0.0032 / 2 / 3, 0.0028 / 2 / 3  # Σ dev², /(n − 1), /n
    A, B, C = mb * mb - t * t * vbb, ma * mb - t * t * vab, ma * ma - t * t * vaa
    lo, hi = (B - (B * B - A * C) ** 0.5) / A, (B + (B * B - A * C) ** 0.5) / A
    r = fieller_ratio(a, b)
    assert r.estimate == pytest.approx(ma / mb) and (r.low, r.high) == pytest.approx((lo, hi), abs=1e-12)
    # each end is the ρ at which the t-test of a − ρ·b is exactly at the 95% boundary
    for rho in (r.low, r.high):
        d = [x - rho * y for x, y in zip(a, b)]
        ci = sps.ttest_1samp(d, 0).confidence_interval()
        assert min(abs(ci.low), abs(ci.high)) == pytest.approx(0.0, abs=1e-12)


def test_fieller_ratio_is_unbounded_when_the_denominator_is_not_significant():
    from post_bench.report.stats import fieller_ratio

    r = fieller_ratio([0.2, 0.3, 0.25], [0.1, -0.1, 0.05])  # b̄ = .0167, its t-interval includes 0
    assert not r.bounded and r.low is None and r.high is None and "unbounded" in r.reason
    assert r.estimate == pytest.approx(0.25 / (0.05 / 3))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda f: f([0.1], [0.2]), "at least 2"),
        (lambda f: f([0.1, 0.2], [0.2]), "same length"),
        (lambda f: f([0.1, float("nan")], [0.2, 0.3]), "NaN"),
        (lambda f: f([[0.1, 0.2]], [[0.2, 0.3]]), "1-D"),
        (lambda f: f([0.1, 0.2], [0.2, 0.3], confidence=0.0), "confidence"),
    ],
)
def test_fieller_ratio_bad_input(call, match):
    from post_bench.report.stats import fieller_ratio

    with pytest.raises(ValueError, match=match):
        call(fieller_ratio)


def test_gap_check_agrees_with_the_fieller_lower_end():
    """d = post − ½ direct − ½ zs > 0 (t-interval above 0) exactly when Fieller's lower end is above ½."""
    from post_bench.report.stats import fieller_ratio, weighted_paired_difference

    zs = {0: 0.50, 1: 0.52, 2: 0.48, 3: 0.51}
    direct = {0: 0.88, 1: 0.86, 2: 0.90, 3: 0.87}
    for post in ({0: 0.86, 1: 0.85, 2: 0.88, 3: 0.84},   # well above half the gap
                 {0: 0.70, 1: 0.66, 2: 0.74, 3: 0.68},   # about half
                 {0: 0.60, 1: 0.58, 2: 0.61, 3: 0.57}):  # below half
        d = weighted_paired_difference([(1.0, post), (-0.5, direct), (-0.5, zs)]).interval
        r = fieller_ratio([post[s] - zs[s] for s in zs], [direct[s] - zs[s] for s in zs])
        assert verdict(d)[0] == (HOLDS if r.low > 0.5 else DOES_NOT_HOLD if r.high < 0.5 else INCONCLUSIVE)
    # at ρ = Fieller's lower end, the three-term d's t-interval touches 0
    r = fieller_ratio([post[s] - zs[s] for s in zs], [direct[s] - zs[s] for s in zs])
    d = weighted_paired_difference([(1.0, post), (-(1 - r.low), zs), (-r.low, direct)]).interval
    assert min(abs(d.low), abs(d.high)) == pytest.approx(0.0, abs=1e-12)


def test_weighted_paired_difference_by_hand():
    from post_bench.report.stats import weighted_paired_difference

    d = weighted_paired_difference([(1.0, {0: 0.9, 1: 0.8, 2: 0.7}), (-0.5, {0: 0.8, 1: 0.9, 2: 0.6, 3: 0.1}),
                                    (-0.5, {0: 0.5, 1: 0.5})], offset=0.01)
    assert d.seeds == (0, 1) and d.unpaired == (2, 3)
    assert d.interval.mean == pytest.approx(((0.9 - 0.4 - 0.25) + (0.8 - 0.45 - 0.25)) / 2 + 0.01)
    c = weighted_paired_difference([(1.0, {0: 0.6, 1: 0.7}), (-1.0, 0.5)])  # a constant side pairs with every seed
    assert c.seeds == (0, 1) and c.interval.mean == pytest.approx(0.15)
    # paired_difference is the two-term case, values identical
    ref = paired_difference({0: 0.9, 1: 0.8}, {0: 0.6, 1: 0.55}, 0.05)
    two = weighted_paired_difference([(1.0, {0: 0.9, 1: 0.8}), (-1.0, {0: 0.6, 1: 0.55})], 0.05)
    assert (ref.interval, ref.seeds, ref.unpaired) == (two.interval, two.seeds, two.unpaired)
    for sides, match in (([], "mapping first"), ([(1.0, 0.5)], "mapping first"),
                         ([(1.0, {0: 1.0}), (float("nan"), {0: 1.0})], "weight"),
                         ([(1.0, {0: 1.0}), (1.0, float("inf"))], "finite"),
                         ([(1.0, {0: 1.0}), (1.0, {1: 1.0})], "no seed")):
        with pytest.raises(ValueError, match=match):
            weighted_paired_difference(sides)


def test_gap_recovery_cell_missing_and_one_seed():
    from post_bench.report.claims import CLAIMS, gap_recovery_cell

    gap = next(c.gap for c in CLAIMS if c.number == 2)
    acc = accuracy_values(_typed(_utility({("post", None): [0.8, 0.7], ("zero_shot", None): [0.5, 0.5]})))
    g = gap_recovery_cell(gap, "bbc-news", math.inf, acc)
    assert g["estimate"] is None and "no direct results" in g["reason"] and not g["bounded"]
    acc = accuracy_values(_typed(_utility({("post", None): [0.8], ("direct", None): [0.9], ("zero_shot", None): [0.5]})))
    g = gap_recovery_cell(gap, "bbc-news", math.inf, acc)
    assert g["estimate"] == pytest.approx(0.75) and g["ci_low"] is None and "no interval" in g["reason"]
    # a missing zero-shot seed makes the gap check inconclusive, naming the three methods, not a crash
    rows = _utility({("post", None): [0.8, 0.7], ("direct", None): [0.9, 0.8], ("zero_shot", None): [None, None]})
    c2 = _cells(_claims(utility=rows))[(2, None)]
    assert "no zero_shot results" in c2["checks"][1]["reason"] and c2["checks"][1]["verdict"] == INCONCLUSIVE


# ---- claim 6: FLOPs beside wall time, the one-off distillation -----------------------------------------------


def test_flops_check_pairs_seeds_and_uses_the_t_interval():
    cost = _cost()
    for r in cost:  # FLOPs that vary with the seed, as token counts do
        if r["unit"].startswith("tt"):
            r["flops"] = 2e10 + 1e9 * int(r["unit"][-1])
    chk = _cells(_claims(utility=_utility(), cost=cost))[(6, 8.0)]["checks"][1]
    ref = t_interval([2e10 + 1e9 * s - 6e9 for s in (0, 1, 2)])
    assert chk["check"] == "direct tuning − POST tuning+transfer > 0 (FLOPs)" and chk["n"] == 3
    assert (chk["mean"], chk["ci_low"], chk["ci_high"]) == pytest.approx((ref.mean, ref.low, ref.high))
    assert chk["verdict"] == HOLDS and chk["reason"] == ""
    cost = _cost()
    for r in cost:  # POST costlier in FLOPs on every seed by the same amount: a counted, certain sign
        if r["unit"].startswith("tr"):
            r["flops"] = 1e11
    c6 = _cells(_claims(utility=_utility(), cost=cost))[(6, None)]
    flops = c6["checks"][1]
    assert flops["mean"] == flops["ci_low"] == flops["ci_high"] == pytest.approx(2e10 - 1.01e11)
    assert flops["verdict"] == DOES_NOT_HOLD and "same FLOPs difference" in flops["reason"]
    assert c6["checks"][0]["verdict"] == HOLDS and c6["verdict"] == DOES_NOT_HOLD  # both reported, both count


def _distill_row(**extra):
    return {"model": "t", "layers": [0, 1], "student_loss": 4.0, **extra}


def test_claim6_note_shows_the_one_off_distillation_and_its_origin():
    cached = _distill_row(cached=True, cache_key="ab12", one_off={"wall_s": 1203.0, "flops": 2.1e15, "device": "cuda"})
    cost = _cost()
    cost[0]["wall_s"] = 0.4  # this run only copied the cached student
    note = _cells(_claims(utility=_utility(), cost=cost, distill=[cached]))[(6, None)]["note"]
    assert "1203.0 s, 2.10e+15 FLOPs on cuda" in note and "from the cache" in note and "copied it in 0.4 s" in note
    assert "100.0 s" not in note
    fresh = _distill_row(cached=False, one_off={"wall_s": 99.5, "flops": 1e12, "device": "cpu"})
    note = _cells(_claims(utility=_utility(), cost=_cost(), distill=[fresh]))[(6, 8.0)]["note"]
    assert "99.5 s, 1.00e+12 FLOPs on cpu (distilled in this run)" in note
    # claim 6's checks never count the distillation: the same differences with or without it
    a = _cells(_claims(utility=_utility(), cost=_cost(), distill=[cached]))[(6, None)]["checks"]
    b = _cells(_claims(utility=_utility(), cost=_cost()))[(6, None)]["checks"]
    assert [x["mean"] for x in a] == [x["mean"] for x in b]
