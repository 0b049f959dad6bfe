"""``lira`` unit: leave-one-out LiRA over a ``shadows`` unit's arrays (re-analysis never retrains)."""

from __future__ import annotations

import json

import numpy as np

from post_bench.attacks.lira_math import leave_one_out
from post_bench.attacks.metrics import attack_metrics, epsilon_lower_bound
from post_bench.runner.units import UNIT_KINDS


def lira_rows(scores: np.ndarray, keep: np.ndarray, variants, delta: float, base: dict) -> list[dict]:
    """One privacy row per variant: each shadow attacked in turn, the others as its shadows."""
    rows = []
    for variant in variants:
        stats, member = leave_one_out(scores, keep, variant)
        m = attack_metrics(stats, member).to_dict()
        rows.append({**base, "attack": f"lira-{variant}", "auc": m["auc"],
                     "balanced_accuracy": m["balanced_accuracy"], "tpr_at_fpr": m["tpr_at_fpr"],
                     "n_shadows": int(scores.shape[0]), "n_examples": int(scores.shape[1]),
                     "eps_lower_bound": epsilon_lower_bound(stats, member, delta=delta), "delta": delta,
                     "roc": m["roc"]})
    return rows


@UNIT_KINDS.register("lira")
def run_lira(unit, ctx, work):
    cfg = unit.config
    folder = ctx.unit_dir(unit.deps["shadows"])
    scores = np.load(folder / "scores.npy", allow_pickle=False)
    keep = np.load(folder / "keep.npy", allow_pickle=False)
    record = json.loads((folder / "done.json").read_text())
    dp = record.get("dp")
    # δ the shadows were calibrated for (each shadow is (ε, δ)-DP); non-private: 1/population
    delta = (dp or {}).get("delta") or cfg.get("delta") or 1.0 / scores.shape[1]
    base = {"dataset": cfg["dataset"], "method": cfg["method"], "epsilon": cfg["epsilon"], "seed": cfg["seed"]}
    rows = lira_rows(scores, keep, cfg["variants"], delta, base)
    return {"privacy": rows, "model_name": record.get("model_name")}
