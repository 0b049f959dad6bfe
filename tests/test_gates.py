"""Always-on run gates: an empirical ε lower bound above the claimed ε fails the run (exit 3)."""

from __future__ import annotations

from post_bench.gates import dp_violations


def _row(claimed, bound, attack="one_run"):
    return {"dataset": "d", "method": "source_only", "attack": attack, "seed": 0, "claimed_epsilon": claimed,
            "eps_lower_bound": bound, "eps_lower_bound_confidence": 0.95}


def test_a_bound_above_the_claim_is_a_violation_and_nothing_else_is():
    rows = [_row(8.0, 1.2), _row(1.0, 1.0), _row(None, 3.5), _row(1.0, None), _row(1.0, 1.31, "lira-online")]
    lines = dp_violations({"privacy": rows})
    assert len(lines) == 1 and "lira-online" in lines[0] and "1.31" in lines[0] and "claimed eps 1" in lines[0]
    assert dp_violations({}) == [] and dp_violations({"privacy": rows[:4]}) == []
