"""report.md, the figures and tables.tex, from the results.json dict alone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from post_bench.atomic import write_text_atomic
from post_bench.epsilon import eps_symbol

from .cost import cost_vs_tuning_caption, plot_cost, plot_cost_vs_tuning, tuning_cost_model
from .roc import plot_roc
from .tables import build_tables, to_latex, to_markdown
from .tradeoff import plot_privacy_utility, tradeoff_points
from .utility import plot_utility_vs_epsilon

PRIVACY_UTILITY = "privacy_utility.png"


def roc_filename(dataset: str) -> str:
    """``roc_<dataset>.png`` with characters outside ``[A-Za-z0-9._-]`` replaced by ``_`` (e.g. ``hf:sst2``)."""
    return f"roc_{re.sub(r'[^A-Za-z0-9._-]', '_', str(dataset))}.png"


def _fmt(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items() if x is not None)
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return "—" if v is None else str(v)


def _header(results: dict) -> list[str]:
    suite = results.get("suite") if isinstance(results.get("suite"), dict) else {}
    env = results.get("env") if isinstance(results.get("env"), dict) else {}
    lines = [f"# post-bench report: {suite.get('name', 'unnamed suite')}", ""]
    models = suite.get("models") or {}
    if isinstance(models, dict) and models:
        lines.append("- **models:** " + ", ".join(f"{k} = `{_fmt(v)}`" for k, v in models.items()))
    elif models:
        lines.append(f"- **models:** {_fmt(models)}")
    if suite.get("epsilons"):
        lines.append("- **ε:** " + ", ".join(map(eps_symbol, suite["epsilons"]))
                     + f"; seeds: {_fmt(suite.get('seeds'))}")
    if suite.get("budget"):
        lines.append(f"- **budget:** {_fmt(suite['budget'])}")
    if suite.get("datasets"):
        lines.append(f"- **datasets:** {_fmt(suite['datasets'])}")
    dropped = {r.get("dataset"): r.get("duplicates_removed") for r in results.get("utility") or []
               if isinstance(r, dict) and isinstance(r.get("duplicates_removed"), int)}
    if dropped:
        lines.append("- **exact-duplicate texts removed before splitting:** "
                     + ", ".join(f"{d} {n}" for d, n in sorted(dropped.items(), key=lambda kv: str(kv[0]))))
    versions = [f"{k} {env[k]}" for k in ("post_bench", "torch", "transformers", "opacus") if env.get(k)]
    if versions:
        lines.append("- **versions:** " + ", ".join(versions))
    if env.get("cpu_threads"):
        jobs = env.get("jobs") or 1
        lines.append(f"- **threads:** {env['cpu_threads']}" + (f" per worker, {jobs} workers (--jobs)" if jobs > 1 else ""))
    for key, label in (("device", "device"), ("cpu", "cpu"), ("precision", "precision"), ("git", "git"),
                       ("date", "date")):
        if env.get(key):
            lines.append(f"- **{label}:** `{env[key]}`" if key == "git" else f"- **{label}:** {env[key]}")
    return lines + [""] if len(lines) > 2 else lines


def evidence_text(ev: dict) -> str:
    """What the run's per-example outputs let the claims decide, in one paragraph."""
    rows = ev.get("test_rows") or []
    size = (f"{rows[0]}" if len(rows) == 1 else f"{rows[0]}–{rows[-1]}") if rows else "?"
    text = f"{ev.get('summary', '')}; {ev.get('seeds', '?')} seed(s) × {size} test rows."
    if ev.get("with_samples"):
        text += (" Accuracy claims are paired by test row within each seed and combined over seeds; at 400 rows × "
                 "3 seeds a true difference of 5 points is found about 2 times in 3 (docs/reports.md, Claims).")
        if ev.get("seeds", 0) < 2:
            text += (" With one seed an interval covers the test rows of one trained prompt, not training noise,"
                     " and a few dozen rows decide only differences of 15–20 points or more.")
    return text


def render_report(results: dict, out_dir: Path | str) -> list[Path]:
    """Write report.md, the figures and tables.tex into ``out_dir``; return the paths.

    Figures, each as PNG (embedded in report.md) and PDF (vector, for papers): roc_<dataset> (per dataset
    with privacy rows), utility_vs_epsilon (when there are utility rows), privacy_utility (when a prompt has
    both an accuracy and a membership AUC), cost (when there are cost rows) and cost_vs_tuning (when the run has
    direct and POST pipelines and the suite's tuning steps; with its caption).
    Every section of ``results`` may be missing or empty.
    """
    if not isinstance(results, dict):
        raise ValueError("results must be a dict (the parsed results.json)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = build_tables(results)
    md = _header(results)

    def section(title: str, key: str, figures: list[tuple[str, ...]] = ()) -> None:
        if not tables[key] and not figures:
            return
        md.extend([f"## {title}", ""])
        for alt, name, *caption in figures:
            md.extend([f"![{alt}]({name})", "", *caption[:1], *([""] if caption else []),
                       f"[{alt}: PDF]({Path(name).with_suffix('.pdf').name})", ""])
        for t in tables[key]:
            if len(tables[key]) > 1 or t.title != title:
                md.extend([f"### {t.title}", ""])
            md.extend([to_markdown(t), ""])

    def figure(path: Path, alt: str, caption: str = "") -> tuple[str, ...]:
        written.extend([path, path.with_suffix(".pdf")])
        return (alt, path.name, caption) if caption else (alt, path.name)

    utility = [r for r in results.get("utility") or [] if isinstance(r, dict)]
    figs = []
    if utility:
        figs.append(figure(plot_utility_vs_epsilon(utility, out / "utility_vs_epsilon.png", pdf=True), "accuracy vs ε"))
    section("Utility", "utility", figs)
    if tables["claims"] and isinstance(results.get("evidence"), dict):
        md.extend([f"**Evidence:** {evidence_text(results['evidence'])}", ""])
    section("Claims (the POST paper's claims 1–4 and 6; Wang et al. 2025)", "claims")

    privacy = [r for r in results.get("privacy") or [] if isinstance(r, dict)]
    figs = []
    for ds in sorted({str(r.get("dataset", "?")) for r in privacy}):
        figs.append(figure(plot_roc(privacy, ds, out / roc_filename(ds), pdf=True), f"ROC {ds}"))
    if tradeoff_points(utility, privacy):
        figs.append(figure(plot_privacy_utility(utility, privacy, out / PRIVACY_UTILITY, pdf=True),
                           "privacy–utility trade-off"))
    section("Privacy (membership inference)", "privacy", figs)
    section("Extraction", "extraction")
    section("Distillation (source model)", "distill")

    cost = [r for r in results.get("cost") or [] if isinstance(r, dict)]
    figs = []
    if cost:
        figs.append(figure(plot_cost(cost, out / "cost.png", pdf=True, distill_rows=results.get("distill")), "cost"))
        model = tuning_cost_model(cost, results.get("suite"))  # needs direct and POST pipelines
        if model:
            figs.append(figure(plot_cost_vs_tuning(model, out / "cost_vs_tuning.png", pdf=True),
                               "cost vs private tuning length", cost_vs_tuning_caption(model)))
    section("Cost", "cost", figs)

    if len(md) <= len(_header(results)):
        md.extend(["_No results recorded._", ""])
    report = out / "report.md"
    write_text_atomic(report, "\n".join(md))
    tex = out / "tables.tex"
    all_tables = [t for ts in tables.values() for t in ts]
    write_text_atomic(
        tex,
        "% generated by post-bench; needs \\usepackage{booktabs}\n"
        + "\n\n".join(to_latex(t) for t in all_tables)
        + ("\n" if all_tables else "% no tables\n"),
    )
    return [report, *written, tex]
