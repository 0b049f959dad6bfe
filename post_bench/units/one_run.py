"""``one_run`` unit: one-run audit (Steinke et al. 2023) of a prompt tuned with canaries each included with
probability ½ (planned by the one_run attack for itself). Logic: ``post_bench.attacks.one_run``."""

from __future__ import annotations

import numpy as np

from post_bench.attacks.extraction import canary_scores
from post_bench.attacks.one_run import audit
from post_bench.runner.units import UNIT_KINDS
from post_bench.units.evaluate import prompt_of


@UNIT_KINDS.register("one_run")
def run_one_run(unit, ctx, work):
    cfg = unit.config
    train = ctx.private_train(cfg["dataset"], cfg["seed"], cfg["canaries"])
    plan = train.meta["canary_plan"]
    soft, _ = prompt_of(ctx, unit)
    backbone = ctx.backbone(ctx.model_name(unit))
    scores = canary_scores(backbone, soft, plan.canaries, plan.labels, train.task, cfg["max_tokens"],
                           cfg["eval_batch_size"])
    m = len(plan.canaries)
    delta = cfg.get("delta") or 1.0 / len(train)
    res = audit(scores, np.array(plan.included), k_plus=cfg["k_plus"] or max(1, m // 4), k_minus=cfg["k_minus"],
                delta=delta)
    row = {"dataset": cfg["dataset"], "method": cfg["method"], "epsilon": cfg["epsilon"], "seed": cfg["seed"],
           "claimed_epsilon": cfg["epsilon"], "attack": "one_run", "auc": None, "tpr_at_fpr": {},
           "n_shadows": 0, "n_examples": m, "eps_lower_bound": res.eps_lower_bound,
           "eps_lower_bound_confidence": res.confidence, "eps_lower_bound_threshold": "fixed k+/k- guesses",
           "eps_lower_bound_trials": f"{res.guesses} guesses on {m} canaries, one training run", "delta": delta,
           "one_run": res.to_dict(), "repetitions": plan.repetitions}
    return {"privacy": [row], "model_name": backbone.name}
