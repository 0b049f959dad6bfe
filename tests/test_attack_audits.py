"""RMIA, LOSS, one-run auditing, bootstrap CIs and the ε lower bound's validity, against reference formulas
on synthetic scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from post_bench.attacks import one_run
from post_bench.attacks.base import ATTACKS, load_attacks
from post_bench.attacks.membership import leave_one_out, membership_rows
from post_bench.attacks.metrics import (
    ExampleOutcomes,
    attack_metrics,
    auc_and_tpr,
    bootstrap_ci,
    epsilon_lower_bound,
    example_bootstrap_ci,
)
from post_bench.attacks.rmia import rmia_scores
from post_bench.attacks.shadows import keep_masks, scored_examples


def _population(rng, k=8, n=200, shift=1.5):
    mu = rng.normal(0, 2, n)
    keep = keep_masks(k, n, seed=int(rng.integers(1000)))
    return mu + shift * keep + rng.normal(0, 1, (k, n)), keep


def _rmia_reference(target, refs, refs_in, variant, gamma, a):
    """RMIA written out one pair (x, z) at a time (Zarifzadeh et al. 2024, Eq. 3-4)."""
    p_t, p_r = special.expit(target), special.expit(refs)
    n = target.size
    out = np.empty(n)
    p_x = np.empty(n)
    for i in range(n):
        if variant == "online":
            p_x[i] = p_r[:, i].mean()
        else:
            p_x[i] = 0.5 * ((1 + a) * p_r[~refs_in[:, i], i].mean() + (1 - a))
    for i in range(n):
        hits = [p_t[i] / p_x[i] / (p_t[j] / p_x[j]) >= gamma for j in range(n) if j != i]
        out[i] = np.mean(hits)
    return out


@pytest.mark.parametrize("variant,gamma", [("online", 1.0), ("offline", 1.0), ("online", 2.0), ("offline", 1.5)])
def test_rmia_matches_reference_formula(variant, gamma):
    rng = np.random.default_rng(1)
    scores, keep = _population(rng, k=6, n=60)
    got = rmia_scores(scores[0], scores[1:], keep[1:], variant, gamma=gamma, a=0.3)
    want = _rmia_reference(scores[0], scores[1:], keep[1:], variant, gamma, 0.3)
    assert np.allclose(got, want, atol=1e-12)


def test_rmia_separates_members_and_is_chance_without_signal():
    rng = np.random.default_rng(2)
    scores, keep = _population(rng)
    assert attack_metrics(rmia_scores(scores[0], scores[1:], keep[1:]), keep[0]).auc > 0.75
    flat, keep = _population(rng, shift=0.0)
    assert abs(attack_metrics(rmia_scores(flat[0], flat[1:], keep[1:]), keep[0]).auc - 0.5) < 0.1
    with pytest.raises(ValueError, match="variant"):
        rmia_scores(scores[0], scores[1:], keep[1:], "fixed_variance")
    with pytest.raises(ValueError, match="refs"):
        rmia_scores(scores[0], scores[1:, :5], keep[1:])


def test_registry_and_loss_attack():
    load_attacks()
    assert {"lira", "rmia", "loss", "one_run", "extraction"} <= set(ATTACKS.names())
    assert all(ATTACKS.get(n).description for n in ATTACKS.names())
    rng = np.random.default_rng(3)
    scores, keep = _population(rng)
    loss = ATTACKS.get("loss")()
    assert np.array_equal(loss.statistic(scores[0], scores[1:], keep[1:], "default"), scores[0])


def test_membership_rows_fields():
    rng = np.random.default_rng(4)
    scores, keep = _population(rng, k=8, n=100)
    rows = membership_rows("lira", ["online", "offline"], scores, keep, delta=1e-3, base={"method": "m"}, n_boot=50)
    assert [r["attack"] for r in rows] == ["lira-online", "lira-offline"]
    r = rows[0]
    assert r["method"] == "m" and r["n_prompts"] == 8 and r["n_shadows"] == 7 and r["n_examples"] == 100
    assert r["attacked"] == "the suite's prompt and its 7 shadows, each attacked in turn"
    assert r["n_members"] == r["n_nonmembers"] == 400
    assert r["tpr_at_fpr"]["0.001"] is None and "400 non-members < 1/FPR = 1000" == r["tpr_null_reason"]["0.001"]
    ci = r["ci"]
    assert ci["auc"][0] <= r["auc"] <= ci["auc"][1] and ci["tpr_at_fpr"]["0.001"] is None
    assert ci["n_units"] == 100 and ci["n_boot"] == 50 and ci["confidence"] == 0.95
    assert ci["unit"] == "examples (the 8 prompts' outcomes on one example resampled together)"
    assert ci["method"].startswith("symmetric studentized bootstrap")
    one = attack_metrics(*leave_one_out(ATTACKS.get("lira")(), scores, keep, "online", targets=[0]))
    assert r["auc_attacked_prompt"] == pytest.approx(one.auc, abs=1e-12)
    assert r["ci_attacked_prompt"]["auc"][0] <= one.auc <= r["ci_attacked_prompt"]["auc"][1]
    assert r["ci_attacked_prompt"]["n_units"] == 100 and "the suite's prompt" in r["ci_attacked_prompt"]["unit"]
    assert r["eps_lower_bound_confidence"] == 0.95 and r["eps_lower_bound_threshold"] == "split"
    assert r["eps_lower_bound"] > 0.5  # shift 1.5 vs noise 1 on 400 held-out outcomes
    assert r["eps_lower_bound_trials"] == ("400 outcomes of 8 prompts x 50 examples (the held-out half of 100; "
                                           "the other 50 picked the threshold)")
    assert "not a certified bound" in r["eps_lower_bound_assumption"]
    audit = membership_rows("loss", ["default"], scores, keep, delta=1e-3, base={}, n_boot=20, prompt0="shadow 0")
    assert audit[0]["attacked"] == "shadow 0 and 7 other prompts, each attacked in turn"
    assert membership_rows("loss", ["default"], scores, keep, delta=1e-3, base={}, n_boot=20,
                           bound_on="shadow 0")[0]["attacked"] == audit[0]["attacked"]
    with pytest.raises(ValueError, match="shape"):
        membership_rows("loss", ["default"], scores, keep[:, :5], delta=1e-3, base={})


# ---- shadows protocol --------------------------------------------------------------------------------


@pytest.mark.parametrize("k,n", [(2, 6), (4, 16), (8, 34)])
def test_keep_masks_complementary_halves(k, n):
    keep = keep_masks(k, n, seed=3)
    assert keep.shape == (k, n) and keep.dtype == bool
    assert (keep.sum(axis=1) == n // 2).all()  # every shadow: exactly N = half the population
    assert (keep.sum(axis=0) == k // 2).all()  # every example: IN for exactly K/2 shadows
    assert (keep[0::2] == ~keep[1::2]).all()
    assert (keep == keep_masks(k, n, seed=3)).all() and not (keep == keep_masks(k, n, seed=4)).all()
    with pytest.raises(ValueError, match="even"):
        keep_masks(3, n, seed=0)


def test_scored_examples_half_members():
    idx = scored_examples(50, 20, seed=1)
    assert idx.size == 20 and (idx < 50).sum() == 10 and len(set(idx.tolist())) == 20
    with pytest.raises(ValueError):
        scored_examples(5, 12, seed=1)


# ---- bootstrap and TPR ------------------------------------------------------------------------------


def test_bootstrap_ci_covers_true_auc_and_shrinks():
    rng = np.random.default_rng(5)
    true_auc = stats.norm.cdf(1 / math.sqrt(2))
    widths = []
    for n in (150, 1500):
        s = np.r_[rng.normal(1, 1, n), rng.normal(0, 1, n)]
        y = np.r_[np.ones(n, bool), np.zeros(n, bool)]
        ci = bootstrap_ci(s, y, n_boot=100, seed=0)
        assert ci["auc"][0] < true_auc < ci["auc"][1]
        lo, hi = ci["tpr_at_fpr"]["0.1"]
        assert lo < stats.norm.sf(stats.norm.ppf(0.9) - 1) < hi
        widths.append(ci["auc"][1] - ci["auc"][0])
    assert widths[1] < widths[0] / 2  # ~1/sqrt(n)
    assert ci["tpr_at_fpr"]["0.001"] is not None and ci["confidence"] == 0.95
    assert ci["method"] == "percentile bootstrap" and ci["n_units"] == 3000 and ci["unit"].startswith("outcomes")


def _clustered(rng, m=5, n=60, shift=0.0, decimals=None):
    """[M, N] statistics with an example effect shared by the M rows, and random membership."""
    s = rng.normal(0, 2, n) + rng.normal(0, 1, (m, n))
    y = rng.random((m, n)) < 0.5
    s = s + shift * y
    return (np.round(s, decimals) if decimals is not None else s), y


def _delong_reference(clusters):
    """Clustered DeLong variance (Obuchowski 1997) written out cluster by cluster: ``clusters`` is a list of
    (statistics, is_member) per independent example."""
    pos = np.concatenate([s[y] for s, y in clusters])
    neg = np.concatenate([s[~y] for s, y in clusters])

    def psi(a, b):
        return (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])

    theta = psi(pos, neg).mean()
    z = [(psi(s[y], neg).sum() / neg.size - y.sum() * theta) / pos.size
         + (psi(pos, s[~y]).sum() / pos.size - (~y).sum() * theta) / neg.size for s, y in clusters]
    c = len(clusters)
    return theta, math.sqrt(c / (c - 1) * np.sum(np.square(z)))


@pytest.mark.parametrize("decimals", [None, 0])  # continuous, and heavily tied
def test_example_outcomes_equal_explicit_resampling(decimals):
    """Under integer example weights, AUC/TPR equal those of the data set that repeats each example's outcomes
    that many times, and the AUC's SE equals the clustered DeLong formula on that data set."""
    rng = np.random.default_rng(9)
    s, y = _clustered(rng, m=5, n=60, shift=0.7, decimals=decimals)
    out = ExampleOutcomes.from_arrays(s, y)
    w = rng.integers(0, 3, size=(6, 60))
    auc, tprs = out.metrics(w)
    auc2, se2 = out.auc_se(w)
    for b in range(6):
        reps = np.repeat(np.arange(60), w[b])
        ss, yy = s[:, reps], y[:, reps]
        ref_auc, ref_tpr = auc_and_tpr(ss[yy][None], ss[~yy][None])
        assert auc[b] == pytest.approx(ref_auc[0], abs=1e-12) and auc2[b] == pytest.approx(ref_auc[0], abs=1e-12)
        for lvl in tprs:
            assert tprs[lvl][b] == pytest.approx(ref_tpr[lvl][0], abs=1e-12)
        theta, se = _delong_reference([(ss[:, j], yy[:, j]) for j in range(reps.size)])
        assert theta == pytest.approx(auc[b], abs=1e-12) and se2[b] == pytest.approx(se, rel=1e-10)
    ones = out.metrics(np.ones((1, 60)))
    assert ones[0][0] == pytest.approx(attack_metrics(s, y).auc, abs=1e-12)
    with pytest.raises(ValueError, match="weights"):
        out.metrics(np.ones((1, 59)))
    with pytest.raises(ValueError, match="weights"):
        out.auc_se(-np.ones((1, 60)))


def test_example_bootstrap_resamples_examples_not_outcomes():
    """Eight prompts on 100 examples that share a strong example effect (and here their membership): resampling
    examples gives a much wider CI than treating the 800 outcomes as independent (which was the bug), and it
    still covers the truth."""
    rng = np.random.default_rng(10)
    s, y = _clustered(rng, m=8, n=100, shift=0.0)
    y = np.broadcast_to(np.arange(100) % 2 == 0, y.shape)
    ci = example_bootstrap_ci(s, y, n_boot=400, seed=1)
    naive = bootstrap_ci(s, y, n_boot=400, seed=1)
    assert ci["auc"][0] < 0.5 < ci["auc"][1]
    assert ci["auc"][1] - ci["auc"][0] > 1.7 * (naive["auc"][1] - naive["auc"][0])  # 2.1 here
    assert ci["n_units"] == 100 and ci["unit"] == "examples (the 8 targets' outcomes on one example resampled together)"
    pct = example_bootstrap_ci(s, y, n_boot=400, seed=1, interval="percentile")
    assert pct["method"] == "percentile bootstrap" and pct["auc"] != ci["auc"]
    lo, hi = ci["tpr_at_fpr"]["0.1"]
    assert lo < 0.1 < hi and ci["tpr_at_fpr"]["0.001"] is None  # 400 non-members < 1000
    perfect = example_bootstrap_ci(y.astype(float), y, n_boot=50)  # SE 0: falls back to the percentile interval
    assert perfect["auc"] == [1.0, 1.0] and perfect["tpr_at_fpr"]["0.01"] == [1.0, 1.0]
    for kwargs, match in (({"interval": "bca"}, "interval"), ({"n_boot": 1}, "n_boot"), ({"confidence": 1.0}, "confidence")):
        with pytest.raises(ValueError, match=match):
            example_bootstrap_ci(s, y, **kwargs)
    with pytest.raises(ValueError, match="shape"):
        example_bootstrap_ci(s[0], y[0])
    with pytest.raises(ValueError, match="2 examples"):
        example_bootstrap_ci(s[:, :1], np.array([[True], [False]] * 4))


# ---- ε lower bound validity -------------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["split", "bonferroni"])
def test_eps_lower_bound_false_positive_rate_at_most_nominal(choice):
    """Null model: members and non-members score alike, so any ε_lb > 0 (at δ = 0) is a false positive.
    Its rate must stay at/below 1 − confidence = 5% (the max over thresholds without correction gave 6.8%)."""
    rng = np.random.default_rng(6)
    trials, n = 200, 60
    hits = 0
    for t in range(trials):
        s = rng.normal(size=2 * n)
        y = np.r_[np.ones(n, bool), np.zeros(n, bool)]
        hits += epsilon_lower_bound(s, y, delta=0.0, threshold_choice=choice, seed=t).value > 0
    assert hits / trials <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / trials)


def test_eps_lower_bound_record_and_bad_input():
    y = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    b = epsilon_lower_bound(y.astype(float), y, delta=0.0)
    assert b.value > 1.5 and b.confidence == 0.95 and b.threshold_choice == "split" and b.n_trials == 50
    assert b.direction in ("member-if-above", "nonmember-if-below") and b.to_dict()["value"] == b.value
    with pytest.raises(ValueError, match="threshold_choice"):
        epsilon_lower_bound(y.astype(float), y, delta=0.0, threshold_choice="max")


def test_eps_lower_bound_split_by_groups():
    """With groups, whole groups go to one half: 9 outcomes per group, so the bounded half is whole groups."""
    rng = np.random.default_rng(11)
    s, y = _clustered(rng, m=9, n=40, shift=3.0)
    groups = np.broadcast_to(np.arange(40), (9, 40))
    b = epsilon_lower_bound(s, y, delta=0.0, groups=groups)
    assert b.n_trials == 9 * 20 and b.value > 1.0
    assert epsilon_lower_bound(s, y, delta=0.0, groups=groups, seed=1).n_trials == 180
    with pytest.raises(ValueError, match="groups"):
        epsilon_lower_bound(s, y, delta=0.0, groups=np.arange(40))


# ---- one-run auditing -------------------------------------------------------------------------------


def _p_value_reference(m, r, v, eps, delta):
    """Steinke et al. 2023, Theorem 5.2 / their reference snippet, one term at a time."""
    q = 1 / (1 + math.exp(-eps))
    beta = stats.binom.sf(v - 1, r, q)
    alpha, total = 0.0, 0.0
    for i in range(1, v + 1):
        total += stats.binom.pmf(v - i, r, q)
        alpha = max(alpha, total / i)
    return min(beta + alpha * delta * 2 * m, 1.0)


@pytest.mark.parametrize("m,r,v,eps,delta", [(100, 40, 30, 1.0, 0.0), (1000, 100, 80, 2.0, 1e-5),
                                             (500, 50, 50, 0.5, 1e-3), (200, 20, 0, 1.0, 1e-4)])
def test_one_run_p_value_matches_reference(m, r, v, eps, delta):
    assert one_run.p_value(m, r, v, eps, delta) == pytest.approx(_p_value_reference(m, r, v, eps, delta), rel=1e-12)


def test_one_run_bound_is_the_largest_rejected_eps():
    lb = one_run.epsilon_lower_bound(1000, 100, 90, delta=1e-5)
    assert one_run.p_value(1000, 100, 90, lb, 1e-5) < 0.05 <= one_run.p_value(1000, 100, 90, lb + 1e-4, 1e-5)
    assert one_run.epsilon_lower_bound(1000, 100, 50, delta=0.0) == 0.0  # chance guessing proves nothing


def test_one_run_randomised_response_is_bounded_by_true_eps():
    """Canaries whose score is ε-DP randomised response of their membership: the bound is ≤ ε and near it."""
    rng = np.random.default_rng(7)
    m, eps = 4000, 1.0
    inc = rng.random(m) < 0.5
    truthful = rng.random(m) < math.exp(eps) / (1 + math.exp(eps))
    score = np.where(truthful, inc, ~inc) + rng.random(m) * 1e-3  # ties broken at random
    res = one_run.audit(score, inc, k_plus=500, k_minus=500, delta=0.0)
    assert res.guesses == 1000 and 0.5 * res.guesses < res.correct
    assert 0.6 < res.eps_lower_bound <= eps
    with pytest.raises(ValueError, match="k_plus"):
        one_run.audit(score, inc, k_plus=m, k_minus=1, delta=0.0)


def test_vectorised_auc_and_tpr_match_sklearn():
    rng = np.random.default_rng(8)
    for n_pos, n_neg in ((7, 13), (50, 200), (300, 1500)):
        pos = np.round(rng.normal(0.5, 1, (4, n_pos)), 1)  # rounded: ties between and within groups
        neg = np.round(rng.normal(0, 1, (4, n_neg)), 1)
        auc, tprs = auc_and_tpr(pos, neg)
        for b in range(4):
            met = attack_metrics(np.r_[pos[b], neg[b]], np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)])
            assert auc[b] == pytest.approx(met.auc, abs=1e-12)
            for lvl, v in met.tpr_at_fpr.items():
                if v is not None:
                    assert tprs[lvl][b] == pytest.approx(v, abs=1e-12)


def test_a_shadows_complement_is_never_its_reference():
    """Shadows come in complementary halves; when shadow t is attacked in turn, its complement (membership
    the exact opposite of t's) is left out of its references, whatever that complement's scores are."""
    from post_bench.attacks.membership import references

    load_attacks()
    rng = np.random.default_rng(0)
    keep = np.vstack([rng.random(40) < 0.5, keep_masks(6, 40, seed=1)])  # attacked prompt + 3 complementary pairs
    scores = rng.normal(0, 1, keep.shape)
    assert references(keep, 0).tolist() == [False] + [True] * 6  # the attacked prompt has no complement
    assert references(keep, 1).tolist() == [True, False, False, True, True, True, True]
    assert references(keep, 2).tolist() == [True, False, False, True, True, True, True]
    lira = ATTACKS.get("lira")()
    before, member = leave_one_out(lira, scores, keep, "online", targets=[1])
    scores[2] += 100.0  # shadow 1's complement
    after, _ = leave_one_out(lira, scores, keep, "online", targets=[1])
    np.testing.assert_array_equal(before, after)
    moved, _ = leave_one_out(lira, scores, keep, "online", targets=[3])
    assert not np.allclose(moved, leave_one_out(lira, scores - 100.0 * (np.arange(7) == 2)[:, None], keep, "online",
                                                targets=[3])[0])
