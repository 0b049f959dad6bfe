"""White-box one-run audit of DP-SGD with gradient canaries (Steinke, Nasr, Jagielski, NeurIPS 2023, §7).

The black-box ``one_run`` audit asks whether a finished prompt memorised planted *inputs*; a 32-token prompt under
DP-SGD at ε = 8 does not measurably (reports/canaries: AUC 0.52, ε̂ 0). This audit asks the mechanism instead: m
Dirac gradient canaries (``training.gradient_canaries``), each in the training set with probability ½, join the
DP-SGD steps of the attacked prompt's own recipe, and each canary's score is what the auditor saw at its
coordinate, summed over the steps. The guesses and both bounds are the one-run ones (:mod:`.one_run`): the best
of k in + k out guesses for k = 5%, 10%, 20% of m, Bonferroni-corrected to 95%.

What is attacked is the training run (the mechanism), not a released prompt: the threat model is white-box
(every privatised gradient is released, as DP-SGD's guarantee allows) and, with ``view: known-data`` (default),
the auditor also knows the other examples' clipped gradients (DP's worst case). Any correct DP-SGD at ε must give
ε̂ ≤ ε at the stated confidence; a broken noise, clip, sampling rate or accountant shows as ε̂ > ε.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from post_bench.attacks.base import ATTACKS, CanaryAttack
from post_bench.attacks.one_run import default_guesses
from post_bench.data.canaries import GRADIENT
from post_bench.training.gradient_canaries import VIEWS


class GradientParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    view: Literal[VIEWS] = Field("known-data", description=(
        "one_run_gradient: what a canary's score subtracts from the released (noisy) gradient sum at its "
        "coordinate: `known-data` (the other examples' clipped gradients, known to DP's worst-case adversary: the "
        "strongest audit) or `released` (nothing: the data's gradients act as extra noise)."))


@ATTACKS.register("one_run_gradient")
class OneRunGradient(CanaryAttack):
    description = ("white-box one-run audit of DP-SGD (Steinke, Nasr, Jagielski 2023): Dirac gradient canaries, each "
                   "in the training set with probability 1/2, scored by the released noisy gradients at their "
                   "coordinates; ε lower bounds at 95%")
    kind = "canaries"
    Params = GradientParams
    unit_kind = "one_run_gradient"
    audits_training = True  # its unit reads the DP-SGD run (the tune unit), not the released prompt
    default_canaries, default_canary_kind, default_repetitions, include = 1000, GRADIENT, 1, "half"

    @classmethod
    def problems(cls, entry, suite) -> list[tuple[str, str]]:
        out = []
        if entry.canary_kind is not None:
            out.append(("canary_kind", "one_run_gradient plants gradient canaries only; leave canary_kind out"))
        if (entry.repetitions or 1) != 1:
            out.append(("repetitions", "one_run_gradient: each gradient canary is one example (repetitions 1)"))
        if entry.k_plus is not None or entry.k_minus:
            out.append(("k_plus", "one_run_gradient uses the best-of guesses; leave k_plus and k_minus out"))
        return out

    @classmethod
    def unit_settings(cls, entry, suite, count: int) -> dict:
        view = GradientParams.model_validate(entry.model_extra or {}).view
        return {"delta": suite.tuning.delta, "guesses": default_guesses(count), "view": view}
