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
    WELCH,
    check_thresholds,
    compare,
    newcombe_interval,
    parse_threshold,
    welch_interval,
)
from post_bench.errors import UserInputError

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


A = _results("a", _utility("post", 8.0, [0.80, 0.82, 0.81]) + _utility("direct", None, [0.75, 0.77, 0.76])
             + _utility("zero_shot", None, [0.60]) + _utility("ptfer", 8.0, [0.5]),
             [_privacy(0.52, [0.49, 0.55]), _privacy(0.51, [0.48, 0.54], "rmia-online")])
B = _results("b", _utility("post", 8.0, [0.70, 0.71, 0.69]) + _utility("direct", None, [0.76, 0.74, 0.77])
             + _utility("zero_shot", None, [0.62]) + _utility("dp_opt", 8.0, [0.5]),
             [_privacy(0.60, [0.57, 0.63]), _privacy(0.52, [0.49, 0.55], "rmia-online")])


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
    assert not check_thresholds(compare(A, _results("c", [], [])), [acc5])[0].passed  # nothing in common
    for bad in ("acc:0.05", "accuracy", "accuracy:x", "auc:5"):
        with pytest.raises(UserInputError) as err:
            parse_threshold(bad)
        assert len(err.value.problems) == 1 and err.value.problems[0].startswith("--gate: ")


def test_compare_command_markdown_json_and_exit_codes(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b"
    a.write_text(json.dumps(A))
    b.mkdir()
    (b / "results.json").write_text(json.dumps(B))
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


def test_compare_reads_committed_schema_1_reports():
    report = ROOT / "reports" / "quickstart"
    res = CliRunner().invoke(main, ["compare", str(report), str(report / "results.json"), "--gate", "accuracy:0",
                                    "--gate", "auc:0"])
    assert res.exit_code == 0, res.output
    assert re.search(r"## Utility: accuracy \(%\), 0 of [1-9][0-9]* cells moved", res.output), res.output
    assert "schema 1" in res.output or "schema 2" in res.output
