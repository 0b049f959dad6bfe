"""Accuracy vs ε, one panel per dataset; non-private runs sit at an "∞" position past a broken axis."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from post_bench.epsilon import INFINITY, eps_symbol
from post_bench.rows import UtilityRow

from .figures import save, style
from .stats import Interval, cell_interval
from .tables import ZERO_SHOT

INF_GAP = 4.0  # the "∞" position = largest finite ε × INF_GAP (log axis)
JITTER = 1.05  # horizontal spacing factor between methods at one ε

Line = tuple[str, str]  # (method, model)


def plot_utility_vs_epsilon(utility_rows: Iterable[UtilityRow], path: Path | str, *, pdf: bool = False) -> Path:
    """Mean accuracy vs ε on a log axis, one line per method (and model when a method ran on several);
    error bars: the 95% CI of the table (t over seeds; Wilson on the test set with one seed). Zero-shot is
    a dashed horizontal reference with its CI as a band. Colours: Okabe–Ito, with a marker per method.
    Returns ``path``; with ``pdf`` also writes ``<stem>.pdf``."""
    rows = list(utility_rows)
    datasets = sorted({r.dataset for r in rows}) or ["(no utility results)"]
    n = len(datasets)
    fig = Figure(figsize=(5.6 * min(n, 3), 5.0 * math.ceil(n / 3)), layout="constrained")
    axes = fig.subplots(math.ceil(n / 3), min(n, 3), squeeze=False).ravel()
    finite_all = sorted({r.epsilon for r in rows if math.isfinite(r.epsilon)})
    x_inf = (finite_all[-1] if finite_all else 1.0) * INF_GAP
    methods = sorted({r.method for r in rows if r.method != ZERO_SHOT})
    for ax, ds in zip(axes, datasets):
        groups = _groups([r for r in rows if r.dataset == ds], x_inf)
        models_per_method: dict[str, set[str]] = defaultdict(set)
        for method, model in groups:
            models_per_method[method].add(model)
        for (method, model), pts in sorted(groups.items()):
            label = method + (f" ({model})" if len(models_per_method[method]) > 1 else "")
            by_x = {x: cell_interval([r.accuracy for r in rs], rs[-1].n_test) for x, rs in pts.items()}
            if method == ZERO_SHOT:
                iv = by_x[x_inf] if len(by_x) == 1 and x_inf in by_x else cell_interval(
                    [r.accuracy for rs in pts.values() for r in rs])
                _draw_zero_shot(ax, iv, label)
                continue
            k = sorted(models_per_method[method]).index(model)
            _draw_method(ax, by_x, label, x_inf, methods.index(method), len(methods), k)
        _style_axis(ax, ds, finite_all, x_inf, bool(groups))
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Utility vs privacy (bars: 95% CI)")
    return save(fig, path, pdf=pdf)[0]


def _groups(rows: list[UtilityRow], x_inf: float) -> dict[Line, dict[float, list[UtilityRow]]]:
    """{(method, model): {x position: rows}}; a non-private ε sits at ``x_inf``."""
    groups: dict[Line, dict[float, list[UtilityRow]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[(r.method, r.model)][x_inf if math.isinf(r.epsilon) else r.epsilon].append(r)
    return groups


def _draw_zero_shot(ax, iv: Interval, label: str) -> None:
    """Zero-shot: a dashed horizontal line at its mean, its CI as a band."""
    ax.axhline(100 * iv.mean, color="0.35", ls="--", lw=1.2, label=f"{label} ({100 * iv.mean:.1f})")
    if iv.available and iv.high > iv.low:
        ax.axhspan(100 * iv.low, 100 * iv.high, color="0.5", alpha=0.12)


def _draw_method(ax, by_x: dict[float, Interval], label: str, x_inf: float, index: int, n_methods: int,
                 k: int) -> None:
    """A method's line over the finite ε, its non-private point at ``x_inf`` (dotted across the axis break);
    ``index``: the method's colour and nudge, ``k``: which of its models (line style and marker)."""
    st = style(index)
    color = st["color"]
    fin = sorted(x for x in by_x if x != x_inf)
    y = np.array([100 * by_x[x].mean for x in fin])
    e = _yerr([by_x[x] for x in fin])
    # methods side by side at each ε (log axis: a multiplicative nudge) so their error bars stay apart
    nudge = JITTER ** (index - (n_methods - 1) / 2)
    ls = ("-", "--", "-.")[k % 3]
    mk = st["marker"] if k == 0 else ("^", "D", "v")[k % 3]
    ax.errorbar([x * nudge for x in fin], y, yerr=e if e.size and e.any() else None, color=color, ls=ls, marker=mk,
                ms=5, lw=1.6, capsize=3, label=label)
    if x_inf in by_x:
        mi = by_x[x_inf].mean
        ei = _yerr([by_x[x_inf]])
        ax.errorbar([x_inf * nudge], [100 * mi], yerr=ei if ei.any() else None, color=color, marker=mk, ms=6,
                    capsize=3, ls="none")
        if fin:  # dotted: the segment crosses the axis break
            ax.plot([fin[-1] * nudge, x_inf * nudge], [y[-1], 100 * mi], color=color, ls=":", lw=1.2)


def _style_axis(ax, dataset: str, finite_all: list[float], x_inf: float, has_lines: bool) -> None:
    """Log ε axis with an "∞" tick past a broken-axis mark, labels, title, and the legend below."""
    ax.set_xscale("log")
    ax.set_xticks(finite_all + [x_inf], [eps_symbol(t) for t in finite_all] + [INFINITY])
    ax.minorticks_off()
    ax.set_xlim((finite_all[0] if finite_all else x_inf) / 1.6, x_inf * 1.6)
    if finite_all:  # mark the broken axis between the largest finite ε and ∞
        xb = math.sqrt(finite_all[-1] * x_inf)
        for dx in (0.93, 1.07):
            ax.plot([xb * dx / 1.04, xb * dx * 1.04], [-0.02, 0.02], transform=ax.get_xaxis_transform(), color="k",
                    lw=1, clip_on=False)
        ax.axvspan(xb / 1.07, xb * 1.07, color="white", zorder=0)
    ax.set_xlabel("ε (privacy budget)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(dataset)
    ax.grid(True, alpha=0.3)
    if has_lines:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, frameon=False)
    else:
        ax.text(0.5, 0.5, "no utility results", transform=ax.transAxes, ha="center", va="center", color="0.4")


def _yerr(intervals: list[Interval]) -> np.ndarray:
    """(2, n) asymmetric error bars in % (below, above the mean); 0 where there is no interval."""
    return np.array(
        [[100 * (iv.mean - iv.low) if iv.available else 0.0 for iv in intervals],
         [100 * (iv.high - iv.mean) if iv.available else 0.0 for iv in intervals]]
    ).reshape(2, len(intervals))
