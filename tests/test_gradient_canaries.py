"""White-box one-run audits with gradient (Dirac) canaries: the canaries, what the trace records, the DP-SGD loop
with them, the planner, and the audit's power and validity on the exact mechanism (numpy, no model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import optimize

from post_bench.attacks.fdp_one_run import gdp_epsilon
from post_bench.attacks.one_run import audit_best_of, default_guesses
from post_bench.data.canaries import inclusion_mask
from post_bench.training.gradient_canaries import (
    CANARY_NORM,
    CanaryTrace,
    GradientCanaries,
    load_trace,
    make_gradient_canaries,
)


def test_canaries_sit_on_distinct_coordinates_with_the_text_canaries_inclusion():
    c = make_gradient_canaries(300, 400, seed=3)
    assert len(np.unique(c.coords)) == 300 and c.coords.min() >= 0 and c.coords.max() < 400
    assert set(np.unique(c.signs)) == {-1.0, 1.0} and c.norm == CANARY_NORM
    assert np.array_equal(c.included, inclusion_mask(300, 3))
    assert not np.array_equal(make_gradient_canaries(300, 400, seed=4).coords, c.coords)
    with pytest.raises(ValueError, match="one coordinate per canary"):
        make_gradient_canaries(401, 400, seed=0)
    with pytest.raises(ValueError, match="distinct"):
        GradientCanaries(np.array([1, 1]), np.ones(2), np.ones(2, bool))


@pytest.mark.parametrize("clipping, size", [(True, 0.5), (False, 0.5 * CANARY_NORM)])
def test_trace_adds_sampled_included_canaries_clipped_like_any_example(clipping, size):
    c = make_gradient_canaries(50, 6 * 10, seed=0)
    trace = CanaryTrace(c, sample_rate=0.5, seed=1)
    data = torch.randn(6, 10)  # the batch's clipped sum
    steps = 20
    for _ in range(steps):
        released = trace.step(data.clone(), None, clip=0.5, clipping=clipping)
        assert torch.allclose(released.reshape(-1)[np.setdiff1d(np.arange(60), c.coords)],
                              data.reshape(-1)[np.setdiff1d(np.arange(60), c.coords)])  # nothing else moves
    seen = trace.observations()
    assert seen.steps == steps and (seen.draws[~c.included] == 0).all()
    assert 0 < seen.draws[c.included].mean() / steps < 1  # Poisson-sampled at the rate
    own = seen.scores("known-data")  # released − the other examples' part = the canary's own sum (no noise here)
    assert np.allclose(own, seen.draws * size)
    expected_data = steps * data.reshape(-1).numpy()[c.coords] * c.signs
    assert np.allclose(seen.scores("released"), expected_data + seen.draws * size, atol=1e-4)
    with pytest.raises(ValueError, match="unknown view"):
        seen.scores("hidden")


def test_trace_round_trips_through_safetensors(tmp_path):
    c = make_gradient_canaries(8, 32, seed=2)
    trace = CanaryTrace(c, sample_rate=0.25, seed=0)
    trace.step(torch.zeros(4, 8), torch.randn(4, 8), clip=1.0, clipping=True)
    trace.save(tmp_path / "t.safetensors")
    back, seen, rate = load_trace(tmp_path / "t.safetensors")
    assert np.array_equal(back.coords, c.coords) and np.array_equal(back.included, c.included) and rate == 0.25
    assert np.allclose(seen.released, trace.observations().released) and seen.steps == 1


def _sigma(eps: float, steps: int, delta: float = 1e-5) -> float:
    """The noise multiplier of full-batch DP-SGD (q = 1: exactly μ-GDP with μ = √steps / σ) at (ε, δ)."""
    mu = optimize.brentq(lambda mu: gdp_epsilon(mu, delta) - eps, 1e-3, 50.0, xtol=1e-12)
    return np.sqrt(steps) / mu


def _audit_of_the_mechanism(eps: float, noise_scale: float, m: int = 2000, steps: int = 100, seed: int = 0) -> float:
    """ε̂ (Steinke, best of the default guesses) of gradient canaries through DP-SGD's own step, with no data."""
    q = 1.0
    sigma = _sigma(eps, steps) * noise_scale
    c = make_gradient_canaries(m, m, seed=seed)
    trace = CanaryTrace(c, sample_rate=q, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        trace.step(torch.zeros(m, dtype=torch.float64), sigma * torch.randn(m, generator=gen, dtype=torch.float64),
                   clip=1.0, clipping=True)
    best, _ = audit_best_of(trace.observations().scores("known-data"), c.included, guesses=default_guesses(m),
                            delta=1e-5)
    return best.eps_lower_bound


def test_a_correct_mechanism_is_never_bounded_above_its_claim_and_a_tenth_of_its_noise_is_caught():
    # the exact mechanism (full-batch DP-SGD, 100 steps, 2,000 canaries): valid (eps_lb <= eps) and powerful (seeds
    # 0-2 gave 3.00 / 3.18 / 3.18 at eps = 8, 0.31 / 0.33 / 0.39 at eps = 1; a noise / 10 bug at eps = 1: 4.48)
    for seed in range(3):
        assert 2.0 < _audit_of_the_mechanism(8.0, 1.0, seed=seed) <= 8.0
        assert 0.0 < _audit_of_the_mechanism(1.0, 1.0, seed=seed) <= 1.0
    assert _audit_of_the_mechanism(1.0, 0.1) > 3.0


def test_tune_prompts_puts_the_canaries_into_one_prompts_dp_steps(tiny_backbone):
    from post_bench.data import get_task
    from post_bench.training.prompt_tuning import tune_prompts
    from post_bench.training.settings import TuneSettings

    backbone = tiny_backbone("tiny-gpt2:layers=2,hidden=64")
    task = get_task("election-tweets")
    enc = backbone.encode_task(["vote for me", "make it great", "we will win", "thank you ohio"], task, 16,
                               labels=[0, 1, 1, 0])
    label_ids, init = backbone.label_token_ids(task), torch.randn(2, backbone.hidden_size) * 0.1
    c = make_gradient_canaries(64, init.numel(), seed=0)
    trace = CanaryTrace(c, sample_rate=4 / len(enc), seed=0)
    settings = TuneSettings(steps=6, batch_size=4, lr=0.01, clip=1.0, noise_multiplier=1e-6)
    tune_prompts(backbone, enc, label_ids, init, settings, trace=trace)
    seen = trace.observations()
    assert seen.steps == 6 and np.allclose(seen.scores("known-data"), seen.draws * 1.0, atol=1e-4)
    assert np.abs(seen.known_data).max() > 0  # the data's clipped gradients were recorded beside them
    with pytest.raises(ValueError, match="one prompt"):
        tune_prompts(backbone, enc, label_ids, torch.stack([init, init]), settings, trace=trace)


def _suite(**attack):
    from post_bench.suite import Suite

    return Suite.model_validate({
        "name": "white-box", "models": {"target": "tiny-gpt2:layers=2,hidden=64",
                                        "source": {"model": "tiny-gpt2:layers=1,hidden=64,seed=1"}},
        "datasets": {"private": ["election-tweets"], "public": "friends"}, "budget": {"train_size": 16},
        "epsilons": [1], "methods": ["source_only", "post", "dp_opt"],
        "attacks": [{"name": "one_run_gradient", "methods": ["source_only", "post", "dp_opt"], **attack}]})


def test_the_audit_reads_the_dp_sgd_run_behind_each_attacked_prompt():
    from post_bench.methods.attack_plan import attack_units
    from post_bench.methods.base import Planner

    units = attack_units(Planner(_suite()))
    assert [u.config["method"] for u in units] == ["source_only", "post"]  # dp_opt: no DP-SGD run to audit
    for u in units:
        (tune,) = u.deps.values()
        assert tune.kind == "tune" and tune.config["canaries"] == {
            "count": 1000, "repetitions": 1, "held_out": 0, "include": "half", "kind": "gradient"}
        assert u.config["view"] == "known-data" and u.config["guesses"] == [50, 100, 200]
    # POST's privacy is its source prompt's: the same DP-SGD run as source_only's (one unit id, run once)
    assert units[0].deps["prompt"].id == units[1].deps["prompt"].id


@pytest.mark.parametrize("attack, key", [({"canary_kind": "nonsense"}, "canary_kind"), ({"repetitions": 2}, "repetitions"),
                                         ({"k_plus": 4}, "k_plus"), ({"view": "hidden"}, "view")])
def test_settings_it_cannot_honour_are_bad_input(attack, key):
    from post_bench.checks import cross_check

    problems = cross_check(_suite(**attack), "s.yaml")
    assert any(f"attacks[0].{key}" in p for p in problems), problems


@pytest.mark.slow
def test_no_correct_mechanism_run_exceeds_its_claim_over_many_runs():
    # 40 audits of the exact mechanism (20 seeds x eps in {1, 8}); at 95% at most ~2 could exceed by chance, and
    # the sum statistic is far from tight, so none does (eps = 8: 2.84-3.42; eps = 1: 0.17-0.53, above 0 in all 20)
    found = {eps: [_audit_of_the_mechanism(eps, 1.0, seed=seed) for seed in range(10, 30)] for eps in (1.0, 8.0)}
    assert all(v <= eps for eps, vs in found.items() for v in vs), found
    assert min(found[8.0]) > 2.0 and min(found[1.0]) > 0.0


@pytest.mark.slow  # end to end through the CLI
def test_more_canaries_than_prompt_numbers_is_bad_input(tmp_path):
    import yaml
    from click.testing import CliRunner

    from post_bench.cli import main

    suite = {"name": "too-many", "seeds": [0], "epsilons": [1], "threads": 1, "precision": "fp32",
             "models": {"target": "tiny-gpt2:layers=1,hidden=64"}, "datasets": {"private": ["election-tweets"]},
             "budget": {"train_size": 8, "val_size": 0, "test_size": 8, "public_size": 8, "max_tokens": 16,
                        "prompt_length": 2},
             "tuning": {"steps": 2, "batch_size": 4, "accountant": "rdp"}, "methods": ["direct"],
             "attacks": [{"name": "one_run_gradient", "methods": ["direct"], "canaries": 200}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(suite))
    res = CliRunner().invoke(main, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "run"), "--no-report"])
    assert res.exit_code == 2, res.output
    assert "attacks[].canaries: 200 gradient canaries need one prompt number each; the prompt has 128 " in res.output
    assert "Traceback" not in res.output


def _null_audit(seed: int, m: int = 1000, steps: int = 50):
    """The audit of canaries that add nothing (clip 0: each sampled canary contributes 0 before the noise), with
    data gradients beside them: (AUC CI excludes 0.5, eps_lb > 0) of the known-data view."""
    from post_bench.attacks.one_run import audit_canaries

    c = make_gradient_canaries(m, m, seed=seed)
    trace = CanaryTrace(c, sample_rate=0.5, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        data = 0.1 * torch.randn(m, generator=gen, dtype=torch.float64)
        trace.step(data, torch.randn(m, generator=gen, dtype=torch.float64), clip=0.0, clipping=True)
    found = audit_canaries(trace.observations().scores("known-data"), c.included, delta=1e-5,
                           guesses=default_guesses(m), seed=seed)
    low, high = found.auc["ci"]["auc"]
    return not low <= 0.5 <= high, found.result.eps_lower_bound > 0


@pytest.mark.slow
def test_a_null_audit_keeps_its_level():
    # 300 null runs: the AUC CI (percentile bootstrap over canaries) must exclude 0.5, and eps_lb leave 0, in at
    # most 5% + 3.3 SE (9.1%). Seeds 2000-2999 gave 5.2% and 2.9% (1,000 runs); these 300 give 5.3% and 3.0%
    runs = np.array([_null_audit(seed) for seed in range(2000, 2300)])
    rates = runs.mean(axis=0)
    assert rates[0] <= 0.05 + 3.3 * np.sqrt(0.05 * 0.95 / len(runs)), rates
    assert rates[1] <= 0.05 + 3.3 * np.sqrt(0.05 * 0.95 / len(runs)), rates
