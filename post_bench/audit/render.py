"""The audit's outputs from its result alone: ``audit.json`` (the attack rows dumped as results.json's privacy
rows), ``report.md`` (verdict line first), a log-log ROC figure drawn by the report's own ``plot_roc``
(``roc.png`` + ``roc.pdf``, at most 6 curves), and the short stdout summary.

The result is a dict of the audit's sections (verdict, prompt, task, candidates, recipe, ...) whose
``attacks`` are typed :class:`post_bench.rows.PrivacyRow` rows."""

from __future__ import annotations

import json
from pathlib import Path

from post_bench.atomic import write_text_atomic
from post_bench.rows import PrivacyRow, TprPoint

MAX_CURVES = 6
FILES = ("audit.json", "report.md", "roc.png", "roc.pdf")


def _num(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _auc_text(r: PrivacyRow) -> str:
    lo, hi = r.ci.auc
    return f"{r.auc:.3f} [{lo:.3f}, {hi:.3f}]"


def audit_json(result: dict) -> dict:
    """What audit.json holds: the result with each attack row dumped as a results.json privacy row."""
    return {**result, "attacks": [r.dump() for r in result["attacks"]]}


def summary_lines(result: dict) -> list[str]:
    """The verdict and one line per attack."""
    lines = [result["verdict"]["line"]]
    for r in result["attacks"]:
        pts = " ".join(f"TPR@{100 * p.target_fpr:g}%FPR {_num(p.tpr) if p.tpr is not None else 'n/a'}"
                       for p in r.operating_points)
        lines.append(f"  {r.attack:<20} AUC {_auc_text(r)}  {pts}  "
                     f"eps_lb {r.eps_lower_bound:.2f} ({100 * r.eps_lower_bound_confidence:g}%)")
    return lines


def roc_rows(result: dict) -> tuple[list[PrivacyRow], list[str]]:
    """Rows for ``report.roc.plot_roc``: the ``MAX_CURVES`` attacks with the highest AUC, under the figure's
    title as their data set (one panel: the rows' method, what was attacked); and the names left out."""
    ranked = sorted(result["attacks"], key=lambda r: -r.auc)
    rows = [r.model_copy(update={"dataset": result["roc_title"]}) for r in ranked[:MAX_CURVES]]
    return rows, [r.attack for r in ranked[MAX_CURVES:]]


def _kv(d: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in d.items() if v is not None)


def _utility_line(u: dict) -> list[str]:
    if "test" in u:
        x = u["test"]
        return [f"- **the prompt on {x['n_test']} test rows:** accuracy {_num(x['accuracy'])} "
                f"(zero-shot {_num(x['zero_shot_accuracy'])})"]
    return ["- **the prompt on them:** " + "; ".join(
        f"{side}: accuracy {_num(x['accuracy'])}, loss {_num(x['loss'])} (zero-shot {_num(x['zero_shot_accuracy'])}, "
        f"{_num(x['zero_shot_loss'])})" for side, x in u.items())]


def _population_line(pop: dict | None) -> str:
    if not pop:
        return "- **population:** none"
    used = f", {pop['used']} used by the shadows" if pop["used"] is not None else ", not used (--shadows 0)"
    return f"- **population:** {pop['note']}: {pop['rows']} rows{used}"


def _inputs_lines(result: dict) -> list[str]:
    """The header: what was attacked, the prompt, task, candidates, utility, population and shadows."""
    p, t, c, s = result["prompt"], result["task"], result["candidates"], result["shadows"]
    lines = [f"- **attacked:** {result['attacked_long']}",
             f"- **prompt:** `{p['path']}` ({p['shape'][0]} virtual tokens x {p['shape'][1]}) on model "
             f"`{result['model']}` ({result['device']}, precision {result['precision']})",
             f"- **task:** {t['name']}: template `{t['template']!r}`, label words "
             + ", ".join(f"{name} = {'|'.join(w)!r}" for name, w in zip(t["class_names"], t["label_words"]))]
    if c:
        lines.append(f"- **candidates:** {c['n']} ({c['n_members']} members, {c['n_nonmembers']} non-members) from "
                     + ", ".join(f"{k} `{f}`" for k, f in c["files"].items())
                     + (f"; {c['duplicates_removed']} repeated texts kept once" if c["duplicates_removed"] else ""))
    if result["utility"]:
        lines += _utility_line(result["utility"])
    lines.append(_population_line(result["population"]))
    lines.append(f"- **shadows:** {s['k']}" + (f" tuned with the recipe below on halves of {s['universe']} examples "
                                                 f"({s['universe_note']})" if s["k"] else " (no shadow attacks)"))
    return lines


def _point_cell(p: TprPoint) -> str:
    return "n/a" if p.tpr is None else f"{_pct(p.tpr)} (FP {p.fp}/{p.n_nonmembers})"


def _attacks_table(rows: list[PrivacyRow]) -> list[str]:
    lines = ["## Attacks", "",
             "| attack | AUC [95% CI] | TPR @ 10% FPR | TPR @ 1% FPR | TPR @ 0.1% FPR | ε lower bound |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r.attack} | {_auc_text(r)} | " + " | ".join(_point_cell(p) for p in r.operating_points)
              + f" | {r.eps_lower_bound:.2f} |" for r in rows]
    methods = sorted({f"{r.ci.method}, over {r.ci.unit}" for r in rows})
    return lines + ["", f"CIs: {'; '.join(methods)}. The verdict uses the same intervals at "
                    f"{100 * rows[0].ci_familywise.confidence:.1f}% (95% family-wise over {len(rows)} attacks).", ""]


def _point_line(attack: str, p: TprPoint) -> str:
    if p.tpr is None:
        return f"| {attack} | {p.target_fpr:g} | n/a: {p.reason} | | | | |"
    thr = "∞ (flags nobody)" if p.flags_nobody else f"{p.threshold:.4g}"
    ci = f" [{p.tpr_ci[0]:.3f}, {p.tpr_ci[1]:.3f}]" if p.tpr_ci else ""
    return (f"| {attack} | {p.target_fpr:g} | {p.tpr:.3f}{ci} | {p.fpr:.3f} | {thr} | {p.tp} / {p.n_members} | "
            f"{p.fp} / {p.n_nonmembers} |")


def _points_table(rows: list[PrivacyRow]) -> list[str]:
    return ["Operating points (member if statistic ≥ threshold):", "",
            "| attack | target FPR | TPR [95% CI] | realized FPR | threshold | TP / members | FP / non-members |",
            "|---|---|---|---|---|---|---|"] + [_point_line(r.attack, p) for r in rows for p in r.operating_points]


def _recipe_lines(recipe: dict) -> list[str]:
    if not recipe["used"]:
        return [f"Not used ({recipe['why_not']}); resolved as: " + _kv(recipe["resolved"])]
    lines = [f"- {k}: {val}" for k, val in recipe["resolved"].items() if val is not None]
    return lines + ([f"- DP-SGD: {_kv(recipe['dp'])}"] if recipe["dp"] else [])


def report_md(result: dict, left_out: list[str]) -> str:
    rows = result["attacks"]
    lines = [result["verdict"]["line"], "", f"# post-bench audit: {result['prompt']['name']}", ""]
    lines += _inputs_lines(result) + [""] + _attacks_table(rows) + _points_table(rows)
    lines += ["", f"ε lower bound: {result['epsilon_lower_bound']['description']}", ""]
    if control := result["canary_control"]:
        lines += ["## Positive control (canaries in the shadows)", "", control["line"] + ".", "",
                  f"_{control['note']}._", ""]
    lines += ["## Shadow recipe", ""] + _recipe_lines(result["recipe"])
    lines += ["", "## What was measured", ""] + [f"- {x}" for x in result["measured"]]
    lines += ["", "## What was not measured", ""] + [f"- {x}" for x in result["not_measured"]]
    timing = ", ".join(f"{k.removesuffix('_s')} {val:.1f} s" for k, val in result["timing"].items())
    lines += ["", "## Timing", "", f"- {timing}", "", "## ROC", "", "![ROC, log-log](roc.png)", ""]
    if left_out:
        lines.append(f"Curves drawn: the {MAX_CURVES} attacks with the highest AUC; left out: {', '.join(left_out)}.")
    return "\n".join(lines) + "\n"


def write_outputs(folder: Path, result: dict) -> list[Path]:
    """audit.json, report.md, roc.png and roc.pdf into ``folder`` (the staging folder)."""
    from post_bench.report.roc import plot_roc  # deferred: start-up time (matplotlib)

    folder = Path(folder)
    rows, left_out = roc_rows(result)
    text = json.dumps(audit_json(result), indent=2, allow_nan=False) + "\n"
    written = [write_text_atomic(folder / "audit.json", text),
               write_text_atomic(folder / "report.md", report_md(result, left_out))]
    written.append(plot_roc(rows, result["roc_title"], folder / "roc.png", pdf=True))
    return [*written, folder / "roc.pdf"]
