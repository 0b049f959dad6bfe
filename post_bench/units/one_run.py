"""``one_run`` unit: one-run audit (Steinke et al. 2023) of a prompt tuned with canaries each included with
probability ½ (planned by the one_run attack for itself). Logic: ``post_bench.attacks.one_run``.

Besides the ε lower bound from the fixed k+/k− guesses, the row carries the canary AUC (included vs left-out
canaries of the same run) with a bootstrap CI over canaries: the positive control that says whether the
attack can see memorisation at all."""

from __future__ import annotations

import numpy as np

from post_bench.attacks.extraction import canary_scores
from post_bench.attacks.metrics import attack_metrics, bootstrap_ci
from post_bench.attacks.one_run import audit, audit_best_of
from post_bench.models.soft_prompt import init_prompt
from post_bench.samples import write_samples
from post_bench.unit.schemas import OneRunConfig, OneRunRecord
from post_bench.units import unit_kind
from post_bench.units.evaluate import prompt_of


@unit_kind("one_run")
def run_one_run(unit, ctx, work, deps) -> OneRunRecord:
    cfg: OneRunConfig = unit.cfg
    train = ctx.private_train(cfg.dataset, cfg.seed, cfg.canaries)
    plan = train.meta["canary_plan"]
    soft, _ = prompt_of(deps)
    backbone = ctx.backbone(ctx.model_name(unit))
    scores = canary_scores(backbone, soft, plan.canaries, plan.labels, train.task, cfg.max_tokens,
                           cfg.eval_batch_size)
    if cfg.reference_init:  # calibrated: what training moved, not how likely the label was anyway
        ref = init_prompt(backbone, soft.shape[0], init=cfg.reference_init, text=train.task.instruction, seed=cfg.seed)
        scores = scores - canary_scores(backbone, ref, plan.canaries, plan.labels, train.task, cfg.max_tokens,
                                        cfg.eval_batch_size)
    m = len(plan.canaries)
    included = np.array(plan.included)
    delta = cfg.delta or 1.0 / len(train)
    if cfg.guesses:  # the best of a few fixed guess counts, Bonferroni-corrected to the stated confidence
        res, tried = audit_best_of(scores, included, guesses=cfg.guesses, delta=delta)
        how = (f"best of k in/k out guesses for k in {cfg.guesses}, each at {res.confidence:.4f} "
               f"(Bonferroni: the best holds at 0.95)")
    else:
        res = audit(scores, included, k_plus=cfg.k_plus or max(1, m // 4), k_minus=cfg.k_minus, delta=delta)
        tried, how = None, "fixed k+/k- guesses"
    kind = cfg.canaries.kind or "secret"
    row = {"dataset": cfg.dataset, "method": cfg.method, "epsilon": cfg.epsilon, "seed": cfg.seed,
           "claimed_epsilon": cfg.epsilon, "attack": "one_run", "auc": None, "tpr_at_fpr": {},
           "n_shadows": 0, "n_examples": m, "eps_lower_bound": res.eps_lower_bound,
           "eps_lower_bound_confidence": 0.95 if tried else res.confidence, "eps_lower_bound_threshold": how,
           "eps_lower_bound_fdp": res.eps_lower_bound_fdp, "eps_lower_bound_gdp": res.eps_lower_bound_gdp,
           "guess_choices": tried,
           "score": "calibrated: minus the untrained prompt's score" if cfg.reference_init else "raw",
           "eps_lower_bound_trials": f"{res.guesses} guesses on {m} canaries, one training run", "delta": delta,
           "attacked": f"a prompt tuned like {cfg.method}'s on the private set plus {int(included.sum())} of {m} "
                       f"{kind} canaries (each included with probability 1/2, repeated {plan.repetitions}x)",
           "canary_kind": kind, "one_run": res.to_dict(), "repetitions": plan.repetitions,
           "samples": write_samples(work, [{"canary": i, "score": float(v), "included": bool(inc)}
                                           for i, (v, inc) in enumerate(zip(scores, included))], "canaries")}
    if included.any() and not included.all():
        metrics = attack_metrics(scores, included).to_dict()
        row.update({"auc": metrics["auc"], "balanced_accuracy": metrics["balanced_accuracy"],
                    "tpr_at_fpr": metrics["tpr_at_fpr"], "tpr_null_reason": metrics["tpr_null_reason"],
                    "roc": metrics["roc"], "n_members": metrics["n_members"], "n_nonmembers": metrics["n_nonmembers"],
                    "ci": bootstrap_ci(scores, included, seed=cfg.seed)})
    return OneRunRecord(privacy=[row], model_name=backbone.name)
