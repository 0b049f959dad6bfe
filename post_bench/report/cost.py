"""Cost from the results' cost rows.

- ``pipeline_costs`` / ``method_costs``: what one method's prompt costs, the sum over the units of its pipeline
  (its evaluate unit and every unit that fed it: distil, tune, transfer, dp_opt), split by the model doing the
  work. A unit shared by several methods (the source prompt used by POST, PTfer and direct transfer) counts in
  each pipeline: it is part of what each of those prompts costs. Attack units are audit cost, not method cost
  (the tables and claim 6 use these).
- ``suite_costs`` and ``plot_cost``: where a whole suite's compute went, per method and per stage — tuning,
  transfer, evaluation, shadow training (``shadow_prompts`` and ``shadows`` units) and attacks (``membership``
  units, each canary attack's unit kind and the canary prompts tuned for them) — with the one-off distillation
  apart. A unit serving several methods is split evenly between them, so the bars add up to the suite.
- ``distillation_one_off``: what the distillation cost when it was run (its ``one_off`` record, kept when the
  student comes from the cache), as opposed to what this run spent on the distill unit.
- ``tuning_cost_model`` and ``plot_cost_vs_tuning``: tuning + transfer cost against the number of private tuning
  steps n, fitted from the run's own units: direct(n) = c_d·n, POST(n) = c_s·n + T, break-even n* = T / (c_d − c_s).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from post_bench.attacks.base import ATTACKS
from post_bench.epsilon import eps_symbol, parse_epsilon
from post_bench.rows import CostRow, DistillRow

from .figures import GREY, LINESTYLES, OKABE_ITO, save
from .stats import t_interval


def _upstream(unit: str, by_id: Mapping[str, CostRow]) -> set:
    """``unit`` and every unit it depends on, directly or not (ids of recorded cost rows only)."""
    seen, stack = set(), [unit]
    while stack:
        uid = stack.pop()
        if uid in seen or uid not in by_id:
            continue
        seen.add(uid)
        stack.extend(by_id[uid].extra("deps") or [])
    return seen


def _recorded(cost_rows: Iterable[CostRow] | None) -> list[CostRow]:
    return [r for r in cost_rows or [] if r.unit]


def pipeline_costs(cost_rows: Iterable[CostRow] | None) -> list[dict]:
    """One row per evaluate unit: dataset, method, ε, seed, total wall time and FLOPs, and per (kind, role)
    segments. ``dataset`` and ``seed`` are None for cost rows written before they carried them; ε is a float
    (an evaluate unit's cost row without one, null in the file, evaluated a non-private prompt: ``math.inf``)."""
    rows = _recorded(cost_rows)
    by_id = {r.unit: r for r in rows}
    out = []
    for r in rows:
        if r.kind != "evaluate":
            continue
        seen = _upstream(r.unit, by_id)
        segments: dict = defaultdict(lambda: {"wall_s": 0.0, "flops": 0.0})
        for uid in seen:
            u = by_id[uid]
            key = (u.kind, u.model_role)
            segments[key]["wall_s"] += float(u.wall_s)
            segments[key]["flops"] += float(u.flops or 0)
        out.append({
            "dataset": r.dataset, "method": r.method, "epsilon": parse_epsilon(r.epsilon),
            "seed": r.seed, "units": len(seen),
            "wall_s": sum(s["wall_s"] for s in segments.values()),
            "flops": sum(s["flops"] for s in segments.values()),
            "target_flops": sum(s["flops"] for (k, role), s in segments.items() if role == "target"),
            "source_flops": sum(s["flops"] for (k, role), s in segments.items() if role == "source"),
            "segments": {f"{k}/{role}": v for (k, role), v in segments.items()},
        })
    return sorted(out, key=lambda p: (str(p["dataset"]), str(p["method"]), p["epsilon"], str(p["seed"])))


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
DISTILL_CACHED_LABEL = "distillation (one-off, from the cache)"
SHADOW_KINDS = frozenset({"shadow_prompts", "shadows"})
ATTACK_KINDS = frozenset({"membership"} | {ATTACKS.get(n).unit_kind for n in ATTACKS.names()
                                            if ATTACKS.get(n).needs_canaries})  # extraction, one_run, ...
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


def suite_costs(cost_rows: Iterable[CostRow] | None, distill_rows: Iterable[DistillRow] | None = None) -> dict:
    """``{"methods": {method: {stage: {"wall_s", "flops"}}}, "distill": {"wall_s", "flops", "units"},
    "one_off": [...], "total": {"wall_s", "flops", "units"}}``. A unit belongs to the methods of the evaluate and
    attack units it feeds (itself included), split evenly; distillation is kept apart: ``distill`` is what this
    run's distill units took, ``one_off`` what each distillation cost when it was run
    (``distillation_one_off``; from the results' ``distill`` rows when given)."""
    rows = _recorded(cost_rows)
    by_id = {r.unit: r for r in rows}
    serves: dict[str, set] = defaultdict(set)
    feeds_eval: set = set()
    for r in rows:
        if r.kind != "evaluate" and r.kind not in ATTACK_KINDS:
            continue
        for uid in _upstream(r.unit, by_id):
            serves[uid].add(r.method or UNATTRIBUTED)
            if r.kind == "evaluate":
                feeds_eval.add(uid)
    methods: dict = defaultdict(lambda: defaultdict(lambda: {"wall_s": 0.0, "flops": 0.0}))
    distill = {"wall_s": 0.0, "flops": 0.0, "units": 0}
    for r in rows:
        if r.kind == "distill":
            distill["wall_s"] += r.wall_s
            distill["flops"] += float(r.flops or 0.0)
            distill["units"] += 1
            continue
        owners = sorted(serves.get(r.unit) or {r.method or UNATTRIBUTED})
        stage = stage_of(r.kind, r.unit in feeds_eval or not serves.get(r.unit))
        for m in owners:
            methods[m][stage]["wall_s"] += r.wall_s / len(owners)
            methods[m][stage]["flops"] += float(r.flops or 0.0) / len(owners)
    total = {"wall_s": sum(r.wall_s for r in rows), "flops": sum(float(r.flops or 0.0) for r in rows),
             "units": len(rows)}
    return {"methods": {m: dict(v) for m, v in methods.items()}, "distill": distill,
            "one_off": distillation_one_off(distill_rows, rows), "total": total}


def distillation_one_off(distill_rows: Iterable[DistillRow] | None, cost_rows: Iterable[CostRow] | None) -> list[dict]:
    """What each distillation cost when it was run, one entry per distillation:
    ``{"wall_s", "flops", "device", "cached", "source", "run_wall_s"}``.

    From the ``distill`` rows' ``one_off`` record when they carry one (``source: "one_off"``; ``cached``: the
    student came from the cache, so this run only copied it, and ``run_wall_s`` is what the copy took when the
    run has exactly one distill unit); otherwise from the run's distill units (``source: "unit"``, ``cached``
    None: unknown, the rows predate the cache)."""
    rows = list(distill_rows or [])
    units = [r for r in cost_rows or [] if r.kind == "distill"]
    run_wall = units[0].wall_s if len(units) == 1 and len(rows) == 1 else None
    out = [{"wall_s": r.one_off.wall_s, "flops": r.one_off.flops, "device": r.one_off.device,
            "cached": bool(r.cached), "source": "one_off", "run_wall_s": run_wall}
           for r in rows if r.one_off is not None]
    if out:
        return out
    return [{"wall_s": u.wall_s, "flops": u.flops, "device": u.device, "cached": None, "source": "unit",
             "run_wall_s": u.wall_s} for u in units]


def one_off_text(entry: Mapping[str, Any]) -> str:
    """'1203.0 s, 2.10e+15 FLOPs on cuda (from the cache: this run copied it in 0.4 s)' and the like (``entry``:
    one of ``distillation_one_off``)."""
    flops = f", {entry['flops']:.2e} FLOPs" if entry["flops"] else ""
    device = f" on {entry['device']}" if entry["device"] else ""
    if entry["cached"] is True:
        copied = f" in {entry['run_wall_s']:.1f} s" if entry["run_wall_s"] is not None else ""
        origin = f"from the cache: distilled by an earlier run, this run copied it{copied}"
    elif entry["cached"] is False:
        origin = "distilled in this run"
    else:
        origin = "this run's distill unit; no one-off record"
    return f"{entry['wall_s']:.1f} s{flops}{device} ({origin})"


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds >= 36_000:
        return 3600.0, "h"
    if seconds >= 600:
        return 60.0, "min"
    return 1.0, "s"


def plot_cost(cost_rows: Iterable[CostRow], path: Path | str, *, pdf: bool = False,
              distill_rows: Iterable[DistillRow] | None = None) -> Path:
    """Where the suite's compute went: per method, its units' wall time (left) and estimated FLOPs (right),
    stacked by stage (tuning, transfer, evaluation, shadow training, attacks); the one-off distillation is a
    separate, hatched bar below a rule: its one-off cost from ``distill_rows`` (results.json ``distill``) when
    they record it, labelled "from the cache" when this run did not distil. Returns ``path``; with ``pdf`` also
    writes ``<stem>.pdf``."""
    costs = suite_costs(cost_rows, distill_rows)
    per = costs["methods"]
    methods = sorted(per, key=lambda m: (sum(v["wall_s"] for v in per[m].values()), m))
    one_off = costs["one_off"]
    has_distill = bool(one_off)
    distill = {k: sum(e[k] or 0.0 for e in one_off) for k in ("wall_s", "flops")}
    distill_label = DISTILL_CACHED_LABEL if one_off and all(e["cached"] for e in one_off) else DISTILL_LABEL
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
        biggest = max([sum(v[key] for v in per[m].values()) for m in methods] + [distill[key]])
        scale, unit = _time_unit(biggest) if key == "wall_s" else (1.0, "")
        left = np.zeros(len(methods))
        for stage, color in STAGES:
            xs = np.array([per[m].get(stage, {}).get(key, 0.0) for m in methods]) / scale
            if xs.any():
                ax.barh(y, xs, 0.65, left=left, color=color, label=stage, edgecolor="white", lw=0.5)
                left += xs
        if has_distill:
            ax.barh([y_distill], [distill[key] / scale], 0.65, color="white", edgecolor="0.3",
                    hatch="///", label=distill_label)
            ax.axhline(-0.65, color="0.3", lw=0.8)
        ax.set_xlabel(f"{label} ({unit})" if unit else label)
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_title(f"{label}, summed over units: {_total(costs, key, scale, unit)}", fontsize=10)
    if n:
        ticks = list(y) + ([y_distill] if has_distill else [])
        axes[0].set_yticks(ticks, methods + ([distill_label] if has_distill else []))
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


# ---- cost against the private tuning length ----------------------------------------------------------------

TUNING_STEP_KEYS = {"direct": "steps", "post": "tune_steps"}  # a method entry's override of suite.tuning.steps
COST_KEYS = (("flops", "FLOPs (estimated)"), ("wall_s", "wall time (s)"))


def tuning_steps(suite: Mapping[str, Any] | None, method: str) -> int | None:
    """The private tuning steps of ``method``'s prompts (``direct``: its target prompt; ``post``: its source prompt
    p_s): the method entry's override (``steps`` for direct, ``tune_steps`` for POST), else the suite's
    ``tuning.steps``; None when the suite does not say. ``suite``: the resolved suite results.json records (a
    mapping, as the suite file has it: a method entry is a name or a mapping)."""
    suite = suite or {}
    steps = (suite.get("tuning") or {}).get("steps")
    for entry in suite.get("methods") or []:
        entry = {"name": entry} if isinstance(entry, str) else entry
        if (entry.get("label") or entry["name"]) != method:
            continue
        override = entry.get(TUNING_STEP_KEYS.get(entry["name"], "steps"))
        if isinstance(override, int) and not isinstance(override, bool):
            steps = override
    return steps if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0 else None


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs))


def break_even(per_step_direct: float, per_step_source: float, transfer: float) -> float | None:
    """n* where c_d·n = c_s·n + T: T / (c_d − c_s); None when a source step costs at least a target step (the
    lines never cross for n > 0, direct tuning stays cheaper). Raises ValueError on negative or non-finite
    costs."""
    for name, v in (("per_step_direct", per_step_direct), ("per_step_source", per_step_source),
                    ("transfer", transfer)):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
            raise ValueError(f"{name}: {v!r} is not a finite cost >= 0")
    if per_step_direct <= per_step_source:
        return None
    return float(transfer) / (per_step_direct - per_step_source)


def tuning_cost_model(cost_rows: Iterable[CostRow] | None, suite: Mapping[str, Any] | None) -> dict | None:
    """The cost of tuning + transfer against the private tuning length n, fitted from this run's units only.

    Per ε (DP tuning costs more per step): c_d = mean over the direct prompts of their tune unit's cost / n_d,
    c_s = mean over the POST prompts of their source tune unit's cost / n_p, T = mean of POST's transfer unit
    (it does not depend on n); direct(n) = c_d·n, POST(n) = c_s·n + T, break-even n* = T / (c_d − c_s), for FLOPs
    and for wall time (where c includes each unit's fixed start-up). ``measured``: this run's tuning + transfer
    cost at its own n, the mean over data sets per seed, then mean and 95% t-interval over seeds. None when the
    run lacks direct or POST pipelines with their tune (and transfer) units, or the suite's step counts."""
    steps = {"direct": tuning_steps(suite, "direct"), "post": tuning_steps(suite, "post")}
    if None in steps.values():
        return None
    segment = {"direct": "tune/target", "post": "tune/source"}
    groups: dict = defaultdict(lambda: {"direct": [], "post": []})
    for p in pipeline_costs(cost_rows):
        m = p["method"]
        if m in segment and segment[m] in p["segments"] and (m == "direct" or "transfer/target" in p["segments"]):
            groups[p["epsilon"]][m].append(p)
    out = {}
    for eps, by in sorted(groups.items()):
        if not by["direct"] or not by["post"]:
            continue
        entry = {}
        for key, _ in COST_KEYS:
            c_d = _mean([p["segments"]["tune/target"][key] for p in by["direct"]]) / steps["direct"]
            c_s = _mean([p["segments"]["tune/source"][key] for p in by["post"]]) / steps["post"]
            transfer = _mean([p["segments"]["transfer/target"][key] for p in by["post"]])
            measured = {}
            for m in ("direct", "post"):
                per_seed: dict = defaultdict(list)
                for p in by[m]:
                    per_seed[p["seed"]].append(sum(v[key] for k, v in p["segments"].items()
                                                   if k.split("/")[0] not in ("distill", "evaluate")))
                iv = t_interval([_mean(v) for v in per_seed.values()])
                measured[m] = {"steps": steps[m], "mean": iv.mean, "ci_low": iv.low, "ci_high": iv.high, "n": iv.n}
            entry[key] = {"per_step_direct": c_d, "per_step_source": c_s, "transfer": transfer,
                          "break_even": break_even(c_d, c_s, transfer), "measured": measured,
                          "prompts": {m: len(by[m]) for m in by}}
        out[eps] = entry
    return {"steps": steps, "epsilons": out} if out else None


def _fmt_cost(x: float, key: str) -> str:
    return f"{x:.3g} s" if key == "wall_s" else f"{x:.2e}"


def cost_vs_tuning_caption(model: dict) -> str:
    """The figure's caption: the model, the break-even formula and its values per ε and metric."""
    parts = []
    for eps, entry in model["epsilons"].items():
        for key, label in COST_KEYS:
            e = entry[key]
            n_star = ("no break-even (a source step costs at least a target step)" if e["break_even"] is None
                      else f"n* = {e['break_even']:.1f} steps")
            parts.append(f"ε={eps_symbol(eps)}, {label.split(' (')[0]}: c_d = {_fmt_cost(e['per_step_direct'], key)}/step, "
                         f"c_s = {_fmt_cost(e['per_step_source'], key)}/step, T = {_fmt_cost(e['transfer'], key)} "
                         f"→ {n_star}")
    s = model["steps"]
    seeds = min(m["n"] for e in model["epsilons"].values() for m in e["flops"]["measured"].values())
    points = "mean and 95% t-interval over seeds" if seeds >= 2 else "one seed, no interval"
    return ("Tuning + transfer cost against the number of private tuning steps n (distillation and evaluation "
            "excluded), fitted from this run's units: direct(n) = c_d·n, POST(n) = c_s·n + T, with c_d and c_s the "
            "measured cost per tuning step on the target and on the source (each tune unit's cost / its steps, "
            "fixed start-up included) and T POST's measured transfer cost; POST is cheaper beyond the break-even "
            "n* = T / (c_d − c_s). " + "; ".join(parts)
            + f". Points: this run (direct n = {s['direct']}, POST n = {s['post']}), {points}.")


def plot_cost_vs_tuning(model: dict, path: Path | str, *, pdf: bool = False) -> Path:
    """Two panels (FLOPs, wall time): the lines direct(n) and POST(n) of ``tuning_cost_model`` per ε (line style),
    their break-even n* (dotted rule), and the run's measured points with their 95% t-interval over seeds."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    steps = model["steps"]
    colors = {"direct": OKABE_ITO[0], "post": OKABE_ITO[1]}
    names = {"direct": "direct tuning (target)", "post": "POST (source tuning + transfer)"}
    for ax, (key, label) in zip(axes, COST_KEYS):
        ends = [2 * max(steps.values())] + [1.3 * e[key]["break_even"] for e in model["epsilons"].values()
                                            if e[key]["break_even"] is not None]
        n = np.linspace(0, max(ends), 200)
        for i, (eps, entry) in enumerate(model["epsilons"].items()):
            e = entry[key]
            ls = LINESTYLES[i % len(LINESTYLES)]
            lines = {"direct": e["per_step_direct"] * n, "post": e["per_step_source"] * n + e["transfer"]}
            for m, y in lines.items():
                ax.plot(n, y, color=colors[m], ls=ls, lw=1.6, label=f"{names[m]}, ε={eps_symbol(eps)}")
                pt = e["measured"][m]
                err = None
                if pt["ci_low"] is not None:
                    err = [[pt["mean"] - pt["ci_low"]], [pt["ci_high"] - pt["mean"]]]
                ax.errorbar([pt["steps"]], [pt["mean"]], yerr=err, fmt="o", color=colors[m], capsize=3, ms=5)
            if e["break_even"] is not None:
                ax.axvline(e["break_even"], color=GREY, ls=":", lw=1)
                ax.annotate(f"n* = {e['break_even']:.1f} (ε={eps_symbol(eps)})", (e["break_even"], 0),
                            xytext=(3, 4 + 12 * i), textcoords="offset points", fontsize=8, color=GREY)
        ax.set_xlabel("private tuning steps n")
        ax.set_ylabel(f"tuning + transfer {label}")
        ax.set_xlim(0, n[-1])
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8, frameon=False)
    fig.suptitle("Tuning + transfer cost vs private tuning length (lines: fitted from this run; points: measured, "
                 "95% CI over seeds)", fontsize=10)
    return save(fig, path, pdf=pdf)[0]
