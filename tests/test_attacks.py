"""Attack units end to end on tiny models: shadows + LiRA, extraction (``post-bench audit``: test_audit_*.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from post_bench.attacks.base import ATTACKS
from post_bench.cli import main
from post_bench.data import inclusion_mask

TINY = "tiny-gpt2:layers=2,hidden=64"


@pytest.fixture(scope="module")
def attack_run(tmp_path_factory, run_suite):
    tmp = tmp_path_factory.mktemp("attacks")
    suite = {
        "name": "attacks-test", "seeds": [0], "epsilons": ["inf", 1],
        "models": {"target": TINY}, "datasets": {"private": ["election-tweets"]},
        "budget": {"train_size": 32, "test_size": 16, "val_size": 8, "max_tokens": 24, "prompt_length": 4},
        "tuning": {"steps": 3, "batch_size": 8, "accountant": "rdp"},
        "methods": ["direct"],
        "attacks": [{"name": "lira", "methods": ["direct"], "shadows": 4, "population": 16,
                     "variants": ["online", "offline", "fixed_variance"]},
                    {"name": "rmia", "methods": ["direct"], "shadows": 4, "population": 16},
                    {"name": "extraction", "methods": ["direct"], "canaries": 2, "repetitions": 2,
                     "candidates": 20, "generate_tokens": 4},
                    {"name": "one_run", "methods": ["direct"], "epsilons": [1], "canaries": 16, "repetitions": 1}],
    }
    return run_suite(suite, tmp)


def test_membership_rows(attack_run):
    out, results = attack_run
    rows = [r for r in results["privacy"] if r["attack"] != "one_run"]
    assert {(r["attack"], r["epsilon"]) for r in rows} == {
        (a, e) for a in ("lira-online", "lira-offline", "lira-fixed_variance", "rmia-online") for e in (None, 1.0)}
    for r in rows:
        assert 0.0 <= r["auc"] <= 1.0 and r["n_shadows"] == 4 and r["n_examples"] == 16
        assert r["tpr_at_fpr"]["0.001"] is None and r["tpr_at_fpr"]["0.01"] is None  # 40 non-members
        assert 0.0 <= r["tpr_at_fpr"]["0.1"] <= 1.0 and r["ci"]["auc"][0] <= r["auc"] <= r["ci"]["auc"][1]
        assert r["eps_lower_bound_confidence"] == 0.95 and r["claimed_epsilon"] == r["epsilon"]
        if r["epsilon"] == 1.0:
            assert r["eps_lower_bound"] <= 1.0
    shadow_dirs = list((out / "units").glob("shadows-*"))
    assert len(shadow_dirs) == 2  # lira and rmia share the shadows of each epsilon
    scores = np.load(shadow_dirs[0] / "scores.npy", allow_pickle=False)
    keep = np.load(shadow_dirs[0] / "keep.npy", allow_pickle=False)
    assert scores.shape == keep.shape == (5, 16) and np.isfinite(scores).all()
    assert keep[0].sum() == 8  # row 0: the attacked prompt, half of the scored examples its members


def test_shadows_train_like_the_attacked_prompt(attack_run):
    out, _ = attack_run
    for d in (out / "units").glob("shadows-*"):
        mech = json.loads((d / "done.json").read_text())["mechanism"]
        a, s = mech["attacked"], mech["shadows"]
        assert a["n"] == s["n"] == 32 and a["sample_rate"] == s["sample_rate"] == 8 / 32
        assert a["noise_multiplier"] == s["noise_multiplier"] and a["delta"] == s["delta"]
        assert a["steps"] == s["steps"] == 3
        if a["epsilon"] is not None:
            assert a["noise_multiplier"] > 0 and a["delta"] == 1 / 32


def test_canaries_only_in_the_attacks_own_prompts(attack_run):
    out, results = attack_run
    tunes = [json.loads((d / "done.json").read_text()) for d in (out / "units").glob("tune-*")]
    assert sorted(t["n_train"] for t in tunes) == [32, 32, 36, 36, 32 + int(inclusion_mask(16, 0).sum())]  # plain, extraction, one_run (each canary w.p. 1/2)
    one = next(r for r in results["privacy"] if r["attack"] == "one_run")
    assert one["epsilon"] == 1.0 and one["one_run"]["m"] == 16
    # no fixed k+/k-: k in + k out for k = 5%, 10%, 20% of 16 (1, 2, 3), each at 1 - 0.05/3, the best reported
    assert [g["k"] for g in one["guess_choices"]] == [1, 2, 3] and one["one_run"]["guesses"] in (2, 4, 6)
    assert one["one_run"]["confidence"] == pytest.approx(1 - 0.05 / 3) and one["eps_lower_bound_confidence"] == 0.95
    assert one["score"].startswith("calibrated") and one["canary_kind"] == "nonsense"  # the one_run default
    assert 0.0 <= one["eps_lower_bound"] <= 1.0


def test_extraction_rows(attack_run):
    _, results = attack_run
    rows = results["extraction"]
    attacks = {r["attack"] for r in rows}
    assert {"canary-exposure", "nearest-tokens", "shared-substring"} <= attacks
    exp = next(r for r in rows if r["attack"] == "canary-exposure")
    assert exp["n_canaries"] == 2 and exp["n_candidates"] == 20
    assert all(0.0 <= e <= np.log2(20) + 1e-9 for e in exp["exposures"])
    near = next(r for r in rows if r["attack"] == "nearest-tokens")
    assert len(near["tokens"]) == 4 and -1.0 <= near["mean_cosine"] <= 1.0


def test_ls_attacks_describes_each():
    res = CliRunner().invoke(main, ["ls", "attacks"])
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    names = [ln.split()[0] for ln in lines]
    assert names == ATTACKS.names() and {"extraction", "lira", "loss", "one_run", "rmia"} <= set(names)
    assert all(len(ln) > 60 for ln in lines)


def test_attacks_plan_a_labelled_method_without_canaries_in_the_suite_prompts():
    from post_bench.methods.attack_plan import attack_units
    from post_bench.methods.base import Planner
    from post_bench.suite import Suite

    suite = Suite.model_validate({
        "name": "labels", "models": {"target": TINY, "source": {"model": "tiny-gpt2:layers=1,hidden=64,seed=1"}},
        "datasets": {"private": ["election-tweets"], "public": "friends"}, "budget": {"train_size": 16},
        "methods": ["post", {"name": "post", "label": "post_lw", "loss": "label_words"}],
        "attacks": [{"name": "rmia", "methods": ["post_lw"], "shadows": 2, "population": 8},
                    {"name": "extraction", "methods": ["post"], "canaries": 2}]})
    planner = Planner(suite)
    units = attack_units(planner)
    trained, shadows, membership, extraction = units
    assert [u.kind for u in units] == ["shadow_prompts", "shadows", "membership", "extraction"]
    assert membership.config["method"] == "post_lw" and shadows.config["transfer"]["loss"] == "label_words"
    assert shadows.deps["shadow_prompts"] is trained
    assert trained.config["canaries"] is None and shadows.config["canaries"] is None
    assert extraction.config["canaries"]["count"] == 2

    def walk(unit):
        yield unit
        for dep in unit.deps.values():
            yield from walk(dep)

    suite_units = [u for top in planner.method_units() for u in walk(top)]
    assert any(u.kind == "tune" for u in suite_units) and all(u.config.get("canaries") is None for u in suite_units)
    assert any(u.config.get("canaries") for u in walk(extraction))
