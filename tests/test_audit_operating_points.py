"""Operating points (TPR at a target FPR with threshold and counts) against hand-computed counts, and the
audit's pure attack layer (statistics, rows, verdict) on constructed scores with planted leakage."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from post_bench.attacks.metrics import attack_metrics
from post_bench.attacks.operating_points import OperatingPoint, operating_points
from post_bench.audit.rows import GIVEN
from post_bench.rows import PrivacyRow

MEMBERS = [0.9, 0.8, 0.6, 0.4, 0.2]
NONMEMBERS = [0.85, 0.7, 0.5, 0.3, 0.1, 0.05, 0.04, 0.03, 0.02, 0.01]


def _data(members, nonmembers):
    return np.r_[members, nonmembers], np.r_[np.ones(len(members), bool), np.zeros(len(nonmembers), bool)]


def test_operating_points_hand_counts():
    s, y = _data(MEMBERS, NONMEMBERS)
    p10, p20 = operating_points(s, y, (0.1, 0.2))
    # 10% of 10 non-members: 1 false positive allowed; >= 0.8 flags 0.9, 0.8 and the non-member 0.85
    assert p10 == OperatingPoint(0.1, 0.4, 0.1, 0.8, 2, 1, 5, 10)
    # 20%: 2 allowed; >= 0.6 flags 0.9, 0.8, 0.6 and non-members 0.85, 0.7
    assert p20 == OperatingPoint(0.2, 0.6, 0.2, 0.6, 3, 2, 5, 10)
    d = p10.to_dict()
    assert d["tp"] == 2 and d["fp"] == 1 and d["threshold"] == 0.8 and not d["flags_nobody"] and d["reason"] is None


def test_operating_points_na_below_one_over_fpr():
    s, y = _data(MEMBERS, NONMEMBERS)
    p10, p1, p01 = operating_points(s, y)
    assert p10.available and not p1.available and not p01.available
    assert p1.tpr is p1.fpr is p1.threshold is p1.tp is p1.fp is None and p1.n_nonmembers == 10
    assert p1.reason == "10 non-members: FPR <= 0.01 allows no false positive (needs >= 100 non-members)"
    assert "needs >= 1000 non-members" in p01.reason


def test_operating_points_ties_and_flagging_nobody():
    s, y = _data([1.0, 1.0, 0.0], [1.0, 1.0] + [0.0] * 18)
    p5, p10 = operating_points(s, y, (0.05, 0.1))
    # 5% of 20: 1 false positive allowed, but the top value holds 2 non-members: no threshold flags anyone
    assert (p5.tpr, p5.fpr, p5.tp, p5.fp) == (0.0, 0.0, 0, 0) and math.isinf(p5.threshold)
    assert p5.to_dict()["threshold"] is None and p5.to_dict()["flags_nobody"]
    assert (p10.tpr, p10.fpr, p10.threshold, p10.tp, p10.fp) == (2 / 3, 0.1, 1.0, 2, 2)


def test_operating_points_agree_with_attack_metrics():
    rng = np.random.default_rng(3)
    y = rng.random(3000) < 0.4
    s = np.round(rng.normal(size=3000) + 0.7 * y, 2)  # rounding makes ties
    m = attack_metrics(s, y)
    for p in operating_points(s, y):
        assert p.tpr == pytest.approx(m.tpr_at_fpr[f"{p.target_fpr:g}"])
        assert p.fpr <= p.target_fpr and p.tp == int((s[y] >= p.threshold).sum()) and p.fp == int((s[~y] >= p.threshold).sum())


@pytest.mark.parametrize("s,y,targets,msg", [
    ([], [], (0.1,), "empty"),
    ([1.0, 2.0], [1], (0.1,), "entries"),
    ([1.0, 2.0], [2, 0], (0.1,), "boolean or 0/1"),
    ([1.0, 2.0], [1, 1], (0.1,), "both members and non-members"),
    ([1.0, float("nan")], [1, 0], (0.1,), "NaN"),
    ([1.0, 2.0], [1, 0], (0.0,), "target FPR"),
    ([1.0, 2.0], [1, 0], (1.5,), "target FPR"),
])
def test_operating_points_value_errors(s, y, targets, msg):
    with pytest.raises(ValueError, match=msg):
        operating_points(s, y, targets)


# ---- the audit's pure attack layer ---------------------------------------------------------------------
def _planted(n=200, k=8, shift=0.8, seed=0):
    """Scores where membership adds ``shift`` to a per-example difficulty that dwarfs it (std 3)."""
    from post_bench.attacks.shadows import keep_masks

    rng = np.random.default_rng(seed)
    member = np.arange(n) < n // 2
    difficulty = rng.normal(0, 3, n)
    zero_shot = difficulty + rng.normal(0, 0.1, n)
    target = difficulty + shift * member + rng.normal(0, 0.3, n)
    shadow_in = keep_masks(k, n, seed)
    shadows = difficulty + shift * shadow_in + rng.normal(0, 0.3, (k, n))
    return target, zero_shot, shadows, shadow_in, member


def test_planted_leakage_is_detected_by_calibrated_and_shadow_attacks():
    from post_bench.audit.rows import attack_row, verdict
    from post_bench.audit.statistics import candidate_statistics

    target, zero_shot, shadows, shadow_in, member = _planted()
    stats = candidate_statistics(target, zero_shot, shadows, shadow_in)
    assert list(stats) == ["loss", "loss-calibrated", "lira-online", "lira-offline", "lira-fixed_variance",
                           "rmia-online", "rmia-offline"]
    rows = {name: attack_row(name, s, member, delta=1e-2, n_attacks=len(stats)) for name, s in stats.items()}
    # the raw loss is dominated by difficulty; calibration by the base model and the shadows recover membership
    assert rows["loss"].auc < 0.7 and rows["loss-calibrated"].auc > 0.9 and rows["lira-online"].auc > 0.9
    for r in rows.values():
        assert isinstance(r, PrivacyRow) and (r.dataset, r.attacked, r.epsilon) == ("candidates", GIVEN, math.inf)
        lo, hi = r.ci.auc
        assert lo <= r.auc <= hi and r.ci.confidence == 0.95 and r.n_members == r.n_nonmembers == 100
        assert r.ci.unit.startswith("candidates") and r.ci.n_boot == 1000
        fw = r.ci_familywise
        assert fw.auc[0] <= lo and fw.confidence == pytest.approx(1 - 0.05 / 7) and r.n_attacks == len(stats)
        p10, p1, p01 = r.operating_points
        assert p10.tpr is not None and p10.tp + p10.fp > 0 and p10.fp <= 10 and p10.tpr_ci is not None
        assert p1.tpr is not None and p1.fp <= 1
        assert p01.tpr is None and "needs >= 1000 non-members" in p01.reason
        assert r.eps_lower_bound_confidence == 0.95 and r.delta == 1e-2
        assert r.extra("eps_lower_bound_threshold") == "bonferroni" and r.extra("eps_lower_bound_n_trials") == 200
        assert "independent trials" in r.extra("eps_lower_bound_assumption")
        again = PrivacyRow.model_validate(json.loads(json.dumps(r.dump())))  # audit.json's row reads back as written
        assert again == r and again.dump() == r.dump()
    assert rows["lira-online"].eps_lower_bound > 0.5
    v = verdict(list(rows.values()))
    assert v["leakage_detected"] and v["line"].startswith("Leakage detected: ") and "on 200 candidates" in v["line"]
    assert v["attack"] in ("loss-calibrated", "lira-online", "lira-offline", "lira-fixed_variance", "rmia-online",
                           "rmia-offline")


def test_no_leakage_verdict_states_the_detectable_effect():
    from post_bench.audit.rows import attack_row, detectable_auc, verdict
    from post_bench.audit.statistics import candidate_statistics

    target, zero_shot, *_ , member = _planted(shift=0.0, seed=1)
    stats = candidate_statistics(target, zero_shot)
    rows = [attack_row(name, s, member, delta=1e-2, n_attacks=2) for name, s in stats.items()]
    v = verdict(rows)
    assert not v["leakage_detected"]
    assert v["line"].startswith("No leakage detected at this power: every AUC CI includes 0.5 (n=200")
    # Mann-Whitney null SE for 100 + 100: sqrt(201 / 120000); z at 1 - 0.05 / 4
    assert v["detectable_auc"] == pytest.approx(0.5 + 2.2414 * math.sqrt(201 / 120000), abs=1e-3)
    assert f"AUC ≈ {v['detectable_auc']:.2f}" in v["line"]
    assert detectable_auc(100, 100) == pytest.approx(0.5 + 1.95996 * math.sqrt(201 / 120000), abs=1e-4)
