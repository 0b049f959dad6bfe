"""The privacy–utility trade-off in one picture: per data set, each attacked prompt (method, ε) placed at its
accuracy (y) and at the AUC of the strongest membership attack on it (x). Up and to the left is better:
useful and not distinguishable from chance (AUC 0.5).

Only (method, ε) cells with both a utility row and a membership row appear; one-run canary audits are left
out (they attack prompts re-tuned with canaries, not the suite's prompts). Target zero-shot, which reads no
private data, is drawn as a horizontal reference line.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from post_bench.epsilon import eps_symbol
from post_bench.rows import PrivacyRow, UtilityRow

from .figures import GREY, save, style
from .stats import cell_interval
from .tables import ZERO_SHOT


@dataclasses.dataclass(frozen=True)
class Point:
    dataset: str
    method: str
    epsilon: float  # math.inf: non-private
    accuracy: float  # mean over seeds, in [0, 1]
    accuracy_ci: tuple[float, float] | None
    attack: str  # the strongest membership attack on this prompt (highest mean AUC)
    auc: float  # its mean AUC over seeds
    auc_ci: tuple[float, float] | None  # bootstrap CI (one seed) or t-interval over seeds
    eps_lower_bound: float | None  # the largest ε lower bound of any membership attack on this prompt
    seeds: int


def _auc_ci(rows: list[PrivacyRow]) -> tuple[float, float] | None:
    """One seed: the row's bootstrap CI of the AUC (when finite); several: ``cell_interval`` over seeds."""
    if len(rows) == 1:
        ci = rows[0].ci.auc if rows[0].ci is not None else None
        return ci if ci is not None and all(map(math.isfinite, ci)) else None
    iv = cell_interval([r.auc for r in rows])
    return (iv.low, iv.high) if iv.available else None


def tradeoff_points(utility_rows: Iterable[UtilityRow], privacy_rows: Iterable[PrivacyRow]) -> list[Point]:
    """One point per (dataset, method, ε) that has both accuracy and a membership AUC."""
    acc: dict[tuple, list[float]] = defaultdict(list)
    n_test: dict[tuple, int] = {}
    for r in utility_rows:
        key = (r.dataset, r.method, r.epsilon)
        acc[key].append(r.accuracy)
        n_test[key] = r.n_test
    aucs: dict[tuple, dict[str, list[PrivacyRow]]] = defaultdict(lambda: defaultdict(list))
    for r in privacy_rows:
        if r.auc is not None and r.one_run is None:  # membership attacks, not one-run canary audits
            aucs[(r.dataset, r.method, r.epsilon)][r.attack].append(r)
    out = []
    for key in sorted(set(acc) & set(aucs)):
        attack, rows = max(aucs[key].items(), key=lambda kv: (np.mean([r.auc for r in kv[1]]), kv[0]))
        bounds = [r.eps_lower_bound for rs in aucs[key].values() for r in rs
                  if r.eps_lower_bound is not None and math.isfinite(r.eps_lower_bound)]
        iv = cell_interval(acc[key], n_test[key])
        out.append(Point(key[0], key[1], key[2], iv.mean, (iv.low, iv.high) if iv.available else None, attack,
                         float(np.mean([r.auc for r in rows])), _auc_ci(rows), max(bounds) if bounds else None,
                         len(acc[key])))
    return out


def _zero_shot(utility_rows: Iterable[UtilityRow], dataset: str) -> float | None:
    vals = [r.accuracy for r in utility_rows if r.method == ZERO_SHOT and r.dataset == dataset]
    return float(np.mean(vals)) if vals else None


def plot_privacy_utility(utility_rows: Iterable[UtilityRow], privacy_rows: Iterable[PrivacyRow], path: Path | str, *,
                         pdf: bool = False) -> Path:
    """Accuracy against the strongest membership attack's AUC, a panel per data set, a colour and marker per
    method, its ε values joined by a line and labelled (with the ε lower bound when it is above 0). Returns
    ``path``; with ``pdf`` also writes ``<stem>.pdf``."""
    utility_rows = list(utility_rows)
    points = tradeoff_points(utility_rows, privacy_rows)
    datasets = sorted({p.dataset for p in points}) or ["(no prompt has both accuracy and a membership AUC)"]
    methods = sorted({p.method for p in points})
    n = len(datasets)
    ncols = min(n, 3)
    fig = Figure(figsize=(5.4 * ncols, 4.6 * math.ceil(n / ncols)), layout="constrained")
    axes = fig.subplots(math.ceil(n / ncols), ncols, squeeze=False).ravel()
    for ax, ds in zip(axes, datasets):
        mine = [p for p in points if p.dataset == ds]
        ax.axvline(0.5, color=GREY, ls="--", lw=0.9, label="chance (AUC 0.5)")
        zs = _zero_shot(utility_rows, ds)
        if zs is not None:
            ax.axhline(100 * zs, color="0.55", ls=":", lw=1.1, label=f"target zero-shot ({100 * zs:.1f}%)")
        for method in methods:
            pts = sorted((p for p in mine if p.method == method), key=lambda p: p.epsilon)
            if not pts:
                continue
            st = style(methods.index(method))
            x = np.array([p.auc for p in pts])
            y = np.array([100 * p.accuracy for p in pts])
            xerr = np.array([[p.auc - p.auc_ci[0], p.auc_ci[1] - p.auc] if p.auc_ci else [0.0, 0.0] for p in pts]).T
            yerr = np.array([[100 * (p.accuracy - p.accuracy_ci[0]), 100 * (p.accuracy_ci[1] - p.accuracy)]
                             if p.accuracy_ci else [0.0, 0.0] for p in pts]).T
            ax.errorbar(x, y, xerr=np.clip(xerr, 0, None), yerr=np.clip(yerr, 0, None), color=st["color"],
                        marker=st["marker"], ms=6, lw=1.2, ls="-", capsize=2.5, elinewidth=0.9, label=method)
            for p in pts:
                text = f"ε={eps_symbol(p.epsilon)}"
                if p.eps_lower_bound:
                    text += f"\nε_lb={p.eps_lower_bound:.2f}"
                ax.annotate(text, (p.auc, 100 * p.accuracy), xytext=(5, 4), textcoords="offset points",
                            fontsize=7, color=st["color"])
        if mine:
            lo = min([0.5] + [p.auc_ci[0] if p.auc_ci else p.auc for p in mine])
            hi = max([0.5] + [p.auc_ci[1] if p.auc_ci else p.auc for p in mine])
            pad = max(0.02, 0.15 * (hi - lo))
            ax.set_xlim(lo - pad, hi + pad)
            ax.legend(fontsize=7.5, loc="best")
        else:
            ax.text(0.5, 0.5, "no prompt has both an accuracy and a membership AUC", transform=ax.transAxes,
                    ha="center", va="center", color="0.4")
        ax.set_xlabel("AUC of the strongest membership attack [95% CI]")
        ax.set_ylabel("accuracy (%) [95% CI]")
        ax.set_title(ds, fontsize=10)
        ax.grid(True, alpha=0.3)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle("Privacy–utility trade-off per attacked prompt (method, ε)\nup and to the left is better", fontsize=10)
    return save(fig, path, pdf=pdf)[0]
