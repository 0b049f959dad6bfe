"""LiRA (Carlini et al. 2022) as a registered membership attack; the maths is in ``lira_math``."""

from __future__ import annotations

from post_bench.attacks.base import ATTACKS, MembershipAttack
from post_bench.attacks.lira_math import lira_scores


@ATTACKS.register("lira")
class Lira(MembershipAttack):
    description = ("likelihood-ratio attack (Carlini et al. 2022): per-example Gaussians of the shadow prompts' "
                   "logit-scaled confidences; variants online (in and out), offline (out only), fixed_variance")
    variants = ("online", "offline", "fixed_variance", "offline_fixed_variance")
    default_variants = ("online", "offline", "fixed_variance")
    in_reference_variants = frozenset({"online", "fixed_variance"})  # per-example Gaussians of IN references

    def statistic(self, target, refs, refs_in, variant):
        return lira_scores(target, refs, refs_in, variant)
