"""Report tables, built once as rows of strings, rendered to markdown and to LaTeX (booktabs).

Every builder takes the typed rows of one results.json section (:mod:`post_bench.rows`) and never fails on an
optional field that is not set: absent numbers show as "—".
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from post_bench.epsilon import eps_symbol
from post_bench.rows import (
    Claim,
    ClaimCell,
    CostRow,
    DistillRow,
    ExtractionRow,
    Intervals,
    PrivacyRow,
    Results,
    UtilityRow,
)

from .claims import PAPER_GAP, accuracy_values, from_results, per_row_contrast
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


def suite_value(suite: Mapping[str, Any], *path: str, default: Any = None) -> Any:
    """The resolved suite's value at ``path`` (``suite_value(suite, "budget", "train_size")``), or ``default``
    where a key is missing, null or its parent is not a mapping (the suite is the one free-form mapping of
    results.json)."""
    value: Any = suite
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
        if value is None:
            return default
    return value


def _cell(v: Any, max_len: int = 48) -> str:
    """A JSON value of a row's own field as one table cell: lists joined, mappings as key=value."""
    if isinstance(v, (list, tuple)):
        v = ",".join(str(x) for x in v)
    if isinstance(v, Mapping):
        v = "; ".join(f"{k}={num(x)}" for k, x in v.items())
    s = v if isinstance(v, str) else num(v)
    return s if len(s) <= max_len else s[: max_len - 1] + "…"


def _ci(ci: Sequence[float] | None, digits: int = 3, scale: float = 1.0) -> str:
    if ci is None:
        return ""
    return f" [{scale * ci[0]:.{digits}f}, {scale * ci[1]:.{digits}f}]"


def claimed_epsilon(r: PrivacyRow) -> float:
    """The ε the attacked prompt claims: ``claimed_epsilon``, else the row's ε."""
    return r.epsilon if r.claimed_epsilon is None else r.claimed_epsilon


def is_canary_audit(r: PrivacyRow) -> bool:
    """A one-run canary audit (its ``one_run`` bound is set), not a membership attack on the prompt."""
    return r.one_run is not None


def tpr_at(r: PrivacyRow, level: str) -> float | None:
    """The row's TPR at FPR ``level`` ("0.01"), None where it is not recorded or not measurable."""
    return r.tpr_at_fpr.get(level)


def auc_ci(r: PrivacyRow) -> tuple[float, float] | None:
    return None if r.ci is None else r.ci.auc


def _tpr_ci(r: PrivacyRow, level: str) -> tuple[float, float] | None:
    return None if r.ci is None else r.ci.tpr_at_fpr.get(level)


# ---- builders -------------------------------------------------------------------------------------------


def utility_table(rows: Iterable[UtilityRow]) -> Table:
    """Accuracy (%) per dataset × method × model × ε: mean over seeds and its 95% CI (``stats.cell_interval``)."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    n_test: dict[tuple, int] = {}
    for r in rows:
        key = (r.dataset, r.method, r.model, r.epsilon)
        groups[key].append(float(r.accuracy))
        n_test[key] = r.n_test
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1] != ZERO_SHOT, k[1], k[2], k[3])):
        ds, method, model, eps = key
        iv = cell_interval(groups[key], n_test[key])
        eps_cell = DASH if method == ZERO_SHOT and math.isinf(eps) else eps_symbol(eps)
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


def _tpr(r: PrivacyRow, level: str) -> str:
    t = tpr_at(r, level)
    if t is None:
        return "n/a" if level in r.tpr_null_reason else DASH
    return pct(t, 1) + _ci(_tpr_ci(r, level), 1, 100.0)


def _privacy_key(r: PrivacyRow):
    return (r.dataset, r.method, r.epsilon, r.attack)


def _verdict(ci: Sequence[float] | None) -> str:
    """Leak detected when the AUC's CI lies above 0.5; none at this power when it includes 0.5."""
    if ci is None:
        return DASH
    if ci[0] > 0.5:
        return "leak detected"
    return "below chance" if ci[1] < 0.5 else "none detected"


def _attacked_prompt_alone(r: PrivacyRow) -> str:
    """The suite's prompt's own AUC [CI] (the ``auc_attacked_prompt`` and ``ci_attacked_prompt`` a membership
    attack over several prompts records), or a dash."""
    alone = r.extra("auc_attacked_prompt")
    if alone is None:
        return DASH
    raw = r.extra("ci_attacked_prompt")
    return num(alone) + _ci(None if raw is None else Intervals.model_validate(raw).auc)


def privacy_table(rows: Iterable[PrivacyRow]) -> Table:
    rows = [r for r in rows if not is_canary_audit(r)]
    out = []
    for r in sorted((r for r in rows if r.auc is not None), key=_privacy_key):
        ci = auc_ci(r)
        out.append((r.dataset, r.method, eps_symbol(r.epsilon), r.attack, num(r.auc) + _ci(ci), _verdict(ci),
                    _attacked_prompt_alone(r), _tpr(r, "0.001"), _tpr(r, "0.01"), _tpr(r, "0.1"), num(r.n_shadows),
                    num(r.n_examples)))
    methods = {str(r.ci.method) for r in rows if r.ci is not None}
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


def _canary_verdict(r: PrivacyRow) -> str:
    ci = auc_ci(r)
    if r.eps_lower_bound is not None and r.eps_lower_bound > claimed_epsilon(r):
        return "DP VIOLATION: ε_lb > claimed ε"
    if ci is not None and ci[0] > 0.5:  # gradient canaries: the mechanism's output moved with them
        return "canaries detected" if r.extra("canary_kind") == "gradient" else "memorisation detected"
    return "not detected at this power"


def _score_name(r: PrivacyRow) -> str:
    """A one-run row's score in a word (``calibrated``, ``raw``, a white-box view such as ``known-data``)."""
    return str(r.extra("score") or "raw").split(":")[0]


def _canary_row(r: PrivacyRow) -> tuple[str, ...]:
    tpr = tpr_at(r, "0.01")
    score = _score_name(r)
    correct, guesses = (None, None) if r.one_run is None else (r.one_run.correct, r.one_run.guesses)
    return (r.dataset, r.method, eps_symbol(claimed_epsilon(r)),
            f"{num(r.n_examples)} {r.extra('canary_kind', r.attack)}", score, num(r.seed),
            f"{num(r.n_members)} / {num(r.n_nonmembers)}", num(r.auc) + _ci(auc_ci(r)),
            (num(tpr) + _ci(_tpr_ci(r, "0.01"))) if tpr is not None else "n/a", f"{num(correct)} / {num(guesses)}",
            num(r.eps_lower_bound, 2), num(r.eps_lower_bound_fdp, 2), _canary_verdict(r))


def canary_table(rows: Iterable[PrivacyRow]) -> Table:
    """One-run canary audits: the positive controls (does the attack see memorisation?) and their ε lower bounds."""
    audits = sorted((r for r in rows if is_canary_audit(r)), key=lambda r: (*_privacy_key(r), r.seed or 0))
    return Table(
        "Canary positive controls (one-run audits)",
        ("dataset", "method", "claimed ε", "canaries", "score", "seed", "in / out", "AUC [95% CI]",
         "TPR@1%FPR [95% CI]", "correct guesses", "ε_lb Steinke (95%)", "ε_lb f-DP (95%)", "verdict"),
        tuple(_canary_row(r) for r in audits),
        "Each canary went into the private training set with probability ½ (once: no group privacy); one training "
        "run per row. Score: the planted label's logit-scaled confidence under the prompt (raw) or minus the same "
        "under the untrained prompt (calibrated). Gradient canaries (one_run_gradient, white-box: the DP-SGD run "
        "itself is attacked, not a released prompt): Dirac gradients of norm 10 × clip on distinct prompt "
        "coordinates, Poisson-sampled like any example; score: the released noisy gradient sums at the canary's "
        "coordinate times its sign, minus the other examples' clipped part (known-data, DP's worst-case "
        "adversary) or not (released). AUC and TPR at 1% FPR: included vs left-out canaries, [95% "
        "percentile bootstrap over canaries]. Guesses: k highest 'in' + k lowest 'out' (or fixed k+/k−); with "
        "several k, each bounded at a Bonferroni-corrected level so the best holds at 95%. ε_lb: Steinke, Nasr, "
        "Jagielski (2023) and the f-DP one-run bound against the (ε, δ)-DP curve (Mahloujifar et al. 2025), both "
        "certified at 95%; a correct DP implementation keeps them ≤ the claimed ε (the DP gate reads Steinke's).",
    )


# Wang et al. 2025 (POST), Table 3: LiRA on POST prompts, RoBERTa-base, 8 shadows; sst2 / imdb / tweet / arisetv
PAPER_TABLE3 = {math.inf: {"auc": (0.561, 0.580, 0.527, 0.552), "tpr_1": (0.023, 0.024, 0.015, 0.019)},
                8.0: {"auc": (0.526, 0.552, 0.501, 0.549), "tpr_1": (0.014, 0.016, 0.013, 0.018)}}


def paper_table3(rows: Iterable[PrivacyRow]) -> Table:
    """LiRA on POST prompts beside the paper's Table 3 (at the ε the paper reports: ∞ and 8)."""
    out = []
    for r in sorted(rows, key=_privacy_key):
        if r.method != "post" or not r.attack.startswith("lira") or r.epsilon not in PAPER_TABLE3:
            continue
        paper = PAPER_TABLE3[r.epsilon]
        out.append((r.dataset, eps_symbol(r.epsilon), r.attack, num(r.auc) + _ci(auc_ci(r)),
                    " / ".join(f"{v:.3f}" for v in paper["auc"]), _tpr(r, "0.01"),
                    " / ".join(f"{100 * v:.1f}" for v in paper["tpr_1"]), num(r.n_shadows)))
    return Table(
        "LiRA on POST prompts vs the paper (Table 3)",
        ("dataset", "ε", "attack", "AUC [95% CI]", "paper AUC", "TPR@1% (%)", "paper TPR@1% (%)", "shadows"),
        tuple(out),
        "Paper: RoBERTa-base, 8 shadow models, data sets sst2 / imdb / tweet / arisetv (its tweet set is not the "
        "election tweets used here); ours: the suite's model, data and shadow count.",
    )


def epsilon_table(rows: Iterable[PrivacyRow]) -> Table:
    """Each attacked prompt's claimed ε beside every empirical ε lower bound."""
    out = []
    for r in sorted(rows, key=_privacy_key):
        if r.eps_lower_bound is None:
            continue
        conf = r.eps_lower_bound_confidence
        gradient = r.extra("canary_kind") == "gradient"  # two views of one white-box run stay apart
        attack = f"{r.attack} ({_score_name(r)})" if gradient else r.attack
        out.append((r.dataset, r.method, eps_symbol(claimed_epsilon(r)), attack, num(r.eps_lower_bound, 2),
                    DASH if conf is None else f"{100 * conf:g}%", str(r.extra("eps_lower_bound_threshold", DASH)),
                    str(r.extra("eps_lower_bound_trials", DASH))))
    return Table(
        "Claimed ε vs empirical lower bounds",
        ("dataset", "method", "claimed ε", "attack", "ε_lb", "confidence", "threshold", "trials"),
        tuple(out),
        "ε_lb: with the stated confidence the prompt's training is not (ε', δ)-DP for any ε' < ε_lb (Clopper-Pearson; "
        "split: threshold chosen on one half of the outcomes, bounded on the other; one_run, one_run_gradient: "
        "Steinke et al. 2023). A correct DP implementation keeps ε_lb ≤ claimed ε.",
    )


EXTRACTION_NOTES = {
    "canary-exposure": (
        "Exposure (Carlini et al. 2019), in bits: each planted canary's rank among never-planted canaries of the "
        "same construction (log2 of the candidates at most; ~1 bit is chance). A low exposure is evidence of "
        "privacy only where a non-private (ε = ∞) prompt tuned the same way shows high exposure: without that "
        "control it may only mean the classification objective could not memorise the secret. Canaries here are "
        "repeated, so a DP prompt protects them by group privacy only."),
}
# the columns of an extraction table after dataset, method, ε: these first, in this order (the order in which the
# extraction unit writes them), then the attack's other fields in the order its rows hold them, the samples last
EXTRACTION_COLUMNS = ("seed", "repetitions", "mean_exposure", "max_exposure", "max_possible", "n_canaries",
                      "n_candidates", "exposures", "ranks", "scoring", "text", "tokens")
_EXTRACTION_FIXED = ("dataset", "method", "epsilon", "attack")


def _extraction_fields(dumped: list[dict[str, Any]]) -> list[str]:
    """The fields set in any of the (dumped) rows, less the fixed ones, in the table's column order."""
    present = dict.fromkeys(k for d in dumped for k in d if k not in _EXTRACTION_FIXED)
    first = [k for k in EXTRACTION_COLUMNS if k in present]
    last = [k for k in ("samples",) if k in present]
    return first + [k for k in present if k not in first and k not in last] + last


def extraction_tables(rows: Iterable[ExtractionRow]) -> list[Table]:
    """One table per extraction attack; its columns are the union of that attack's fields (``EXTRACTION_COLUMNS``
    first, the samples reference last)."""
    by_attack: dict[str, list[ExtractionRow]] = defaultdict(list)
    for r in rows:
        by_attack[r.attack].append(r)
    tables = []
    for attack in sorted(by_attack):
        rs = sorted(by_attack[attack], key=lambda r: (r.dataset, r.method, r.epsilon))
        dumped = [r.dump() for r in rs]  # the rows' fields as the file holds them (a row's own ones included)
        keys = _extraction_fields(dumped)
        out = tuple((r.dataset, r.method, eps_symbol(r.epsilon), *(_cell(d[k] if k in d else None) for k in keys))
                    for r, d in zip(rs, dumped))
        tables.append(Table(f"Extraction: {attack}", ("dataset", "method", "ε", *keys), tuple(out),
                            EXTRACTION_NOTES.get(attack, "")))
    return tables


def distill_table(rows: Iterable[DistillRow]) -> Table:
    out = tuple((r.model, _cell(r.layers), num(r.teacher_loss), num(r.truncated_loss), num(r.student_loss),
                 num(r.steps)) for r in rows)
    return Table(
        "Distillation (source model)",
        ("model", "layers kept", "teacher loss", "truncated loss", "student loss", "steps"),
        out,
        "LM loss on held-out public text; truncated = kept layers before knowledge distillation.",
    )


SOURCE_CAPABILITY = ("zero_shot", "source_zero_shot", "source_only")  # the methods the table reads


def source_capability_table(rows: Iterable[UtilityRow]) -> Table:
    """Can the distilled source do each task? Per dataset: chance, the target's and the source's zero-shot
    accuracy and the source prompt on the source per ε (mean over seeds [95% CI], as in the utility table)."""
    rows = [r for r in rows if r.method in SOURCE_CAPABILITY]
    acc = accuracy_values(rows).by_key
    n_test = {(r.dataset, r.method, r.epsilon): r.n_test for r in rows}
    classes = {r.dataset: r.num_classes for r in rows if r.num_classes}

    def cell(key: tuple) -> str:
        if key not in acc:
            return DASH
        iv = cell_interval(list(acc[key].values()), n_test.get(key))
        return f"{100 * iv.mean:.1f}" + (f" {ci_cell(iv)}" if iv.available else "")

    datasets = sorted({k[0] for k in acc if k[1] != "zero_shot"})
    epsilons = sorted({k[2] for k in acc if k[1] == "source_only"})
    out = tuple((ds, f"{100 / classes[ds]:.1f}" if ds in classes else DASH, cell((ds, "zero_shot", math.inf)),
                 cell((ds, "source_zero_shot", math.inf)), *(cell((ds, "source_only", e)) for e in epsilons))
                for ds in datasets)
    return Table(
        "Source capability per task",
        ("dataset", "chance (%)", "target zero-shot (%)", "source zero-shot (%)",
         *(f"source + p_s, ε={eps_symbol(e)} (%)" for e in epsilons)),
        out,
        "Accuracy on the test split, mean over seeds [95% CI] as in the utility table: POST needs a source that "
        "does the task (the POST paper's claim 3: compressed PT well above chance); the student's LM loss alone does not tell.",
    )


def method_labels(suite: Mapping[str, Any]) -> dict[str, str]:
    """{label: method name} of the suite's labelled method entries (ablations: a method with other settings)."""
    out = {}
    for m in suite_value(suite, "methods", default=[]):
        label, name = suite_value(m, "label"), suite_value(m, "name")
        if isinstance(label, str) and isinstance(name, str) and label != name:
            out[label] = name
    return out


def _rows_paired(evidence, a_key, b_key) -> tuple[Interval, int, int] | None:
    """(interval, seeds, paired rows) of a − b paired by test row within seeds, or None without per-row outputs."""
    a, b = (evidence.rows(a_key), evidence.rows(b_key)) if evidence is not None else (None, None)
    if not a or not b:
        return None
    try:
        contrast, _, _ = per_row_contrast([(1.0, a), (-1.0, b)])
    except ValueError:  # no seed with rows on both sides
        return None
    return contrast.interval(), contrast.n_seeds, contrast.n_rows


def ablation_table(results: Results, evidence=None) -> Table:
    """Each labelled method entry (an ablation: the same method with other settings) against the unlabelled
    entry of its method, per dataset and ε: the accuracy difference, its 95% CI and a verdict. With ``evidence``
    (per-example outputs) paired by test row within seeds as the claims are, else paired by seed."""
    base_of = method_labels(results.suite)
    acc = accuracy_values(results.utility).by_key
    out = []
    for (ds, label, eps), values in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        base = acc.get((ds, base_of.get(label), eps))
        if label not in base_of or not base:
            continue
        by_rows = _rows_paired(evidence, (ds, label, eps), (ds, base_of[label], eps))
        if by_rows is not None:
            iv, n_seeds, n_rows = by_rows
        else:
            try:
                diff = paired_difference(values, base)
            except ValueError:
                continue
            iv, n_seeds, n_rows = diff.interval, len(diff.seeds), None
        ci = f"[{100 * iv.low:+.1f}, {100 * iv.high:+.1f}]" if iv.available else DASH
        out.append((ds, eps_symbol(eps), f"{label} − {base_of[label]}", str(n_seeds),
                    DASH if n_rows is None else str(n_rows), f"{100 * iv.mean:+.1f}", ci, verdict(iv)[0]))
    return Table("Ablations (labelled method entries vs their method)",
                 ("dataset", "ε", "difference", "seeds", "paired rows", "mean d (points)", "95% CI of d", "d > 0"),
                 tuple(out),
                 "With per-example outputs ('paired rows' given): paired by test row within seeds as the claims are "
                 "(normal CI with the larger of the row and the between-seed variance); without them: paired by "
                 "seed, Student-t over the seeds. holds / does not hold / inconclusive as in the claims.")


def cost_table(rows: Iterable[CostRow]) -> Table:
    """Totals per (kind, method, model role, model): units, wall time, tokens, FLOPs, max peak memory."""
    agg: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (r.kind, r.method or DASH, r.model_role or DASH, r.model or "")
        a = agg.setdefault(key, {"n": 0, "wall_s": None, "tokens": None, "flops": None, "peak_mem_mb": None})
        a["n"] += 1
        for k, v in (("wall_s", r.wall_s), ("tokens", r.tokens), ("flops", r.flops)):
            if v is not None:
                a[k] = (a[k] or 0) + v
        if r.peak_mem_mb is not None:
            a["peak_mem_mb"] = max(a["peak_mem_mb"] or 0.0, float(r.peak_mem_mb))
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


def distill_cost_table(distill_rows: Iterable[DistillRow], cost_rows: Iterable[CostRow]) -> Table:
    """The one-off distillation: what it cost when it was run, and whether this run took it from the cache."""
    origin = {True: "cache (an earlier run)", False: "this run", None: DASH}
    out = tuple((origin[e["cached"]], num(e["wall_s"], 1), num(e["flops"]), str(e["device"] or DASH),
                 num(e["run_wall_s"], 1), "one_off record" if e["source"] == "one_off" else "distill unit")
                for e in distillation_one_off(distill_rows, cost_rows))
    return Table("Distillation (one-off)", ("distilled by", "one-off wall (s)", "one-off FLOPs", "device",
                                            "this run's distill unit (s)", "from"), out,
                 "Shared by every source-based prompt and not counted in claim 6's checks. A cached student was "
                 "distilled by an earlier run; this run only copied it.")


def pipeline_table(rows: Iterable[CostRow]) -> Table:
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
        for (ds, method, eps), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))
    )
    return Table(
        "Cost per method (pipeline)",
        ("dataset", "method", "ε", "prompts", "units", "wall (s)", "FLOPs", "target FLOPs", "source FLOPs"),
        out,
        "Mean over the prompts (seeds) of each prompt's pipeline: distillation, tuning, transfer or generation, "
        "and its evaluation; shared units count in every pipeline that uses them. FLOPs ≈ 2·params·tokens per pass.",
    )


def _diff(x: float | None, metric: str) -> str:
    if x is None:
        return DASH
    if metric == "train_flops":
        return f"{x:+.2e} FLOPs"
    return f"{x:+.1f} s" if metric == "train_wall_s" else f"{100 * x:+.1f}"


def _gap_row(cell: ClaimCell, g: Mapping[str, Any]) -> tuple[str, ...]:
    """A cell's gap recovery (what ``claims.gap_recovery_cell`` writes; ``n_rows`` only when paired by row)."""
    n_rows = g.get("n_rows")
    ci = (f"[{g['ci_low']:.2f}, {g['ci_high']:.2f}]" if g["bounded"] else
          "unbounded" if (g["n"] or 0) >= 2 or n_rows else DASH)
    paper = g["paper"]
    return (cell.dataset, eps_symbol(cell.epsilon), num(g["n"]), num(n_rows) if n_rows else DASH,
            _ratio(g["estimate"]), ci, f"{paper['low']}–{paper['high']}" if paper else DASH, str(g["reason"] or DASH))


def _ratio(x) -> str:
    """A ratio to 2 decimals, never in scientific notation (a ratio of ~1e-18 is 0.00); None/NaN -> dash."""
    if x is None or math.isnan(x):
        return DASH
    return f"{x + 0.0:.2f}".replace("-0.00", "0.00")


def gap_recovery_table(claims: Iterable[Claim]) -> Table:
    """Claim 2's gap recovery per (dataset, ε) cell with its Fieller interval, beside the paper's range."""
    out = tuple(_gap_row(cell, cell.gap_recovery) for c in claims for cell in c.cells if cell.gap_recovery is not None)
    return Table("Claim 2: gap recovery (POST − zero-shot) / (Full PT − zero-shot)",
                 ("dataset", "ε", "seeds", "paired rows", "gap recovery", "95% CI (Fieller)", "paper", "why"),
                 out,
                 "Ratio of the mean paired differences with POST, Full PT (direct, same ε) and zero-shot; 95% CI by "
                 "Fieller's theorem: with per-example outputs ('paired rows'), rows paired within seeds and the "
                 "row covariance widened when the seeds disagree more than rows explain (normal quantile); without "
                 "them, over seeds with Student-t (n − 1 df). Unbounded when Full PT − zero-shot is not "
                 f"significantly non-zero. Paper (no DP): {PAPER_GAP['detail']}.")


def _check_rows(c: Claim) -> list[tuple[str, ...]]:
    """One row per (cell, check) of a claim; the cell's note once, on its first check."""
    rows = []
    for cell in c.cells:
        for i, chk in enumerate(cell.checks):
            metric = chk.metric or "accuracy"
            reason = "; ".join(x for x in (chk.reason, cell.note if i == 0 else None) if x)
            ci = f"[{_diff(chk.ci_low, metric)}, {_diff(chk.ci_high, metric)}]" if chk.ci_low is not None else DASH
            rows.append((str(c.claim), cell.dataset, eps_symbol(cell.epsilon), cell.verdict, chk.check, num(chk.n),
                         num(chk.n_rows) if chk.n_rows else DASH, _diff(chk.mean, metric), ci, chk.verdict,
                         reason or DASH))
    return rows


def claims_tables(claims: Sequence[Claim]) -> list[Table]:
    """From results.json ``claims``: a summary per claim and one row per (claim, dataset, ε, check)."""
    summary = tuple((str(c.claim), c.statement, c.verdict,
                     *(str(c.counts.get(v, 0)) for v in ("holds", "does not hold", "inconclusive"))) for c in claims)
    return [
        Table("Claims: summary", ("claim", "statement", "verdict", "cells holding", "not holding", "inconclusive"),
              summary, "A claim holds overall when it holds in every (dataset, ε) cell; partly when in some."),
        Table("Claims: per dataset and ε", ("claim", "dataset", "ε", "claim verdict", "check", "seeds",
                                            "paired rows", "mean d", "95% CI of d", "check verdict", "why / note"),
              tuple(row for c in claims for row in _check_rows(c)),
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


def results_claims(results: Results) -> list[Claim]:
    """The claims results.json stores, else the claims computed from its utility and cost rows."""
    return results.claims if results.claims is not None else from_results(results)


def build_tables(results: Results, evidence=None) -> dict[str, list[Table]]:
    """All tables, keyed by report section; empty sections give empty lists. ``evidence``: the run's per-example
    outputs (``report.evidence.load_evidence``), for the ablations paired by test row."""
    sections = {
        "utility": [utility_table(results.utility), ablation_table(results, evidence)],
        "claims": claims_tables(results_claims(results)),
        "privacy": [privacy_table(results.privacy), canary_table(results.privacy), epsilon_table(results.privacy),
                    paper_table3(results.privacy)],
        "extraction": extraction_tables(results.extraction),
        "distill": [distill_table(results.distill), source_capability_table(results.utility)],
        "cost": [pipeline_table(results.cost), cost_table(results.cost),
                 distill_cost_table(results.distill, results.cost)],
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
