"""The one-run audit's design choices: nonsense canaries, the best of fixed guess counts with a Bonferroni
correction, and the deliberately broken DP-SGD of the privacy-regression control."""

import numpy as np
import pytest

from post_bench.attacks.one_run import audit, audit_best_of, default_guesses
from post_bench.data.canaries import plan_canaries, text_canaries
from post_bench.suite import BrokenDP, TuningConfig
from post_bench.training.settings import tune_settings
from post_bench.unit.schemas import TuneKnobs


def test_nonsense_canaries_are_distinct_made_up_words_with_random_labels():
    cans, labels = text_canaries("nonsense", 400, 5, seed=3)
    texts = [c.text for c in cans]
    assert len(set(texts)) == 400 and all(len(t.split()) == 6 for t in texts)
    assert all(w.isalpha() and w.islower() for t in texts for w in t.split())
    assert set(labels) == set(range(5)) and abs(np.bincount(labels).mean() - 80) < 1e-9
    assert text_canaries("nonsense", 400, 5, seed=3) == (cans, labels)  # deterministic in the seed
    plan = plan_canaries({"count": 400, "repetitions": 1, "held_out": 0, "include": "half", "kind": "nonsense"}, 5, 3)
    assert 160 < sum(plan.included) < 240  # each included with probability 1/2


def test_default_guesses_are_five_ten_and_twenty_percent():
    assert default_guesses(500) == [25, 50, 100]
    assert default_guesses(10) == [1, 2]
    assert default_guesses(2) == [1]


def test_best_of_guesses_is_bonferroni_corrected():
    rng = np.random.default_rng(0)
    included = rng.random(500) < 0.5
    scores = rng.normal(size=500) + 3.0 * included  # a strong signal
    best, tried = audit_best_of(scores, included, guesses=[25, 50, 100], delta=1e-5)
    assert [t["k"] for t in tried] == [25, 50, 100]
    assert best.confidence == pytest.approx(1 - 0.05 / 3)
    assert best.eps_lower_bound == max(t["eps_lower_bound"] for t in tried) > 1.0
    one = audit(scores, included, k_plus=best.k_plus, k_minus=best.k_plus, delta=1e-5)
    assert best.eps_lower_bound < one.eps_lower_bound  # the same guesses at plain 95% bound higher
    with pytest.raises(ValueError, match="guesses"):
        audit_best_of(scores, included, guesses=[], delta=1e-5)


def test_no_signal_gives_no_bound_in_most_runs():
    """Scores independent of inclusion: the corrected best bound is > 0 in at most ~5% of runs."""
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(40):
        included = rng.random(200) < 0.5
        best, _ = audit_best_of(rng.normal(size=200), included, guesses=default_guesses(200), delta=1e-5)
        hits += best.eps_lower_bound > 0
    assert hits <= 4


def _knobs(**kw):
    base = dict(epsilon=1.0, steps=100, batch_size=8, lr=0.01, dp_lr=None, clip=1.0, delta=1e-5, accountant="rdp",
                init="text", micro_batch=8)
    return TuneKnobs.of(**{**base, **kw})


def test_broken_dp_keeps_the_claim_and_weakens_the_mechanism():
    good, dp = tune_settings(_knobs(), 400)
    bad, bad_dp = tune_settings(_knobs(broken_dp={"noise_scale": 0.1, "clipping": False}), 400)
    assert bad.noise_multiplier == pytest.approx(good.noise_multiplier * 0.1) and not bad.clipping and good.clipping
    assert bad_dp["epsilon_spent"] == dp["epsilon_spent"]  # the accountant still claims the same ε
    assert bad_dp["broken_dp"]["noise_multiplier_used"] == pytest.approx(bad.noise_multiplier)
    assert "broken_dp" not in dp


def test_broken_dp_is_only_in_a_suite_that_sets_it():
    assert TuningConfig().broken_dp is None
    assert TuningConfig(broken_dp={}).broken_dp == BrokenDP(noise_scale=0.1, clipping=False)
    assert TuningConfig(broken_dp={}).knobs(1.0).broken_dp == {"noise_scale": 0.1, "clipping": False}
    with pytest.raises(ValueError):
        BrokenDP(noise_scale=1.5)
