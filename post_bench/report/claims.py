"""The POST paper's (Wang et al. 2025, §5) qualitative claims 1–4 and 6, checked on a run as paired differences over seeds.

Every check is "d > 0" with d_s = a_s − b_s + offset for each seed s that both sides have (a seed changes
the split and the training noise, so the pairs share their test examples and data). The verdict comes from
the 95% t-interval of the mean of d over the paired seeds (``stats.verdict``): holds when the whole
interval is above 0, does not hold when it is below 0, inconclusive when it includes 0, when fewer than two
seeds pair up, or when a side is missing. A claim holds in a (dataset, ε) cell when all its checks hold,
does not hold when one of them does not, and is inconclusive otherwise.

Offsets turn "within a few points" into the same one-sided form (a TOST-like non-inferiority check):
"POST ≥ Full PT − 5 points" is d = post − direct + 0.05 > 0.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping

from .stats import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    PairedDifference,
    combine,
    paired_difference,
    verdict,
)

CELL = "cell"  # a Term's ε: the ε of the cell being checked
ANY = "any"  # a Check applies at every ε
CHANCE = "chance"  # a Term's method: 1 / number of classes
EPSILON_FREE = frozenset({"zero_shot", "source_zero_shot"})  # methods that read no private data: one row at ε = None serves all ε
MARGIN = 0.05  # "within a few points" = 5 accuracy points
DP_EPSILON = 8.0  # the ε at which the paper compares DP-POST with POST
ACCURACY, TRAIN_WALL_S = "accuracy", "train_wall_s"


@dataclasses.dataclass(frozen=True)
class Term:
    method: str
    epsilon: str | float | None = CELL  # CELL, None (non-private) or a fixed ε


@dataclasses.dataclass(frozen=True)
class Check:
    label: str
    a: Term
    b: Term
    offset: float = 0.0
    metric: str = ACCURACY  # ACCURACY (fraction) | TRAIN_WALL_S (seconds of tuning + transfer, no eval/distill)
    only_epsilon: str | float | None = ANY  # the cells where it applies


@dataclasses.dataclass(frozen=True)
class Claim:
    number: int
    statement: str
    checks: tuple[Check, ...]


CLAIMS: tuple[Claim, ...] = (
    Claim(1, "POST ≫ direct transfer", (Check("post − direct_transfer > 0", Term("post"), Term("direct_transfer")),)),
    Claim(2, "POST > zero-shot and within 5 points of Full PT; DP-POST (ε=8) within 5 points of POST (ε=∞)", (
        Check("post − zero_shot > 0", Term("post"), Term("zero_shot", None)),
        Check("post − direct + 5 pts > 0", Term("post"), Term("direct"), offset=MARGIN),
        Check("post(ε=8) − post(ε=∞) + 5 pts > 0", Term("post", DP_EPSILON), Term("post", None), offset=MARGIN,
              only_epsilon=DP_EPSILON),
    )),
    Claim(3, "Compressed PT (source prompt on the source) is above chance (1 / classes)",
          (Check("source_only − chance > 0", Term("source_only"), Term(CHANCE)),)),
    Claim(4, "POST > PTfer and POST > DP-OPT", (
        Check("post − ptfer > 0", Term("post"), Term("ptfer")),
        Check("post − dp_opt > 0", Term("post"), Term("dp_opt")),
    )),
    Claim(6, "POST's tuning + transfer costs less wall time than tuning on the target (distillation is one-off)",
          (Check("direct tuning − POST tuning+transfer > 0 (s)", Term("direct"), Term("post"),
                 metric=TRAIN_WALL_S),)),
)


@dataclasses.dataclass(frozen=True)
class CheckResult:
    check: Check
    a_epsilon: float | None
    b_epsilon: float | None
    difference: PairedDifference | None
    verdict: str
    reason: str


@dataclasses.dataclass(frozen=True)
class CellResult:
    dataset: str
    epsilon: float | None
    checks: tuple[CheckResult, ...]
    verdict: str
    note: str = ""


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    cells: tuple[CellResult, ...]
    verdict: str  # HOLDS (every cell) | "partly holds" | DOES_NOT_HOLD (no cell holds) | INCONCLUSIVE
    counts: dict


# ---- inputs ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Values:
    """{(dataset, method, ε): {seed: value}} plus the keys that had two rows for one seed (ambiguous)."""

    by_key: Mapping[tuple, Mapping]
    ambiguous: frozenset = frozenset()


def _eps(value) -> float | None:
    return None if value is None else float(value)


def _values(items: Iterable[tuple[tuple, object, float]]) -> Values:
    out: dict[tuple, dict] = defaultdict(dict)
    ambiguous = set()
    for key, seed, value in items:
        if seed in out[key]:
            ambiguous.add(key)
        out[key][seed] = float(value)
    return Values({k: dict(v) for k, v in out.items()}, frozenset(ambiguous))


def accuracy_values(utility_rows: Iterable[dict]) -> Values:
    """Accuracies by (dataset, method, ε) and seed from results.json utility rows."""
    return _values(
        ((str(r.get("dataset")), str(r.get("method")), _eps(r.get("epsilon"))), r.get("seed"), r["accuracy"])
        for r in utility_rows or []
        if isinstance(r, dict) and isinstance(r.get("accuracy"), (int, float))
    )


def training_cost_values(pipelines: Iterable[dict]) -> Values:
    """Wall seconds of each prompt's tuning, transfer and generation (its pipeline less distillation and
    evaluation) by (dataset, method, ε) and seed; pipelines from ``cost.pipeline_costs``."""
    return _values(
        ((str(p.get("dataset")), str(p["method"]), _eps(p.get("epsilon"))), p.get("seed"), train_wall_s(p))
        for p in pipelines
        if p.get("dataset") is not None and p.get("seed") is not None
    )


def train_wall_s(pipeline: dict) -> float:
    return sum(v["wall_s"] for k, v in pipeline["segments"].items() if k.split("/")[0] not in ("distill", "evaluate"))


# ---- checking --------------------------------------------------------------------------------------------


def _label(eps: float | None) -> str:
    return "∞" if eps is None else f"{eps:g}"


def _side(term: Term, dataset: str, eps: float | None, values: Values, num_classes: Mapping[str, int]):
    """(ε used, {seed: value} or a constant, reason when missing)."""
    if term.method == CHANCE:
        k = num_classes.get(dataset)
        if not k or k < 2:
            return None, None, f"number of classes of {dataset} unknown"
        return None, 1.0 / k, ""
    used = None if term.method in EPSILON_FREE else (eps if term.epsilon == CELL else _eps(term.epsilon))
    key = (dataset, term.method, used)
    if key in values.ambiguous:
        return used, None, f"several {term.method} rows per seed at ε={_label(used)} (several models?)"
    found = values.by_key.get(key)
    if not found:
        return used, None, f"no {term.method} results at ε={_label(used)}"
    return used, found, ""


def check_cell(check: Check, dataset: str, eps: float | None, values: Values,
               num_classes: Mapping[str, int]) -> CheckResult:
    a_eps, a, why_a = _side(check.a, dataset, eps, values, num_classes)
    b_eps, b, why_b = _side(check.b, dataset, eps, values, num_classes)
    if a is None or b is None:
        return CheckResult(check, a_eps, b_eps, None, INCONCLUSIVE, "; ".join(w for w in (why_a, why_b) if w))
    try:
        diff = paired_difference(a, b, check.offset)
    except ValueError:
        return CheckResult(check, a_eps, b_eps, None, INCONCLUSIVE,
                           f"no seed has both {check.a.method} and {check.b.method}")
    v, reason = verdict(diff.interval)
    if diff.interval.n < 2:
        reason = f"{diff.interval.n} paired seed: no CI over seeds (a one-seed difference is not a result)"
    if diff.unpaired:
        reason = "; ".join(x for x in (reason, f"seeds missing on one side: {list(diff.unpaired)}") if x)
    return CheckResult(check, a_eps, b_eps, diff, v, reason)


def _applies(check: Check, eps: float | None) -> bool:
    return check.only_epsilon == ANY or _eps(check.only_epsilon) == eps


def _summary(cells: tuple[CellResult, ...]) -> tuple[str, dict]:
    counts = {v: sum(c.verdict == v for c in cells) for v in (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)}
    if cells and counts[HOLDS] == len(cells):
        return HOLDS, counts
    if counts[HOLDS]:
        return "partly holds", counts
    return (DOES_NOT_HOLD if counts[DOES_NOT_HOLD] else INCONCLUSIVE), counts


def check_claims(accuracy: Values, cost: Values, num_classes: Mapping[str, int],
                 cost_notes: Mapping[tuple, str] | None = None,
                 claims: tuple[Claim, ...] = CLAIMS) -> list[ClaimResult]:
    """Every claim in every (dataset, ε) cell of the run. Cells: the data sets and ε values of the
    accuracy rows of methods that use private data. Never raises on missing methods, seeds or costs."""
    keys = list(accuracy.by_key)
    datasets = sorted({d for d, _, _ in keys})
    epsilons = sorted({e for _, m, e in keys if m not in EPSILON_FREE}, key=lambda e: (e is None, e or 0.0))
    out = []
    for claim in claims:
        cells = []
        for ds in datasets:
            for eps in epsilons:
                checks = tuple(
                    check_cell(c, ds, eps, cost if c.metric == TRAIN_WALL_S else accuracy, num_classes)
                    for c in claim.checks if _applies(c, eps)
                )
                note = (cost_notes or {}).get((ds, eps), "") if any(c.metric == TRAIN_WALL_S for c in claim.checks) else ""
                cells.append(CellResult(ds, eps, checks, combine([c.verdict for c in checks]), note))
        summary, counts = _summary(tuple(cells))
        out.append(ClaimResult(claim, tuple(cells), summary, counts))
    return out


# ---- results.json ----------------------------------------------------------------------------------------


def _check_json(r: CheckResult) -> dict:
    iv = r.difference.interval if r.difference else None
    c = r.check
    return {
        "check": c.label, "metric": c.metric, "offset": c.offset,
        "a": {"method": c.a.method, "epsilon": r.a_epsilon},
        "b": {"method": c.b.method, "epsilon": r.b_epsilon},
        "seeds": list(r.difference.seeds) if r.difference else [],
        "n": iv.n if iv else 0,
        "mean": iv.mean if iv else None,
        "ci_low": iv.low if iv else None,
        "ci_high": iv.high if iv else None,
        "verdict": r.verdict,
        "reason": r.reason,
    }


def to_json(results: list[ClaimResult]) -> list[dict]:
    """The ``claims`` list of results.json (schema in the README)."""
    return [
        {
            "claim": r.claim.number, "statement": r.claim.statement, "verdict": r.verdict, "counts": r.counts,
            "cells": [
                {"dataset": c.dataset, "epsilon": c.epsilon, "verdict": c.verdict, "note": c.note,
                 "checks": [_check_json(x) for x in c.checks]}
                for c in r.cells
            ],
        }
        for r in results
    ]


def num_classes_of(utility_rows: Iterable[dict]) -> dict[str, int]:
    """Classes per data set: the utility rows' ``num_classes``, else the predefined task of that name."""
    out: dict[str, int] = {}
    for r in utility_rows or []:
        if isinstance(r, dict) and isinstance(r.get("num_classes"), int):
            out[str(r.get("dataset"))] = r["num_classes"]
    missing = {str(r.get("dataset")) for r in utility_rows or [] if isinstance(r, dict)} - set(out)
    if missing:  # results.json written before rows carried num_classes
        from post_bench.data.tasks import get_task

        for ds in missing:
            task = get_task(ds) or get_task(ds.removeprefix("hf:").split(":")[0])
            if task is not None:
                out[ds] = len(task.class_names)
    return out


def from_results(results: dict) -> list[dict]:
    """The ``claims`` list for a results.json dict (its utility and cost sections)."""
    from .cost import pipeline_costs

    utility = [r for r in results.get("utility") or [] if isinstance(r, dict)]
    if not utility:
        return []
    pipes = pipeline_costs(results.get("cost"))
    notes = {}
    for (ds, eps), items in _group(pipes).items():
        distill = [p["segments"].get("distill/distill", {}).get("wall_s", 0.0) for p in items if p["method"] == "post"]
        flops = {m: [p["flops"] - sum(v["flops"] for k, v in p["segments"].items()
                                     if k.split("/")[0] in ("distill", "evaluate"))
                     for p in items if p["method"] == m] for m in ("post", "direct")}
        parts = []
        if distill:
            parts.append(f"distillation, one-off and shared by every source-based prompt: "
                         f"{sum(distill) / len(distill):.1f} s")
        if flops["post"] and flops["direct"]:
            parts.append(f"tuning+transfer FLOPs POST {sum(flops['post']) / len(flops['post']):.2e} vs direct "
                         f"tuning {sum(flops['direct']) / len(flops['direct']):.2e}")
        notes[(ds, eps)] = "; ".join(parts)
    found = check_claims(accuracy_values(utility), training_cost_values(pipes), num_classes_of(utility), notes)
    return to_json(found)


def _group(pipes: list[dict]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for p in pipes:
        if p.get("dataset") is not None:
            out[(str(p["dataset"]), _eps(p.get("epsilon")))].append(p)
    return out
