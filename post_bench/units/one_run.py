"""``one_run`` unit: one-run audit (Steinke et al. 2023) of a prompt tuned with canaries each included with
probability ½ (planned by the one_run attack for itself). Logic: ``post_bench.attacks.one_run`` (the canaries'
scores, calibrated or raw; the bound from fixed or best-of guesses; the canary AUC with its CI)."""

from __future__ import annotations

from post_bench.attacks.one_run import CanaryAudit, audit_canaries, canary_signal
from post_bench.models.soft_prompt import init_prompt
from post_bench.samples import write_samples
from post_bench.unit.schemas import OneRunConfig, OneRunRecord
from post_bench.units import unit_kind
from post_bench.units.evaluate import prompt_of


def audit_row(cfg, found: CanaryAudit, scores, included, work, **fields) -> dict:
    """The privacy row of a one-run canary audit (``one_run``, ``one_run_gradient``): the bounds, guesses and AUC
    of ``found`` on the canaries' ``scores``, which are written as the row's samples; ``fields``: what the attack
    adds (``attack``, ``delta``, ``score``, ``attacked``, ``canary_kind``, ...)."""
    res, m = found.result, len(scores)
    row = {"dataset": cfg.dataset, "method": cfg.method, "epsilon": cfg.epsilon, "seed": cfg.seed,
           "claimed_epsilon": cfg.epsilon, "auc": None, "tpr_at_fpr": {}, "n_shadows": 0, "n_examples": m,
           "eps_lower_bound": res.eps_lower_bound, "eps_lower_bound_confidence": found.confidence,
           "eps_lower_bound_threshold": found.how, "eps_lower_bound_fdp": res.eps_lower_bound_fdp,
           "eps_lower_bound_gdp": res.eps_lower_bound_gdp, "guess_choices": found.tried,
           "eps_lower_bound_trials": f"{res.guesses} guesses on {m} canaries, one training run",
           "one_run": res.to_dict(), **fields,
           "samples": write_samples(work, [{"canary": i, "score": float(v), "included": bool(inc)}
                                           for i, (v, inc) in enumerate(zip(scores, included))], "canaries")}
    row.update(found.auc)  # the positive control: the canary AUC and its CI (none when all or none are included)
    return row


@unit_kind("one_run")
def run_one_run(unit, ctx, work, deps) -> OneRunRecord:
    cfg: OneRunConfig = unit.cfg
    train = ctx.private_train(cfg.dataset, cfg.seed, cfg.canaries)
    plan = train.meta["canary_plan"]
    soft, _ = prompt_of(deps)
    backbone = ctx.backbone(ctx.model_name(unit))
    reference = (init_prompt(backbone, soft.shape[0], init=cfg.reference_init, text=train.task.instruction,
                             seed=cfg.seed) if cfg.reference_init else None)  # the untrained prompt
    scores = canary_signal(backbone, soft, plan.canaries, plan.labels, train.task, cfg.max_tokens,
                           cfg.eval_batch_size, reference=reference)
    delta = cfg.delta or 1.0 / len(train)  # the prompt's claim's δ; none: 1/N of its training set
    found = audit_canaries(scores, plan.included, delta=delta, guesses=cfg.guesses, k_plus=cfg.k_plus,
                           k_minus=cfg.k_minus, seed=cfg.seed)
    n_in, kind = sum(bool(i) for i in plan.included), cfg.canaries.kind or "secret"
    row = audit_row(cfg, found, scores, plan.included, work, attack="one_run", delta=delta,
                    score="calibrated: minus the untrained prompt's score" if cfg.reference_init else "raw",
                    attacked=f"a prompt tuned like {cfg.method}'s on the private set plus {n_in} of "
                             f"{len(plan.canaries)} {kind} canaries (each included with probability 1/2, repeated "
                             f"{plan.repetitions}x)", canary_kind=kind, repetitions=plan.repetitions)
    return OneRunRecord(privacy=[row], model_name=backbone.name)
