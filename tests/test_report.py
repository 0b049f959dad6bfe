"""Reports render from results.json alone, with the actual numbers, and survive missing sections."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from post_bench.report import load_results, render_report, roc_filename
from post_bench.report.tables import build_tables, latex_escape, to_latex, to_markdown
from post_bench.rows import CostRow, PrivacyRow, UtilityRow, parse_results

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF-"
REPORTS = Path(__file__).parent.parent / "reports"
FIGURES = ("utility_vs_epsilon", "cost", "roc_election", "roc_bbc", "privacy_utility")


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
    assert names == {"report.md", "tables.tex"} | {f"{f}.{ext}" for f in FIGURES for ext in ("png", "pdf")}
    for p in paths:
        assert p.parent == out and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_MAGIC
        if p.suffix == ".pdf":
            assert p.read_bytes()[:5] == PDF_MAGIC


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
    row = next(r for r in results.privacy
               if (r.dataset, r.method, r.epsilon, r.attack) == ("bbc", "direct", math.inf, "lira-online"))
    assert f"| {row.auc:.3f} |" in md and f"{100 * row.tpr_at_fpr['0.01']:.1f}" in md
    assert "## Privacy (membership inference)" in md and "### Claimed ε vs empirical lower bounds" in md
    for figure in FIGURES:  # PNG embedded, PDF linked
        assert f"]({figure}.png)" in md and f"]({figure}.pdf)" in md
    assert "mean_exposure" in md and "6.820" in md  # extraction
    assert "22.600" in md  # distill: truncated loss
    assert "2.10e+14" in md and "2.10e+14" in tex  # cost: FLOPs
    assert r"zero\_shot" in tex and r"$\varepsilon_{\mathrm{lb}}$" in tex


def test_missing_sections_still_render(results, tmp_path):
    minimal = parse_results({"schema": 1, "suite": {"name": "tiny"}, "utility": [r.dump() for r in results.utility[:4]]})
    paths = render_report(minimal, tmp_path)
    assert {p.name for p in paths} == {"report.md", "utility_vs_epsilon.png", "utility_vs_epsilon.pdf", "tables.tex"}
    md = (tmp_path / "report.md").read_text()
    assert "## Utility" in md and "## Privacy" not in md and "## Cost" not in md


def test_empty_and_odd_results_do_not_fail(tmp_path):
    paths = render_report(parse_results({"schema": 1}), tmp_path / "a")
    assert "No results recorded" in (tmp_path / "a" / "report.md").read_text()
    assert {p.name for p in paths} == {"report.md", "tables.tex"}
    odd = parse_results({  # every optional field left out: no suite, env, seeds' CIs, AUC, ROC or FLOPs
        "schema": 1,
        "utility": [{"dataset": "hf:sst2", "method": "direct", "model": "m", "epsilon": None, "seed": 0,
                     "accuracy": 0.9, "n_test": 10}],
        "privacy": [{"dataset": "hf:sst2", "method": "direct", "epsilon": 4, "attack": "lira-online", "auc": None}],
        "cost": [{"unit": "u", "kind": "tune", "wall_s": 0.0, "flops": None}],
    })
    names = {p.name for p in render_report(odd, tmp_path / "b")}
    assert {roc_filename("hf:sst2"), "roc_hf_sst2.png", "roc_hf_sst2.pdf", "utility_vs_epsilon.png", "cost.png",
            "cost.pdf"} <= names
    assert "privacy_utility.png" not in names  # no prompt has both an accuracy and an AUC


def test_load_results_checks_schema(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text(json.dumps({"schema": 99}))
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
        3,  # summary, per dataset and ε, claim 2's gap recovery
        3,  # membership inference, claimed ε vs lower bounds, LiRA on POST vs the paper
        3,
        1,
        3,  # per method, per unit kind, the one-off distillation
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
    pipes = {p["method"]: p for p in pipeline_costs([CostRow.model_validate(r) for r in rows])}
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
    table = pipeline_table([CostRow.model_validate(r) for r in rows])
    assert table.columns[:4] == ("dataset", "method", "ε", "prompts")
    assert [r[:6] for r in table.rows] == [("a", "direct", "8", "2", "2", "6.0"), ("b", "direct", "8", "1", "2", "10.0")]


def test_claims_render_from_results_json(results, rendered):
    """Stored claims are rendered as stored; without them the report computes them from utility and cost."""
    from post_bench.report.claims import from_results

    out, _ = rendered
    md, tex = (out / "report.md").read_text(), (out / "tables.tex").read_text()
    assert results.claims is None  # the fixture predates claims: the report computed them
    assert "## Claims (the POST paper's claims 1–4 and 6; Wang et al. 2025)" in md and "### Claims: summary" in md
    assert "PAPER.md" not in md.split("## Claims")[1].split("\n")[0]
    assert "| 2 | election | 8 | inconclusive | post − zero_shot > 0 | 1 |" in md
    assert "no direct_transfer results at ε=8" in md and "Claims: per dataset and" in tex
    stored = [c.dump() for c in from_results(results)]
    stored[0]["cells"][0]["checks"][0]["reason"] = "stored reason 123"
    table = build_tables(parse_results({**results.dump(), "claims": stored}))["claims"][1]
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
    rows = _privacy(rows)
    priv = privacy_table(rows)
    assert len(priv.rows) == 3 and priv.rows[0][4] == "0.550 [0.500, 0.600]"
    assert priv.rows[0][5] == "none detected" and priv.rows[0][6] == "—"  # verdict; no attacked-prompt-alone AUC
    assert priv.rows[0][7] == "n/a" and priv.rows[0][8] == "2.0 [0.0, 5.0]"
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
    rows = {"schema": 1, "extraction": [{"dataset": "d", "method": "post", "epsilon": None,
                                         "attack": "extraction-nearest-tokens", "tokens": ["ĠWho", "Ġwrote"]}],
            "cost": [{"unit": "u", "kind": "tune", "wall_s": 1.0, "tokens": 1200}]}
    path.write_text(json.dumps(rows))
    assert load_results(path).extraction[0].tokens == ["ĠWho", "Ġwrote"]
    rows["cost"][0]["tokens"] = ["x"]
    path.write_text(json.dumps(rows))
    with pytest.raises(ValueError, match=r"cost\[0\]\.tokens"):
        load_results(path)


def test_source_capability_table_answers_whether_the_source_can_do_the_task():
    from post_bench.report.tables import source_capability_table

    def row(method, acc, seed, eps=math.inf):
        return UtilityRow(dataset="bbc", method=method, model="m", epsilon=eps, seed=seed, accuracy=acc, n_test=50,
                          num_classes=5)

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
    utility = [{"dataset": "d", "method": m, "model": "t", "epsilon": None, "seed": s, "accuracy": a, "n_test": 100}
               for m, accs in (("post", (0.50, 0.60, 0.70)), ("post_lw", (0.60, 0.70, 0.85))) for s, a in enumerate(accs)]
    (row,) = ablation_table(parse_results({"schema": 2, "suite": suite, "utility": utility})).rows
    # d = (10, 10, 15) points: mean 11.7, sd 2.89, t(2) = 4.303 -> half-width 7.2
    assert row == ("d", "∞", "post_lw − post", "3", "—", "+11.7", "[+4.5, +18.8]", "holds")
    assert ablation_table(parse_results({"schema": 2, "suite": {"methods": []}, "utility": utility})).rows == ()


# ---- figures: one question each, PNG + PDF, bounded panels ----------------------------------------------


def _membership_row(method, eps, attack, auc, seed=0, dataset="d"):
    fpr = [0.0, 0.001, 0.01, 0.1, 0.5, 1.0]
    return {"dataset": dataset, "method": method, "epsilon": eps, "seed": seed, "attack": attack, "auc": auc,
            "ci": {"auc": [auc - 0.03, auc + 0.03]}, "tpr_at_fpr": {"0.001": None, "0.01": 0.02, "0.1": 0.12},
            "tpr_null_reason": {"0.001": "500 non-members < 1/FPR = 1000"},
            "roc": {"fpr": fpr, "tpr": [min(1.0, f * (1 + auc)) for f in fpr]}}


def _one_run_row(method, eps, kind, auc, seed=0):
    return {**_membership_row(method, eps, "one_run", auc, seed), "canary_kind": kind, "n_shadows": 0, "delta": 1e-5,
            "one_run": {"eps_lower_bound": 0.0, "confidence": 0.95, "delta": 1e-5, "m": 64, "guesses": 16,
                        "correct": 12, "k_plus": 8, "k_minus": 8}}


def _privacy(rows):
    return [PrivacyRow.model_validate(r) for r in rows]


def test_committed_privacy_report_roc_panels_and_files(tmp_path):
    """The committed reports/privacy/results.json: at most 6 curves per panel, a panel per (method, ε), every
    row in a panel or named as left out, canary audits apart; PNG and PDF written."""
    from post_bench.report.roc import MAX_CURVES, family, plot_roc, roc_panels

    results = load_results(REPORTS / "privacy")
    rows = [r for r in results.privacy if r.roc is not None]
    panels = roc_panels(rows, "bbc-news")
    assert panels and all(0 < len(p.curves) <= MAX_CURVES for p in panels)
    keys = {(r.method, r.epsilon) for r in rows if r.attack != "one_run"}
    membership = [p for p in panels if not p.canary]
    assert len(membership) == len(keys)
    for p in membership:
        (prompt,) = {(c.row.method, c.row.epsilon) for c in p.curves}  # one attacked prompt per panel
        in_prompt = {r.attack for r in rows if (r.method, r.epsilon) == prompt and r.attack != "one_run"}
        drawn = {c.row.attack for c in p.curves}
        assert drawn | set(p.left_out) == in_prompt and not drawn & set(p.left_out)
        if p.left_out:  # the strongest variant of each family is the one drawn
            for c in p.curves:
                assert all(c.row.auc >= r.auc for r in rows if (r.method, r.epsilon) == prompt
                           and family(r.attack) == family(c.row.attack))
        assert all("AUC" in c.label and "[" in c.label and "@1%" in c.label and "@0.1%" in c.label for c in p.curves)
        assert all(c.row.attack != "one_run" for c in p.curves)
    png = plot_roc(rows, "bbc-news", tmp_path / "roc.png", pdf=True)
    assert png.read_bytes()[:8] == PNG_MAGIC and (tmp_path / "roc.pdf").read_bytes()[:5] == PDF_MAGIC


def test_committed_reports_render_every_figure_as_png_and_pdf(tmp_path):
    results = load_results(REPORTS / "privacy")
    names = {p.name for p in render_report(results, tmp_path)}
    for figure in ("utility_vs_epsilon", "roc_bbc-news", "privacy_utility", "cost"):
        assert {f"{figure}.png", f"{figure}.pdf"} <= names
        assert (tmp_path / f"{figure}.pdf").read_bytes()[:5] == PDF_MAGIC
    md = (tmp_path / "report.md").read_text()
    assert "](privacy_utility.png)" in md and "](roc_bbc-news.pdf)" in md


def test_roc_keeps_the_strongest_variant_per_family_and_puts_canaries_apart():
    from post_bench.report.roc import MAX_CURVES, roc_panels

    variants = [("lira-online", 0.60), ("lira-offline", 0.55), ("lira-fixed_variance", 0.58),
                ("lira-offline_fixed_variance", 0.52), ("rmia-online", 0.57), ("rmia-offline", 0.51), ("loss", 0.50)]
    rows = [_membership_row("post", 8.0, a, auc) for a, auc in variants]
    rows += [_one_run_row("source_only", e, k, 0.7) for e in (None, 8.0, 1.0) for k in ("mislabeled", "random-words")]
    rows += [_one_run_row("source_only", 1.0, "mislabeled", 0.9, seed=1)]  # a second seed: the median is drawn
    panels = roc_panels(_privacy(rows), "d")
    member, canary = [p for p in panels if not p.canary], [p for p in panels if p.canary]
    (p,) = member
    assert [c.row.attack for c in p.curves] == ["lira-online", "rmia-online", "loss"]  # by AUC, best first
    assert set(p.left_out) == {"lira-offline", "lira-fixed_variance", "lira-offline_fixed_variance", "rmia-offline"}
    assert p.title == "post, ε=8"
    assert len(canary) == 1 and len(canary[0].curves) == 6 <= MAX_CURVES
    assert all(c.row.attack == "one_run" for c in canary[0].curves)
    two_seeds = [c for c in canary[0].curves if c.seeds == 2]
    assert len(two_seeds) == 1 and "median of 2 seeds" in two_seeds[0].label
    # more canary curves than fit: split into panels, none over the limit
    rows += [_one_run_row("source_only", e, "secret", 0.6) for e in (None, 8.0, 1.0)]
    canary = [p for p in roc_panels(_privacy(rows), "d") if p.canary]
    assert len(canary) == 2 and all(len(p.curves) <= MAX_CURVES for p in canary)


def test_plot_roc_keeps_its_signature_for_the_audit(tmp_path):
    """post_bench/audit renders its figure with plot_roc(rows, title, path) once per format."""
    from post_bench.report.roc import plot_roc, roc_panels

    rows = _privacy({**_membership_row(fam, None, var, auc), "dataset": "p on 100 candidates"}
                    for fam, var, auc in (("lira", "online", 0.6), ("lira", "offline", 0.55), ("rmia", "online", 0.57),
                                          ("loss", "plain", 0.5), ("loss", "calibrated", 0.52)))
    for suffix, magic in (("png", PNG_MAGIC), ("pdf", PDF_MAGIC)):
        out = plot_roc(rows, "p on 100 candidates", tmp_path / f"roc.{suffix}")
        assert out == tmp_path / f"roc.{suffix}" and out.read_bytes()[: len(magic)] == magic
    assert sorted(p.title for p in roc_panels(rows)) == ["lira", "loss", "rmia"]  # no ε in titles: none is set
    assert not (tmp_path / "none.png").exists()
    plot_roc([], "empty", tmp_path / "none.png")  # no curves: still a figure
    assert (tmp_path / "none.png").read_bytes()[:8] == PNG_MAGIC


def test_cost_stages_include_shadow_training_and_keep_distillation_apart():
    from post_bench.report.cost import suite_costs

    def unit(uid, kind, method=None, deps=(), wall=1.0):
        return {"unit": uid, "kind": kind, "method": method, "deps": list(deps), "wall_s": wall, "flops": 10 * wall}

    rows = [unit("d", "distill", wall=50), unit("ts", "tune", deps=["d"], wall=4),
            unit("tr", "transfer", "post", ["d", "ts"], 6), unit("ep", "evaluate", "post", ["tr"], 1),
            unit("es", "evaluate", "source_only", ["d", "ts"], 1),
            unit("sp", "shadow_prompts", None, ["d"], 20),
            unit("shp", "shadows", "post", ["d", "tr", "ts", "sp"], 10),
            unit("shs", "shadows", "source_only", ["d", "ts", "sp"], 2),
            unit("mp", "membership", "post", ["shp"], 0.5), unit("ms", "membership", "source_only", ["shs"], 0.5),
            unit("tc", "tune", None, ["d"], 3), unit("x", "one_run", "source_only", ["tc"], 0.2)]
    c = suite_costs([CostRow.model_validate(r) for r in rows])
    post, src = c["methods"]["post"], c["methods"]["source_only"]
    assert c["distill"] == {"wall_s": 50.0, "flops": 500.0, "units": 1}
    # the shared source prompt (4 s) and shadow prompts (20 s) are split between the two methods
    assert post["tuning / generation"]["wall_s"] == src["tuning / generation"]["wall_s"] == 2.0
    assert post["shadow training"]["wall_s"] == 10 + 10 and src["shadow training"]["wall_s"] == 2 + 10
    assert post["transfer"]["wall_s"] == 6 and post["attacks"]["wall_s"] == 0.5
    assert src["attacks"]["wall_s"] == 0.5 + 0.2 + 3  # the canary prompt tuned for one_run is attack cost
    total = sum(v["wall_s"] for m in c["methods"].values() for v in m.values()) + c["distill"]["wall_s"]
    assert total == pytest.approx(c["total"]["wall_s"])


def test_privacy_utility_points_use_the_strongest_membership_attack():
    from post_bench.report.tradeoff import tradeoff_points

    utility = [UtilityRow(dataset="d", method="post", model="t", epsilon=e, seed=0, accuracy=a, n_test=100)
               for e, a in ((math.inf, 0.8), (8.0, 0.7))]
    privacy = _privacy([_membership_row("post", None, "lira-online", 0.6), _membership_row("post", None, "loss", 0.52),
                        _membership_row("post", 8.0, "loss", 0.51), _one_run_row("post", 8.0, "secret", 0.9)])
    points = {p.epsilon: p for p in tradeoff_points(utility, privacy)}
    inf = points[math.inf]
    assert inf.attack == "lira-online" and inf.auc == 0.6 and inf.accuracy == 0.8
    assert points[8.0].attack == "loss"  # the canary audit is not a membership attack on this prompt
    assert inf.auc_ci == pytest.approx((0.57, 0.63))
