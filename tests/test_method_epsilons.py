"""A method entry may run at some of the suite's ε only (an ablation at ε = ∞), and only at the suite's ε."""

from __future__ import annotations

import math

import pytest

from post_bench.checks import parse_suite
from post_bench.errors import UserInputError
from post_bench.methods import Planner

SUITE = {
    "name": "eps-test", "seeds": [0], "epsilons": ["inf", 8],
    "models": {"target": "tiny-gpt2:layers=2,hidden=32"},
    "datasets": {"private": ["election-tweets"]},
    "budget": {"train_size": 16, "val_size": 0, "test_size": 16, "max_tokens": 16, "prompt_length": 2},
    "methods": ["direct", {"name": "direct", "label": "direct_inf_only", "epsilons": ["inf"]}],
}


def test_an_entry_runs_at_its_own_epsilons_only():
    units = Planner(parse_suite(SUITE, "s")).method_units()
    cells = sorted((u.config["method"], u.config["epsilon"] is None) for u in units if u.kind == "evaluate")
    assert cells == [("direct", False), ("direct", True), ("direct_inf_only", True)]
    assert all(u.config["epsilon"] is None or u.config["epsilon"] == 8 for u in units)
    assert not any(math.isnan(u.cfg.epsilon) for u in units)


def test_an_epsilon_outside_the_suite_is_refused():
    bad = {**SUITE, "methods": [{"name": "direct", "epsilons": [1]}]}
    with pytest.raises(UserInputError, match=r"methods\[0\]\.epsilons: 1\.0 is not one of the suite's epsilons"):
        parse_suite(bad, "s")
