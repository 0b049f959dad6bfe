"""report.md, the figures and tables.tex, from the typed results (:class:`post_bench.rows.Results`) alone."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from post_bench.atomic import write_text_atomic
from post_bench.epsilon import eps_symbol
from post_bench.rows import Environment, Evidence, Results

from .attack_pairs import TITLE as PAIRS_TITLE
from .attack_pairs import attack_pairs_lines
from .cost import cost_vs_tuning_caption, plot_cost, plot_cost_vs_tuning, tuning_cost_model
from .evidence import load_evidence
from .roc import plot_roc
from .tables import Table, build_tables, suite_value, to_latex, to_markdown
from .tradeoff import plot_privacy_utility, tradeoff_points
from .utility import plot_utility_vs_epsilon

PRIVACY_UTILITY = "privacy_utility.png"
CLAIMS_TITLE = "Claims (the POST paper's claims 1–4 and 6; Wang et al. 2025)"


def roc_filename(dataset: str) -> str:
    """``roc_<dataset>.png`` with characters outside ``[A-Za-z0-9._-]`` replaced by ``_`` (e.g. ``hf:sst2``)."""
    return f"roc_{re.sub(r'[^A-Za-z0-9._-]', '_', str(dataset))}.png"


def _fmt(v: Any) -> str:
    """A value of the resolved suite (a JSON value) as text: mappings as ``key: value``, lists joined."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items() if x is not None)
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return "—" if v is None else str(v)


def _suite_lines(suite: Mapping[str, Any]) -> list[str]:
    lines = []
    models = suite_value(suite, "models")
    if isinstance(models, Mapping) and models:
        lines.append("- **models:** " + ", ".join(f"{k} = `{_fmt(v)}`" for k, v in models.items()))
    elif models:
        lines.append(f"- **models:** {_fmt(models)}")
    epsilons = suite_value(suite, "epsilons")
    if epsilons:
        lines.append("- **ε:** " + ", ".join(map(eps_symbol, epsilons))
                     + f"; seeds: {_fmt(suite_value(suite, 'seeds'))}")
    for key in ("budget", "datasets"):
        if suite_value(suite, key):
            lines.append(f"- **{key}:** {_fmt(suite_value(suite, key))}")
    return lines


def _env_lines(env: Environment) -> list[str]:
    lines = []
    versions = [f"{k} {v}" for k, v in (("post_bench", env.post_bench), ("torch", env.torch),
                                         ("transformers", env.transformers), ("opacus", env.opacus)) if v]
    if versions:
        lines.append("- **versions:** " + ", ".join(versions))
    if env.cpu_threads:
        jobs = env.jobs or 1
        lines.append(f"- **threads:** {env.cpu_threads}" + (f" per worker, {jobs} workers (--jobs)" if jobs > 1 else ""))
    for label, value in (("device", env.device), ("cpu", env.cpu), ("precision", env.precision), ("git", env.git),
                         ("date", env.date)):
        if value:
            lines.append(f"- **{label}:** `{value}`" if label == "git" else f"- **{label}:** {value}")
    return lines


def _header(results: Results) -> list[str]:
    lines = [f"# post-bench report: {suite_value(results.suite, 'name', default='unnamed suite')}", ""]
    lines += _suite_lines(results.suite)
    dropped = {r.dataset: r.duplicates_removed for r in results.utility if r.duplicates_removed is not None}
    if dropped:
        lines.append("- **exact-duplicate texts removed before splitting:** "
                     + ", ".join(f"{d} {n}" for d, n in sorted(dropped.items())))
    lines += _env_lines(results.env)
    return lines + [""] if len(lines) > 2 else lines


def evidence_text(ev: Evidence) -> str:
    """What the run's per-example outputs let the claims decide, in one paragraph."""
    rows = ev.test_rows
    size = (f"{rows[0]}" if len(rows) == 1 else f"{rows[0]}–{rows[-1]}") if rows else "?"
    text = f"{ev.summary}; {ev.seeds if ev.seeds is not None else '?'} seed(s) × {size} test rows."
    if ev.with_samples:
        text += (" Accuracy claims are paired by test row within each seed and combined over seeds; at 400 rows × "
                 "3 seeds a true difference of 5 points is found about 2 times in 3 (docs/reports.md, Claims).")
        if (ev.seeds or 0) < 2:
            text += (" With one seed an interval covers the test rows of one trained prompt, not training noise,"
                     " and a few dozen rows decide only differences of 15–20 points or more.")
    return text


@dataclasses.dataclass(frozen=True)
class Figure:
    """A written figure: its PNG (embedded in report.md; a PDF beside it), alt text and an optional caption."""

    path: Path
    alt: str
    caption: str = ""

    @property
    def paths(self) -> list[Path]:
        return [self.path, self.path.with_suffix(".pdf")]


def draw_figures(results: Results, out: Path) -> dict[str, list[Figure]]:
    """Every figure of the report, written into ``out`` (PNG and PDF), keyed by report section."""
    figures: dict[str, list[Figure]] = {"utility": [], "privacy": [], "cost": []}
    utility, privacy, cost = results.utility, results.privacy, results.cost
    if utility:
        figures["utility"].append(Figure(plot_utility_vs_epsilon(utility, out / "utility_vs_epsilon.png", pdf=True),
                                         "accuracy vs ε"))
    for ds in sorted({r.dataset for r in privacy}):
        figures["privacy"].append(Figure(plot_roc(privacy, ds, out / roc_filename(ds), pdf=True), f"ROC {ds}"))
    if tradeoff_points(utility, privacy):
        figures["privacy"].append(Figure(plot_privacy_utility(utility, privacy, out / PRIVACY_UTILITY, pdf=True),
                                         "privacy–utility trade-off"))
    if cost:
        figures["cost"].append(Figure(plot_cost(cost, out / "cost.png", pdf=True, distill_rows=results.distill),
                                      "cost"))
        model = tuning_cost_model(cost, results.suite)  # needs direct and POST pipelines
        if model:
            figures["cost"].append(Figure(plot_cost_vs_tuning(model, out / "cost_vs_tuning.png", pdf=True),
                                          "cost vs private tuning length", cost_vs_tuning_caption(model)))
    return figures


def section(title: str, tables: list[Table], figures: list[Figure] = ()) -> list[str]:
    """A report section: its heading, its figures (PNG embedded, caption, PDF linked), then its tables (each
    under its own heading unless it is the section's only table, titled as the section)."""
    if not tables and not figures:
        return []
    md = [f"## {title}", ""]
    for f in figures:
        md += [f"![{f.alt}]({f.path.name})", ""] + ([f.caption, ""] if f.caption else [])
        md += [f"[{f.alt}: PDF]({f.path.with_suffix('.pdf').name})", ""]
    for t in tables:
        if len(tables) > 1 or t.title != title:
            md += [f"### {t.title}", ""]
        md += [to_markdown(t), ""]
    return md


def report_body(results: Results, tables: dict[str, list[Table]], figures: dict[str, list[Figure]],
                privacy_note: str = "") -> list[str]:
    """The sections of report.md below its header, in order; empty when the results hold nothing to show
    (``privacy_note``: a line closing the privacy section, on the attacks that could not be compared)."""
    md = section("Utility", tables["utility"], figures["utility"])
    if tables["claims"] and results.evidence is not None:
        md += [f"**Evidence:** {evidence_text(results.evidence)}", ""]
    md += section(CLAIMS_TITLE, tables["claims"])
    privacy = section("Privacy (membership inference)", tables["privacy"], figures["privacy"])
    md += privacy + ([f"**{PAIRS_TITLE}:** {privacy_note}", ""] if privacy and privacy_note else [])
    md += section("Extraction", tables["extraction"])
    md += section("Distillation (source model)", tables["distill"])
    md += section("Cost", tables["cost"], figures["cost"])
    return md


def latex_tables(tables: dict[str, list[Table]]) -> str:
    """tables.tex: every table as a booktabs ``table`` environment."""
    all_tables = [t for ts in tables.values() for t in ts]
    return ("% generated by post-bench; needs \\usepackage{booktabs}\n" + "\n\n".join(to_latex(t) for t in all_tables)
            + ("\n" if all_tables else "% no tables\n"))


def with_attack_pairs(tables: dict[str, list[Table]], results: Results, samples_dir) -> str:
    """Put the table of attacks compared on the same outcomes (``attack_pairs``, read from the samples files
    under ``samples_dir``) after the privacy table; return the line on what could not be compared."""
    table, note = attack_pairs_lines(results, samples_dir)
    if table is not None:
        tables["privacy"].insert(1, table)
    return note


def render_report(results: Results, out_dir: Path | str, samples_dir: Path | str | None = None) -> list[Path]:
    """Write report.md, the figures and tables.tex into ``out_dir``; return the paths. ``samples_dir``: the folder
    holding results.json and the samples files its rows point at (None: no per-example outputs, so no table of
    attacks compared on the same outcomes).

    Figures, each as PNG (embedded in report.md) and PDF (vector, for papers): roc_<dataset> (per dataset
    with privacy rows), utility_vs_epsilon (when there are utility rows), privacy_utility (when a prompt has
    both an accuracy and a membership AUC), cost (when there are cost rows) and cost_vs_tuning (when the run has
    direct and POST pipelines and the suite's tuning steps; with its caption).
    Every section of ``results`` may be empty.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = build_tables(results, load_evidence(results, samples_dir) if samples_dir is not None else None)
    privacy_note = with_attack_pairs(tables, results, samples_dir)
    figures = draw_figures(results, out)
    body = report_body(results, tables, figures, privacy_note) or ["_No results recorded._", ""]
    report, tex = out / "report.md", out / "tables.tex"
    write_text_atomic(report, "\n".join(_header(results) + body))
    write_text_atomic(tex, latex_tables(tables))
    return [report, *(p for fs in figures.values() for f in fs for p in f.paths), tex]
