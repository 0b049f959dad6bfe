"""Log-log ROC curves of membership-inference attacks: one figure per data set, one panel per attacked prompt
(method and ε), at most ``MAX_CURVES`` curves per panel.

The question each panel answers: does any attack tell this prompt's members from its non-members, and at the
low false-positive rates where that matters? Hence log-log axes, the chance line, the TPR at 1% and 0.1% FPR
marked on every curve, and the AUC with its 95% CI in the legend.

- Membership rows (LiRA, RMIA, LOSS, …): a panel per (method, ε). With more than ``MAX_CURVES`` attacks the
  panel keeps the strongest variant (highest AUC) of each attack family (``lira-online`` and ``lira-offline``
  are one family) and names the rest under the panel.
- One-run canary audits (rows with a ``one_run`` bound) scored planted canaries, not the population the shadows
  were trained on: they get their own panels ("canaries"), a curve per canary kind and ε.
- Several seeds of one curve: the seed with the median AUC is drawn, and the legend says so.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from post_bench.epsilon import eps_symbol
from post_bench.rows import PrivacyRow

from .figures import GREY, LINESTYLES, save, style

MAX_CURVES = 6
MIN_FPR = 1e-3
FPR_MARKS = ("0.01", "0.001")  # marked on every curve (keys of a row's tpr_at_fpr)


@dataclasses.dataclass(frozen=True)
class Curve:
    key: str  # what the colour stands for across the figure: the attack (the canary kind for canaries)
    label: str  # legend text
    row: PrivacyRow  # the privacy row drawn
    seeds: int = 1  # rows this curve stands for (the median-AUC seed is drawn)
    dash: int = 0  # line style index (canaries: the ε, so colour = kind, line style = ε)


@dataclasses.dataclass(frozen=True)
class Panel:
    title: str
    curves: tuple[Curve, ...]
    left_out: tuple[str, ...] = ()  # attacks not drawn (a weaker variant of a family that is drawn)
    canary: bool = False


def _has_roc(r: PrivacyRow) -> bool:
    if r.roc is None:
        return False
    fpr, tpr = np.asarray(r.roc.fpr, float), np.asarray(r.roc.tpr, float)
    return fpr.size >= 2 and fpr.shape == tpr.shape and bool(np.isfinite(fpr).all())


def _auc(r: PrivacyRow) -> float:
    return -math.inf if r.auc is None else r.auc


def _median_row(rows: list[PrivacyRow]) -> PrivacyRow:
    """The row with the median AUC (the lower middle for an even count; ties: the lower seed)."""
    ranked = sorted(rows, key=lambda r: (_auc(r), str(r.seed)))
    return ranked[(len(ranked) - 1) // 2]


def family(attack: str) -> str:
    """``lira-online`` -> ``lira``; ``loss`` -> ``loss``."""
    return str(attack).split("-", 1)[0]


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _tpr_text(r: PrivacyRow, level: str) -> str:
    t = r.tpr_at_fpr.get(level)
    return "n/a" if t is None else f"{100 * t:.1f}%"


def curve_label(r: PrivacyRow, name: str, seeds: int = 1) -> str:
    """``NAME AUC 0.519 [0.488, 0.551]; TPR 1.9% @1%, n/a @0.1%`` (n/a: too few non-members to measure it)."""
    ci = r.ci.auc if r.ci is not None else None
    ci_text = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci is not None else ""
    out = (f"{name}  AUC {_fmt(r.auc)}{ci_text}; TPR {_tpr_text(r, '0.01')} @1%, "
           f"{_tpr_text(r, '0.001')} @0.1%")
    return out + (f" (median of {seeds} seeds)" if seeds > 1 else "")


def _chunks(title: str, curves: list[Curve], left_out: tuple[str, ...], canary: bool) -> list[Panel]:
    parts = [curves[i:i + MAX_CURVES] for i in range(0, len(curves), MAX_CURVES)] or [[]]
    if len(parts) == 1:
        return [Panel(title, tuple(parts[0]), left_out, canary)]
    return [Panel(f"{title} ({i + 1}/{len(parts)})", tuple(p), left_out if i == 0 else (), canary)
            for i, p in enumerate(parts)]


def roc_panels(privacy_rows: Iterable[PrivacyRow], dataset: str | None = None) -> list[Panel]:
    """The panels of ``dataset``'s ROC figure (every data set when None), in drawing order; rows without a
    stored ROC are left out. Each panel holds at most ``MAX_CURVES`` curves."""
    rows = [r for r in privacy_rows if _has_roc(r) and (dataset is None or r.dataset == dataset)]
    show_eps = any(math.isfinite(r.epsilon) for r in rows)
    membership: dict[tuple, dict[str, list[PrivacyRow]]] = defaultdict(lambda: defaultdict(list))
    canaries: dict[str, dict[tuple, list[PrivacyRow]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.one_run is not None:  # a one-run canary audit (one_run, one_run_gradient)
            canaries[r.method][(str(r.extra("canary_kind") or "canaries"), r.epsilon)].append(r)
        else:
            membership[(r.method, r.epsilon)][r.attack].append(r)
    return _membership_panels(membership, show_eps) + _canary_panels(canaries, show_eps)


def _membership_panels(membership: dict[tuple, dict[str, list[PrivacyRow]]], show_eps: bool) -> list[Panel]:
    """A panel per (method, ε): a curve per attack (the strongest of each family beyond ``MAX_CURVES``)."""
    panels: list[Panel] = []
    for (method, eps), by_attack in sorted(membership.items()):
        chosen = {a: _median_row(rs) for a, rs in by_attack.items()}
        left_out: tuple[str, ...] = ()
        if len(chosen) > MAX_CURVES:
            best: dict[str, str] = {}
            for a in sorted(chosen):
                f = family(a)
                if f not in best or _auc(chosen[a]) > _auc(chosen[best[f]]):
                    best[f] = a
            left_out = tuple(sorted(set(chosen) - set(best.values())))
            chosen = {a: chosen[a] for a in best.values()}
        curves = [Curve(a, curve_label(r, a, len(by_attack[a])), r, len(by_attack[a]))
                  for a, r in sorted(chosen.items(), key=lambda kv: (-_auc(kv[1]), kv[0]))]
        panels += _chunks(method + (f", ε={eps_symbol(eps)}" if show_eps else ""), curves, left_out, False)
    return panels


def _canary_panels(canaries: dict[str, dict[tuple, list[PrivacyRow]]], show_eps: bool) -> list[Panel]:
    """A panel per method's one-run audits: a curve per (canary kind, ε), colour = kind, line style = ε."""
    panels: list[Panel] = []
    for method, by_kind in sorted(canaries.items()):
        curves = []
        eps_order = sorted({eps for _, eps in by_kind}, reverse=True)  # ∞ first: solid
        for (kind, eps), rs in sorted(by_kind.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
            r = _median_row(rs)
            name = f"{kind}" + (f", ε={eps_symbol(r.epsilon)}" if show_eps else "")
            curves.append(Curve(f"canary:{kind}", curve_label(r, name, len(rs)), r, len(rs), eps_order.index(eps)))
        panels += _chunks(f"canaries (one-run audit): {method}", curves, (), True)
    return panels


def _xy(r: PrivacyRow) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(r.roc.fpr, float), np.asarray(r.roc.tpr, float)


def _tpr_at(r: PrivacyRow, level: str) -> float | None:
    """The row's reported TPR at FPR ≤ level (computed from its ROC when the row has none stored)."""
    t = r.tpr_at_fpr.get(level)
    if t is not None:
        return t
    if level in r.tpr_null_reason:
        return None  # not measurable with these non-members: do not draw a point
    fpr, tpr = _xy(r)
    ok = fpr <= float(level)
    return float(tpr[ok].max()) if ok.any() else None


def _lowest_fpr(panels: list[Panel]) -> float:
    """The axes' lower limit: ``MIN_FPR``, or the smallest positive FPR of a curve (not below 1e-6)."""
    lo = MIN_FPR
    for p in panels:
        for c in p.curves:
            pos = _xy(c.row)[0]
            pos = pos[pos > 0]
            if pos.size:
                lo = min(lo, max(float(pos.min()), 1e-6))
    return lo


def _draw_panel(ax, panel: Panel, keys: list[str], canary_keys: list[str], lo: float) -> None:
    """One panel: its curves with their TPR marks, the chance line, the FPR rules and the legend below."""
    for c in panel.curves:
        fpr, tpr = _xy(c.row)
        st = style(canary_keys.index(c.key) if panel.canary else keys.index(c.key))
        ls = LINESTYLES[c.dash % len(LINESTYLES)] if panel.canary else st["ls"]
        # zero FPR or TPR cannot sit on a log axis: drawn at the axis' edge
        ax.plot(np.maximum(fpr, 1e-12), np.maximum(tpr, 1e-12), ls=ls, color=st["color"], lw=1.5, label=c.label)
        for level in FPR_MARKS:
            t = _tpr_at(c.row, level)
            if t is not None and float(level) >= lo:
                ax.plot([float(level)], [max(t, lo)], st["marker"], color=st["color"], ms=4.5, mfc="white",
                        mew=1.3, zorder=3)
    ax.plot([1e-12, 1], [1e-12, 1], color=GREY, lw=0.9, ls="--", label="chance (AUC 0.5)")
    for level in FPR_MARKS:
        if float(level) >= lo:
            ax.axvline(float(level), color="0.6", lw=0.7, ls=":", zorder=0)
    ax.set_title(panel.title, fontsize=10)
    ax.set_box_aspect(1)
    ax.grid(True, which="major", alpha=0.25)
    handles, labels = ax.get_legend_handles_labels()
    if panel.left_out:
        handles.append(ax.plot([], [], " ")[0])
        labels.append(textwrap.fill("not drawn (weaker variants): " + ", ".join(panel.left_out), 72,
                                    break_on_hyphens=False))
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=6.5, frameon=False,
              ncols=1, handlelength=2.2)


def roc_figure(privacy_rows: Iterable[PrivacyRow], dataset: str,
               title: str | None = None) -> tuple[Figure, list[Panel]]:
    """The figure (not yet saved) and its panels."""
    panels = roc_panels(privacy_rows, dataset)
    n = max(len(panels), 1)
    ncols = 1 if n == 1 else 2 if n in (2, 4) else 3
    nrows = math.ceil(n / ncols)
    most = max((len(p.curves) + (2 if p.left_out else 0) for p in panels), default=0)
    fig = Figure(figsize=(4.6 * ncols, (3.9 + 0.19 * (most + 1)) * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
    keys = sorted({c.key for p in panels for c in p.curves if not c.key.startswith("canary:")})
    canary_keys = sorted({c.key for p in panels for c in p.curves if c.key.startswith("canary:")})
    lo = _lowest_fpr(panels)
    for ax, panel in zip(axes, panels):
        _draw_panel(ax, panel, keys, canary_keys, lo)
    if not panels:
        axes[0].text(0.5, 0.5, "no ROC curves stored", transform=axes[0].transAxes, ha="center", va="center",
                     color="0.4")
    for ax in axes[len(panels):] if panels else ():
        ax.set_visible(False)
    ax0 = axes[0]
    ax0.set_xscale("log")
    ax0.set_yscale("log")
    ax0.set_xlim(lo, 1)
    ax0.set_ylim(lo, 1)
    for ax in axes:
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
    fig.suptitle(title or f"Membership inference ROC — {dataset}\n"
                 "log-log; markers: TPR at 1% and 0.1% FPR (dotted lines); dashed: chance", fontsize=10)
    return fig, panels


def plot_roc(privacy_rows: Iterable[PrivacyRow], dataset: str, path: Path | str, *, pdf: bool = False) -> Path:
    """Write ``dataset``'s ROC figure to ``path`` (PNG, PDF, … from the suffix); with ``pdf`` also as
    ``<stem>.pdf``. Returns ``path``. Rows: results.json privacy rows (``dataset``, ``method``, ``epsilon``,
    ``attack``, ``roc``, ``auc``, ``ci``, ``tpr_at_fpr``; others are ignored)."""
    fig, _ = roc_figure(privacy_rows, dataset)
    return save(fig, path, pdf=pdf, bbox_inches="tight")[0]
