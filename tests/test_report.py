"""Reports render from results.json alone, with the actual numbers, and survive missing sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from post_bench.report import load_results, render_report, roc_filename
from post_bench.report.tables import build_tables, latex_escape, to_latex, to_markdown

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results() -> dict:
    return load_results(FIXTURE)


@pytest.fixture(scope="module")
def rendered(results, tmp_path_factory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("report")
    return out, render_report(results, out)


def test_renders_all_files(rendered):
    out, paths = rendered
    names = {p.name for p in paths}
    assert names == {
        "report.md",
        "tables.tex",
        "utility_vs_epsilon.png",
        "cost.png",
        "roc_election.png",
        "roc_bbc.png",
    }
    for p in paths:
        assert p.parent == out and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_MAGIC


def test_report_contains_numbers_and_links(rendered, results):
    out, _ = rendered
    md = (out / "report.md").read_text()
    tex = (out / "tables.tex").read_text()
    assert "# post-bench report: quickstart" in md
    assert "smollm2-135m-distilled-4l" in md and "3f2c1ab9d0e4" in md and "transformers 5.23.0" in md
    # election/post at ε=8: seeds 0 and 1 -> 0.8347, 0.8470; t-interval over 2 seeds
    ci = stats.ttest_1samp([0.8347, 0.8470], 0).confidence_interval()
    assert (f"{100 * ci.low:.1f}", f"{100 * ci.high:.1f}") == ("76.3", "91.9")
    assert "| election | post | smollm2-135m | 8 | 84.1 | [76.3, 91.9] | t, seeds | 2 | 400 |" in md
    assert "84.1 & [76.3, 91.9] & t, seeds" in tex and r"\toprule" in tex and r"\bottomrule" in tex
    # one seed: Wilson on the 400 test predictions (k = 381), marked as covering the test set only
    w = stats.binomtest(381, 400).proportion_ci(method="wilson")
    assert (f"{100 * w.low:.1f}", f"{100 * w.high:.1f}") == ("92.7", "96.9")
    assert "| bbc | direct | smollm2-135m | ∞ | 95.2 | [92.7, 96.9] | Wilson, test set | 1 | 400 |" in md
    row = next(
        r
        for r in results["privacy"]
        if r["dataset"] == "bbc"
        and r["method"] == "direct"
        and r["epsilon"] is None
        and r["attack"] == "lira-online"
    )
    assert f"| {row['auc']:.3f} |" in md and f"{100 * row['tpr_at_fpr']['0.01']:.1f}" in md
    assert "## Privacy (membership inference)" in md and "### Claimed ε vs empirical lower bounds" in md
    for link in ("utility_vs_epsilon.png", "roc_election.png", "roc_bbc.png", "cost.png"):
        assert f"]({link})" in md
    assert "mean_exposure" in md and "6.820" in md  # extraction
    assert "22.600" in md  # distill: truncated loss
    assert "2.10e+14" in md and "2.10e+14" in tex  # cost: FLOPs
    assert r"zero\_shot" in tex and r"$\varepsilon_{\mathrm{lb}}$" in tex


def test_missing_sections_still_render(results, tmp_path):
    minimal = {"schema": 1, "suite": {"name": "tiny"}, "utility": results["utility"][:4]}
    paths = render_report(minimal, tmp_path)
    assert {p.name for p in paths} == {"report.md", "utility_vs_epsilon.png", "tables.tex"}
    md = (tmp_path / "report.md").read_text()
    assert "## Utility" in md and "## Privacy" not in md and "## Cost" not in md


def test_empty_and_odd_results_do_not_fail(tmp_path):
    paths = render_report({"schema": 1}, tmp_path / "a")
    assert "No results recorded" in (tmp_path / "a" / "report.md").read_text()
    assert {p.name for p in paths} == {"report.md", "tables.tex"}
    odd = {
        "schema": 1,
        "utility": [
            {"dataset": "hf:sst2", "method": "direct", "epsilon": None, "accuracy": 0.9},
            {"bogus": 1},
        ],
        "privacy": [
            {"dataset": "hf:sst2", "method": "direct", "epsilon": 4, "attack": "lira-online"}
        ],  # no roc
        "cost": [{"unit": "u", "kind": "tune", "wall_s": None, "flops": None}],
    }
    names = {p.name for p in render_report(odd, tmp_path / "b")}
    assert {roc_filename("hf:sst2"), "roc_hf_sst2.png", "utility_vs_epsilon.png", "cost.png"} <= names


def test_load_results_checks_schema(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text(json.dumps({"schema": 2}))
    with pytest.raises(ValueError, match="schema"):
        load_results(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="object"):
        load_results(tmp_path)  # a run dir works too
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="JSON"):
        load_results(bad)


def test_tables_are_built_once_and_escape_latex(results):
    tables = build_tables(results)
    assert [len(tables[k]) for k in ("utility", "claims", "privacy", "extraction", "distill", "cost")] == [
        1,
        2,
        3,  # membership inference, claimed ε vs lower bounds, LiRA on POST vs the paper
        3,
        1,
        2,
    ]
    assert latex_escape("a_b & 5% ±∞") == r"a\_b \& 5\% $\pm$$\infty$"
    assert latex_escape("post − a ≫ 2·b ≈ 1–4") == r"post $-$ a $\gg$ 2$\cdot$b $\approx$ 1--4"
    assert to_latex(tables["utility"][0]).count(r"\\") == len(tables["utility"][0].rows) + 1


def test_pipeline_cost_follows_dependencies():
    from post_bench.report.cost import pipeline_costs

    rows = [
        {"unit": "distill-a", "kind": "distill", "model_role": "distill", "wall_s": 10.0, "flops": 100.0, "deps": []},
        {"unit": "tune-s", "kind": "tune", "model_role": "source", "wall_s": 2.0, "flops": 20.0, "deps": ["distill-a"]},
        {"unit": "transfer-p", "kind": "transfer", "model_role": "target", "wall_s": 5.0, "flops": 50.0,
         "deps": ["tune-s", "distill-a"]},
        {"unit": "evaluate-p", "kind": "evaluate", "method": "post", "epsilon": 8.0, "model_role": "target",
         "wall_s": 1.0, "flops": 10.0, "deps": ["transfer-p"]},
        {"unit": "tune-t", "kind": "tune", "model_role": "target", "wall_s": 9.0, "flops": 90.0, "deps": []},
        {"unit": "evaluate-d", "kind": "evaluate", "method": "direct", "epsilon": 8.0, "model_role": "target",
         "wall_s": 1.0, "flops": 10.0, "deps": ["tune-t"]},
    ]
    pipes = {p["method"]: p for p in pipeline_costs(rows)}
    assert pipes["post"]["units"] == 4 and pipes["post"]["wall_s"] == 18.0
    assert pipes["post"]["target_flops"] == 60.0 and pipes["post"]["source_flops"] == 20.0
    assert pipes["direct"]["flops"] == 100.0 and pipes["direct"]["source_flops"] == 0.0
    assert pipes["post"]["dataset"] is None  # cost rows written before they named their data set


def test_pipeline_table_names_the_dataset_and_averages_seeds():
    from post_bench.report.tables import pipeline_table

    rows = [{"unit": f"t{ds}{s}", "kind": "tune", "model_role": "target", "wall_s": w, "flops": 10.0, "deps": []}
            for ds, s, w in (("a", 0, 4.0), ("a", 1, 6.0), ("b", 0, 9.0))]
    rows += [{"unit": f"e{ds}{s}", "kind": "evaluate", "method": "direct", "dataset": ds, "epsilon": 8.0, "seed": s,
              "model_role": "target", "wall_s": 1.0, "flops": 1.0, "deps": [f"t{ds}{s}"]}
             for ds, s in (("a", 0), ("a", 1), ("b", 0))]
    table = pipeline_table(rows)
    assert table.columns[:4] == ("dataset", "method", "ε", "prompts")
    assert [r[:6] for r in table.rows] == [("a", "direct", "8", "2", "2", "6.0"), ("b", "direct", "8", "1", "2", "10.0")]


def test_claims_render_from_results_json(results, rendered):
    """Stored claims are rendered as stored; without them the report computes them from utility and cost."""
    from post_bench.report.claims import from_results

    out, _ = rendered
    md, tex = (out / "report.md").read_text(), (out / "tables.tex").read_text()
    assert "claims" not in results  # the fixture predates claims: the report computed them
    assert "## Claims (PAPER.md claims 1–4 and 6)" in md and "### Claims: summary" in md
    assert "| 2 | election | 8 | inconclusive | post − zero_shot > 0 | 1 |" in md
    assert "no direct_transfer results at ε=8" in md and "Claims: per dataset and" in tex
    stored = from_results(results)
    stored[0]["cells"][0]["checks"][0]["reason"] = "stored reason 123"
    table = build_tables({**results, "claims": stored})["claims"][1]
    assert "stored reason 123" in to_markdown(table)


def test_privacy_tables_ci_na_and_paper_table3():
    from post_bench.report.tables import epsilon_table, paper_table3, privacy_table

    rows = [{"dataset": "election-tweets", "method": "post", "epsilon": eps, "claimed_epsilon": eps,
             "attack": "lira-online", "auc": 0.55, "ci": {"auc": [0.5, 0.6], "tpr_at_fpr": {"0.01": [0.0, 0.05]}},
             "tpr_at_fpr": {"0.001": None, "0.01": 0.02, "0.1": 0.12},
             "tpr_null_reason": {"0.001": "320 non-members < 1/FPR = 1000"}, "n_shadows": 4, "n_examples": 128,
             "eps_lower_bound": 0.0, "eps_lower_bound_confidence": 0.95, "eps_lower_bound_threshold": "split",
             "eps_lower_bound_trials": "64 outcomes"} for eps in (None, 8.0, 1.0)]
    rows.append({"dataset": "election-tweets", "method": "post", "epsilon": 1.0, "claimed_epsilon": 1.0,
                 "attack": "one_run", "auc": None, "eps_lower_bound": 0.3, "eps_lower_bound_confidence": 0.95})
    priv = privacy_table(rows)
    assert len(priv.rows) == 3 and priv.rows[0][4] == "0.550 [0.500, 0.600]"
    assert priv.rows[0][5] == "n/a" and priv.rows[0][6] == "2.0 [0.0, 5.0]"
    eps = epsilon_table(rows)
    assert [(r[2], r[3], r[4], r[5]) for r in eps.rows] == [
        ("1", "lira-online", "0.00", "95%"), ("1", "one_run", "0.30", "95%"), ("8", "lira-online", "0.00", "95%"),
        ("∞", "lira-online", "0.00", "95%")]
    paper = paper_table3(rows)
    assert [r[1] for r in paper.rows] == ["8", "∞"]  # the paper reports ε = 8 and ∞ only
    assert paper.rows[1][4] == "0.561 / 0.580 / 0.527 / 0.552" and paper.rows[1][6] == "2.3 / 2.4 / 1.5 / 1.9"


def test_extraction_tokens_are_a_list_cost_tokens_a_number(tmp_path):
    """`tokens` means the nearest tokens in an extraction row and a token count in a cost row."""
    path = tmp_path / "results.json"
    rows = {"schema": 1, "extraction": [{"dataset": "d", "method": "post", "attack": "extraction-nearest-tokens",
                                         "tokens": ["ĠWho", "Ġwrote"]}],
            "cost": [{"unit": "u", "kind": "tune", "tokens": 1200}]}
    path.write_text(json.dumps(rows))
    assert load_results(path)["extraction"][0]["tokens"] == ["ĠWho", "Ġwrote"]
    rows["cost"][0]["tokens"] = ["x"]
    path.write_text(json.dumps(rows))
    with pytest.raises(ValueError, match=r"cost\[0\]\.tokens: list value"):
        load_results(path)


def test_source_capability_table_answers_whether_the_source_can_do_the_task():
    from post_bench.report.tables import source_capability_table

    def row(method, acc, seed, eps=None):
        return {"dataset": "bbc", "method": method, "epsilon": eps, "seed": seed, "accuracy": acc, "n_test": 50,
                "num_classes": 5}

    rows = [row("zero_shot", 0.5, 0), row("source_zero_shot", 0.4, 0), row("source_only", 0.8, 0),
            row("source_only", 0.6, 0, 8.0), row("source_only", 0.7, 1, 8.0), row("post", 0.9, 0)]
    table = source_capability_table(rows)
    assert table.columns[-2:] == ("source + p_s, ε=8 (%)", "source + p_s, ε=∞ (%)")
    (only,) = table.rows
    assert only[:4] == ("bbc", "20.0", "50.0 [36.6, 63.4]", "40.0 [27.6, 53.8]")
    assert only[4].startswith("65.0 [1.5, 100.0]") and only[5].startswith("80.0 [")


def test_ablation_table_pairs_a_labelled_entry_with_its_method_by_seed():
    from post_bench.report.tables import ablation_table

    suite = {"methods": [{"name": "post", "label": None}, {"name": "post", "label": "post_lw", "loss": "label_words"}]}
    utility = [{"dataset": "d", "method": m, "epsilon": None, "seed": s, "accuracy": a}
               for m, accs in (("post", (0.50, 0.60, 0.70)), ("post_lw", (0.60, 0.70, 0.85))) for s, a in enumerate(accs)]
    (row,) = ablation_table({"suite": suite, "utility": utility}).rows
    # d = (10, 10, 15) points: mean 11.7, sd 2.89, t(2) = 4.303 -> half-width 7.2
    assert row == ("d", "∞", "post_lw − post", "3", "+11.7", "[+4.5, +18.8]", "holds")
    assert ablation_table({"suite": {"methods": []}, "utility": utility}).rows == ()
