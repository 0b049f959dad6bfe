"""``one_run_gradient`` unit: the white-box one-run audit of a DP-SGD run with gradient canaries (planned by the
one_run_gradient attack; its ``prompt`` input is the tune unit that put the canaries into its steps). Logic:
``post_bench.training.gradient_canaries`` (the scores) and ``post_bench.attacks.one_run`` (guesses, bounds, AUC)."""

from __future__ import annotations

from post_bench.attacks.one_run import audit_canaries
from post_bench.training.gradient_canaries import TRACE_FILE, load_trace
from post_bench.unit.schemas import OneRunGradientConfig, OneRunRecord
from post_bench.units import unit_kind
from post_bench.units.one_run import audit_row

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
    score = "sign x (released gradient sum" + (" - the other examples' clipped sum" if cfg.view == "known-data"
                                               else "") + ") at the canary's coordinate"
    row = audit_row(cfg, found, scores, canaries.included, work, attack="one_run_gradient", delta=delta,
                    score=f"{cfg.view}: {score}", attacked=f"the DP-SGD run of {cfg.method}'s prompt ({seen.steps} "
                    f"steps, sampling rate {rate:.3g}) with {int(canaries.included.sum())} of {len(canaries)} Dirac "
                    f"gradient canaries of norm {canaries.norm:g} x clip (each included with probability 1/2); "
                    f"{THREAT[cfg.view]}", canary_kind="gradient", repetitions=1, threat_model=THREAT[cfg.view])
    return OneRunRecord(privacy=[row], model_name=tune.record.model_name)
