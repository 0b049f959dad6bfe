"""post-bench compare: per-cell differences B − A with 95% CIs, what moved beyond noise, threshold gates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from scipy import stats

from post_bench.cli import main
from post_bench.commands.compare import (
    NEWCOMBE,
    PAIRED,
    WELCH,
    check_thresholds,
    compare,
    newcombe_interval,
    parse_threshold,
    welch_interval,
)
from post_bench.errors import UserInputError
from post_bench.rows import parse_results

ROOT = Path(__file__).resolve().parents[1]
MODEL = "smollm2-135m"


def _utility(method, eps, accs, n_test=200):
    return [{"dataset": "bbc-news", "method": method, "model": MODEL, "model_role": "target", "epsilon": eps,
             "seed": s, "accuracy": a, "n_test": n_test, "num_classes": 5} for s, a in enumerate(accs)]


def _privacy(auc, ci, attack="lira-online"):
    return {"dataset": "bbc-news", "method": "post", "epsilon": 8.0, "seed": 0, "claimed_epsilon": 8.0, "attack": attack,
            "auc": auc, "tpr_at_fpr": {"0.001": None, "0.01": 0.02, "0.1": 0.12}, "ci": {"auc": ci},
            "n_shadows": 8, "n_examples": 128, "eps_lower_bound": 0.0}


def _results(name, utility, privacy):
    return {"schema": 1, "suite": {"name": name}, "env": {"git": name, "device": "cpu"}, "utility": utility,
            "privacy": privacy, "extraction": [], "distill": [], "cost": []}


A_RAW = _results("a", _utility("post", 8.0, [0.80, 0.82, 0.81]) + _utility("direct", None, [0.75, 0.77, 0.76])
             + _utility("zero_shot", None, [0.60]) + _utility("ptfer", 8.0, [0.5]),
             [_privacy(0.52, [0.49, 0.55]), _privacy(0.51, [0.48, 0.54], "rmia-online")])
B_RAW = _results("b", _utility("post", 8.0, [0.70, 0.71, 0.69]) + _utility("direct", None, [0.76, 0.74, 0.77])
             + _utility("zero_shot", None, [0.62]) + _utility("dp_opt", 8.0, [0.5]),
             [_privacy(0.60, [0.57, 0.63]), _privacy(0.52, [0.49, 0.55], "rmia-online")])
A, B = parse_results(A_RAW), parse_results(B_RAW)


def test_welch_and_newcombe_intervals_match_the_references():
    a, b = [0.80, 0.82, 0.81, 0.79], [0.70, 0.71, 0.69]
    ref = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert welch_interval(a, b) == pytest.approx((ref.low, ref.high), abs=1e-12)
    # Newcombe (1998), Statistics in Medicine 17:873, method 10: 56/70 vs 48/80 -> (0.0524, 0.3339)
    lo, hi = newcombe_interval(48 / 80, 80, 56 / 70, 70)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_compare_reports_which_cells_moved():
    c = compare(A, B)
    by = {(d.key["method"], d.key.get("attack")): d for d in c.utility + c.privacy}
    post, direct, zs = by[("post", None)], by[("direct", None)], by[("zero_shot", None)]
    assert post.ci_method == WELCH and post.moved == "down" and post.diff == pytest.approx(-0.11)
    assert direct.ci_method == WELCH and direct.moved == ""
    assert zs.ci_method == NEWCOMBE and zs.moved == "" and zs.low < 0 < zs.high
    auc = by[("post", "lira-online")]
    assert auc.moved == "up" and auc.diff == pytest.approx(0.08)
    # the combined half-width: sqrt(0.03² + 0.03²) each side
    assert (auc.low, auc.high) == pytest.approx((0.08 - 0.03 * 2**0.5, 0.08 + 0.03 * 2**0.5))
    assert by[("post", "rmia-online")].moved == ""
    assert [x["method"] for x in c.only_a] == ["ptfer"] and [x["method"] for x in c.only_b] == ["dp_opt"]


def test_thresholds_fail_only_on_moves_in_the_bad_direction_beyond_them():
    c = compare(A, B)
    acc5, acc20, auc5, auc10 = (parse_threshold(t) for t in ("accuracy:0.05", "accuracy:0.2", "auc:0.05", "auc:0.1"))
    out = check_thresholds(c, [acc5, acc20, auc5, auc10])
    assert [r.passed for r in out] == [False, True, False, True]
    assert len(out[0].lines) == 1 and "bbc-news post (smollm2-135m) eps=8: 0.810 -> 0.700 (-0.110" in out[0].lines[0]
    # the same move the other way (B better than A) fails nothing
    assert all(r.passed for r in check_thresholds(compare(B, A), [acc5]))
    assert not check_thresholds(compare(A, parse_results(_results("c", [], []))), [acc5])[0].passed  # nothing in common
    for bad in ("acc:0.05", "accuracy", "accuracy:x", "auc:5"):
        with pytest.raises(UserInputError) as err:
            parse_threshold(bad)
        assert len(err.value.problems) == 1 and err.value.problems[0].startswith("--gate: ")


def test_compare_command_markdown_json_and_exit_codes(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b"
    a.write_text(json.dumps(A_RAW))
    b.mkdir()
    (b / "results.json").write_text(json.dumps(B_RAW))
    runner = CliRunner()
    res = runner.invoke(main, ["compare", str(a), str(b), "--json", str(tmp_path / "cmp.json"), "--gate", "accuracy:0.05"])
    assert res.exit_code == 3, res.output
    assert "## Utility: accuracy (%), 1 of 3 cells moved" in res.output
    assert "| bbc-news | post | smollm2-135m | 8 | 3/3 | 81.0 | 70.0 | -11.0 |" in res.output
    assert "## Privacy: membership-inference AUC, 1 of 2 cells moved" in res.output
    assert "**Cells only in A** (1): bbc-news ptfer smollm2-135m 8\n" in res.output
    assert "- accuracy drop > 0.05: **FAIL** (3 cells)\n  - accuracy drop > 0.05: bbc-news post" in res.output
    assert res.output.count("gate failed: accuracy drop > 0.05: ") == 1  # one line per failed cell on stderr
    data = json.loads((tmp_path / "cmp.json").read_text())
    post = next(d for d in data["utility"] if d["method"] == "post")
    assert post["moved"] == "down" and post["ci_method"] == WELCH and data["gates"][0]["passed"] is False
    ok = runner.invoke(main, ["compare", str(a), str(b), "--gate", "accuracy:0.2"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["compare", str(a), str(tmp_path / "missing"), "--gate", "auc:1.5"])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "threshold must be in [0, 1)" in bad.output
    missing = runner.invoke(main, ["compare", str(a), str(tmp_path / "missing")])
    assert missing.exit_code == 2 and "RUN_B: not found" in missing.output and "Traceback" not in missing.output


def test_an_unreadable_results_file_is_exit_2_with_one_line_per_problem(tmp_path):
    bad = json.loads(json.dumps(A_RAW))
    bad["utility"][0]["accuracy"] = "high"
    bad["utility"][1]["epsilon"] = -1
    del bad["privacy"][0]["attack"]
    cases = {"rows.json": json.dumps(bad), "schema.json": json.dumps({**A_RAW, "schema": 7}),
             "list.json": "[1]", "text.json": "{not json", "bytes.json": b"\xff\xfe"}
    for name, text in cases.items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    expected = {
        "rows.json": ["utility[0].accuracy: 'high' is not allowed; allowed: a valid number",
                      "utility[1].epsilon: ε must be a positive number or null (non-private); got -1",
                      "privacy[0].attack: required key missing"],
        "schema.json": ["schema: unsupported results schema 7; allowed: 1, 2"],
        "list.json": ["expected a JSON object with a 'schema' key, got list; allowed: results.json as post-bench run "
                      "writes it (schema 1 or 2)"],
        "text.json": ["not valid JSON ("], "bytes.json": ["not UTF-8 text ("]}
    for name, parts in expected.items():
        for args in (["compare", str(tmp_path / name), str(tmp_path / "list.json")],
                     ["compare", str(ROOT / "reports" / "quickstart"), str(tmp_path / name)]):
            res = CliRunner().invoke(main, args)  # run A is read first: its problems alone
            lines = res.output.splitlines()
            assert res.exit_code == 2 and "Traceback" not in res.output, res.output
            assert len(lines) == len(parts), res.output
            for line, part in zip(lines, parts):
                assert line.startswith(f"{tmp_path / name}: ") and part in line, (line, part)


def test_compare_reads_committed_schema_1_reports():
    report = ROOT / "reports" / "quickstart"
    res = CliRunner().invoke(main, ["compare", str(report), str(report / "results.json"), "--gate", "accuracy:0",
                                    "--gate", "auc:0"])
    assert res.exit_code == 0, res.output
    assert re.search(r"## Utility: accuracy \(%\), 0 of [1-9][0-9]* cells moved", res.output), res.output
    assert "schema 1" in res.output or "schema 2" in res.output


# ---- paired per row: runs whose utility rows have samples files -----------------------------------------

def _write_run(folder: Path, cells: dict, name: str = "run") -> dict:
    """A run directory with results.json and one samples file per utility row. ``cells``: {(method, ε): {seed:
    [(row id, correct), ...]}}; a row id of None leaves that utility row without samples."""
    from post_bench.samples import collected_name, write_samples

    utility = []
    for (method, eps), seeds in cells.items():
        for seed, rows in seeds.items():
            unit = f"evaluate-{method}-{eps}-{seed}"
            (folder / "samples" / unit).mkdir(parents=True, exist_ok=True)
            ref = write_samples(folder / "samples" / unit,
                                [{"row_id": r, "label": 1, "pred": int(c), "scores": [0.0, 1.0], "logprobs": None}
                                 for r, c in rows], "predictions")
            row = {**_utility(method, eps, [sum(c for _, c in rows) / len(rows)], len(rows))[0], "seed": seed,
                   "samples": {**ref, "file": collected_name(unit, ref["file"])}}
            utility.append(row)
    results = _results(name, utility, [])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))
    return parse_results(results)


def _correct(seed: int, n: int, flips: int, shift: int = 0) -> tuple[list, list]:
    """Per-row correctness of A and B on ``n`` rows of one seed: A from a fixed pattern, B = A with ``flips``
    right→wrong and ``shift`` wrong→right changes (so the runs agree on most rows)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a = (rng.random(n) < 0.7).astype(int)
    b = a.copy()
    right, wrong = np.flatnonzero(a == 1), np.flatnonzero(a == 0)
    b[right[:flips]] = 0
    b[wrong[:shift]] = 1
    ids = [f"s{seed}-r{i:03d}" for i in range(n)]  # other rows per seed, like a split that changes with the seed
    return list(zip(ids, a.tolist())), list(zip(ids, b.tolist()))


def test_compare_pairs_the_rows_of_runs_with_samples_and_adds_mcnemar(tmp_path):
    import numpy as np

    flips = {0: (5, 1), 1: (4, 1), 2: (6, 2)}  # per seed: rows B lost, rows B gained
    sa, sb = {}, {}
    for seed, (lost, gained) in flips.items():
        sa[seed], sb[seed] = _correct(seed, 60, lost, gained)
    a = _write_run(tmp_path / "a", {("post", 8.0): sa})
    b = _write_run(tmp_path / "b", {("post", 8.0): sb})
    (d,) = compare(a, b, tmp_path / "a", tmp_path / "b").utility
    assert d.ci_method == PAIRED and d.note == ""

    # by hand: per seed the mean and squared standard error of d_i = b_i − a_i; seeds with equal weight; the
    # variance the larger of the row one (Σ w_s / S²) and the between-seed one (var(m_s) / S)
    diffs = [np.array([cb for (_, cb) in sb[s]]) - np.array([ca for (_, ca) in sa[s]]) for s in (0, 1, 2)]
    m = np.array([x.mean() for x in diffs])
    w = np.array([x.var(ddof=1) / x.size for x in diffs])
    est = m.mean()
    half = stats.norm.ppf(0.975) * np.sqrt(max(w.sum() / 9, m.var(ddof=1) / 3))
    assert est == pytest.approx(-(4 + 3 + 4) / 180)  # B lost 15 rows and gained 4 of 180
    assert d.diff == pytest.approx(est) and (d.low, d.high) == pytest.approx((est - half, est + half))
    assert d.a == pytest.approx(np.mean([np.mean([c for _, c in sa[s]]) for s in sa]))
    assert d.n_rows == 180 and (d.n01, d.n10) == (4, 15) and d.seeds_a == d.seeds_b == 3
    # exact two-sided McNemar: 2 · P(X ≤ 4), X ~ Binomial(19, ½)
    assert d.mcnemar_p == pytest.approx(2 * stats.binom.cdf(4, 19, 0.5)) and 0.01 < d.mcnemar_p < 0.02
    assert d.moved == "down"
    # the same runs as independent samples (Welch over the three seed accuracies) cannot see it
    (w_d,) = compare(a, b).utility
    assert w_d.ci_method == WELCH and w_d.diff == pytest.approx(est) and w_d.moved == ""
    assert w_d.high - w_d.low > 1.5 * (d.high - d.low)
    # a threshold gate uses the paired interval
    ok, fail = check_thresholds(compare(a, b, tmp_path / "a", tmp_path / "b"),
                                [parse_threshold("accuracy:0.07"), parse_threshold("accuracy:0.05")])
    assert ok.passed and all(t.passed for t in check_thresholds(compare(a, b), [parse_threshold("accuracy:0.05")]))
    assert not fail.passed and "paired rows within seeds (+ McNemar), 180 paired rows, McNemar p=0.019 " \
                               "(n01 4, n10 15)" in fail.lines[0]

    res = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b" / "results.json"),
                                    "--json", str(tmp_path / "cmp.json")])
    assert res.exit_code == 0, res.output
    assert "per-row samples for 3 evaluation(s)" in res.output
    row = next(line for line in res.output.splitlines() if line.startswith("| bbc-news | post "))
    assert f"| 69.4 | 63.3 | -6.1 | [-10.8, -1.4] | {PAIRED} | 180 | 0.019 (4/15) | **down** |" in row
    data = json.loads((tmp_path / "cmp.json").read_text())
    (u,) = data["utility"]
    assert u["ci_method"] == PAIRED and u["ci"] == pytest.approx([est - half, est + half])
    assert (u["n_rows"], u["n01"], u["n10"]) == (180, 4, 15) and u["mcnemar_p"] == pytest.approx(d.mcnemar_p)
    assert data["methods"]["utility"]["same test rows with per-row samples"] == PAIRED


def test_compare_falls_back_when_rows_are_not_shared(tmp_path):
    sa, sb = {}, {}
    for seed in (0, 1, 2):
        sa[seed], sb[seed] = _correct(seed, 40, 3, 1)
    a = _write_run(tmp_path / "a", {("post", 8.0): sa})
    # B without samples (an old run): Welch over seeds, and the note says why
    b = _write_run(tmp_path / "b", {("post", 8.0): sb})
    raw = b.dump()
    old = parse_results({**raw, "utility": [{k: v for k, v in r.items() if k != "samples"} for r in raw["utility"]]})
    (d,) = compare(a, old, tmp_path / "a", tmp_path / "b").utility
    assert d.ci_method == WELCH and d.note == "not paired: run B has no per-row samples for this cell"
    assert d.n_rows is d.mcnemar_p is None and d.to_json()["n_rows"] is None
    # other test rows in every seed (another split): Welch
    other = _write_run(tmp_path / "c", {("post", 8.0): {s: [(r + "x", c) for r, c in rows] for s, rows in sb.items()}})
    (d,) = compare(a, other, tmp_path / "a", tmp_path / "c").utility
    assert d.ci_method == WELCH and "no seed has the same test rows in both runs" in d.note
    # one seed in B: Newcombe over the predictions when not paired, paired on that seed when it is
    one = _write_run(tmp_path / "d", {("post", 8.0): {0: sb[0]}})
    assert compare(a, one).utility[0].ci_method == NEWCOMBE
    (d,) = compare(a, one, tmp_path / "a", tmp_path / "d").utility
    assert d.ci_method == PAIRED and d.n_rows == 40 and (d.seeds_a, d.seeds_b) == (1, 1)
    assert d.a == pytest.approx(sum(c for _, c in sa[0]) / 40)  # A on the paired seed only
    assert d.note == "paired on seed(s) [0]; left out: seed(s) only in A: [1, 2]"
    # a damaged samples file is not trusted: that seed is left out, and the run's summary says so
    damaged = tmp_path / "b" / b.utility[1].samples.file
    damaged.write_bytes(damaged.read_bytes()[:-4] + b"\0\0\0\0")
    c = compare(a, b, tmp_path / "a", tmp_path / "b")
    assert c.utility[0].ci_method == PAIRED and "seed(s) without samples in one run: [1]" in c.utility[0].note
    assert "1 samples file(s) unreadable" in c.samples_b and "sha256" in c.samples_b
