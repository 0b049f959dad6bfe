"""docs/results.md: what the committed reports show, with every number rendered from ``reports/*/results.json``
(none typed by hand), so the page is right again after the reports are rerun. Regenerate with::

    python -m post_bench.report.results_page --out docs/results.md

Per report: the setting (machine, precision, seeds, sizes), accuracy per method and ε with 95% CIs, the
claims' verdicts with their paired differences, ablations, membership inference (strongest attack per
prompt, TPR at low FPR, ε lower bounds against the claimed ε), canary controls, extraction and where the
compute went. The sentences are derived from the numbers (e.g. "every AUC CI includes 0.5"), not written
about them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from post_bench.atomic import write_text_or_stdout
from post_bench.epsilon import eps_key, eps_symbol

from . import load_results
from .claims import from_results
from .cost import suite_costs
from .stats import cell_interval
from .tables import ZERO_SHOT, ablation_table, canary_table, paper_table3, to_markdown

ORDER = ("quickstart", "fidelity", "transfer-bbc", "privacy", "canaries", "audit-power", "controls-broken-dp",
         "controls-correct-dp")  # report folders first, in this order
CANARY_ATTACK = "one_run"


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _rows(results: dict, key: str) -> list[dict]:
    return [r for r in results.get(key) or [] if isinstance(r, dict)]


def _suite_file(name: str, suites: Path) -> str | None:
    """The suite YAML under ``suites`` whose ``name`` is ``name`` (the command that reproduces the report)."""
    for path in sorted(suites.rglob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and data.get("name") == name:
            return path.relative_to(suites.parent).as_posix()  # as typed in the repository root
    return None


def _acc_cell(values: list[float], n_test: Any) -> str:
    iv = cell_interval(values, n_test if isinstance(n_test, int) and not isinstance(n_test, bool) else None)
    return f"{100 * iv.mean:.1f}" + (f" [{100 * iv.low:.1f}, {100 * iv.high:.1f}]" if iv.available else "")


def setting_lines(results: dict, folder: str, suite_file: str | None) -> list[str]:
    suite = results.get("suite") if isinstance(results.get("suite"), dict) else {}
    env = results.get("env") if isinstance(results.get("env"), dict) else {}
    budget = suite.get("budget") or {}
    models = suite.get("models") or {}
    distill = ((models.get("source") or {}).get("distill") or {}) if isinstance(models, dict) else {}
    lines = []
    if suite.get("description"):
        lines.append(f"_{suite['description']}_")
        lines.append("")
    what = [f"target `{models.get('target')}`" if isinstance(models, dict) and models.get("target") else None,
            f"source distilled to {len(distill['layers'])} layers" if distill.get("layers") else None,
            "private " + ", ".join(f"`{d}`" for d in (suite.get("datasets") or {}).get("private") or []),
            f"public `{(suite.get('datasets') or {}).get('public')}`" if (suite.get("datasets") or {}).get("public")
            else None,
            "ε ∈ {" + ", ".join(eps_symbol(e) for e in suite.get("epsilons") or []) + "}",
            f"{len(suite.get('seeds') or [])} seed" + ("s" if len(suite.get("seeds") or []) != 1 else ""),
            f"{budget.get('train_size')} training and {budget.get('test_size')} test rows per seed"
            if budget.get("train_size") else None,
            f"prompts of {budget.get('prompt_length')} tokens" if budget.get("prompt_length") else None]
    lines.append("- **setting:** " + "; ".join(w for w in what if w))
    machine = [env.get("cpu"), f"device {env.get('device')}" if env.get("device") else None,
               f"precision {env.get('precision')}" if env.get("precision") else None,
               f"--jobs {env.get('jobs')}" if env.get("jobs") else None,
               f"torch {env.get('torch')}" if env.get("torch") else None,
               f"git `{env.get('git')}`" if env.get("git") else None,
               str(env.get("date", ""))[:10] or None]
    lines.append("- **run:** " + "; ".join(str(m) for m in machine if m))
    cmd = f"post-bench run {suite_file} --jobs 2 && " if suite_file else ""
    lines.append(f"- **reproduce:** `{cmd}post-bench report runs/{suite.get('name', folder)} --to reports/{folder}`"
                 + ("" if suite_file else " (no suite file under suites/ has this name)"))
    lines.append(f"- **report:** [reports/{folder}/report.md](../reports/{folder}/report.md)")
    return lines


def utility_tables(results: dict) -> list[str]:
    """Accuracy (%) per dataset: a row per method, a column per ε; mean over seeds [95% CI]."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    n_test: dict[tuple, Any] = {}
    for r in _rows(results, "utility"):
        if _num(r.get("accuracy")):
            key = (str(r.get("dataset")), str(r.get("method")), None if r.get("epsilon") is None else float(r["epsilon"]))
            groups[key].append(float(r["accuracy"]))
            n_test[key] = r.get("n_test")
    out = []
    for ds in sorted({k[0] for k in groups}):
        eps = sorted({k[2] for k in groups if k[0] == ds}, key=eps_key)
        methods = sorted({k[1] for k in groups if k[0] == ds}, key=lambda m: (m != ZERO_SHOT, m))
        seeds = max(len(v) for k, v in groups.items() if k[0] == ds)
        ci = "t over seeds" if seeds > 1 else "Wilson on the test set (one seed)"
        out += [f"Accuracy (%) on `{ds}`, mean over seeds [95% CI, {ci}]:", "",
                "| method | " + " | ".join(f"ε={eps_symbol(e)}" for e in eps) + " |",
                "|---|" + "---|" * len(eps)]
        for m in methods:
            cells = []
            for e in eps:
                key = (ds, m, e)
                if m == ZERO_SHOT and key not in groups and (ds, m, None) in groups:
                    cells.append("(no private data: as ε=∞)" if e is not None else "")
                else:
                    cells.append(_acc_cell(groups[key], n_test.get(key)) if key in groups else "—")
            out.append(f"| {m} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def _pts(x: Any, metric: str) -> str:
    if not _num(x):
        return "—"
    if metric == "train_flops":
        return f"{x:+.2e} FLOPs"
    return f"{x:+.1f} s" if metric == "train_wall_s" else f"{100 * x:+.1f}"


def claim_lines(results: dict) -> list[str]:
    claims = results["claims"] if "claims" in results else from_results(results)
    claims = [c for c in claims or [] if isinstance(c, dict)]
    if not claims:
        return []
    seeds = len((results.get("suite") or {}).get("seeds") or [])
    ev = results.get("evidence") if isinstance(results.get("evidence"), dict) else {}
    per_row = ev.get("claims_paired_by") == "rows within seeds"
    if seeds < 2 and not per_row:
        return [f"Claims of the POST paper: not decided here — {seeds or 'one'} seed, and a one-seed difference is "
                "not a result (every check is inconclusive by construction; the differences are in the report).", ""]
    if per_row:
        rows = ev.get("test_rows") or []
        size = (f"{rows[0]}" if len(rows) == 1 else f"{rows[0]}–{rows[-1]}") if rows else "?"
        out = [f"Claims of the POST paper (Wang et al. 2025), each accuracy check d > 0 paired by test row within "
               f"each of {seeds} seed(s) ({size} test rows each) and combined over seeds "
               "([how](reports.md#claims)), mean d [95% CI] in accuracy points (seconds or FLOPs for cost, paired by "
               "seed):", ""]
        if seeds < 2:
            out[0] += (" with one seed an interval covers the test rows of one trained prompt, not training "
                       "noise.")
    else:
        out = ["Claims of the POST paper (Wang et al. 2025), each check d > 0 paired by seed, mean d [95% CI] in "
               "accuracy points (seconds or FLOPs for cost):", ""]
    for c in claims:
        out.append(f"- **Claim {c.get('claim')}, {c.get('statement')}: {c.get('verdict')}.**")
        for cell in [x for x in c.get("cells") or [] if isinstance(x, dict)]:
            checks = []
            for chk in [x for x in cell.get("checks") or [] if isinstance(x, dict)]:
                metric = str(chk.get("metric", "accuracy"))
                ci = (f" [{_pts(chk.get('ci_low'), metric)}, {_pts(chk.get('ci_high'), metric)}]"
                      if _num(chk.get("ci_low")) else "")
                value = _pts(chk.get("mean"), metric) if _num(chk.get("mean")) else f"— ({chk.get('reason') or 'missing'})"
                checks.append(f"{chk.get('check')}: {value}{ci} → {chk.get('verdict')}")
            out.append(f"  - {cell.get('dataset')}, ε={eps_symbol(cell.get('epsilon'))}: {cell.get('verdict')} "
                       f"({'; '.join(checks)})")
    return out + [""]


def privacy_lines(results: dict) -> list[str]:
    rows = [r for r in _rows(results, "privacy") if r.get("attack") != CANARY_ATTACK and _num(r.get("auc"))]
    if not rows:
        return []
    by_prompt: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        by_prompt[(str(r.get("dataset")), str(r.get("method")), r.get("epsilon"))].append(r)
    attacks = sorted({str(r.get("attack")) for r in rows})
    shadows = sorted({r.get("n_shadows") for r in rows if isinstance(r.get("n_shadows"), int)})
    examples = sorted({r.get("n_examples") for r in rows if isinstance(r.get("n_examples"), int)})
    out = [f"Membership inference: {len(rows)} rows ({', '.join(attacks)}) on {len(by_prompt)} attacked prompts, "
           f"{'/'.join(map(str, shadows)) or '—'} shadows, {'/'.join(map(str, examples)) or '—'} scored examples. "
           "Strongest attack per prompt (highest AUC):", "",
           "| data set | method | ε | attack | AUC [95% CI] | TPR @ 1% FPR | TPR @ 0.1% FPR | largest ε_lb (95%) |",
           "|---|---|---|---|---|---|---|---|"]

    def tpr(r: dict, level: str) -> str:
        t = (r.get("tpr_at_fpr") or {}).get(level)
        return f"{100 * t:.1f}%" if _num(t) else "n/a"

    def ci(r: dict) -> tuple[float, float] | None:
        c = (r.get("ci") or {}).get("auc") if isinstance(r.get("ci"), dict) else None
        return (float(c[0]), float(c[1])) if isinstance(c, (list, tuple)) and len(c) == 2 and all(map(_num, c)) else None

    for (ds, method, eps), rs in sorted(by_prompt.items(), key=lambda kv: (kv[0][0], kv[0][1], eps_key(kv[0][2]))):
        best = max(rs, key=lambda r: r["auc"])
        c = ci(best)
        bounds = [float(r["eps_lower_bound"]) for r in rs if _num(r.get("eps_lower_bound"))]
        out.append(f"| {ds} | {method} | {eps_symbol(eps)} | {best.get('attack')} | {best['auc']:.3f}"
                   + (f" [{c[0]:.3f}, {c[1]:.3f}]" if c else "") + f" | {tpr(best, '0.01')} | {tpr(best, '0.001')} | "
                   + (f"{max(bounds):.2f}" if bounds else "—") + " |")
    cis = [ci(r) for r in rows]
    with_ci = [c for c in cis if c]
    above = [r for r, c in zip(rows, cis) if c and c[0] > 0.5]
    below = [r for r, c in zip(rows, cis) if c and c[1] < 0.5]
    tprs = [r["tpr_at_fpr"]["0.01"] for r in rows if _num((r.get("tpr_at_fpr") or {}).get("0.01"))]
    bounds = [float(r["eps_lower_bound"]) for r in rows if _num(r.get("eps_lower_bound"))]
    violations = [r for r in rows if _num(r.get("eps_lower_bound")) and _num(r.get("claimed_epsilon"))
                  and r["eps_lower_bound"] > r["claimed_epsilon"]]
    out.append("")
    out.append(f"- AUC over all {len(rows)} rows: {min(r['auc'] for r in rows):.3f} to {max(r['auc'] for r in rows):.3f}; "
               + (f"{len(with_ci) - len(above) - len(below)} of {len(with_ci)} 95% CIs include 0.5"
                  + (f", {len(above)} lie above it (leakage detected)" if above else "")
                  + (f", {len(below)} below it" if below else "") + "." if with_ci else "no CIs stored."))
    if with_ci:
        widths = [c[1] - c[0] for c in with_ci]
        out.append(f"- CI half-widths {min(widths) / 2:.3f}–{max(widths) / 2:.3f}: an AUC this far from 0.5 would have "
                   "been detected, a smaller one not.")
    if tprs:
        out.append(f"- TPR at 1% FPR: {100 * min(tprs):.1f}% to {100 * max(tprs):.1f}%.")
    if bounds:
        out.append(f"- ε lower bounds (95% confidence): largest {max(bounds):.2f}; "
                   + (f"**{len(violations)} above the claimed ε (a DP bug; `run` exits 3)**." if violations
                      else "none above the prompt's claimed ε."))
    out.append("")
    table3 = paper_table3(rows)
    if table3.rows:
        out += ["LiRA on POST prompts beside the paper's Table 3 (RoBERTa-base, 100-token prompts, 8 shadows):", "",
                to_markdown(table3), ""]
    return out


def canary_lines(results: dict) -> list[str]:
    table = canary_table(_rows(results, "privacy"))
    if not table.rows:
        return []
    return ["Canary positive controls (one-run audits):", "", to_markdown(table), ""]


def extraction_lines(results: dict) -> list[str]:
    out = []
    for r in _rows(results, "extraction"):
        if _num(r.get("mean_exposure")):
            out.append(f"- canary exposure, {r.get('dataset')} {r.get('method')} ε={eps_symbol(r.get('epsilon'))}: mean "
                       f"{r['mean_exposure']:.2f} bits, max {r.get('max_exposure', float('nan')):.2f} of a possible "
                       f"{r.get('max_possible', float('nan')):.2f} ({r.get('n_canaries')} canaries × "
                       f"{r.get('repetitions')} copies against {r.get('n_candidates')} candidates).")
        elif r.get("attack") == "nearest-tokens" and r.get("text"):
            out.append(f"- nearest-token decoding of the prompt, {r.get('method')} ε={eps_symbol(r.get('epsilon'))}: "
                       f"\"{r['text']}\" (mean cosine {r.get('mean_cosine', float('nan')):.2f}).")
    return (["Extraction:", "", *out, ""]) if out else []


def cost_lines(results: dict) -> list[str]:
    costs = suite_costs(_rows(results, "cost"))
    total = costs["total"]["wall_s"]
    if not total:
        return []
    stages: dict[str, float] = defaultdict(float)
    for per in costs["methods"].values():
        for stage, v in per.items():
            stages[stage] += v["wall_s"]
    parts = [f"{s} {v / 60:.1f} min ({100 * v / total:.0f}%)" for s, v in sorted(stages.items(), key=lambda kv: -kv[1])
             if v > 0]
    d = costs["distill"]["wall_s"]
    return [f"Compute: {total / 60:.1f} min summed over {costs['total']['units']} units (wall time of the run is "
            f"lower with --jobs): " + ", ".join(parts) + (f", one-off distillation {d / 60:.1f} min "
                                                          f"({100 * d / total:.0f}%)." if d else "."), ""]


def report_section(folder: str, results: dict, suites: Path) -> list[str]:
    suite = results.get("suite") if isinstance(results.get("suite"), dict) else {}
    name = suite.get("name", folder)
    out = [f"## {name} (`reports/{folder}/`)", ""]
    out += setting_lines(results, folder, _suite_file(str(name), suites)) + [""]
    out += utility_tables(results)
    ablations = ablation_table(results)
    if ablations.rows:
        out += ["Ablations (each labelled entry against its method, paired by seed):", "", to_markdown(ablations), ""]
    out += claim_lines(results) + privacy_lines(results) + canary_lines(results) + extraction_lines(results)
    out += cost_lines(results)
    return out


def report_folders(reports: Path) -> list[Path]:
    found = [p.parent for p in reports.glob("*/results.json")]
    return sorted(found, key=lambda p: (ORDER.index(p.name) if p.name in ORDER else len(ORDER), p.name))


def render(reports: Path | str = "reports", suites: Path | str = "suites") -> str:
    reports, suites = Path(reports), Path(suites)
    folders = report_folders(reports)
    out = ["# Results of the committed reports", "",
           "<!-- generated by `python -m post_bench.report.results_page --out docs/results.md` from "
           "reports/*/results.json; do not edit by hand -->", "",
           "Every number on this page is rendered from the `results.json` files under `reports/`; rerun a report "
           "and this command to refresh it. How to read the statistics: [the auditing guide](auditing.md). What "
           "the numbers mean for the method, and how the settings came about: [design notes](design-notes.md).",
           "", "Reports: " + ", ".join(f"[{p.name}](#{_anchor(p, reports)})" for p in folders), ""]
    for folder in folders:
        out += report_section(folder.name, load_results(folder / "results.json"), suites)
    if not folders:
        out += [f"_No reports/*/results.json under {reports}._", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _anchor(folder: Path, reports: Path) -> str:
    """GitHub's anchor of the heading ``## <suite name> (`reports/<folder>/`)``."""
    try:
        name = json.loads((folder / "results.json").read_text(encoding="utf-8")).get("suite", {}).get("name", folder.name)
    except (OSError, ValueError, AttributeError):
        name = folder.name
    heading = f"{name} (reports/{folder.name}/)".lower()
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=Path("reports"), help="folder of report folders")
    parser.add_argument("--suites", type=Path, default=Path("suites"), help="folder of suite files")
    parser.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = render(args.reports, args.suites)
    write_text_or_stdout(text, args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
