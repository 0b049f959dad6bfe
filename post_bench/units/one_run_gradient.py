"""``one_run_gradient`` unit: the white-box one-run audit of a DP-SGD run with gradient canaries (planned by the
one_run_gradient attack; its ``prompt`` input is the tune unit that put the canaries into its steps). Logic:
``post_bench.training.gradient_canaries`` (the scores) and ``post_bench.attacks.one_run`` (guesses, bounds, AUC)."""

from __future__ import annotations

from post_bench.attacks.one_run import audit_canaries
from post_bench.samples import write_samples
from post_bench.training.gradient_canaries import TRACE_FILE, load_trace
from post_bench.unit.schemas import OneRunGradientConfig, OneRunRecord
from post_bench.units import unit_kind

THREAT = {"known-data": "white-box: every privatised gradient released, the other examples' clipped gradients "
                        "known (DP's worst case)",
          "released": "white-box: every privatised gradient released"}


@unit_kind("one_run_gradient")
def run_one_run_gradient(unit, ctx, work, deps) -> OneRunRecord:
    cfg: OneRunGradientConfig = unit.cfg
    tune = deps["prompt"]
    canaries, seen, rate = load_trace(tune.folder / TRACE_FILE)
    scores = seen.scores(cfg.view)
    delta = cfg.delta or 1.0 / tune.record.n_train  # the run's claim's δ; none: 1/N of its training set
    found = audit_canaries(scores, canaries.included, delta=delta, guesses=cfg.guesses, seed=cfg.seed)
    res, m, n_in = found.result, len(canaries), int(canaries.included.sum())
    row = {"dataset": cfg.dataset, "method": cfg.method, "epsilon": cfg.epsilon, "seed": cfg.seed,
           "claimed_epsilon": cfg.epsilon, "attack": "one_run_gradient", "auc": None, "tpr_at_fpr": {},
           "n_shadows": 0, "n_examples": m, "eps_lower_bound": res.eps_lower_bound,
           "eps_lower_bound_confidence": found.confidence, "eps_lower_bound_threshold": found.how,
           "eps_lower_bound_fdp": res.eps_lower_bound_fdp, "eps_lower_bound_gdp": res.eps_lower_bound_gdp,
           "guess_choices": found.tried, "score": f"{cfg.view}: sign x (released gradient sum"
           + (" - the other examples' clipped sum" if cfg.view == "known-data" else "") + ") at the canary's coordinate",
           "eps_lower_bound_trials": f"{res.guesses} guesses on {m} canaries, one training run", "delta": delta,
           "attacked": f"the DP-SGD run of {cfg.method}'s prompt ({seen.steps} steps, sampling rate {rate:.3g}) with "
                       f"{n_in} of {m} Dirac gradient canaries of norm {canaries.norm:g} x clip (each included with "
                       f"probability 1/2); {THREAT[cfg.view]}",
           "canary_kind": "gradient", "one_run": res.to_dict(), "repetitions": 1, "threat_model": THREAT[cfg.view],
           "samples": write_samples(work, [{"canary": i, "score": float(v), "included": bool(inc)}
                                           for i, (v, inc) in enumerate(zip(scores, canaries.included))], "canaries")}
    row.update(found.auc)
    return OneRunRecord(privacy=[row], model_name=tune.record.model_name)
