"""Log-log ROC curves of membership-inference attacks, one figure per dataset."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from post_bench.atomic import save_figure

from .tables import eps_key, eps_label

_CMAPS = ("Blues", "Oranges", "Greens", "Reds", "Purples", "Greys")
_STYLES = ("-", "--", ":", "-.")
MIN_FPR = 1e-3


def plot_roc(privacy_rows: Iterable[dict], dataset: str, path: Path | str) -> Path:
    """One curve per (method, ε, attack) row of ``dataset`` that stores a ROC; colour = method, shade = ε,
    line style = attack variant. Axes span [lo, 1] with lo ≤ 1e-3 (lower when the curves resolve it)."""
    rows = [r for r in privacy_rows or [] if isinstance(r, dict) and r.get("dataset") == dataset]
    rows.sort(key=lambda r: (str(r.get("method")), eps_key(r.get("epsilon")), str(r.get("attack"))))
    methods = list(dict.fromkeys(str(r.get("method")) for r in rows))
    attacks = list(dict.fromkeys(str(r.get("attack")) for r in rows))

    fig = Figure(figsize=(7.0, 5.6 + 0.16 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    lo = MIN_FPR
    drawn = 0
    for r in rows:
        roc = r.get("roc") or {}
        fpr, tpr = np.asarray(roc.get("fpr", []), float), np.asarray(roc.get("tpr", []), float)
        if fpr.size < 2 or fpr.shape != tpr.shape:
            continue
        method = str(r.get("method"))
        eps_all = sorted({eps_key(x.get("epsilon")) for x in rows if str(x.get("method")) == method})
        shade = 0.45 + 0.5 * (eps_all.index(eps_key(r.get("epsilon"))) + 1) / len(eps_all)
        color = colormaps[_CMAPS[methods.index(method) % len(_CMAPS)]](shade)
        pos = fpr[fpr > 0]
        if pos.size:
            lo = min(lo, max(pos.min(), 1e-6))
        tpr_1 = (r.get("tpr_at_fpr") or {}).get("0.01")
        label = f"{method} ε={eps_label(r.get('epsilon'))} {r.get('attack', '')}: AUC {_f(r.get('auc'))}"
        label += f", TPR@1% {100 * tpr_1:.1f}%" if isinstance(tpr_1, (int, float)) else ""
        style = _STYLES[attacks.index(str(r.get("attack"))) % len(_STYLES)]
        # zero FPR cannot sit on a log axis: draw it at the axis' left edge
        ax.plot(np.maximum(fpr, 1e-12), np.maximum(tpr, 1e-12), style, color=color, lw=1.6, label=label)
        drawn += 1
    ax.plot([1e-12, 1], [1e-12, 1], color="0.5", lw=0.8, ls="--", label="chance")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, 1)
    ax.set_ylim(lo, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"Membership inference ROC — {dataset}")
    ax.grid(True, which="major", alpha=0.3)
    if not drawn:
        ax.text(
            0.5, 0.5, "no ROC curves stored", transform=ax.transAxes, ha="center", va="center", color="0.4"
        )
    fig.legend(loc="outside lower center", ncols=2, fontsize=7, frameon=False)
    path = Path(path)
    save_figure(fig, path, dpi=130, bbox_inches="tight")
    return path


def _f(x: object) -> str:
    return f"{x:.3f}" if isinstance(x, (int, float)) else "—"
