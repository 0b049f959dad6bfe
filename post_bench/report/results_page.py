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
import math
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from post_bench.atomic import write_text_or_stdout
from post_bench.epsilon import eps_symbol
from post_bench.rows import Check, Claim, ClaimCell, Environment, ExtractionRow, PrivacyRow, Results

from . import load_results
from .cost import suite_costs
from .evidence import load_evidence
from .stats import cell_interval
from .tables import (
    ZERO_SHOT,
    ablation_table,
    auc_ci,
    canary_table,
    is_canary_audit,
    paper_table3,
    results_claims,
    suite_value,
    to_markdown,
    tpr_at,
)

ORDER = ("quickstart", "fidelity", "transfer-bbc", "privacy", "canaries", "audit-power", "controls-broken-dp",
         "controls-correct-dp")  # report folders first, in this order


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _suite_file(name: str, suites: Path) -> str | None:
    """The suite YAML under ``suites`` whose ``name`` is ``name`` (the command that reproduces the report)."""
    for path in sorted(suites.rglob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if suite_value(data, "name") == name:
            return path.relative_to(suites.parent).as_posix()  # as typed in the repository root
    return None


def _acc_cell(values: list[float], n_test: int | None) -> str:
    iv = cell_interval(values, n_test)
    return f"{100 * iv.mean:.1f}" + (f" [{100 * iv.low:.1f}, {100 * iv.high:.1f}]" if iv.available else "")


def _what(suite: Mapping[str, Any]) -> list[str | None]:
    """The setting in words: models, data, ε, seeds and sizes (None where the suite does not say)."""
    def at(*path: str) -> Any:
        return suite_value(suite, *path)

    layers = at("models", "source", "distill", "layers")
    seeds = at("seeds") or []
    return [f"target `{at('models', 'target')}`" if at("models", "target") else None,
            f"source distilled to {len(layers)} layers" if layers else None,
            "private " + ", ".join(f"`{d}`" for d in at("datasets", "private") or []),
            f"public `{at('datasets', 'public')}`" if at("datasets", "public") else None,
            "ε ∈ {" + ", ".join(eps_symbol(e) for e in at("epsilons") or []) + "}",
            f"{len(seeds)} seed" + ("s" if len(seeds) != 1 else ""),
            f"{at('budget', 'train_size')} training and {at('budget', 'test_size')} test rows per seed"
            if at("budget", "train_size") else None,
            f"prompts of {at('budget', 'prompt_length')} tokens" if at("budget", "prompt_length") else None]


def _machine(env: Environment) -> list[str | None]:
    return [env.cpu, f"device {env.device}" if env.device else None,
            f"precision {env.precision}" if env.precision else None, f"--jobs {env.jobs}" if env.jobs else None,
            f"torch {env.torch}" if env.torch else None, f"git `{env.git}`" if env.git else None,
            (env.date or "")[:10] or None]


def setting_lines(results: Results, folder: str, suite_file: str | None) -> list[str]:
    description = suite_value(results.suite, "description")
    lines = [f"_{description}_", ""] if description else []
    lines.append("- **setting:** " + "; ".join(w for w in _what(results.suite) if w))
    lines.append("- **run:** " + "; ".join(str(m) for m in _machine(results.env) if m))
    cmd = f"post-bench run {suite_file} --jobs 2 && " if suite_file else ""
    name = suite_value(results.suite, "name", default=folder)
    lines.append(f"- **reproduce:** `{cmd}post-bench report runs/{name} --to reports/{folder}`"
                 + ("" if suite_file else " (no suite file under suites/ has this name)"))
    lines.append(f"- **report:** [reports/{folder}/report.md](../reports/{folder}/report.md)")
    return lines


def _zero_shot_cell(groups: Mapping[tuple, list[float]], key: tuple) -> str | None:
    """Zero-shot reads no private data: at a finite ε where it has no row of its own, its ε=∞ row stands."""
    ds, m, e = key
    if m == ZERO_SHOT and key not in groups and (ds, m, math.inf) in groups:
        return "(no private data: as ε=∞)" if not math.isinf(e) else ""
    return None


def utility_tables(results: Results) -> list[str]:
    """Accuracy (%) per dataset: a row per method, a column per ε; mean over seeds [95% CI]."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    n_test: dict[tuple, int] = {}
    for r in results.utility:
        key = (r.dataset, r.method, r.epsilon)
        groups[key].append(float(r.accuracy))
        n_test[key] = r.n_test
    out = []
    for ds in sorted({k[0] for k in groups}):
        eps = sorted({k[2] for k in groups if k[0] == ds})
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
                zero_shot = _zero_shot_cell(groups, key)
                if zero_shot is not None:
                    cells.append(zero_shot)
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


def _claims_intro(results: Results, seeds: int) -> list[str]:
    """What the claims below were paired by (per test row within seeds, or by seed), in one paragraph."""
    ev = results.evidence
    if ev is not None and ev.claims_paired_by == "rows within seeds":
        rows = ev.test_rows
        size = (f"{rows[0]}" if len(rows) == 1 else f"{rows[0]}–{rows[-1]}") if rows else "?"
        out = [f"Claims of the POST paper (Wang et al. 2025), each accuracy check d > 0 paired by test row within "
               f"each of {seeds} seed(s) ({size} test rows each) and combined over seeds "
               "([how](reports.md#claims)), mean d [95% CI] in accuracy points (seconds or FLOPs for cost, paired by "
               "seed):", ""]
        if seeds < 2:
            out[0] += (" with one seed an interval covers the test rows of one trained prompt, not training "
                       "noise.")
        return out
    return ["Claims of the POST paper (Wang et al. 2025), each check d > 0 paired by seed, mean d [95% CI] in "
            "accuracy points (seconds or FLOPs for cost):", ""]


def _check_text(chk: Check) -> str:
    metric = chk.metric or "accuracy"
    ci = f" [{_pts(chk.ci_low, metric)}, {_pts(chk.ci_high, metric)}]" if _num(chk.ci_low) else ""
    value = _pts(chk.mean, metric) if _num(chk.mean) else f"— ({chk.reason or 'missing'})"
    return f"{chk.check}: {value}{ci} → {chk.verdict}"


def _cell_line(cell: ClaimCell) -> str:
    return (f"  - {cell.dataset}, ε={eps_symbol(cell.epsilon)}: {cell.verdict} "
            f"({'; '.join(_check_text(chk) for chk in cell.checks)})")


def claim_lines(results: Results) -> list[str]:
    claims: list[Claim] = results_claims(results)
    if not claims:
        return []
    seeds = len(suite_value(results.suite, "seeds", default=[]))
    per_row = results.evidence is not None and results.evidence.claims_paired_by == "rows within seeds"
    if seeds < 2 and not per_row:
        return [f"Claims of the POST paper: not decided here — {seeds or 'one'} seed, and a one-seed difference is "
                "not a result (every check is inconclusive by construction; the differences are in the report).", ""]
    out = _claims_intro(results, seeds)
    for c in claims:
        out.append(f"- **Claim {c.claim}, {c.statement}: {c.verdict}.**")
        out += [_cell_line(cell) for cell in c.cells]
    return out + [""]


def _auc_ci(r: PrivacyRow) -> tuple[float, float] | None:
    """The AUC's 95% CI where both ends are finite."""
    c = auc_ci(r)
    return (float(c[0]), float(c[1])) if c is not None and all(map(_num, c)) else None


def _tpr_text(r: PrivacyRow, level: str) -> str:
    t = tpr_at(r, level)
    return f"{100 * t:.1f}%" if _num(t) else "n/a"


def _bounds(rows: list[PrivacyRow]) -> list[float]:
    return [float(r.eps_lower_bound) for r in rows if _num(r.eps_lower_bound)]


def _strongest_attacks(rows: list[PrivacyRow]) -> list[str]:
    """The table of the strongest attack (highest AUC) per attacked prompt, with its largest ε lower bound."""
    by_prompt: dict[tuple, list[PrivacyRow]] = defaultdict(list)
    for r in rows:
        by_prompt[(r.dataset, r.method, r.epsilon)].append(r)
    out = ["| data set | method | ε | attack | AUC [95% CI] | TPR @ 1% FPR | TPR @ 0.1% FPR | largest ε_lb (95%) |",
           "|---|---|---|---|---|---|---|---|"]
    for (ds, method, eps), rs in sorted(by_prompt.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        best = max(rs, key=lambda r: r.auc)
        c = _auc_ci(best)
        bounds = _bounds(rs)
        out.append(f"| {ds} | {method} | {eps_symbol(eps)} | {best.attack} | {best.auc:.3f}"
                   + (f" [{c[0]:.3f}, {c[1]:.3f}]" if c else "") + f" | {_tpr_text(best, '0.01')} | "
                   f"{_tpr_text(best, '0.001')} | " + (f"{max(bounds):.2f}" if bounds else "—") + " |")
    return out


def _privacy_summary(rows: list[PrivacyRow]) -> list[str]:
    """AUC range, how many CIs include 0.5, CI widths, TPR range and the ε lower bounds against the claims."""
    cis = [_auc_ci(r) for r in rows]
    with_ci = [c for c in cis if c]
    above = [r for r, c in zip(rows, cis) if c and c[0] > 0.5]
    below = [r for r, c in zip(rows, cis) if c and c[1] < 0.5]
    tprs = [t for t in (tpr_at(r, "0.01") for r in rows) if _num(t)]
    bounds = _bounds(rows)
    violations = [r for r in rows if _num(r.eps_lower_bound) and _num(r.claimed_epsilon)
                  and r.eps_lower_bound > r.claimed_epsilon]
    out = [f"- AUC over all {len(rows)} rows: {min(r.auc for r in rows):.3f} to {max(r.auc for r in rows):.3f}; "
           + (f"{len(with_ci) - len(above) - len(below)} of {len(with_ci)} 95% CIs include 0.5"
              + (f", {len(above)} lie above it (leakage detected)" if above else "")
              + (f", {len(below)} below it" if below else "") + "." if with_ci else "no CIs stored.")]
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
    return out


def privacy_lines(results: Results) -> list[str]:
    rows = [r for r in results.privacy if not is_canary_audit(r) and _num(r.auc)]
    if not rows:
        return []
    prompts = {(r.dataset, r.method, r.epsilon) for r in rows}
    attacks = sorted({r.attack for r in rows})
    shadows = sorted({r.n_shadows for r in rows if r.n_shadows is not None})
    examples = sorted({r.n_examples for r in rows if r.n_examples is not None})
    out = [f"Membership inference: {len(rows)} rows ({', '.join(attacks)}) on {len(prompts)} attacked prompts, "
           f"{'/'.join(map(str, shadows)) or '—'} shadows, {'/'.join(map(str, examples)) or '—'} scored examples. "
           "Strongest attack per prompt (highest AUC):", ""]
    out += _strongest_attacks(rows) + [""] + _privacy_summary(rows) + [""]
    table3 = paper_table3(rows)
    if table3.rows:
        out += ["LiRA on POST prompts beside the paper's Table 3 (RoBERTa-base, 100-token prompts, 8 shadows):", "",
                to_markdown(table3), ""]
    return out


def canary_lines(results: Results) -> list[str]:
    table = canary_table(results.privacy)
    if not table.rows:
        return []
    return ["Canary positive controls (one-run audits):", "", to_markdown(table), ""]


def _extraction_line(r: ExtractionRow) -> str | None:
    nan = float("nan")
    if _num(r.mean_exposure):
        return (f"- canary exposure, {r.dataset} {r.method} ε={eps_symbol(r.epsilon)}: mean "
                f"{r.mean_exposure:.2f} bits, max {nan if r.max_exposure is None else r.max_exposure:.2f} of a "
                f"possible {nan if r.max_possible is None else r.max_possible:.2f} ({r.n_canaries} canaries × "
                f"{r.extra('repetitions')} copies against {r.extra('n_candidates')} candidates).")
    if r.attack == "nearest-tokens" and r.extra("text"):
        return (f"- nearest-token decoding of the prompt, {r.method} ε={eps_symbol(r.epsilon)}: "
                f"\"{r.extra('text')}\" (mean cosine {r.extra('mean_cosine', nan):.2f}).")
    return None


def extraction_lines(results: Results) -> list[str]:
    out = [line for line in map(_extraction_line, results.extraction) if line]
    return (["Extraction:", "", *out, ""]) if out else []


def cost_lines(results: Results) -> list[str]:
    costs = suite_costs(results.cost)
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


def report_section(folder: str, results: Results, suites: Path, evidence=None) -> list[str]:
    name = suite_value(results.suite, "name", default=folder)
    out = [f"## {name} (`reports/{folder}/`)", ""]
    out += setting_lines(results, folder, _suite_file(str(name), suites)) + [""]
    out += utility_tables(results)
    ablations = ablation_table(results, evidence)
    if ablations.rows:
        out += ["Ablations (each labelled entry against its method; paired by test row within seeds where the "
                "per-example outputs exist, else by seed):", "", to_markdown(ablations), ""]
    out += claim_lines(results) + privacy_lines(results) + canary_lines(results) + extraction_lines(results)
    out += cost_lines(results)
    return out


def frontier_section(reports: Path) -> list[str]:
    """The source-frontier report (``reports/<name>/report/frontier.md``, written by `post-bench frontier` from the
    candidate runs beside it), its rule, choice and table as they are there."""
    out = []
    for page in sorted(reports.glob("*/report/frontier.md")):
        name = page.parent.parent.name
        body = page.read_text(encoding="utf-8").splitlines()
        keep = [line for line in body[1:] if not line.startswith("![")]
        while keep and not keep[0].strip():
            keep.pop(0)
        out += [f"## source frontier (`reports/{name}/`)", "", *keep,
                f"![source prompt against compute](../reports/{name}/report/frontier.png)", ""]
    return out


def report_folders(reports: Path) -> list[Path]:
    found = [p.parent for p in reports.glob("*/results.json")]
    return sorted(found, key=lambda p: (ORDER.index(p.name) if p.name in ORDER else len(ORDER), p.name))


def render(reports: Path | str = "reports", suites: Path | str = "suites") -> str:
    reports, suites = Path(reports), Path(suites)
    loaded = [(folder.name, load_results(folder / "results.json")) for folder in report_folders(reports)]
    out = ["# Results of the committed reports", "",
           "<!-- generated by `python -m post_bench.report.results_page --out docs/results.md` from "
           "reports/*/results.json; do not edit by hand -->", "",
           "Every number on this page is rendered from the `results.json` files under `reports/`; rerun a report "
           "and this command to refresh it. How to read the statistics: [the auditing guide](auditing.md). What "
           "the numbers mean for the method, and how the settings came about: [design notes](design-notes.md).",
           "", "Reports: " + ", ".join(f"[{folder}](#{_anchor(folder, results)})" for folder, results in loaded), ""]
    for folder, results in loaded:
        out += report_section(folder, results, suites, load_evidence(results, reports / folder))
    out += frontier_section(reports)
    if not loaded:
        out += [f"_No reports/*/results.json under {reports}._", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _anchor(folder: str, results: Results) -> str:
    """GitHub's anchor of the heading ``## <suite name> (`reports/<folder>/`)``."""
    heading = f"{suite_value(results.suite, 'name', default=folder)} (reports/{folder}/)".lower()
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
