"""LiRA, attack metrics, ε lower bound and exposure on synthetic cases with known answers."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats

from post_bench.attacks.base import ATTACKS, load_attacks
from post_bench.attacks.exposure import (
    exposure,
    exposure_from_scores,
    longest_common_substring,
    max_shared_substring,
    rank_of_secret,
)
from post_bench.attacks.lira_math import lira_scores, logit_scaled_confidence, logit_scaled_from_logits
from post_bench.attacks.membership import leave_one_out
from post_bench.attacks.metrics import attack_metrics, epsilon_lower_bound


def _lira():
    load_attacks()
    return ATTACKS.get("lira")()


def _shadows(rng, k=16, n=400, shift=2.0):
    """K shadow models on N examples: out ~ N(μ_n, 1), in ~ N(μ_n + shift, 1), with per-example μ_n."""
    mu = rng.normal(0, 3, n)
    mask = rng.random((k, n)) < 0.5
    scores = mu + shift * mask + rng.normal(0, 1, (k, n))
    return scores, mask


# ---- logit scaling ----------------------------------------------------------------------------------


def test_logit_scaled_matches_definition_and_is_stable():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (5, 4))
    labels = np.array([0, 1, 2, 3, 1])
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    py = p[np.arange(5), labels]
    expected = np.log(py) - np.log(1 - py)
    np.testing.assert_allclose(logit_scaled_from_logits(logits, labels), expected, rtol=1e-10)
    np.testing.assert_allclose(logit_scaled_confidence(p, labels), expected, rtol=1e-8)
    # p_y rounds to 1: 1 - p_y would be 0, the log-space form stays finite and exact.
    big = np.array([[60.0, 0.0, 0.0]])
    np.testing.assert_allclose(logit_scaled_from_logits(big, np.array([0])), 60.0 - np.log(2.0))
    assert np.isfinite(logit_scaled_confidence(np.array([[1.0, 0.0]]), np.array([0]))).all()


def test_logit_scaled_bad_input():
    with pytest.raises(ValueError):
        logit_scaled_from_logits(np.zeros((3, 1)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError):
        logit_scaled_from_logits(np.zeros((3, 2)), np.array([0, 1, 2]))
    with pytest.raises(ValueError):
        logit_scaled_from_logits(np.zeros((3, 2)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError):
        logit_scaled_confidence(np.array([[-0.1, 1.1]]), np.array([0]))


# ---- LiRA --------------------------------------------------------------------------------------------


def test_online_matches_reference_formula_exactly():
    s = np.array([[0.0, 1.0], [1.0, 2.0], [3.0, 5.0], [5.0, 4.0], [2.0, 0.5], [4.0, 3.5]])
    m = np.array([[0, 0], [0, 0], [1, 1], [1, 1], [0, 1], [1, 0]], dtype=bool)
    x = np.array([2.5, 1.5])
    expected = []
    for n in range(2):
        i, o = s[m[:, n], n], s[~m[:, n], n]
        expected.append(
            stats.norm.logpdf(x[n], i.mean(), i.std()) - stats.norm.logpdf(x[n], o.mean(), o.std())
        )
    np.testing.assert_allclose(lira_scores(x, s, m, "online"), expected, rtol=1e-12)
    off = [-stats.norm.logsf(x[n], s[~m[:, n], n].mean(), s[~m[:, n], n].std()) for n in range(2)]
    np.testing.assert_allclose(lira_scores(x, s, m, "offline"), off, rtol=1e-12)


def test_fixed_variance_uses_pooled_within_example_std():
    s = np.array([[0.0, 10.0], [2.0, 14.0], [1.0, 11.0], [3.0, 13.0]])
    m = np.array([[0, 0], [0, 0], [1, 1], [1, 1]], dtype=bool)
    x = np.array([1.5, 12.0])
    # in-deviations: ±1 (ex 0), ±1 (ex 1) -> σ_in = 1; out: ±1, ±2 -> σ_out = sqrt(10/4)
    sd_out = math.sqrt(10 / 4)
    expected = stats.norm.logpdf(x, [2.0, 12.0], 1.0) - stats.norm.logpdf(x, [1.0, 12.0], sd_out)
    np.testing.assert_allclose(lira_scores(x, s, m, "fixed_variance"), expected, rtol=1e-12)


@pytest.mark.parametrize("variant", ["online", "offline", "fixed_variance", "offline_fixed_variance"])
def test_lira_separates_members_when_in_and_out_differ(variant):
    rng = np.random.default_rng(1)
    scores, mask = _shadows(rng, shift=2.0)
    stat, member = leave_one_out(_lira(), scores, mask, variant, targets=[0, 1, 2, 3])
    assert attack_metrics(stat, member).auc > 0.8
    # the per-example mean varies a lot (σ=3): without calibration the raw score is a weak attack
    assert attack_metrics(scores[:4].ravel(), mask[:4].ravel()).auc < 0.75


def test_lira_chance_when_in_equals_out():
    rng = np.random.default_rng(2)
    scores, mask = _shadows(rng, k=16, n=2000, shift=0.0)
    stat, member = leave_one_out(_lira(), scores, mask, "online", targets=[0, 1])
    assert abs(attack_metrics(stat, member).auc - 0.5) < 0.03


def test_lira_too_few_shadows_and_zero_variance_fall_back():
    s = np.array([[1.0, 1.0, 0.0], [1.0, 2.0, 0.0], [3.0, 4.0, 0.0]])
    m = np.array([[0, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=bool)  # ex 0: one in; ex 2: zero σ out
    out = lira_scores(np.array([2.0, 3.0, 0.0]), s, m, "online")
    assert np.isfinite(out).all()
    only_out = lira_scores(np.zeros(3), s, np.zeros_like(m), "offline")  # offline needs no in-shadows
    assert np.isfinite(only_out).all()


def test_lira_bad_input():
    s, m = np.zeros((4, 3)), np.zeros((4, 3), dtype=bool)
    with pytest.raises(ValueError, match="variant"):
        lira_scores(np.zeros(3), s, m, "bogus")
    with pytest.raises(ValueError, match="shape"):
        lira_scores(np.zeros(2), s, m)
    with pytest.raises(ValueError, match="in shadow"):
        lira_scores(np.zeros(3), s, m, "online")
    with pytest.raises(ValueError, match="finite"):
        lira_scores(np.array([0, np.nan, 0]), s, m | True)
    with pytest.raises(ValueError, match="M >= 2"):
        leave_one_out(_lira(), np.zeros((1, 3)), np.zeros((1, 3)), "online")
    with pytest.raises(ValueError, match="targets"):
        leave_one_out(_lira(), s, m, "online", targets=[7])


# ---- metrics -----------------------------------------------------------------------------------------


def test_auc_of_shifted_gaussians():
    rng = np.random.default_rng(3)
    n = 20_000
    s = np.r_[rng.normal(1, 1, n), rng.normal(0, 1, n)]
    y = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    met = attack_metrics(s, y)
    assert abs(met.auc - stats.norm.cdf(1 / math.sqrt(2))) < 0.01  # 0.760
    # best balanced accuracy of N(1,1) vs N(0,1): threshold 0.5 -> Φ(0.5)
    assert abs(met.balanced_accuracy - stats.norm.cdf(0.5)) < 0.01
    # TPR at FPR 10%: threshold Φ^-1(0.9) -> TPR = 1 - Φ(Φ^-1(0.9) - 1)
    assert abs(met.tpr_at_fpr["0.1"] - stats.norm.sf(stats.norm.ppf(0.9) - 1)) < 0.02
    assert len(met.fpr) <= 256 and met.fpr[0] == 0.0 and met.fpr[-1] == 1.0
    assert min(f for f in met.fpr if f > 0) <= 1e-4  # the low-FPR end survives downsampling
    assert np.all(np.diff(met.fpr) >= 0) and np.all(np.diff(met.tpr) >= 0)
    d = met.to_dict()
    assert set(d["tpr_at_fpr"]) == {"0.001", "0.01", "0.1"} and len(d["roc"]["fpr"]) == len(met.fpr)


def test_tpr_at_fpr_constructed():
    # 10 non-members 0..9, members: three above every non-member, then one above 9 of them, ...
    nonmem = np.arange(10.0)
    mem = np.array([20.0, 21.0, 22.0, 8.5, 0.5])
    s = np.r_[mem, nonmem]
    y = np.r_[np.ones(5, bool), np.zeros(10, bool)]
    met = attack_metrics(s, y)
    # 10 non-members: FPR 0.1% and 1% cannot be measured (they would mean FPR = 0): null, with a reason
    assert met.tpr_at_fpr["0.001"] is None and met.tpr_at_fpr["0.01"] is None
    assert met.tpr_null_reason["0.01"] == "10 non-members < 1/FPR = 100" and "0.1" not in met.tpr_null_reason
    assert met.tpr_at_fpr["0.1"] == pytest.approx(4 / 5)  # threshold 8.5: FP = {9}
    assert met.n_members == 5 and met.n_nonmembers == 10


def test_metrics_bad_input():
    with pytest.raises(ValueError, match="empty"):
        attack_metrics([], [])
    with pytest.raises(ValueError, match="0/1"):
        attack_metrics([1.0, 2.0], [0, 2])
    with pytest.raises(ValueError, match="both"):
        attack_metrics([1.0, 2.0], [1, 1])
    with pytest.raises(ValueError, match="entries"):
        attack_metrics([1.0, 2.0], [1, 0, 0])
    with pytest.raises(ValueError, match="delta"):
        epsilon_lower_bound([1.0, 2.0], [1, 0], delta=1.0)
    with pytest.raises(ValueError, match="delta"):
        epsilon_lower_bound([1.0, 2.0], [1, 0], delta=-0.1)
    with pytest.raises(ValueError, match="empty"):
        epsilon_lower_bound([], [], delta=0.0)


# ---- ε lower bound -----------------------------------------------------------------------------------


def test_eps_lb_separable_is_large_but_bounded_by_log_n():
    n = 5000
    s = np.r_[np.ones(n), np.zeros(n)]
    y = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    eps = epsilon_lower_bound(s, y, delta=0.0).value
    assert 5.0 < eps <= math.log(n / 2)  # bounded on the held-out half
    assert epsilon_lower_bound(s, y, delta=1e-5).value <= eps
    assert 5.0 < epsilon_lower_bound(s, y, delta=0.0, threshold_choice="bonferroni").value <= math.log(n)


def test_eps_lb_random_labels_is_about_zero():
    rng = np.random.default_rng(4)
    s = rng.normal(size=4000)
    y = rng.random(4000) < 0.5
    assert epsilon_lower_bound(s, y, delta=1e-5).value < 0.15


def test_eps_lb_randomized_response_below_true_eps():
    """RR with ε=1 says 'member' truthfully w.p. e/(1+e): the bound must be ≤ 1 and close to it.

    At 95% confidence the bound may exceed 1 for at most 5% of seeds; seed 0 is not one of them.
    """
    rng = np.random.default_rng(0)
    n, eps = 20_000, 1.0
    y = rng.random(n) < 0.5
    truthful = rng.random(n) < math.exp(eps) / (1 + math.exp(eps))
    answer = np.where(truthful, y, ~y).astype(float)
    lb = epsilon_lower_bound(answer, y, delta=0.0).value
    assert 0.5 < lb <= eps


# ---- exposure and shared substrings ------------------------------------------------------------------


def test_exposure():
    for k in (1, 5, 20):
        assert exposure(1, 2**k) == pytest.approx(k)
    assert exposure(2**10, 2**10) == 0.0
    assert rank_of_secret(0.5, [0.1, 0.7, 0.9]) == 2
    assert rank_of_secret(0.5, [0.1, 0.7, 0.9], lower_is_better=False) == 3
    assert exposure_from_scores(0.0, np.arange(1.0, 1024.0)) == pytest.approx(10.0)
    # a sample of 99 from a space of 2^20: 9 of 99 beat the secret -> rank ≈ 1 + 9/99 (2^20 - 1)
    est = exposure_from_scores(10.0, np.r_[np.zeros(9), np.full(90, 20.0)], space_size=2**20)
    assert est == pytest.approx(20 - math.log2(1 + 9 / 99 * (2**20 - 1)))
    with pytest.raises(ValueError):
        exposure(0, 10)
    with pytest.raises(ValueError):
        exposure(11, 10)
    with pytest.raises(ValueError):
        exposure_from_scores(0.0, np.zeros(10), space_size=5)


def test_shared_substrings():
    assert longest_common_substring("the secret code is 1234", "my code is 1234!") == " code is 1234"
    assert longest_common_substring("abc", "xyz") == ""
    rng = np.random.default_rng(6)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz "))
    corpus = ["".join(rng.choice(letters, 200)) for _ in range(1000)]
    corpus[637] = corpus[637][:50] + "my canary 93817" + corpus[637][50:]
    t0 = time.perf_counter()
    length, idx, sub = max_shared_substring("xx my canary 93817 yy", corpus)
    assert time.perf_counter() - t0 < 1.0
    assert idx == 637 and "my canary 93817" in sub and length == len(sub) <= len(" my canary 93817 ")
    assert max_shared_substring("", corpus) == (0, -1, "")


def test_scored_keep_puts_the_attacked_prompt_first():
    from post_bench.attacks.shadows import keep_masks, scored_examples, scored_keep

    keep = keep_masks(4, 20, seed=1)
    idx = scored_examples(10, 8, seed=2)
    out = scored_keep(keep, idx)
    assert out.shape == (5, 8) and out.dtype == bool
    assert out[0].tolist() == (idx < 10).tolist() and out[0].sum() == 4  # members: the first N (its train split)
    assert (out[1:] == keep[:, idx]).all()
