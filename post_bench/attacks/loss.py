"""LOSS attack (Yeom et al. 2018): reference-free, a low loss means a member."""

from __future__ import annotations

import numpy as np

from post_bench.attacks.base import ATTACKS, MembershipAttack


@ATTACKS.register("loss")
class Loss(MembershipAttack):
    description = ("reference-free LOSS attack (Yeom et al. 2018): the target prompt's own logit-scaled confidence "
                   "of the true label (monotone in -loss); needs no shadow prompts")
    variants = ("default",)
    default_variants = ("default",)
    needs_references = False  # in a suite it still runs on the shadows' prompts: every prompt attacked in turn
    baseline = True  # the simplest attack: the report compares every other attack with it on the same outcomes

    def statistic(self, target, refs, refs_in, variant):
        return np.asarray(target, dtype=np.float64).copy()
