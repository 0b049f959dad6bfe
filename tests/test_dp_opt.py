"""DP-OPT: exponential-mechanism sampling, RDP accounting, the per-example assignment of demos, and the unit end to
end on a tiny model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from post_bench.data.types import TextDataset
from post_bench.privacy.dp_opt import member_demos, split_private
from post_bench.privacy.dp_opt_accounting import (
    calibrate_token_epsilon,
    composed_epsilon,
    dp_top1,
    epsilon_from_rdp,
    plan_budget,
    rdp_exponential,
    select_candidate,
)

ALPHAS = np.array([2.0, 4.0, 8.0, 16.0, 32.0])


def test_rdp_curve_is_min_of_zcdp_and_pure_dp():
    np.testing.assert_allclose(rdp_exponential(0.5, ALPHAS), [0.0625, 0.125, 0.25, 0.5, 0.5])


def test_epsilon_hand_computed():
    # T = 10 tokens at ε0 = 0.5, δ = 1e-5: R(α) = 10·min(α/32, 0.5) = [0.625, 1.25, 2.5, 5, 5]; α = 8 wins.
    rdp = 10 * rdp_exponential(0.5, ALPHAS)
    classic = 2.5 + math.log(1e5) / 7  # = 4.144704
    improved = 2.5 + math.log(7 / 8) - (math.log(1e-5) + math.log(8)) / 7  # = 3.714109
    assert epsilon_from_rdp(rdp, ALPHAS, 1e-5, improved=False) == pytest.approx(classic, rel=1e-12)
    assert epsilon_from_rdp(rdp, ALPHAS, 1e-5) == pytest.approx(improved, rel=1e-12)
    assert classic == pytest.approx(4.144704, abs=1e-6) and improved == pytest.approx(3.714109, abs=1e-6)
    grid = [2.5 + math.log(1e5) / 7, 1.25 + math.log(1e5) / 3, 5 + math.log(1e5) / 15]
    assert epsilon_from_rdp(rdp, ALPHAS, 1e-5, improved=False) == pytest.approx(min(grid))


@pytest.mark.parametrize("target,delta,tokens,select", [(1.0, 1e-5, 20, 0.0), (8.0, 1 / 32, 48, 0.8), (4.0, 1e-3, 1, 0.0)])
def test_calibration_inverts_accounting(target, delta, tokens, select):
    eps0 = calibrate_token_epsilon(target, delta, tokens, select)
    assert composed_epsilon(eps0, tokens, delta, select) <= target
    assert composed_epsilon(eps0 * 1.001, tokens, delta, select) > target
    assert composed_epsilon(eps0, tokens, delta, select) == pytest.approx(target, rel=1e-5)


def test_budget_split_and_errors():
    b = plan_budget(8.0, 1 / 32, 48, 0.1)
    assert b["eps_selection"] == pytest.approx(0.8) and b["epsilon_spent"] <= 8.0
    assert plan_budget(8.0, 1 / 32, 48, 0.0)["eps_per_token"] > b["eps_per_token"]
    with pytest.raises(ValueError):
        calibrate_token_epsilon(1.0, 1e-5, 10, eps_select=5.0)
    with pytest.raises(ValueError):
        dp_top1(np.array([0, 7]), 1.0, np.random.default_rng(0), vocab_size=5)


def test_exponential_mechanism_frequencies():
    votes = np.array([0, 0, 0, 1, 1, 2])
    eps, n = 1.0, 20_000
    counts = np.bincount(votes, minlength=5)
    p = np.exp(eps * counts / 2)
    p /= p.sum()
    rng = np.random.default_rng(0)
    draws = np.bincount([dp_top1(votes, eps, rng, vocab_size=5) for _ in range(n)], minlength=5)
    chi2 = float(((draws - n * p) ** 2 / (n * p)).sum())
    assert chi2 < stats.chi2.ppf(0.999, df=4), (draws, n * p)


def test_public_domain_restricts_draws():
    rng = np.random.default_rng(1)
    draws = [dp_top1(np.array([5, 5, 5, 1]), 1.0, rng, vocab_size=8, domain=[5, 2]) for _ in range(4000)]
    assert set(draws) <= {5, 2}
    assert np.mean(np.array(draws) == 5) == pytest.approx(math.exp(1.5) / (math.exp(1.5) + 1), abs=0.03)


def test_non_private_is_argmax():
    rng = np.random.default_rng(0)
    assert dp_top1(np.array([3, 1, 3, 2, 3]), None, rng, vocab_size=10) == 3
    assert select_candidate([2, 9, 9, 1], None, rng) == 1


def test_masked_lm_generator_rejected(tmp_path):
    from post_bench.cli import main

    suite = tmp_path / "s.yaml"
    suite.write_text(yaml.safe_dump({"name": "m", "models": {"target": "tiny-roberta:layers=1,hidden=32"},
                                     "datasets": {"private": ["election-tweets"]}, "methods": [{"name": "dp_opt"}]}))
    res = CliRunner().invoke(main, ["validate", str(suite)])
    assert res.exit_code == 2 and "masked LM" in res.output


def test_unit_end_to_end(tmp_path, run_suite):
    suite = {
        "name": "dpopt", "seeds": [0], "epsilons": ["inf", 8],
        "models": {"target": "tiny-gpt2:layers=2,hidden=64"},
        "datasets": {"private": ["election-tweets"]},
        "budget": {"train_size": 32, "test_size": 16, "val_size": 8, "max_tokens": 24, "prompt_length": 4},
        "tuning": {"accountant": "rdp"},
        "methods": [{"name": "dp_opt", "n_members": 4, "demos_per_member": 2, "max_new_tokens": 6, "n_candidates": 2,
                     "public_top_k": 16}],
    }
    out, _ = run_suite(suite, tmp_path)
    units = sorted((out / "units").glob("dp_opt-*"))
    assert len(units) == 2
    for u in units:
        assert (u / "prompt.txt").is_file()
        cands = json.loads((u / "candidates.json").read_text())
        assert len(cands["candidates"]) == 2 and cands["n_holdout"] > 0
    rows = json.loads((out / "results.json").read_text())["utility"]
    by_eps = {r["epsilon"]: r for r in rows if r["method"] == "dp_opt"}
    assert set(by_eps) == {None, 8.0}
    assert by_eps[8.0]["accountant"] == "rdp-exponential" and 0 < by_eps[8.0]["epsilon_spent"] <= 8.0
    assert by_eps[8.0]["delta"] == pytest.approx(1 / 32)
    assert by_eps[None].get("epsilon_spent") is None


def test_each_example_alone_decides_its_holdout_side_and_its_member():
    """The sensitivity argument: a row's side and member hash that row only, so adding a row moves no other."""
    texts = [f"text number {i}" for i in range(60)]
    small = TextDataset("d", tuple(texts[:59]), tuple(i % 2 for i in range(59)))
    big = TextDataset("d", tuple(texts), tuple(i % 2 for i in range(60)))
    (pool_s, held_s), (pool_b, held_b) = split_private(small, 0, 0.3), split_private(big, 0, 0.3)
    assert set(pool_b) - {59} == set(pool_s) and set(held_b) - {59} == set(held_s) and 0 < len(held_b) < 60
    groups = member_demos(big, pool_b, 0, cand=0, n_members=4, per_member=100)
    assert sorted(i for g in groups for i in g) == sorted(pool_b)  # disjoint, every pool row in one member
    same = member_demos(small, pool_s, 0, cand=0, n_members=4, per_member=100)
    assert [[i for i in g if i != 59] for g in groups] == same
