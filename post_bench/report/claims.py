"""The POST paper's (Wang et al. 2025, §5) qualitative claims 1–4 and 6, checked on a run as paired differences over seeds.

Every check is "d > 0" with d_s = a_s − w_b·b_s (− w_c·c_s) + offset for each seed s that every side has (a seed
changes the split and the training noise, so the pairs share their test examples and data). The verdict comes from
the 95% t-interval of the mean of d over the paired seeds (``stats.verdict``): holds when the whole
interval is above 0, does not hold when it is below 0, inconclusive when it includes 0, when fewer than two
seeds pair up, or when a side is missing. A claim holds in a (dataset, ε) cell when all its checks hold,
does not hold when one of them does not, and is inconclusive otherwise.

Offsets turn "within a few points" into the same one-sided form (a TOST-like non-inferiority check):
"DP-POST ≥ POST − 5 points" is d = post(ε=8) − post(ε=∞) + 0.05 > 0. Weights turn a ratio into the same form:
claim 2's "POST recovers more than half of the gap between zero-shot and Full PT",
(post − zero_shot) / (direct − zero_shot) > ½, is d = post − ½·direct − ½·zero_shot > 0 (with Full PT above
zero-shot, the same decision as the lower end of the ratio's Fieller interval being above ½). The ratio itself,
the gap recovery, is reported per cell with its Fieller interval (``stats.fieller_ratio``) beside the paper's.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from post_bench.epsilon import eps_symbol
from post_bench.rows import Arm, ClaimCell, Results, UtilityRow
from post_bench.rows import Check as CheckRow
from post_bench.rows import Claim as ClaimRow

from .cost import distillation_one_off, one_off_text, pipeline_costs
from .evidence import Evidence, load_evidence
from .paired import RowContrast, align, fieller_rows, row_contrast
from .stats import (
    CONFIDENCE,
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    PairedDifference,
    combine,
    fieller_ratio,
    verdict,
    weighted_paired_difference,
)

CELL = "cell"  # a Term's ε: the ε of the cell being checked
ANY = "any"  # a Check applies at every ε
CHANCE = "chance"  # a Term's method: 1 / number of classes
EPSILON_FREE = frozenset({"zero_shot", "source_zero_shot"})  # methods that read no private data: one row at ε = ∞ serves all ε
MARGIN = 0.05  # "within a few points" = 5 accuracy points
DP_EPSILON = 8.0  # the ε at which the paper compares DP-POST with POST
ACCURACY, TRAIN_WALL_S, TRAIN_FLOPS = "accuracy", "train_wall_s", "train_flops"
COST_METRICS = (TRAIN_WALL_S, TRAIN_FLOPS)  # tuning + transfer, no evaluation or distillation
GAP_THRESHOLD = 0.5  # claim 2: POST recovers more than half of the zero-shot → Full PT gap
# The paper's gap recovery (POST − zero-shot) / (Full PT − zero-shot), no DP (Wang et al. 2025, Tables 2, 13, 14)
PAPER_GAP = {"low": 0.59, "high": 0.87,
             "detail": "Llama2-7b: sst2 0.66, tweet 0.61, arisetv 0.59, mpqa 0.87; RoBERTa-base, GPT2-XL 0.72–0.77"}


@dataclasses.dataclass(frozen=True)
class Term:
    method: str
    epsilon: str | float = CELL  # CELL or a fixed ε (math.inf: non-private)


@dataclasses.dataclass(frozen=True)
class Check:
    """d_s = a_s − b_weight·b_s − c_weight·c_s + offset > 0 (the c term only when ``c`` is set)."""

    label: str
    a: Term
    b: Term
    offset: float = 0.0
    metric: str = ACCURACY  # ACCURACY (fraction) | TRAIN_WALL_S (s) | TRAIN_FLOPS: tuning + transfer, no eval/distill
    only_epsilon: str | float = ANY  # the cells where it applies: ANY or one ε
    b_weight: float = 1.0
    c: Term | None = None
    c_weight: float = 1.0

    @property
    def terms(self) -> tuple[tuple[float, Term], ...]:
        """(weight, term) with the sign of d: (1, a), (−w_b, b) and, with ``c``, (−w_c, c)."""
        return ((1.0, self.a), (-self.b_weight, self.b)) + (((-self.c_weight, self.c),) if self.c else ())


@dataclasses.dataclass(frozen=True)
class GapRecovery:
    """(method − base) / (full − base) per cell, with its Fieller interval over paired seeds."""

    method: Term
    full: Term
    base: Term
    paper: Mapping = dataclasses.field(default_factory=lambda: PAPER_GAP)


@dataclasses.dataclass(frozen=True)
class Claim:
    number: int
    statement: str
    checks: tuple[Check, ...]
    gap: GapRecovery | None = None  # a ratio reported in every cell beside the checks


CLAIMS: tuple[Claim, ...] = (
    Claim(1, "POST ≫ direct transfer", (Check("post − direct_transfer > 0", Term("post"), Term("direct_transfer")),)),
    Claim(2, "POST > zero-shot and recovers more than half of the gap from zero-shot to Full PT, "
             "(POST − zero-shot) / (Full PT − zero-shot) > 0.5 (paper: 0.59–0.87); "
             "DP-POST (ε=8) within 5 points of POST (ε=∞)", (
        Check("post − zero_shot > 0", Term("post"), Term("zero_shot", math.inf)),
        Check("gap recovery > 0.5: post − ½·direct − ½·zero_shot > 0", Term("post"), Term("direct"),
              b_weight=1.0 - GAP_THRESHOLD, c=Term("zero_shot", math.inf), c_weight=GAP_THRESHOLD),
        Check("post(ε=8) − post(ε=∞) + 5 pts > 0", Term("post", DP_EPSILON), Term("post", math.inf), offset=MARGIN,
              only_epsilon=DP_EPSILON),
    ), gap=GapRecovery(Term("post"), Term("direct"), Term("zero_shot", math.inf))),
    Claim(3, "Compressed PT (source prompt on the source) is above chance (1 / classes)",
          (Check("source_only − chance > 0", Term("source_only"), Term(CHANCE)),)),
    Claim(4, "POST > PTfer and POST > DP-OPT", (
        Check("post − ptfer > 0", Term("post"), Term("ptfer")),
        Check("post − dp_opt > 0", Term("post"), Term("dp_opt")),
    )),
    Claim(6, "POST's tuning + transfer costs less wall time and fewer FLOPs than tuning on the target "
             "(distillation is one-off)", (
        Check("direct tuning − POST tuning+transfer > 0 (s)", Term("direct"), Term("post"), metric=TRAIN_WALL_S),
        Check("direct tuning − POST tuning+transfer > 0 (FLOPs)", Term("direct"), Term("post"), metric=TRAIN_FLOPS),
    )),
)


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """A check decided in one cell; a side's ε is None only for chance (it has none)."""

    check: Check
    a_epsilon: float | None
    b_epsilon: float | None
    difference: PairedDifference | None
    verdict: str
    reason: str
    c_epsilon: float | None = None
    rows: RowContrast | None = None  # the per-row paired contrast the verdict came from (None: paired by seed)


@dataclasses.dataclass(frozen=True)
class CellResult:
    dataset: str
    epsilon: float
    checks: tuple[CheckResult, ...]
    verdict: str
    note: str = ""
    gap_recovery: dict | None = None  # the claim's GapRecovery in this cell (``gap_recovery_cell``)


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


def _values(items: Iterable[tuple[tuple, object, float]]) -> Values:
    out: dict[tuple, dict] = defaultdict(dict)
    ambiguous = set()
    for key, seed, value in items:
        if seed in out[key]:
            ambiguous.add(key)
        out[key][seed] = float(value)
    return Values({k: dict(v) for k, v in out.items()}, frozenset(ambiguous))


def accuracy_values(utility_rows: Iterable[UtilityRow]) -> Values:
    """Accuracies by (dataset, method, ε) and seed from results.json utility rows."""
    return _values(((r.dataset, r.method, r.epsilon), r.seed, r.accuracy) for r in utility_rows)


def training_cost_values(pipelines: Iterable[dict], metric: str = TRAIN_WALL_S) -> Values:
    """Wall seconds (``TRAIN_WALL_S``) or FLOPs (``TRAIN_FLOPS``) of each prompt's tuning, transfer and generation
    (its pipeline less distillation and evaluation) by (dataset, method, ε) and seed; pipelines from
    ``cost.pipeline_costs``."""
    if metric not in COST_METRICS:
        raise ValueError(f"metric: {metric!r}; allowed: {', '.join(COST_METRICS)}")
    key = "wall_s" if metric == TRAIN_WALL_S else "flops"
    return _values(
        ((str(p["dataset"]), str(p["method"]), p["epsilon"]), p["seed"], train_cost(p, key))
        for p in pipelines
        if p["dataset"] is not None and p["seed"] is not None
    )


def train_cost(pipeline: dict, key: str = "wall_s") -> float:
    """``key`` ("wall_s" or "flops") summed over a pipeline's segments other than distillation and evaluation."""
    return sum(v[key] for k, v in pipeline["segments"].items() if k.split("/")[0] not in ("distill", "evaluate"))


def train_wall_s(pipeline: dict) -> float:
    return train_cost(pipeline, "wall_s")


# ---- checking --------------------------------------------------------------------------------------------


def _side(term: Term, dataset: str, eps: float, values: Values, num_classes: Mapping[str, int]):
    """(ε used (None for chance, which has none), {seed: value} or a constant, reason when missing)."""
    if term.method == CHANCE:
        k = num_classes.get(dataset)
        if not k or k < 2:
            return None, None, f"number of classes of {dataset} unknown"
        return None, 1.0 / k, ""
    used = math.inf if term.method in EPSILON_FREE else (eps if term.epsilon == CELL else float(term.epsilon))
    key = (dataset, term.method, used)
    if key in values.ambiguous:
        return used, None, f"several {term.method} rows per seed at ε={eps_symbol(used)} (several models?)"
    found = values.by_key.get(key)
    if not found:
        return used, None, f"no {term.method} results at ε={eps_symbol(used)}"
    return used, found, ""


def _row_sides(found, dataset: str, evidence: Evidence | None):
    """[(weight, {seed: {row id: correct}} or a constant)] when every method side has per-row evidence, else None."""
    if evidence is None:
        return None
    sides = []
    for w, term, used, side, _ in found:
        if not isinstance(side, Mapping):
            sides.append((w, side))
            continue
        rows = evidence.rows((dataset, term.method, used))
        if not rows:
            return None
        sides.append((w, rows))
    return sides


def per_row_contrast(sides, offset: float = 0.0) -> tuple[RowContrast, tuple, tuple]:
    """The contrast Σ w·x + offset paired by row within each seed every side has, combined over seeds
    (``paired.row_contrast``); also (paired seeds, seeds only some sides have). Raises ValueError when no seed
    has rows on every side."""
    maps = [x for _, x in sides if isinstance(x, Mapping)]
    common = set(maps[0]).intersection(*maps[1:])
    seeds = tuple(sorted(common, key=str))
    unpaired = tuple(sorted(set().union(*maps) - common, key=str))
    per_seed = {}
    for seed in seeds:
        d, _ = align([(w, x[seed] if isinstance(x, Mapping) else x) for w, x in sides], offset)
        if d.size >= 2:
            per_seed[seed] = d
    if not per_seed:
        raise ValueError("no seed has at least 2 rows on every side")
    return row_contrast(per_seed), tuple(per_seed), unpaired


def _row_check(check: Check, found, dataset: str, evidence: Evidence | None, eps_of) -> CheckResult | None:
    sides = _row_sides(found, dataset, evidence) if check.metric == ACCURACY else None
    if sides is None:
        return None
    try:
        rc, seeds, unpaired = per_row_contrast(sides, check.offset)
    except ValueError:
        return None
    iv = rc.interval()
    v, reason = verdict(iv)
    if rc.reason:  # every paired row has the same difference: its sign is certain for these rows, 0 decides nothing
        v = HOLDS if rc.estimate > 1e-12 else DOES_NOT_HOLD if rc.estimate < -1e-12 else INCONCLUSIVE
        reason = rc.reason
    if rc.n_seeds < 2:
        reason = "; ".join(x for x in (reason, "one seed: the interval covers the test rows of this trained "
                                               "prompt, not training noise") if x)
    if unpaired:
        reason = "; ".join(x for x in (reason, f"seeds missing on one side: {list(unpaired)}") if x)
    a_eps, b_eps, c_eps = eps_of
    return CheckResult(check, a_eps, b_eps, PairedDifference(iv, seeds, unpaired), v, reason, c_eps, rc)


def check_cell(check: Check, dataset: str, eps: float, values: Values,
               num_classes: Mapping[str, int], evidence: Evidence | None = None) -> CheckResult:
    """One check in one cell: per example (rows paired within each seed, seeds combined) when every side has
    per-row outputs, else paired by seed (a t-interval over seeds)."""
    found = [(w, term, *_side(term, dataset, eps, values, num_classes)) for w, term in check.terms]
    a_eps, b_eps = found[0][2], found[1][2]
    c_eps = found[2][2] if check.c else None
    missing = [why for *_, side, why in found if side is None]
    if missing:
        return CheckResult(check, a_eps, b_eps, None, INCONCLUSIVE, "; ".join(w for w in missing if w), c_eps)
    by_row = _row_check(check, found, dataset, evidence, (a_eps, b_eps, c_eps))
    if by_row is not None:
        return by_row
    try:
        diff = weighted_paired_difference([(w, side) for w, _, _, side, _ in found], check.offset)
    except ValueError:
        names = [t.method for _, t in check.terms]
        why = f"no seed has both {names[0]} and {names[1]}" if len(names) == 2 else f"no seed has all of {', '.join(names)}"
        return CheckResult(check, a_eps, b_eps, None, INCONCLUSIVE, why, c_eps)
    v, reason = verdict(diff.interval)
    iv = diff.interval
    if check.metric == TRAIN_FLOPS and iv.n >= 2 and iv.low == iv.high and iv.mean != 0.0:
        # FLOPs are counted, not sampled: the same difference on every seed is a certain sign, not a missing spread
        v, reason = (HOLDS if iv.mean > 0 else DOES_NOT_HOLD), "the same FLOPs difference on every paired seed"
    if diff.interval.n < 2:
        reason = f"{diff.interval.n} paired seed: no CI over seeds (a one-seed difference is not a result)"
    if diff.unpaired:
        reason = "; ".join(x for x in (reason, f"seeds missing on one side: {list(diff.unpaired)}") if x)
    return CheckResult(check, a_eps, b_eps, diff, v, reason, c_eps)


def _gap_rows(gap: GapRecovery, dataset: str, eps: float, values: Values, evidence: Evidence | None,
              confidence: float) -> dict | None:
    """The gap recovery from per-row outputs (``paired.fieller_rows``), None without them."""
    if evidence is None:
        return None
    sides = [_side(t, dataset, eps, values, {}) for t in (gap.method, gap.full, gap.base)]
    if any(side is None for _, side, _ in sides):
        return None
    rows = [evidence.rows((dataset, t.method, used)) for t, (used, _, _) in zip((gap.method, gap.full, gap.base), sides)]
    if not all(rows):
        return None
    m, f, b = rows
    seeds = sorted(set(m) & set(f) & set(b), key=str)
    num, den = {}, {}
    for s in seeds:
        ids = sorted(set(m[s]) & set(f[s]) & set(b[s]))
        if len(ids) >= 2:
            num[s] = [m[s][i] - b[s][i] for i in ids]
            den[s] = [f[s][i] - b[s][i] for i in ids]
    if not num:
        return None
    r = fieller_rows(num, den, confidence)
    return {"estimate": r.estimate, "ci_low": r.low, "ci_high": r.high, "bounded": r.bounded, "n": len(num),
            "seeds": list(num), "n_rows": sum(len(v) for v in num.values()), "confidence": confidence,
            "interval": "Fieller, rows paired within seeds", "paper": dict(gap.paper), "reason": r.reason}


def gap_recovery_cell(gap: GapRecovery, dataset: str, eps: float, values: Values,
                      confidence: float = CONFIDENCE, evidence: Evidence | None = None) -> dict:
    """The gap recovery (method − base) / (full − base) in one cell: its estimate (ratio of the mean paired
    differences) and Fieller interval over the seeds all three have (``stats.fieller_ratio``), the paper's range,
    and why there is no interval when there is none. Never raises on missing methods or seeds. With per-row
    ``evidence`` for all three, the interval pairs rows within seeds (``paired.fieller_rows``)."""
    by_row = _gap_rows(gap, dataset, eps, values, evidence, confidence)
    if by_row is not None:
        return by_row
    sides = [_side(t, dataset, eps, values, {}) for t in (gap.method, gap.full, gap.base)]
    out = {"estimate": None, "ci_low": None, "ci_high": None, "bounded": False, "n": 0, "seeds": [],
           "confidence": confidence, "interval": "Fieller, t over paired seeds", "paper": dict(gap.paper),
           "reason": ""}
    missing = [why for _, side, why in sides if side is None]
    if missing:
        return {**out, "reason": "; ".join(missing)}
    (_, m, _), (_, f, _), (_, b, _) = sides
    seeds = sorted(set(m) & set(f) & set(b), key=str)
    out["seeds"], out["n"] = seeds, len(seeds)
    a = [m[s] - b[s] for s in seeds]
    d = [f[s] - b[s] for s in seeds]
    if len(seeds) < 2:
        if seeds and d[0] != 0.0:
            out["estimate"] = a[0] / d[0]
        return {**out, "reason": f"{len(seeds)} seed(s) with {gap.method.method}, {gap.full.method} and "
                                 f"{gap.base.method}: no interval"}
    r = fieller_ratio(a, d, confidence)
    return {**out, "estimate": r.estimate, "ci_low": r.low, "ci_high": r.high, "bounded": r.bounded,
            "reason": r.reason}


def gap_recovery_text(g: Mapping[str, Any]) -> str:
    """One line for a cell's note: 'gap recovery 0.64 [0.41, 0.90] (Fieller, 5 seeds; paper 0.59–0.87)'
    (``g``: what ``gap_recovery_cell`` returns)."""
    paper = g["paper"]
    ref = f"paper {paper['low']:.2f}–{paper['high']:.2f}" if "low" in paper and "high" in paper else ""
    est = "—" if g["estimate"] is None else f"{g['estimate']:.2f}"
    n_rows = g.get("n_rows")  # only when the rows were paired within seeds
    if g["bounded"]:
        ci = f" [{g['ci_low']:.2f}, {g['ci_high']:.2f}]"
    elif g["n"] >= 2 or n_rows:
        ci = " [unbounded: Full PT − zero-shot not significantly non-zero]"
    else:
        ci = ""
    conf = g["confidence"]
    if n_rows:
        detail = f"{conf:.0%} Fieller CI, {n_rows} rows paired within {g['n']} seed(s)"
    else:
        detail = f"{conf:.0%} Fieller CI, {g['n']} seeds" if g["n"] >= 2 else g["reason"]
    return f"gap recovery (POST − zero-shot)/(Full PT − zero-shot) {est}{ci} ({'; '.join(x for x in (detail, ref) if x)})"


def _applies(check: Check, eps: float) -> bool:
    return check.only_epsilon == ANY or check.only_epsilon == eps


def _summary(cells: tuple[CellResult, ...]) -> tuple[str, dict]:
    counts = {v: sum(c.verdict == v for c in cells) for v in (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)}
    if cells and counts[HOLDS] == len(cells):
        return HOLDS, counts
    if counts[HOLDS]:
        return "partly holds", counts
    return (DOES_NOT_HOLD if counts[DOES_NOT_HOLD] else INCONCLUSIVE), counts


def check_claims(accuracy: Values, cost: Values, num_classes: Mapping[str, int],
                 cost_notes: Mapping[tuple, str] | None = None,
                 claims: tuple[Claim, ...] = CLAIMS, flops: Values | None = None,
                 evidence: Evidence | None = None) -> list[ClaimResult]:
    """Every claim in every (dataset, ε) cell of the run. Cells: the data sets and ε values of the
    accuracy rows of methods that use private data. ``cost``: tuning + transfer wall seconds, ``flops`` their
    FLOPs (``training_cost_values``). Never raises on missing methods, seeds or costs."""
    by_metric = {ACCURACY: accuracy, TRAIN_WALL_S: cost, TRAIN_FLOPS: flops if flops is not None else Values({})}
    keys = list(accuracy.by_key)
    datasets = sorted({d for d, _, _ in keys})
    epsilons = sorted({e for _, m, e in keys if m not in EPSILON_FREE})
    out = []
    for claim in claims:
        cells = []
        for ds in datasets:
            for eps in epsilons:
                checks = tuple(
                    check_cell(c, ds, eps, by_metric[c.metric], num_classes, evidence)
                    for c in claim.checks if _applies(c, eps)
                )
                note = (cost_notes or {}).get((ds, eps), "") if any(c.metric in COST_METRICS for c in claim.checks) else ""
                gap = gap_recovery_cell(claim.gap, ds, eps, accuracy, evidence=evidence) if claim.gap else None
                if gap is not None:
                    note = "; ".join(x for x in (gap_recovery_text(gap), note) if x)
                cells.append(CellResult(ds, eps, checks, combine([c.verdict for c in checks]), note, gap))
        summary, counts = _summary(tuple(cells))
        out.append(ClaimResult(claim, tuple(cells), summary, counts))
    return out


# ---- results.json ----------------------------------------------------------------------------------------


def _paired(r: CheckResult) -> dict[str, Any]:
    """How a check was paired (per row within seeds, with the row contrast's details, or by seed)."""
    if r.rows is not None:
        return {"paired_by": "rows within seeds", "n_rows": r.rows.n_rows, "se": r.rows.se,
                "variance": r.rows.variance, "heterogeneity_p": r.rows.q_p,
                "per_seed": [{"seed": s, "mean": m, "se": se, "n_rows": n} for s, m, se, n in r.rows.per_seed]}
    return {"paired_by": "seeds"} if r.difference is not None else {}


def check_row(r: CheckResult) -> CheckRow:
    """One check of a cell as results.json holds it."""
    iv = r.difference.interval if r.difference else None
    c = r.check
    third = ({"c": Arm(method=c.c.method, epsilon=r.c_epsilon), "weights": {"a": 1.0, "b": c.b_weight, "c": c.c_weight}}
             if c.c else {"weights": {"a": 1.0, "b": c.b_weight}} if c.b_weight != 1.0 else {})
    return CheckRow(
        check=c.label, metric=c.metric, offset=c.offset,
        a=Arm(method=c.a.method, epsilon=r.a_epsilon), b=Arm(method=c.b.method, epsilon=r.b_epsilon), **third,
        seeds=list(r.difference.seeds) if r.difference else [], n=iv.n if iv else 0,
        mean=iv.mean if iv else None, ci_low=iv.low if iv else None, ci_high=iv.high if iv else None,
        verdict=r.verdict, reason=r.reason, **_paired(r),
    )


def to_rows(results: list[ClaimResult]) -> list[ClaimRow]:
    """The ``claims`` list of results.json (:class:`post_bench.rows.Claim`)."""
    return [
        ClaimRow(
            claim=r.claim.number, statement=r.claim.statement, verdict=r.verdict, counts=r.counts,
            cells=[ClaimCell(dataset=c.dataset, epsilon=c.epsilon, verdict=c.verdict, note=c.note,
                             checks=[check_row(x) for x in c.checks],
                             **({"gap_recovery": c.gap_recovery} if c.gap_recovery is not None else {}))
                   for c in r.cells],
        )
        for r in results
    ]


def num_classes_of(utility_rows: Iterable[UtilityRow]) -> dict[str, int]:
    """Classes per data set: the utility rows' ``num_classes``, else the predefined task of that name."""
    utility_rows = list(utility_rows)
    out = {r.dataset: r.num_classes for r in utility_rows if r.num_classes is not None}
    missing = {r.dataset for r in utility_rows} - set(out)
    if missing:  # results.json written before rows carried num_classes
        from post_bench.data.tasks import get_task  # deferred: start-up time (pandas; old results.json only)

        for ds in missing:
            task = get_task(ds) or get_task(ds.removeprefix("hf:").split(":")[0])
            if task is not None:
                out[ds] = len(task.class_names)
    return out


def from_results(results: Results, folder=None, evidence: Evidence | None = None) -> list[ClaimRow]:
    """The ``claims`` of results (their utility, cost and distill rows); accuracy checks are decided per example
    where the rows' samples files are under ``folder`` (the run or report directory)."""
    if not results.utility:
        return []
    pipes = pipeline_costs(results.cost)
    one_off = distillation_one_off(results.distill, results.cost)
    notes = {}
    for (ds, eps), items in _group(pipes).items():
        if one_off and any("distill/distill" in p["segments"] for p in items if p["method"] == "post"):
            notes[(ds, eps)] = ("distillation, one-off and shared by every source-based prompt, not in the checks: "
                                + "; ".join(one_off_text(e) for e in one_off))
    evidence = evidence if evidence is not None else load_evidence(results, folder)
    found = check_claims(accuracy_values(results.utility), training_cost_values(pipes),
                         num_classes_of(results.utility), notes,
                         flops=training_cost_values(pipes, TRAIN_FLOPS), evidence=evidence)
    return to_rows(found)


def _group(pipes: list[dict]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for p in pipes:
        if p["dataset"] is not None:
            out[(str(p["dataset"]), p["epsilon"])].append(p)
    return out
