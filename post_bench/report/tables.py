"""Report tables, built once as rows of strings, rendered to markdown and to LaTeX (booktabs).

Every builder takes the (possibly missing or partial) rows of one results.json section and never fails on a
missing key: absent numbers show as "—".
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from post_bench.epsilon import eps_key, eps_symbol

from .claims import PAPER_GAP, accuracy_values, from_results
from .cost import distillation_one_off, pipeline_costs
from .stats import T_SEEDS, WILSON, Interval, cell_interval, paired_difference, verdict

DASH = "—"
ZERO_SHOT = "zero_shot"


@dataclasses.dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


# ---- formatting helpers (shared with the plots) ---------------------------------------------------------


def num(x: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; large/small magnitudes in scientific notation; None -> dash."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return DASH
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 10 ** (-digits)):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def pct(x: Any, digits: int = 1) -> str:
    return DASH if x is None else f"{100.0 * float(x):.{digits}f}"


CI_KIND = {T_SEEDS: "t, seeds", WILSON: "Wilson, test set"}


def ci_cell(iv: Interval, scale: float = 100.0, digits: int = 1) -> str:
    """``[low, high]`` scaled (accuracy in %), or a dash when there is no interval."""
    if not iv.available:
        return DASH
    return f"[{scale * iv.low:.{digits}f}, {scale * iv.high:.{digits}f}]"


def _rows(section: Any) -> list[dict]:
    return [r for r in (section or []) if isinstance(r, dict)]


def _cell(v: Any, max_len: int = 48) -> str:
    if isinstance(v, (list, tuple)):
        v = ",".join(str(x) for x in v)
    if isinstance(v, dict):
        v = "; ".join(f"{k}={num(x)}" for k, x in v.items())
    s = v if isinstance(v, str) else num(v)
    return s if len(s) <= max_len else s[: max_len - 1] + "…"


# ---- builders -------------------------------------------------------------------------------------------


def utility_table(rows: Iterable[dict]) -> Table:
    """Accuracy (%) per dataset × method × model × ε: mean over seeds and its 95% CI (``stats.cell_interval``)."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    n_test: dict[tuple, Any] = {}
    for r in _rows(rows):
        if not isinstance(r.get("accuracy"), (int, float)):
            continue
        key = (
            str(r.get("dataset", "?")),
            str(r.get("method", "?")),
            str(r.get("model", "")),
            r.get("epsilon"),
        )
        groups[key].append(float(r["accuracy"]))
        n_test[key] = r.get("n_test")
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1] != ZERO_SHOT, k[1], k[2], eps_key(k[3]))):
        ds, method, model, eps = key
        n = n_test[key] if isinstance(n_test[key], int) and not isinstance(n_test[key], bool) else None
        iv = cell_interval(groups[key], n)
        eps_cell = DASH if method == ZERO_SHOT and eps is None else eps_symbol(eps)
        out.append((ds, method, model, eps_cell, f"{100 * iv.mean:.1f}", ci_cell(iv), CI_KIND.get(iv.kind, DASH),
                    str(len(groups[key])), num(n_test[key])))
    return Table(
        "Utility",
        ("dataset", "method", "model", "ε", "accuracy (%)", "95% CI", "CI", "seeds", "n_test"),
        tuple(out),
        "Mean over seeds. 95% CI: Student-t over seeds (a seed changes the split and the training noise), "
        "clipped to [0, 100]; with one seed, a Wilson interval on the n_test predictions, which covers test-set "
        "sampling only. "
        "ε = ∞: non-private; zero-shot uses no private data.",
    )


def _ci(ci: Any, digits: int = 3, scale: float = 1.0) -> str:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or None in ci:
        return ""
    return f" [{scale * ci[0]:.{digits}f}, {scale * ci[1]:.{digits}f}]"


def _tpr(r: dict, level: str) -> str:
    t = (r.get("tpr_at_fpr") or {}).get(level)
    if t is None:
        return "n/a" if level in (r.get("tpr_null_reason") or {}) else DASH
    return pct(t, 1) + _ci(((r.get("ci") or {}).get("tpr_at_fpr") or {}).get(level), 1, 100.0)


def _privacy_key(r: dict):
    return (str(r.get("dataset")), str(r.get("method")), eps_key(r.get("epsilon")), str(r.get("attack")))


def _is_canary_row(r: dict) -> bool:
    return r.get("attack") == "one_run"


def _verdict(ci: Any) -> str:
    """Leak detected when the AUC's CI lies above 0.5; none at this power when it includes 0.5."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or None in ci:
        return DASH
    if ci[0] > 0.5:
        return "leak detected"
    return "below chance" if ci[1] < 0.5 else "none detected"


def privacy_table(rows: Iterable[dict]) -> Table:
    out = []
    for r in sorted((r for r in _rows(rows) if r.get("auc") is not None and not _is_canary_row(r)), key=_privacy_key):
        ci = (r.get("ci") or {}).get("auc")
        alone = r.get("auc_attacked_prompt")
        alone_cell = DASH if alone is None else num(alone) + _ci((r.get("ci_attacked_prompt") or {}).get("auc"))
        out.append((str(r.get("dataset", "?")), str(r.get("method", "?")), eps_symbol(r.get("epsilon")),
                    str(r.get("attack", "?")), num(r.get("auc")) + _ci(ci), _verdict(ci), alone_cell,
                    _tpr(r, "0.001"), _tpr(r, "0.01"), _tpr(r, "0.1"), num(r.get("n_shadows")),
                    num(r.get("n_examples"))))
    methods = {str((r.get("ci") or {}).get("method")) for r in _rows(rows) if r.get("ci") and not _is_canary_row(r)}
    how = ("studentized bootstrap over the scored examples (all prompts' outcomes on one example resampled together, "
           "as they share it)" if any("studentized" in m for m in methods) else
           "bootstrap as recorded in each row's ci.method")
    return Table(
        "Privacy (membership inference)",
        ("dataset", "method", "ε", "attack", "AUC [95% CI]", "verdict", "attacked prompt alone", "TPR@0.1%",
         "TPR@1%", "TPR@10%", "shadows", "examples"),
        tuple(out),
        "AUC: every prompt (the attacked one and each shadow) attacked in turn with the others as references, "
        f"outcomes pooled; [95% CI]: {how}. verdict: leak detected when the CI lies above 0.5, none detected (at "
        "this power) when it includes 0.5. attacked prompt alone: the suite's prompt's own outcomes, CI over its "
        "examples. TPR in % at FPR ≤ the level [95% CI]; n/a: fewer than 1/FPR non-members, so that FPR cannot be "
        "measured.",
    )


def canary_table(rows: Iterable[dict]) -> Table:
    """One-run canary audits: the positive controls (does the attack see memorisation?) and their ε lower bounds."""
    out = []
    for r in sorted((r for r in _rows(rows) if _is_canary_row(r)), key=lambda r: (*_privacy_key(r), r.get("seed", 0))):
        one = r.get("one_run") or {}
        claimed = r.get("claimed_epsilon", r.get("epsilon"))
        bound = r.get("eps_lower_bound")
        auc_ci = (r.get("ci") or {}).get("auc")
        if isinstance(bound, (int, float)) and claimed is not None and bound > claimed:
            verdict = "DP VIOLATION: ε_lb > claimed ε"
        elif isinstance(auc_ci, (list, tuple)) and len(auc_ci) == 2 and auc_ci[0] is not None and auc_ci[0] > 0.5:
            verdict = "memorisation detected"
        else:
            verdict = "not detected at this power"
        tpr = (r.get("tpr_at_fpr") or {}).get("0.01")
        tpr_ci = ((r.get("ci") or {}).get("tpr_at_fpr") or {}).get("0.01")
        score = str(r.get("score") or "raw").split(":")[0]
        out.append((str(r.get("dataset", "?")), str(r.get("method", "?")), eps_symbol(claimed),
                    f"{num(r.get('n_examples'))} {r.get('canary_kind', r.get('attack'))}", score, num(r.get("seed")),
                    f"{num(r.get('n_members'))} / {num(r.get('n_nonmembers'))}",
                    num(r.get("auc")) + _ci(auc_ci), (num(tpr) + _ci(tpr_ci)) if tpr is not None else "n/a",
                    f"{num(one.get('correct'))} / {num(one.get('guesses'))}",
                    num(bound, 2), num(r.get("eps_lower_bound_fdp"), 2), verdict))
    return Table(
        "Canary positive controls (one-run audits)",
        ("dataset", "method", "claimed ε", "canaries", "score", "seed", "in / out", "AUC [95% CI]",
         "TPR@1%FPR [95% CI]", "correct guesses", "ε_lb Steinke (95%)", "ε_lb f-DP (95%)", "verdict"),
        tuple(out),
        "Each canary went into the private training set with probability ½ (once: no group privacy); one training "
        "run per row. Score: the planted label's logit-scaled confidence under the prompt (raw) or minus the same "
        "under the untrained prompt (calibrated). AUC and TPR at 1% FPR: included vs left-out canaries, [95% "
        "percentile bootstrap over canaries]. Guesses: k highest 'in' + k lowest 'out' (or fixed k+/k−); with "
        "several k, each bounded at a Bonferroni-corrected level so the best holds at 95%. ε_lb: Steinke, Nasr, "
        "Jagielski (2023) and the f-DP one-run bound against the (ε, δ)-DP curve (Mahloujifar et al. 2025), both "
        "certified at 95%; a correct DP implementation keeps them ≤ the claimed ε (the DP gate reads Steinke's).",
    )


# Wang et al. 2025 (POST), Table 3: LiRA on POST prompts, RoBERTa-base, 8 shadows; sst2 / imdb / tweet / arisetv
PAPER_TABLE3 = {None: {"auc": (0.561, 0.580, 0.527, 0.552), "tpr_1": (0.023, 0.024, 0.015, 0.019)},
                8.0: {"auc": (0.526, 0.552, 0.501, 0.549), "tpr_1": (0.014, 0.016, 0.013, 0.018)}}


def paper_table3(rows: Iterable[dict]) -> Table:
    """LiRA on POST prompts beside the paper's Table 3 (at the ε the paper reports: ∞ and 8)."""
    out = []
    for r in sorted(_rows(rows), key=_privacy_key):
        eps = r.get("epsilon")
        eps = None if eps is None else float(eps)
        if r.get("method") != "post" or not str(r.get("attack", "")).startswith("lira") or eps not in PAPER_TABLE3:
            continue
        paper = PAPER_TABLE3[eps]
        out.append((str(r.get("dataset", "?")), eps_symbol(eps), str(r.get("attack")),
                    num(r.get("auc")) + _ci((r.get("ci") or {}).get("auc")),
                    " / ".join(f"{v:.3f}" for v in paper["auc"]), _tpr(r, "0.01"),
                    " / ".join(f"{100 * v:.1f}" for v in paper["tpr_1"]), num(r.get("n_shadows"))))
    return Table(
        "LiRA on POST prompts vs the paper (Table 3)",
        ("dataset", "ε", "attack", "AUC [95% CI]", "paper AUC", "TPR@1% (%)", "paper TPR@1% (%)", "shadows"),
        tuple(out),
        "Paper: RoBERTa-base, 8 shadow models, data sets sst2 / imdb / tweet / arisetv (its tweet set is not the "
        "election tweets used here); ours: the suite's model, data and shadow count.",
    )


def epsilon_table(rows: Iterable[dict]) -> Table:
    """Each attacked prompt's claimed ε beside every empirical ε lower bound."""
    out = []
    for r in sorted(_rows(rows), key=_privacy_key):
        if r.get("eps_lower_bound") is None:
            continue
        conf = r.get("eps_lower_bound_confidence")
        out.append((str(r.get("dataset", "?")), str(r.get("method", "?")),
                    eps_symbol(r.get("claimed_epsilon", r.get("epsilon"))), str(r.get("attack", "?")),
                    num(r.get("eps_lower_bound"), 2), DASH if conf is None else f"{100 * conf:g}%",
                    str(r.get("eps_lower_bound_threshold", DASH)), str(r.get("eps_lower_bound_trials", DASH))))
    return Table(
        "Claimed ε vs empirical lower bounds",
        ("dataset", "method", "claimed ε", "attack", "ε_lb", "confidence", "threshold", "trials"),
        tuple(out),
        "ε_lb: with the stated confidence the prompt's training is not (ε', δ)-DP for any ε' < ε_lb (Clopper-Pearson; "
        "split: threshold chosen on one half of the outcomes, bounded on the other; one_run: Steinke et al. 2023). "
        "A correct DP implementation keeps ε_lb ≤ claimed ε.",
    )


EXTRACTION_NOTES = {
    "canary-exposure": (
        "Exposure (Carlini et al. 2019), in bits: each planted canary's rank among never-planted canaries of the "
        "same construction (log2 of the candidates at most; ~1 bit is chance). A low exposure is evidence of "
        "privacy only where a non-private (ε = ∞) prompt tuned the same way shows high exposure: without that "
        "control it may only mean the classification objective could not memorise the secret. Canaries here are "
        "repeated, so a DP prompt protects them by group privacy only."),
}


def extraction_tables(rows: Iterable[dict]) -> list[Table]:
    """One table per extraction attack; its columns are the union of that attack's metric keys."""
    fixed = ("dataset", "method", "epsilon", "attack")
    by_attack: dict[str, list[dict]] = defaultdict(list)
    for r in _rows(rows):
        by_attack[str(r.get("attack", "?"))].append(r)
    tables = []
    for attack in sorted(by_attack):
        rs = sorted(
            by_attack[attack],
            key=lambda r: (str(r.get("dataset")), str(r.get("method")), eps_key(r.get("epsilon"))),
        )
        keys = list(dict.fromkeys(k for r in rs for k in r if k not in fixed))
        out = tuple(
            (str(r.get("dataset", "?")), str(r.get("method", "?")), eps_symbol(r.get("epsilon")))
            + tuple(_cell(r.get(k)) for k in keys)
            for r in rs
        )
        tables.append(Table(f"Extraction: {attack}", ("dataset", "method", "ε", *keys), out, EXTRACTION_NOTES.get(attack, "")))
    return tables


def distill_table(rows: Iterable[dict]) -> Table:
    out = tuple(
        (
            str(r.get("model", "?")),
            _cell(r.get("layers")),
            num(r.get("teacher_loss")),
            num(r.get("truncated_loss")),
            num(r.get("student_loss")),
            num(r.get("steps")),
        )
        for r in _rows(rows)
    )
    return Table(
        "Distillation (source model)",
        ("model", "layers kept", "teacher loss", "truncated loss", "student loss", "steps"),
        out,
        "LM loss on held-out public text; truncated = kept layers before knowledge distillation.",
    )


SOURCE_CAPABILITY = ("zero_shot", "source_zero_shot", "source_only")  # the methods the table reads


def source_capability_table(rows: Iterable[dict]) -> Table:
    """Can the distilled source do each task? Per dataset: chance, the target's and the source's zero-shot
    accuracy and the source prompt on the source per ε (mean over seeds [95% CI], as in the utility table)."""
    rows = [r for r in _rows(rows) if r.get("method") in SOURCE_CAPABILITY]
    acc = accuracy_values(rows).by_key
    n_test = {(str(r.get("dataset")), r["method"], None if r.get("epsilon") is None else float(r["epsilon"])):
              r["n_test"] for r in rows if isinstance(r.get("n_test"), int)}
    classes = {str(r.get("dataset")): r["num_classes"] for r in rows
               if isinstance(r.get("num_classes"), int) and r["num_classes"] > 0}

    def cell(key: tuple) -> str:
        if key not in acc:
            return DASH
        iv = cell_interval(list(acc[key].values()), n_test.get(key))
        return f"{100 * iv.mean:.1f}" + (f" {ci_cell(iv)}" if iv.available else "")

    datasets = sorted({k[0] for k in acc if k[1] != "zero_shot"})
    epsilons = sorted({k[2] for k in acc if k[1] == "source_only"}, key=eps_key)
    out = tuple((ds, f"{100 / classes[ds]:.1f}" if classes.get(ds) else DASH, cell((ds, "zero_shot", None)),
                 cell((ds, "source_zero_shot", None)), *(cell((ds, "source_only", e)) for e in epsilons))
                for ds in datasets)
    return Table(
        "Source capability per task",
        ("dataset", "chance (%)", "target zero-shot (%)", "source zero-shot (%)",
         *(f"source + p_s, ε={eps_symbol(e)} (%)" for e in epsilons)),
        out,
        "Accuracy on the test split, mean over seeds [95% CI] as in the utility table: POST needs a source that "
        "does the task (the POST paper's claim 3: compressed PT well above chance); the student's LM loss alone does not tell.",
    )


def ablation_table(results: dict) -> Table:
    """Each labelled method entry (an ablation: the same method with other settings) against the unlabelled
    entry of its method, per dataset and ε: the paired-by-seed accuracy difference, its 95% CI and a verdict."""
    suite = results.get("suite") if isinstance(results.get("suite"), dict) else {}
    base_of = {m["label"]: m["name"] for m in suite.get("methods") or []
               if isinstance(m, dict) and isinstance(m.get("label"), str) and isinstance(m.get("name"), str)
               and m["label"] != m["name"]}
    acc = accuracy_values(_rows(results.get("utility"))).by_key
    out = []
    for (ds, label, eps), values in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1], eps_key(kv[0][2]))):
        base = acc.get((ds, base_of.get(label), eps))
        if label not in base_of or not base:
            continue
        try:
            diff = paired_difference(values, base)
        except ValueError:
            continue
        iv = diff.interval
        ci = f"[{100 * iv.low:+.1f}, {100 * iv.high:+.1f}]" if iv.available else DASH
        out.append((ds, eps_symbol(eps), f"{label} − {base_of[label]}", str(len(diff.seeds)),
                    f"{100 * iv.mean:+.1f}", ci, verdict(iv)[0]))
    return Table("Ablations (labelled method entries vs their method)",
                 ("dataset", "ε", "difference", "seeds", "mean d (points)", "95% CI of d", "d > 0"), tuple(out),
                 "Paired by seed; 95% CI: Student-t over the paired seeds; holds / does not hold / inconclusive as in "
                 "the claims.")


def cost_table(rows: Iterable[dict]) -> Table:
    """Totals per (kind, method, model role, model): units, wall time, tokens, FLOPs, max peak memory."""
    agg: dict[tuple, dict[str, Any]] = {}
    for r in _rows(rows):
        key = (
            str(r.get("kind", "?")),
            str(r.get("method") or DASH),
            str(r.get("model_role") or DASH),
            str(r.get("model", "")),
        )
        a = agg.setdefault(key, {"n": 0, "wall_s": None, "tokens": None, "flops": None, "peak_mem_mb": None})
        a["n"] += 1
        for k in ("wall_s", "tokens", "flops"):
            if isinstance(r.get(k), (int, float)):
                a[k] = (a[k] or 0) + r[k]
        if isinstance(r.get("peak_mem_mb"), (int, float)):
            a["peak_mem_mb"] = max(a["peak_mem_mb"] or 0.0, float(r["peak_mem_mb"]))
    out = tuple(
        (*key, str(a["n"]), num(a["wall_s"], 1), num(a["tokens"]), num(a["flops"]), num(a["peak_mem_mb"], 0))
        for key, a in sorted(agg.items())
    )
    return Table(
        "Cost",
        ("kind", "method", "role", "model", "units", "wall (s)", "tokens", "FLOPs", "peak mem (MB)"),
        out,
        "Sums over units; peak memory is the maximum.",
    )


def distill_cost_table(distill_rows: Any, cost_rows: Any) -> Table:
    """The one-off distillation: what it cost when it was run, and whether this run took it from the cache."""
    origin = {True: "cache (an earlier run)", False: "this run", None: DASH}
    out = tuple((origin[e["cached"]], num(e["wall_s"], 1), num(e["flops"]), str(e.get("device") or DASH),
                 num(e["run_wall_s"], 1), "one_off record" if e["source"] == "one_off" else "distill unit")
                for e in distillation_one_off(distill_rows, cost_rows))
    return Table("Distillation (one-off)", ("distilled by", "one-off wall (s)", "one-off FLOPs", "device",
                                            "this run's distill unit (s)", "from"), out,
                 "Shared by every source-based prompt and not counted in claim 6's checks. A cached student was "
                 "distilled by an earlier run; this run only copied it.")


def pipeline_table(rows: Iterable[dict]) -> Table:
    """Per (dataset, method, ε): the mean over seeds of the cost of everything behind one prompt, with the
    source/target FLOPs split."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in pipeline_costs(rows):
        groups[(str(p["dataset"] if p["dataset"] is not None else DASH), str(p["method"]), p["epsilon"])].append(p)

    def mean(items: list[dict], key: str) -> float:
        return float(np.mean([p[key] for p in items]))

    out = tuple(
        (ds, method, DASH if method == ZERO_SHOT else eps_symbol(eps), str(len(items)),
         num(mean(items, "units"), 0), num(mean(items, "wall_s"), 1), num(mean(items, "flops")),
         num(mean(items, "target_flops")), num(mean(items, "source_flops")))
        for (ds, method, eps), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], eps_key(kv[0][2])))
    )
    return Table(
        "Cost per method (pipeline)",
        ("dataset", "method", "ε", "prompts", "units", "wall (s)", "FLOPs", "target FLOPs", "source FLOPs"),
        out,
        "Mean over the prompts (seeds) of each prompt's pipeline: distillation, tuning, transfer or generation, "
        "and its evaluation; shared units count in every pipeline that uses them. FLOPs ≈ 2·params·tokens per pass.",
    )


def _diff(x: Any, metric: str) -> str:
    if not isinstance(x, (int, float)):
        return DASH
    if metric == "train_flops":
        return f"{x:+.2e} FLOPs"
    return f"{x:+.1f} s" if metric == "train_wall_s" else f"{100 * x:+.1f}"


def gap_recovery_table(claims: Any) -> Table:
    """Claim 2's gap recovery per (dataset, ε) cell with its Fieller interval, beside the paper's range."""
    out = []
    for c in _rows(claims):
        for cell in _rows(c.get("cells")):
            g = cell.get("gap_recovery")
            if not isinstance(g, dict):
                continue
            ci = (f"[{g['ci_low']:.2f}, {g['ci_high']:.2f}]" if g.get("bounded") else
                  "unbounded" if (g.get("n") or 0) >= 2 or g.get("n_rows") else DASH)
            paper = g.get("paper") or {}
            out.append((str(cell.get("dataset", "?")), eps_symbol(cell.get("epsilon")), num(g.get("n")),
                        num(g.get("n_rows")) if g.get("n_rows") else DASH,
                        num(g.get("estimate"), 2), ci,
                        f"{paper.get('low', DASH)}–{paper.get('high', DASH)}" if paper else DASH,
                        str(g.get("reason") or DASH)))
    return Table("Claim 2: gap recovery (POST − zero-shot) / (Full PT − zero-shot)",
                 ("dataset", "ε", "seeds", "paired rows", "gap recovery", "95% CI (Fieller)", "paper", "why"),
                 tuple(out),
                 "Ratio of the mean paired differences with POST, Full PT (direct, same ε) and zero-shot; 95% CI by "
                 "Fieller's theorem: with per-example outputs ('paired rows'), rows paired within seeds and the "
                 "row covariance widened when the seeds disagree more than rows explain (normal quantile); without "
                 "them, over seeds with Student-t (n − 1 df). Unbounded when Full PT − zero-shot is not "
                 f"significantly non-zero. Paper (no DP): {PAPER_GAP['detail']}.")


def claims_tables(claims: Any) -> list[Table]:
    """From results.json ``claims``: a summary per claim and one row per (claim, dataset, ε, check)."""
    claims = _rows(claims)
    summary = tuple(
        (str(c.get("claim", "?")), str(c.get("statement", "")), str(c.get("verdict", DASH)),
         *(str((c.get("counts") or {}).get(v, 0)) for v in ("holds", "does not hold", "inconclusive")))
        for c in claims
    )
    rows = []
    for c in claims:
        for cell in _rows(c.get("cells")):
            for i, chk in enumerate(_rows(cell.get("checks"))):  # the cell's note once, on its first check
                metric = str(chk.get("metric", "accuracy"))
                reason = "; ".join(x for x in (chk.get("reason"), cell.get("note") if i == 0 else None) if x)
                ci = (f"[{_diff(chk.get('ci_low'), metric)}, {_diff(chk.get('ci_high'), metric)}]"
                      if isinstance(chk.get("ci_low"), (int, float)) else DASH)
                rows.append((str(c.get("claim", "?")), str(cell.get("dataset", "?")), eps_symbol(cell.get("epsilon")),
                             str(cell.get("verdict", DASH)), str(chk.get("check", "?")), num(chk.get("n")),
                             num(chk.get("n_rows")) if chk.get("n_rows") else DASH,
                             _diff(chk.get("mean"), metric), ci, str(chk.get("verdict", DASH)), reason or DASH))
    return [
        Table("Claims: summary", ("claim", "statement", "verdict", "cells holding", "not holding", "inconclusive"),
              summary, "A claim holds overall when it holds in every (dataset, ε) cell; partly when in some."),
        Table("Claims: per dataset and ε", ("claim", "dataset", "ε", "claim verdict", "check", "seeds",
                                            "paired rows", "mean d", "95% CI of d", "check verdict", "why / note"),
              tuple(rows),
              "Each check is d > 0 with d = a − b (+ 5 points for the 'within 5 points' checks; d = post − ½·direct "
              "− ½·zero_shot for 'gap recovery > 0.5') in a (dataset, ε) cell; d in accuracy points, or seconds or "
              "FLOPs for cost. Accuracy checks with per-example outputs ('paired rows' given) are paired by test "
              "row within each seed, the seeds' means averaged, and the 95% CI is normal with the larger of the "
              "row-sampling and the between-seed variance (docs/reports.md, Claims); without "
              "them (cost checks, old runs) the CI is Student-t over the paired seeds. holds: CI above 0; does "
              "not hold: CI below 0; inconclusive: CI includes 0, fewer than 2 paired seeds without per-row "
              "outputs, or a side missing. A claim holds in a cell when all its checks hold."),
        gap_recovery_table(claims),
    ]


def build_tables(results: dict) -> dict[str, list[Table]]:
    """All tables, keyed by report section; empty sections give empty lists."""
    sections = {
        "utility": [utility_table(results.get("utility")), ablation_table(results)],
        "claims": claims_tables(results["claims"] if "claims" in results else from_results(results)),
        "privacy": [privacy_table(results.get("privacy")), canary_table(results.get("privacy")),
                    epsilon_table(results.get("privacy")),
                    paper_table3(results.get("privacy"))],
        "extraction": extraction_tables(results.get("extraction")),
        "distill": [distill_table(results.get("distill")), source_capability_table(results.get("utility"))],
        "cost": [pipeline_table(results.get("cost")), cost_table(results.get("cost")),
                 distill_cost_table(results.get("distill"), results.get("cost"))],
    }
    return {k: [t for t in ts if t.rows] for k, ts in sections.items()}


# ---- renderers ------------------------------------------------------------------------------------------


def to_markdown(table: Table) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(esc(c) for c in table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return "\n".join(lines)


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "∞": r"$\infty$",
    "ε": r"$\varepsilon$",
    "—": "---",
    "–": "--",
    "−": r"$-$",
    "≫": r"$\gg$",
    "≈": r"$\approx$",
    "·": r"$\cdot$",
    "…": r"\ldots{}",
}


def latex_escape(s: str) -> str:
    head, sep, tail = s.partition("ε_lb")
    if sep:
        return latex_escape(head) + r"$\varepsilon_{\mathrm{lb}}$" + latex_escape(tail)
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in s)


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    numeric = [all(_looks_numeric(row[i]) for row in table.rows) for i in range(len(table.columns))]
    spec = "".join("r" if n else "l" for n in numeric)
    body = [" & ".join(latex_escape(c) for c in row) + r" \\" for row in table.rows]
    caption = latex_escape(table.title + (". " + table.note if table.note else ""))
    return "\n".join(
        [
            r"\begin{table}[t]",
            r"\centering\small",
            rf"\caption{{{caption}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(latex_escape(c) for c in table.columns) + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
        ]
    )


def _looks_numeric(s: str) -> bool:
    t = s.replace(",", "").replace(" ± ", "").replace(".", "").replace("e+", "").replace("e-", "").lstrip("-")
    return t.isdigit() or s in (DASH, "∞")
