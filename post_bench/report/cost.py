"""What each method's prompt costs: the sum over the units of its pipeline (its evaluate unit and every
unit that fed it: distil, tune, transfer, dp_opt), split by the model doing the work.

A unit shared by several methods (the source prompt used by POST, PTfer and direct transfer) counts in
each pipeline: it is part of what each of those prompts costs. Attack units are audit cost, not method cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from post_bench.atomic import save_figure

SEGMENTS = (  # (kind, role) stacked in this order, with colours
    (("distill", "distill"), "distillation (one-time)", "C7"),
    (("tune", "source"), "tune on source", "C2"),
    (("dp_opt", "source"), "DP-OPT generation (source)", "C8"),
    (("transfer", "target"), "transfer (target)", "C1"),
    (("tune", "target"), "tune on target", "C3"),
    (("dp_opt", "target"), "DP-OPT generation (target)", "C4"),
    (("evaluate", "source"), "evaluate (source)", "C9"),
    (("evaluate", "target"), "evaluate (target)", "C0"),
)


def _eps(value) -> str:
    return "∞" if value is None else f"{value:g}"


def pipeline_costs(cost_rows: Iterable[dict]) -> list[dict]:
    """One row per evaluate unit: dataset, method, ε, seed, total wall time and FLOPs, and per (kind, role)
    segments. ``dataset`` and ``seed`` are None for cost rows written before they carried them."""
    rows = [r for r in cost_rows or [] if isinstance(r, dict) and r.get("unit")]
    by_id = {r["unit"]: r for r in rows}
    out = []
    for r in rows:
        if r.get("kind") != "evaluate":
            continue
        seen, stack = set(), [r["unit"]]
        while stack:
            uid = stack.pop()
            if uid in seen or uid not in by_id:
                continue
            seen.add(uid)
            stack.extend(by_id[uid].get("deps") or [])
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


def plot_cost(cost_rows: Iterable[dict], path: Path | str) -> Path:
    """Two panels (wall time, FLOPs): per method, the mean cost of one prompt's pipeline, stacked by unit
    kind and model, so the saving of tuning on the small source instead of the target is visible. The
    one-time distillation is hatched: every source-based method shares it, however many prompts follow."""
    per_method = method_costs(pipeline_costs(cost_rows))
    methods = sorted(per_method, key=lambda m: sum(v["flops"] for v in per_method[m].values()))
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, ylabel in ((axes[0], "wall_s", "wall time (s)"), (axes[1], "flops", "FLOPs (estimated)")):
        ax.set_title(ylabel.split(" (")[0] + " per prompt (mean over data sets and ε)")
        ax.set_ylabel(ylabel)
        if not methods:
            ax.text(0.5, 0.5, "no cost recorded", transform=ax.transAxes, ha="center", va="center", color="0.4")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        x = np.arange(len(methods))
        bottom = np.zeros(len(methods))
        for (kind, role), name, color in SEGMENTS:
            ys = np.array([per_method[m].get(f"{kind}/{role}", {}).get(key, 0.0) for m in methods])
            if ys.any():
                ax.bar(x, ys, 0.65, bottom=bottom, color=color, label=name, edgecolor="white",
                       hatch="//" if kind == "distill" else None)
                bottom += ys
        ax.set_xticks(x, methods, rotation=30, ha="right")
        ax.grid(True, axis="y", alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="outside right center", fontsize=8)
    fig.suptitle("Cost of one prompt per method: every unit behind it (shared units count in each)")
    path = Path(path)
    save_figure(fig, path, dpi=130)
    return path
