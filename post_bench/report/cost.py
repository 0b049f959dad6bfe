"""Compute cost per method: wall time and FLOPs, split by the model doing the work (source vs target)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

ROLES = ("source", "target")
ROLE_COLORS = {"source": "C2", "target": "C0", "other": "C7"}
LOG_RATIO = 50.0  # use a log y-axis when the largest bar is this many times the smallest


def plot_cost(cost_rows: Iterable[dict], path: Path | str) -> Path:
    """Two panels (wall time, FLOPs); per method, one bar per model role holding the sum over its units,
    annotated with the unit kinds. Rows without a method are grouped under their kind."""
    rows = [r for r in cost_rows or [] if isinstance(r, dict)]
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, ylabel in ((axes[0], "wall_s", "wall time (s)"), (axes[1], "flops", "FLOPs")):
        total: dict[tuple[str, str], float] = defaultdict(float)
        kinds: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in rows:
            v = r.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
                role = r.get("model_role") if r.get("model_role") in ROLES else "other"
                k = (str(r.get("method") or r.get("kind") or "?"), role)
                total[k] += float(v)
                kinds[k].add(str(r.get("kind", "?")))
        ax.set_ylabel(ylabel)
        ax.set_title(ylabel.split(" (")[0] + " per method")
        if not total:
            ax.text(
                0.5,
                0.5,
                f"no {ylabel} recorded",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color="0.4",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        methods = sorted({m for m, _ in total})
        roles = [r for r in (*ROLES, "other") if any(k[1] == r for k in total)]
        width = min(0.8 / len(roles), 0.35)
        for i, role in enumerate(roles):
            xs = np.arange(len(methods)) + (i - (len(roles) - 1) / 2) * width
            ys = [total.get((m, role), 0.0) for m in methods]
            bars = ax.bar(xs, ys, width, color=ROLE_COLORS[role], label=f"{role} model")
            for b, m in zip(bars, methods):
                if (m, role) in total:
                    ax.annotate(
                        "+".join(sorted(kinds[(m, role)])),
                        (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        rotation=90,
                        xytext=(0, 2),
                        textcoords="offset points",
                    )
        vals = list(total.values())
        if max(vals) / min(vals) > LOG_RATIO:
            ax.set_yscale("log")
            ax.set_ylim(min(vals) / 3, max(vals) * 30)
        else:
            ax.set_ylim(0, max(vals) * 1.35)
        ax.set_xticks(np.arange(len(methods)), methods)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Cost by method and model role")
    path = Path(path)
    fig.savefig(path, dpi=130)
    return path
