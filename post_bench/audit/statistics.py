"""Membership statistics of the audited prompt on its candidates, one per attack. Pure numpy.

- ``loss``: the prompt's own logit-scaled confidence of the true label (registry attack ``loss``);
- ``loss-calibrated``: that minus the base model's zero-shot confidence on the same candidate (difficulty
  calibration, Watson et al. 2022): an easy text scores high with or without the prompt; costs no training;
- ``lira-*`` / ``rmia-*``: the registry attacks with shadow prompts as references, computed on the
  candidates' columns (``shadow_in[k, i]``: candidate i was in shadow k's training half).
"""

from __future__ import annotations

import numpy as np

from post_bench.attacks.base import ATTACKS, MembershipAttack, load_attacks

SHADOW_ATTACKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lira", ("online", "offline", "fixed_variance")), ("rmia", ("online", "offline")))


class ZeroShotCalibrated(MembershipAttack):
    """Reference-free difficulty calibration: the target's score minus the prompt-free model's score."""

    name = "loss-calibrated"
    description = ("LOSS calibrated by the base model's zero-shot confidence on the same example "
                   "(Watson et al. 2022); needs no shadow prompts")
    variants = ("default",)
    default_variants = ("default",)
    needs_references = False

    def __init__(self, zero_shot):
        self.zero_shot = np.asarray(zero_shot, dtype=np.float64)

    def statistic(self, target, refs, refs_in, variant):
        target = np.asarray(target, dtype=np.float64)
        if target.shape != self.zero_shot.shape:
            raise ValueError(f"target {target.shape} and zero-shot scores {self.zero_shot.shape} differ in shape")
        return target - self.zero_shot


def candidate_statistics(target, zero_shot, shadow_scores=None, shadow_in=None) -> dict[str, np.ndarray]:
    """``{attack row name: statistic [N]}``: the reference-free attacks always, the shadow attacks when
    ``shadow_scores`` [K, N] and ``shadow_in`` [K, N] are given."""
    load_attacks()
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 1:
        raise ValueError(f"target scores must be [N]; got shape {target.shape}")
    none = np.zeros((0, target.size))
    out = {"loss": ATTACKS.get("loss")().statistic(target, none, none.astype(bool), "default"),
           ZeroShotCalibrated.name: ZeroShotCalibrated(zero_shot).statistic(target, none, none, "default")}
    if shadow_scores is None:
        return out
    refs, refs_in = np.asarray(shadow_scores, dtype=np.float64), np.asarray(shadow_in, dtype=bool)
    if refs.ndim != 2 or refs.shape[1] != target.size or refs_in.shape != refs.shape:
        raise ValueError(f"need shadow scores and masks [K, {target.size}]; got {refs.shape}, {refs_in.shape}")
    for name, variants in SHADOW_ATTACKS:
        attack = ATTACKS.get(name)()
        for variant in variants:
            out[attack.row_name(variant)] = attack.statistic(target, refs, refs_in, variant)
    return out
