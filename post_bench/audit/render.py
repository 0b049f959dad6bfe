"""The audit's outputs from its result dict alone: ``audit.json``, ``report.md`` (verdict line first), a
log-log ROC figure drawn by the report's own ``plot_roc`` (``roc.png`` + ``roc.pdf``, at most 6 curves),
and the short stdout summary."""

from __future__ import annotations

import json
from pathlib import Path

from post_bench.atomic import write_text_atomic

MAX_CURVES = 6
FILES = ("audit.json", "report.md", "roc.png", "roc.pdf")


def _num(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _point_cell(p: dict) -> str:
    if p["tpr"] is None:
        return "n/a"
    return f"{_pct(p['tpr'])} (FP {p['fp']}/{p['n_nonmembers']})"


def summary_lines(result: dict) -> list[str]:
    """The verdict and one line per attack."""
    lines = [result["verdict"]["line"]]
    for r in result["attacks"]:
        pts = " ".join(f"TPR@{100 * p['target_fpr']:g}%FPR {_num(p['tpr']) if p['tpr'] is not None else 'n/a'}"
                       for p in r["operating_points"])
        lo, hi = r["auc_ci"]
        eps = r["eps_lower_bound"]
        lines.append(f"  {r['attack']:<20} AUC {r['auc']:.3f} [{lo:.3f}, {hi:.3f}]  {pts}  "
                     f"eps_lb {eps['value']:.2f} ({100 * eps['confidence']:g}%)")
    return lines


def roc_rows(result: dict) -> tuple[list[dict], list[str]]:
    """Rows for ``report.roc.plot_roc`` (one panel: what was attacked): the ``MAX_CURVES`` attacks with the
    highest AUC, each with its AUC CI; and the names left out."""
    ranked = sorted(result["attacks"], key=lambda r: -r["auc"])
    panel = "the given prompt" if result["attacked"] == "the given prompt" else "recipe shadows"
    rows = [{"dataset": result["roc_title"], "method": panel, "epsilon": None, "attack": r["attack"],
             "roc": r["roc"], "auc": r["auc"], "ci": {"auc": r["auc_ci"]}, "tpr_at_fpr": r["tpr_at_fpr"],
             "tpr_null_reason": r["tpr_null_reason"]}
            for r in ranked[:MAX_CURVES]]
    return rows, [r["attack"] for r in ranked[MAX_CURVES:]]


def _kv(d: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in d.items() if v is not None)


def report_md(result: dict, left_out: list[str]) -> str:
    v = result["verdict"]
    lines = [v["line"], "", f"# post-bench audit: {result['prompt']['name']}", ""]
    lines.append(f"- **attacked:** {result['attacked_long']}")
    p = result["prompt"]
    lines.append(f"- **prompt:** `{p['path']}` ({p['shape'][0]} virtual tokens x {p['shape'][1]}) on model "
                 f"`{result['model']}` ({result['device']}, precision {result['precision']})")
    t = result["task"]
    lines.append(f"- **task:** {t['name']}: template `{t['template']!r}`, label words "
                 + ", ".join(f"{c} = {'|'.join(w)!r}" for c, w in zip(t["class_names"], t["label_words"])))
    c = result.get("candidates")
    if c:
        lines.append(f"- **candidates:** {c['n']} ({c['n_members']} members, {c['n_nonmembers']} non-members) from "
                     + ", ".join(f"{k} `{f}`" for k, f in c["files"].items())
                     + (f"; {c['duplicates_removed']} repeated texts kept once" if c["duplicates_removed"] else ""))
    u = result.get("utility") or {}
    if "test" in u:
        x = u["test"]
        lines.append(f"- **the prompt on {x['n_test']} test rows:** accuracy {_num(x['accuracy'])} "
                     f"(zero-shot {_num(x['zero_shot_accuracy'])})")
    elif u:
        lines.append("- **the prompt on them:** " + "; ".join(
            f"{side}: accuracy {_num(x['accuracy'])}, loss {_num(x['loss'])} (zero-shot {_num(x['zero_shot_accuracy'])}, "
            f"{_num(x['zero_shot_loss'])})" for side, x in u.items()))
    pop = result.get("population")
    used = "" if not pop else (f", {pop['used']} used by the shadows" if pop.get("used") is not None
                               else ", not used (--shadows 0)")
    lines.append(f"- **population:** {pop['note']}: {pop['rows']} rows{used}" if pop else "- **population:** none")
    s = result["shadows"]
    lines.append(f"- **shadows:** {s['k']}" + (f" tuned with the recipe below on halves of {s['universe']} examples "
                                                 f"({s['universe_note']})" if s["k"] else " (no shadow attacks)"))
    lines += ["", "## Attacks", "",
              "| attack | AUC [95% CI] | TPR @ 10% FPR | TPR @ 1% FPR | TPR @ 0.1% FPR | ε lower bound |",
              "|---|---|---|---|---|---|"]
    for r in result["attacks"]:
        lo, hi = r["auc_ci"]
        cells = [_point_cell(pt) for pt in r["operating_points"]]
        lines.append(f"| {r['attack']} | {r['auc']:.3f} [{lo:.3f}, {hi:.3f}] | " + " | ".join(cells)
                     + f" | {r['eps_lower_bound']['value']:.2f} |")
    methods = sorted({r["ci_method"] for r in result["attacks"]})
    lines += ["", f"CIs: {'; '.join(methods)}. The verdict uses the same intervals at "
              f"{100 * result['attacks'][0]['auc_ci_familywise']['confidence']:.1f}% (95% family-wise over "
              f"{len(result['attacks'])} attacks).", ""]
    lines += ["Operating points (member if statistic ≥ threshold):", "",
              "| attack | target FPR | TPR [95% CI] | realized FPR | threshold | TP / members | FP / non-members |",
              "|---|---|---|---|---|---|---|"]
    for r in result["attacks"]:
        for pt in r["operating_points"]:
            if pt["tpr"] is None:
                lines.append(f"| {r['attack']} | {pt['target_fpr']:g} | n/a: {pt['reason']} | | | | |")
                continue
            ci = pt.get("tpr_ci")
            thr = "∞ (flags nobody)" if pt["flags_nobody"] else f"{pt['threshold']:.4g}"
            lines.append(f"| {r['attack']} | {pt['target_fpr']:g} | {pt['tpr']:.3f}"
                         + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
                         + f" | {pt['fpr']:.3f} | {thr} | {pt['tp']} / {pt['n_members']} | {pt['fp']} / {pt['n_nonmembers']} |")
    e = result["epsilon_lower_bound"]
    lines += ["", f"ε lower bound: {e['description']}", ""]
    if result.get("canary_control"):
        lines += ["## Positive control (canaries in the shadows)", "", result["canary_control"]["line"] + ".",
                  "", f"_{result['canary_control']['note']}._", ""]
    lines += ["## Shadow recipe", ""]
    if result["recipe"]["used"]:
        lines += [f"- {k}: {val}" for k, val in result["recipe"]["resolved"].items() if val is not None]
        if result["recipe"].get("dp"):
            lines.append(f"- DP-SGD: {_kv(result['recipe']['dp'])}")
    else:
        lines.append(f"Not used ({result['recipe']['why_not']}); resolved as: "
                     + _kv(result["recipe"]["resolved"]))
    lines += ["", "## What was measured", ""] + [f"- {x}" for x in result["measured"]]
    lines += ["", "## What was not measured", ""] + [f"- {x}" for x in result["not_measured"]]
    tm = result["timing"]
    lines += ["", "## Timing", "", "- " + ", ".join(f"{k.removesuffix('_s')} {val:.1f} s" for k, val in tm.items())]
    lines += ["", "## ROC", "", "![ROC, log-log](roc.png)", ""]
    if left_out:
        lines.append(f"Curves drawn: the {MAX_CURVES} attacks with the highest AUC; left out: {', '.join(left_out)}.")
    return "\n".join(lines) + "\n"


def write_outputs(folder: Path, result: dict) -> list[Path]:
    """audit.json, report.md, roc.png and roc.pdf into ``folder`` (the staging folder)."""
    from post_bench.report.roc import plot_roc  # deferred: start-up time (matplotlib)

    folder = Path(folder)
    rows, left_out = roc_rows(result)
    written = [write_text_atomic(folder / "audit.json", json.dumps(result, indent=2, allow_nan=False) + "\n"),
               write_text_atomic(folder / "report.md", report_md(result, left_out))]
    written.append(plot_roc(rows, result["roc_title"], folder / "roc.png", pdf=True))
    return [*written, folder / "roc.pdf"]
