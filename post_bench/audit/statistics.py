"""Membership statistics of the audited prompt on its candidates, one per attack: every registered membership
attack, as its class says (``attacks.base``), plus one audit-only attack. Pure numpy, but for the attacks that
score prompts themselves.

In report order (:func:`audit_attacks`):

- the attacks without references that read the prompt's logit-scaled confidence of the true label (``loss``);
- ``loss-calibrated``: that minus the base model's zero-shot confidence on the same candidate (difficulty
  calibration, Watson et al. 2022): an easy text scores high with or without the prompt; costs no training;
- with shadow prompts only, the attacks with references (``lira-*``, ``rmia-*``, each in its
  ``audit_variants``), computed on the candidates' columns (``shadow_in[k, i]``: candidate i was in shadow k's
  training half);
- the attacks with ``own_scores``, which score the prompt (and its shadows, if they need references) on the
  candidates themselves (:func:`own_statistics`).
"""

from __future__ import annotations

import numpy as np

from post_bench.attacks.base import ATTACKS, Examples, MembershipAttack


class ZeroShotCalibrated(MembershipAttack):
    """Reference-free difficulty calibration: the target's score minus the prompt-free model's score."""

    name = "loss-calibrated"
    description = ("LOSS calibrated by the base model's zero-shot confidence on the same example "
                   "(Watson et al. 2022); needs no shadow prompts")
    variants = ("default",)
    default_variants = ("default",)
    needs_shadows = False
    needs_references = False
    needs_base_model = True

    def __init__(self, zero_shot=None):
        super().__init__()
        self.zero_shot = None if zero_shot is None else np.asarray(zero_shot, dtype=np.float64)

    def statistic(self, target, refs, refs_in, variant):
        target = np.asarray(target, dtype=np.float64)
        if self.zero_shot is None or target.shape != self.zero_shot.shape:
            shape = None if self.zero_shot is None else self.zero_shot.shape
            raise ValueError(f"target {target.shape} and zero-shot scores {shape} differ in shape")
        return target - self.zero_shot


def audit_attacks(zero_shot=None, *, shadows: bool) -> list[tuple[MembershipAttack, str]]:
    """(attack, variant) pairs ``post-bench audit`` reports, in order; those with references only with
    ``shadows``. ``zero_shot``: the base model's scores of the candidates, for ``loss-calibrated``."""
    registered = [cls() for cls in map(ATTACKS.get, ATTACKS.names()) if issubclass(cls, MembershipAttack)]
    shared = [a for a in registered if not a.own_scores]
    attacks = ([a for a in shared if not a.needs_references] + [ZeroShotCalibrated(zero_shot)]
               + [a for a in shared if a.needs_references and shadows]
               + [a for a in registered if a.own_scores and (shadows or not a.needs_references)])
    return [(a, v) for a in attacks for v in a.variants_in_audit()]


def audit_row_names(*, shadows: bool) -> list[str]:
    """The rows ``post-bench audit`` reports on the given prompt, in order, with or without shadow prompts."""
    return [attack.row_name(variant) for attack, variant in audit_attacks(shadows=shadows)]


def candidate_statistics(target, zero_shot, shadow_scores=None, shadow_in=None) -> dict[str, np.ndarray]:
    """``{attack row name: statistic [N]}`` of the attacks that read the logit-scaled confidences: the
    reference-free ones always, those with references when ``shadow_scores`` [K, N] and ``shadow_in`` [K, N] are
    given (:func:`own_statistics` adds the attacks that score for themselves)."""
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 1:
        raise ValueError(f"target scores must be [N]; got shape {target.shape}")
    refs, refs_in = np.zeros((0, target.size)), np.zeros((0, target.size), bool)
    if shadow_scores is not None:
        refs, refs_in = np.asarray(shadow_scores, dtype=np.float64), np.asarray(shadow_in, dtype=bool)
        if refs.ndim != 2 or refs.shape[1] != target.size or refs_in.shape != refs.shape:
            raise ValueError(f"need shadow scores and masks [K, {target.size}]; got {refs.shape}, {refs_in.shape}")
    return {attack.row_name(variant): attack.statistic(target, refs, refs_in, variant)
            for attack, variant in audit_attacks(zero_shot, shadows=shadow_scores is not None)
            if not attack.own_scores}


def own_statistics(examples: Examples, prompt, shadow_prompts=None, shadow_in=None) -> dict[str, np.ndarray]:
    """``{attack row name: statistic [N]}`` of the attacks that score prompts themselves: the prompt [P, H] on
    the candidates ``examples``; with ``shadow_prompts`` [K, P, H] and ``shadow_in`` [K, N], the shadows too
    (as references, for the attacks that need them)."""
    out: dict[str, np.ndarray] = {}
    scored: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    none = np.zeros((0, len(examples))), np.zeros((0, len(examples)), bool)
    for attack, variant in audit_attacks(shadows=shadow_prompts is not None):
        if not attack.own_scores:
            continue
        if attack.name not in scored:
            target = attack.scores(examples, prompt[None])[0]
            refs = ((attack.scores(examples, shadow_prompts), np.asarray(shadow_in, dtype=bool))
                    if attack.needs_references else none)
            scored[attack.name] = (target, *refs)
        target, refs, refs_in = scored[attack.name]
        out[attack.row_name(variant)] = attack.statistic(target, refs, refs_in, variant)
    return out
