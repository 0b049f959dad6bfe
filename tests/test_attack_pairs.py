"""Membership attacks compared on the same outcomes (post_bench/report/attack_pairs.py): the paired AUC difference,
its bootstrap over examples, the verdicts, and the table of a run read from its samples files."""

import math

import numpy as np
import pytest

from post_bench.attacks.metrics import QUANTILE, attack_metrics, example_bootstrap_ci
from post_bench.report import render_report
from post_bench.report.attack_pairs import (
    NO_DIFFERENCE,
    STRONGER,
    TITLE,
    WEAKER,
    attack_pairs,
    attack_pairs_table,
    compare_attacks,
    signed,
    verdict,
)
from post_bench.rows import parse_results
from post_bench.samples import write_samples


def _outcomes(n_prompts=3, n=200, seed=0):
    """Memberships [M, N] (each prompt trained on a random half of the examples), an example difficulty shared
    by every attack, and a statistic that sees membership: member + difficulty + noise."""
    rng = np.random.default_rng(seed)
    member = rng.random((n_prompts, n)) < 0.5
    difficulty = rng.normal(0, 1, n)[None, :]
    strong = member * 1.0 + difficulty + rng.normal(0, 1, (n_prompts, n))
    return rng, member, strong


def test_a_noisier_copy_is_weaker_with_its_auc_difference_and_an_interval_above_zero():
    rng, member, strong = _outcomes()
    weak = strong + rng.normal(0, 2, strong.shape)  # the same signal with more noise: a known ordering
    c = compare_attacks({"strong": strong, "weak": weak}, member, baseline="weak")
    auc_strong, auc_weak = attack_metrics(strong, member).auc, attack_metrics(weak, member).auc
    assert auc_strong > auc_weak + 0.05
    assert c.aucs == (("strong", pytest.approx(auc_strong)), ("weak", pytest.approx(auc_weak)))
    assert c.strongest == "strong" and c.baseline == "weak" and (c.n_prompts, c.n_examples) == (3, 200)
    up, down = c.difference("strong", "weak"), c.difference("weak", "strong")
    assert up.difference == pytest.approx(auc_strong - auc_weak, abs=1e-12)
    assert 0.0 < up.low < up.difference < up.high and up.verdict == STRONGER
    # the same draws: the reverse comparison is the mirror image
    assert down.difference == pytest.approx(-up.difference) and down.verdict == WEAKER
    assert (down.low, down.high) == (pytest.approx(-up.high), pytest.approx(-up.low))
    assert c.difference("strong", "strong") is None


def test_identical_or_rank_equivalent_statistics_differ_by_exactly_zero():
    _, member, strong = _outcomes(seed=1)
    c = compare_attacks({"a": strong, "b": strong.copy(), "c": np.exp(strong)}, member, baseline="b")
    assert [auc for _, auc in c.aucs] == [pytest.approx(attack_metrics(strong, member).auc, abs=1e-12)] * 3
    assert c.strongest == "a"  # a tie goes to the first name
    for d in c.differences:
        assert (d.difference, d.low, d.high) == (0.0, 0.0, 0.0) and d.verdict == NO_DIFFERENCE
        assert d.low <= 0.0 <= d.high


def test_equally_strong_attacks_with_their_own_noise_show_no_difference():
    rng, member, strong = _outcomes(seed=2)
    a = strong + rng.normal(0, 1, strong.shape)
    b = strong + rng.normal(0, 1, strong.shape)
    d = compare_attacks({"a": a, "b": b}, member, baseline="a").difference("b", "a")
    assert d.low < 0.0 < d.high and d.verdict == NO_DIFFERENCE
    assert abs(d.difference) < 0.03


def test_the_interval_is_the_percentile_of_aucs_on_resampled_examples_all_prompts_together():
    """Brute force: each draw's outcomes built by repeating the drawn examples' columns (every prompt's outcome on
    the example), the AUCs taken with attack_metrics, the differences' quantiles compared."""
    rng, member, strong = _outcomes(n_prompts=3, n=20, seed=3)
    weak = strong + rng.normal(0, 1, strong.shape)
    n_boot, seed = 40, 7
    d = compare_attacks({"s": strong, "w": weak}, member, baseline="w", n_boot=n_boot, seed=seed).difference("s", "w")
    draws = np.random.default_rng([seed, 0xA77A]).integers(20, size=(n_boot, 20))
    diffs = []
    for idx in draws:
        y = member[:, idx]
        if y.all() or not y.any():
            continue
        diffs.append(attack_metrics(strong[:, idx], y).auc - attack_metrics(weak[:, idx], y).auc)
    low, high = np.quantile(diffs, [0.025, 0.975], method=QUANTILE)
    assert (d.low, d.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))


def test_pairing_makes_the_difference_sharper_than_either_auc():
    rng, member, strong = _outcomes(seed=4)
    close = strong + rng.normal(0, 0.3, strong.shape)
    d = compare_attacks({"s": strong, "c": close}, member, baseline="s").difference("c", "s")
    one = example_bootstrap_ci(strong, member, interval="percentile")["auc"]
    assert (d.high - d.low) < 0.5 * (one[1] - one[0])


def test_deterministic_for_a_seed():
    rng, member, strong = _outcomes(seed=5)
    weak = strong + rng.normal(0, 1, strong.shape)
    stats = {"s": strong, "w": weak}
    assert compare_attacks(stats, member, seed=3) == compare_attacks(stats, member, seed=3)
    assert compare_attacks(stats, member, seed=3) != compare_attacks(stats, member, seed=4)


def test_verdict_and_signed():
    assert verdict(0.001, 0.2) == STRONGER and verdict(-0.2, -0.001) == WEAKER
    assert verdict(0.0, 0.1) == NO_DIFFERENCE and verdict(-0.1, 0.0) == NO_DIFFERENCE
    assert [signed(x) for x in (0.0126, -0.1, 4.2e-4, 6e-5, -3e-12, 0.0)] == [
        "+0.013", "-0.100", "+0.0004", "+0.00006", "-3e-12", "+0.000"]


@pytest.mark.parametrize(("stats", "member", "kwargs", "match"), [
    ({"a": np.zeros((2, 4))}, np.eye(2, 4, dtype=bool), {}, "at least 2 attacks"),
    ({"a": np.zeros((2, 4)), "b": np.zeros((2, 5))}, np.eye(2, 4, dtype=bool), {}, r"statistics\['b'\]: shape"),
    ({"a": np.zeros((2, 4)), "b": np.full((2, 4), np.nan)}, np.eye(2, 4, dtype=bool), {}, "NaN"),
    ({"a": np.zeros((2, 4)), "b": np.zeros((2, 4))}, np.zeros((2, 4), dtype=bool), {}, "both members"),
    ({"a": np.zeros((2, 4)), "b": np.zeros((2, 4))}, np.full((2, 4), 2), {}, "0/1"),
    ({"a": np.zeros((2, 1)), "b": np.zeros((2, 1))}, np.array([[True], [False]]), {}, "at least 2 examples"),
    ({"a": np.zeros((2, 4)), "b": np.zeros((2, 4))}, np.eye(2, 4, dtype=bool), {"baseline": "loss"}, "baseline"),
    ({"a": np.zeros((2, 4)), "b": np.zeros((2, 4))}, np.eye(2, 4, dtype=bool), {"n_boot": 1}, "n_boot"),
    ({"a": np.zeros((2, 4)), "b": np.zeros((2, 4))}, np.eye(2, 4, dtype=bool), {"confidence": 1.0}, "confidence"),
])
def test_what_cannot_be_compared_is_a_value_error(stats, member, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_attacks(stats, member, **kwargs)


# ---- a run's rows and samples files ---------------------------------------------------------------------


def _row(tmp_path, attack, stats, member, *, method="source_only", eps=None, seed=0, samples=True):
    """A membership privacy row of ``attack`` with a samples file of its [M, N] outcomes under ``tmp_path``."""
    row = {"dataset": "d", "method": method, "epsilon": eps, "attack": attack, "seed": seed,
           "auc": attack_metrics(stats, member).auc}
    if samples:
        folder = tmp_path / f"samples/{attack}-{method}-{eps}"
        folder.mkdir(parents=True)
        lines = [{"prompt": p, "example": e, "statistic": float(stats[p, e]), "member": bool(member[p, e])}
                 for p in range(stats.shape[0]) for e in range(stats.shape[1])]
        ref = write_samples(folder, lines, "membership")
        row["samples"] = {**ref, "file": f"samples/{attack}-{method}-{eps}/{ref['file']}"}
    return row


def test_a_run_is_compared_with_loss_and_the_strongest_from_its_samples(tmp_path):
    rng, member, strong = _outcomes(seed=6)
    loss = strong + rng.normal(0, 1.5, strong.shape)
    minkpp = loss + rng.normal(0, 4, strong.shape)
    other = np.array(member)
    other[0, :5] = ~other[0, :5]  # another population: not the same outcomes
    rows = [_row(tmp_path, "loss", loss, member), _row(tmp_path, "min_k_plus_plus", minkpp, member),
            _row(tmp_path, "lira-online", strong, member), _row(tmp_path, "rmia-online", strong, other),
            _row(tmp_path, "loss", loss, member, method="post", samples=False),
            _row(tmp_path, "lira-online", strong, member, method="post", samples=False)]
    results = parse_results({"schema": 1, "privacy": rows})
    pairs = attack_pairs(results, tmp_path)
    assert len(pairs.cells) == 1 and pairs.without_samples == 1
    cell = pairs.cells[0]
    assert (cell.dataset, cell.method, cell.epsilon, cell.seed) == ("d", "source_only", math.inf, 0)
    c = cell.comparison
    assert c.baseline == "loss" and c.strongest == "lira-online"  # LOSS asked of the class: Loss.baseline
    assert [a for a, _ in c.aucs] == ["lira-online", "loss", "min_k_plus_plus"]
    assert c.difference("min_k_plus_plus", "loss").verdict == WEAKER
    assert c.difference("lira-online", "loss").verdict == STRONGER
    assert any("rmia-online scored other outcomes" in p for p in pairs.problems)
    table = attack_pairs_table(pairs)
    assert table.title == TITLE and table.columns[6] == "AUC − loss [95% CI]"
    first, base = table.rows[0], table.rows[1]
    assert first[4] == "lira-online (strongest)" and first[8:] == ("reference", "—")
    assert base[4] == "loss" and base[6:8] == ("reference", "—")
    d = c.difference("min_k_plus_plus", "loss")
    assert table.rows[2][6] == f"{d.difference:+.3f} [{d.low:+.3f}, {d.high:+.3f}]"
    assert "1 cell(s)" in pairs.note() and "rmia-online" in pairs.note()


def test_report_shows_the_table_with_samples_and_a_line_without(tmp_path):
    rng, member, strong = _outcomes(seed=7)
    rows = [_row(tmp_path, "loss", strong + rng.normal(0, 1, strong.shape), member),
            _row(tmp_path, "lira-online", strong, member)]
    results = parse_results({"schema": 1, "privacy": rows})
    render_report(results, tmp_path / "with", tmp_path)
    md, tex = (tmp_path / "with" / "report.md").read_text(), (tmp_path / "with" / "tables.tex").read_text()
    assert f"### {TITLE}" in md and "| d | source_only | ∞ | 0 | lira-online (strongest) |" in md
    assert f"**{TITLE}:**" not in md and f"\\caption{{{TITLE}." in tex
    render_report(results, tmp_path / "without")  # no samples folder: said in one line
    md = (tmp_path / "without" / "report.md").read_text()
    assert f"### {TITLE}" not in md
    assert f"**{TITLE}:** 1 cell(s) of (dataset, method, ε, seed) with ≥ 2 membership attacks have no per-example " \
           "outputs (samples files) to pair them by example; not shown." in md
