"""Cost from the results' cost rows.

- ``pipeline_costs`` / ``method_costs``: what one method's prompt costs, the sum over the units of its pipeline
  (its evaluate unit and every unit that fed it: distil, tune, transfer, dp_opt), split by the model doing the
  work. A unit shared by several methods (the source prompt used by POST, PTfer and direct transfer) counts in
  each pipeline: it is part of what each of those prompts costs. Attack units are audit cost, not method cost
  (the tables and claim 6 use these).
- ``suite_costs`` and ``plot_cost``: where a whole suite's compute went, per method and per stage — tuning,
  transfer, evaluation, shadow training (``shadow_prompts`` and ``shadows`` units) and attacks (``membership``,
  ``extraction``, ``one_run`` units and the canary prompts tuned for them) — with the one-off distillation
  apart. A unit serving several methods is split evenly between them, so the bars add up to the suite.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .figures import OKABE_ITO, save


def _eps(value) -> str:
    return "∞" if value is None else f"{value:g}"


def _upstream(unit: str, by_id: dict) -> set:
    """``unit`` and every unit it depends on, directly or not (ids of recorded cost rows only)."""
    seen, stack = set(), [unit]
    while stack:
        uid = stack.pop()
        if uid in seen or uid not in by_id:
            continue
        seen.add(uid)
        stack.extend(by_id[uid].get("deps") or [])
    return seen


def pipeline_costs(cost_rows: Iterable[dict]) -> list[dict]:
    """One row per evaluate unit: dataset, method, ε, seed, total wall time and FLOPs, and per (kind, role)
    segments. ``dataset`` and ``seed`` are None for cost rows written before they carried them."""
    rows = [r for r in cost_rows or [] if isinstance(r, dict) and r.get("unit")]
    by_id = {r["unit"]: r for r in rows}
    out = []
    for r in rows:
        if r.get("kind") != "evaluate":
            continue
        seen = _upstream(r["unit"], by_id)
        segments: dict = defaultdict(lambda: {"wall_s": 0.0, "flops": 0.0})
        for uid in seen:
            u = by_id[uid]
            key = (u.get("kind"), u.get("model_role"))
            segments[key]["wall_s"] += float(u.get("wall_s") or 0)
            segments[key]["flops"] += float(u.get("flops") or 0)
        out.append({
            "dataset": r.get("dataset"), "method": r.get("method"), "epsilon": r.get("epsilon"),
            "seed": r.get("seed"), "units": len(seen),
            "wall_s": sum(s["wall_s"] for s in segments.values()),
            "flops": sum(s["flops"] for s in segments.values()),
            "target_flops": sum(s["flops"] for (k, role), s in segments.items() if role == "target"),
            "source_flops": sum(s["flops"] for (k, role), s in segments.items() if role == "source"),
            "segments": {f"{k}/{role}": v for (k, role), v in segments.items()},
        })
    return sorted(out, key=lambda p: (str(p["dataset"]), str(p["method"]), p["epsilon"] is None, p["epsilon"] or 0,
                                      str(p["seed"])))


def method_costs(pipes: list[dict]) -> dict[str, dict]:
    """Mean over a method's pipelines (data sets, ε, seeds) of each segment: {method: {segment: {key: v}}}."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for p in pipes:
        grouped[str(p["method"])].append(p)
    out = {}
    for method, items in grouped.items():
        segs: dict = defaultdict(lambda: {"wall_s": 0.0, "flops": 0.0})
        for p in items:
            for name, v in p["segments"].items():
                for key in ("wall_s", "flops"):
                    segs[name][key] += v[key] / len(items)
        out[method] = dict(segs)
    return out


STAGES = (  # stacked in this order
    ("tuning / generation", OKABE_ITO[0]),
    ("transfer", OKABE_ITO[1]),
    ("evaluation", OKABE_ITO[4]),
    ("shadow training", OKABE_ITO[2]),
    ("attacks", OKABE_ITO[3]),
    ("other", "0.6"),
)
DISTILL_LABEL = "distillation (one-off)"
SHADOW_KINDS = frozenset({"shadow_prompts", "shadows"})
ATTACK_KINDS = frozenset({"membership", "extraction", "one_run"})
UNATTRIBUTED = "(no method)"


def stage_of(kind: str, for_evaluation: bool) -> str:
    """The stage a unit of ``kind`` counts under; ``for_evaluation``: it feeds an evaluate unit (a tune unit
    reached only from attacks tuned a canary prompt for the attack: attack cost)."""
    if kind in SHADOW_KINDS:
        return "shadow training"
    if kind in ATTACK_KINDS:
        return "attacks"
    if kind in ("tune", "dp_opt", "transfer", "evaluate") and not for_evaluation:
        return "attacks"
    return {"tune": "tuning / generation", "dp_opt": "tuning / generation", "transfer": "transfer", "evaluate": "evaluation"}.get(kind, "other")


def suite_costs(cost_rows: Iterable[dict]) -> dict:
    """``{"methods": {method: {stage: {"wall_s", "flops"}}}, "distill": {"wall_s", "flops", "units"},
    "total": {"wall_s", "flops", "units"}}``. A unit belongs to the methods of the evaluate and attack units
    it feeds (itself included), split evenly; distillation is kept apart."""
    rows = [r for r in cost_rows or [] if isinstance(r, dict) and r.get("unit")]
    by_id = {r["unit"]: r for r in rows}
    serves: dict[str, set] = defaultdict(set)
    feeds_eval: set = set()
    for r in rows:
        kind = r.get("kind")
        if kind != "evaluate" and kind not in ATTACK_KINDS:
            continue
        method = str(r.get("method") or UNATTRIBUTED)
        seen = _upstream(r["unit"], by_id)
        for uid in seen:
            serves[uid].add(method)
            if kind == "evaluate":
                feeds_eval.add(uid)

    def num(r: dict, key: str) -> float:
        v = r.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0

    methods: dict = defaultdict(lambda: defaultdict(lambda: {"wall_s": 0.0, "flops": 0.0}))
    distill = {"wall_s": 0.0, "flops": 0.0, "units": 0}
    for r in rows:
        if r.get("kind") == "distill":
            distill["wall_s"] += num(r, "wall_s")
            distill["flops"] += num(r, "flops")
            distill["units"] += 1
            continue
        owners = sorted(serves.get(r["unit"]) or {str(r.get("method") or UNATTRIBUTED)})
        stage = stage_of(str(r.get("kind")), r["unit"] in feeds_eval or not serves.get(r["unit"]))
        for m in owners:
            methods[m][stage]["wall_s"] += num(r, "wall_s") / len(owners)
            methods[m][stage]["flops"] += num(r, "flops") / len(owners)
    total = {"wall_s": sum(num(r, "wall_s") for r in rows), "flops": sum(num(r, "flops") for r in rows),
             "units": len(rows)}
    return {"methods": {m: dict(v) for m, v in methods.items()}, "distill": distill, "total": total}


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds >= 36_000:
        return 3600.0, "h"
    if seconds >= 600:
        return 60.0, "min"
    return 1.0, "s"


def plot_cost(cost_rows: Iterable[dict], path: Path | str, *, pdf: bool = False) -> Path:
    """Where the suite's compute went: per method, its units' wall time (left) and estimated FLOPs (right),
    stacked by stage (tuning, transfer, evaluation, shadow training, attacks); the one-off distillation is a
    separate, hatched bar below a rule. Returns ``path``; with ``pdf`` also writes ``<stem>.pdf``."""
    costs = suite_costs(cost_rows)
    per = costs["methods"]
    methods = sorted(per, key=lambda m: (sum(v["wall_s"] for v in per[m].values()), m))
    has_distill = costs["distill"]["units"] > 0
    n = len(methods) + (1 if has_distill else 0)
    fig = Figure(figsize=(11, 1.6 + 0.42 * max(n, 2)), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(methods), dtype=float)
    y_distill = -1.3
    for ax, key, label in ((axes[0], "wall_s", "wall time"), (axes[1], "flops", "FLOPs (estimated)")):
        if not n:
            ax.text(0.5, 0.5, "no cost recorded", transform=ax.transAxes, ha="center", va="center", color="0.4")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        biggest = max([sum(v[key] for v in per[m].values()) for m in methods] + [costs["distill"][key]])
        scale, unit = _time_unit(biggest) if key == "wall_s" else (1.0, "")
        left = np.zeros(len(methods))
        for stage, color in STAGES:
            xs = np.array([per[m].get(stage, {}).get(key, 0.0) for m in methods]) / scale
            if xs.any():
                ax.barh(y, xs, 0.65, left=left, color=color, label=stage, edgecolor="white", lw=0.5)
                left += xs
        if has_distill:
            ax.barh([y_distill], [costs["distill"][key] / scale], 0.65, color="white", edgecolor="0.3",
                    hatch="///", label=DISTILL_LABEL)
            ax.axhline(-0.65, color="0.3", lw=0.8)
        ax.set_xlabel(f"{label} ({unit})" if unit else label)
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_title(f"{label}, summed over units: {_total(costs, key, scale, unit)}", fontsize=10)
    if n:
        ticks = list(y) + ([y_distill] if has_distill else [])
        axes[0].set_yticks(ticks, methods + ([DISTILL_LABEL] if has_distill else []))
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside right center", fontsize=8, frameon=False)
    fig.suptitle("Where the suite's compute went, per method (a unit several methods use is split between them)",
                 fontsize=10)
    return save(fig, path, pdf=pdf)[0]


def _total(costs: dict, key: str, scale: float, unit: str) -> str:
    t = costs["total"][key]
    if key == "wall_s":
        return f"{t / scale:.1f} {unit}"
    return f"{t:.2e}"
