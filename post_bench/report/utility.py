"""Accuracy vs ε, one panel per dataset; non-private runs sit at an "∞" position past a broken axis."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from post_bench.epsilon import eps_symbol

from .figures import save, style
from .stats import Interval, cell_interval
from .tables import ZERO_SHOT

INF_GAP = 4.0  # the "∞" position = largest finite ε × INF_GAP (log axis)
JITTER = 1.05  # horizontal spacing factor between methods at one ε


def plot_utility_vs_epsilon(utility_rows: Iterable[dict], path: Path | str, *, pdf: bool = False) -> Path:
    """Mean accuracy vs ε on a log axis, one line per method (and model when a method ran on several);
    error bars: the 95% CI of the table (t over seeds; Wilson on the test set with one seed). Zero-shot is
    a dashed horizontal reference with its CI as a band. Colours: Okabe–Ito, with a marker per method.
    Returns ``path``; with ``pdf`` also writes ``<stem>.pdf``."""
    rows = [
        r for r in utility_rows or [] if isinstance(r, dict) and isinstance(r.get("accuracy"), (int, float))
    ]
    datasets = sorted({str(r.get("dataset", "?")) for r in rows}) or ["(no utility results)"]
    n = len(datasets)
    fig = Figure(figsize=(5.6 * min(n, 3), 5.0 * math.ceil(n / 3)), layout="constrained")
    axes = fig.subplots(math.ceil(n / 3), min(n, 3), squeeze=False).ravel()
    finite_all = sorted({float(r["epsilon"]) for r in rows if r.get("epsilon") is not None})
    x_inf = (finite_all[-1] if finite_all else 1.0) * INF_GAP
    methods = sorted({str(r.get("method")) for r in rows if r.get("method") != ZERO_SHOT})
    for ax, ds in zip(axes, datasets):
        groups: dict[tuple[str, str], dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
        n_test: dict[tuple[str, str, float], int | None] = {}
        for r in rows:
            if str(r.get("dataset", "?")) == ds:
                eps = x_inf if r.get("epsilon") is None else float(r["epsilon"])
                key = (str(r.get("method")), str(r.get("model", "")))
                groups[key][eps].append(float(r["accuracy"]))
                n = r.get("n_test")
                n_test[(*key, eps)] = n if isinstance(n, int) and not isinstance(n, bool) else None
        models_per_method = defaultdict(set)
        for method, model in groups:
            models_per_method[method].add(model)
        for (method, model), pts in sorted(groups.items()):
            label = method + (f" ({model})" if len(models_per_method[method]) > 1 else "")
            stats = {x: cell_interval(v, n_test[(method, model, x)]) for x, v in pts.items()}
            if method == ZERO_SHOT:
                iv = stats[x_inf] if len(stats) == 1 and x_inf in stats else cell_interval(
                    [a for v in pts.values() for a in v])
                ax.axhline(100 * iv.mean, color="0.35", ls="--", lw=1.2, label=f"{label} ({100 * iv.mean:.1f})")
                if iv.available and iv.high > iv.low:
                    ax.axhspan(100 * iv.low, 100 * iv.high, color="0.5", alpha=0.12)
                continue
            st = style(methods.index(method))
            color = st["color"]
            fin = sorted(x for x in stats if x != x_inf)
            y = np.array([100 * stats[x].mean for x in fin])
            e = _yerr([stats[x] for x in fin])
            # methods side by side at each ε (log axis: a multiplicative nudge) so their error bars stay apart
            nudge = JITTER ** (methods.index(method) - (len(methods) - 1) / 2)
            k = sorted(models_per_method[method]).index(model)
            ls = ("-", "--", "-.")[k % 3]
            mk = st["marker"] if k == 0 else ("^", "D", "v")[k % 3]
            ax.errorbar(
                [x * nudge for x in fin],
                y,
                yerr=e if e.size and e.any() else None,
                color=color,
                ls=ls,
                marker=mk,
                ms=5,
                lw=1.6,
                capsize=3,
                label=label,
            )
            if x_inf in stats:
                mi = stats[x_inf].mean
                ei = _yerr([stats[x_inf]])
                ax.errorbar(
                    [x_inf * nudge],
                    [100 * mi],
                    yerr=ei if ei.any() else None,
                    color=color,
                    marker=mk,
                    ms=6,
                    capsize=3,
                    ls="none",
                )
                if fin:  # dotted: the segment crosses the axis break
                    ax.plot([fin[-1] * nudge, x_inf * nudge], [y[-1], 100 * mi], color=color, ls=":", lw=1.2)
        ax.set_xscale("log")
        ticks = finite_all + [x_inf]
        ax.set_xticks(ticks, [eps_symbol(t) for t in finite_all] + ["∞"])
        ax.minorticks_off()
        lo_x = (finite_all[0] if finite_all else x_inf) / 1.6
        ax.set_xlim(lo_x, x_inf * 1.6)
        if finite_all:  # mark the broken axis between the largest finite ε and ∞
            xb = math.sqrt(finite_all[-1] * x_inf)
            for dx in (0.93, 1.07):
                ax.plot(
                    [xb * dx / 1.04, xb * dx * 1.04],
                    [-0.02, 0.02],
                    transform=ax.get_xaxis_transform(),
                    color="k",
                    lw=1,
                    clip_on=False,
                )
            ax.axvspan(xb / 1.07, xb * 1.07, color="white", zorder=0)
        ax.set_xlabel("ε (privacy budget)")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(ds)
        ax.grid(True, alpha=0.3)
        if groups:
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, frameon=False)
        else:
            ax.text(
                0.5, 0.5, "no utility results", transform=ax.transAxes, ha="center", va="center", color="0.4"
            )
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Utility vs privacy (bars: 95% CI)")
    return save(fig, path, pdf=pdf)[0]


def _yerr(intervals: list[Interval]) -> np.ndarray:
    """(2, n) asymmetric error bars in % (below, above the mean); 0 where there is no interval."""
    return np.array(
        [[100 * (iv.mean - iv.low) if iv.available else 0.0 for iv in intervals],
         [100 * (iv.high - iv.mean) if iv.available else 0.0 for iv in intervals]]
    ).reshape(2, len(intervals))
