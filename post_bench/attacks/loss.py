"""LOSS attack (Yeom et al. 2018): reference-free, a low loss means a member."""

from __future__ import annotations

from post_bench.attacks.base import ATTACKS, ReferenceFreeAttack


@ATTACKS.register("loss")
class Loss(ReferenceFreeAttack):
    description = ("reference-free LOSS attack (Yeom et al. 2018): the target prompt's own logit-scaled confidence "
                   "of the true label (monotone in -loss); needs no shadow prompts")
    baseline = True  # the simplest attack: the report compares every other attack with it on the same outcomes
