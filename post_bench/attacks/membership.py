"""From the scores of M prompts on a population to privacy rows: each prompt attacked in turn (the others as
its references), pooled metrics with example-bootstrap CIs, the attacked prompt's own AUC, and an ε lower
bound from every attacked prompt's outcomes.

The pooled outcomes are M x N (prompt, example) pairs, not M N independent trials: the outcomes on one example
share its difficulty and its reference scores. CIs therefore resample examples (all M outcomes of an example
together); the ε lower bound splits by example but still treats outcomes as independent trials, and says so.
"""

from __future__ import annotations

import numpy as np

from post_bench.attacks.base import ATTACKS, MembershipAttack
from post_bench.attacks.metrics import attack_metrics, epsilon_lower_bound, example_bootstrap_ci

CONFIDENCE = 0.95
SUITE_PROMPT = "the suite's prompt"
EPS_ASSUMPTION = ("outcomes treated as independent trials given membership; they share examples and references, "
                  "so this is an estimate, not a certified bound (the canary one-run bound is)")


def references(keep: np.ndarray, target: int) -> np.ndarray:
    """Bool mask of the prompts that may serve as ``target``'s references: every other prompt except one whose
    training set is the exact complement of the target's on the scored examples (a complementary shadow's
    membership is a function of the target's, not an independent draw; kept as a reference it pushed
    online LiRA to AUC 0.43-0.47 at 8 shadows, 0.15-0.33 at 2). The attacked prompt has no complement
    among its shadows, so this only matters when a shadow is attacked in turn."""
    m = np.asarray(keep).astype(bool)
    rest = np.arange(m.shape[0]) != target
    return rest & ~np.all(m == ~m[target], axis=1)


def leave_one_out(attack: MembershipAttack, scores: np.ndarray, keep: np.ndarray, variant: str,
                  targets=None) -> tuple[np.ndarray, np.ndarray]:
    """``(statistics, is_member)`` over the ``targets`` (default all) prompts, each ``[len(targets) * N]``
    (target by target); each target's references are ``references(keep, target)``. The pipeline's only
    leave-one-out."""
    s = np.asarray(scores, dtype=np.float64)
    m = np.asarray(keep).astype(bool)
    if s.ndim != 2 or s.shape[0] < 2 or m.shape != s.shape:
        raise ValueError(f"need scores and keep of one shape [M >= 2, N]; got {s.shape}, {m.shape}")
    idx = list(range(s.shape[0])) if targets is None else [int(t) for t in targets]
    if not idx or any(not 0 <= t < s.shape[0] for t in idx):
        raise ValueError(f"targets must be a non-empty list of indices in [0, {s.shape[0] - 1}]; got {targets}")
    stats, member = [], []
    for t in idx:
        rest = references(m, t)
        if not rest.any():
            raise ValueError(f"prompt {t} has no reference left once its complement is excluded: "
                             f"{s.shape[0] - 1} other prompts are too few")
        stats.append(attack.statistic(s[t], s[rest], m[rest], variant))
        member.append(m[t])
    return np.concatenate(stats), np.concatenate(member)


def membership_rows(name: str, variants, scores: np.ndarray, keep: np.ndarray, *, delta: float, base: dict,
                    confidence: float = CONFIDENCE, n_boot: int = 1000, seed: int = 0,
                    prompt0: str | None = None, bound_on: str | None = None) -> list[dict]:
    """One privacy row per variant of attack ``name`` on ``scores``/``keep`` [M, N] (row 0: the attacked prompt,
    rows 1..M-1 its shadows), every prompt attacked in turn with the others as references.

    - ``auc``, ``balanced_accuracy``, ``tpr_at_fpr``, ``roc``: the M N pooled outcomes.
    - ``ci``: ``example_bootstrap_ci``, a bootstrap over the N examples, each replicate taking all M outcomes
      of a drawn example together; symmetric studentized (bootstrap-t) for the AUC, percentile for TPR.
      Resampling the pooled outcomes as if independent made 95% CIs of online/fixed-variance LiRA exclude
      AUC 0.5 in 11.5-16% of null runs (8 shadows, 128 examples); this keeps it at ~5% for every registered
      attack with 2, 8 and 16 shadows (tests/test_membership_null.py). The M prompts themselves are not
      resampled: the CI covers a new draw of examples, given these prompts.
    - ``auc_attacked_prompt``/``ci_attacked_prompt``: prompt 0's N outcomes alone (the number for the prompt
      that ships), its CI over its examples (``example_bootstrap_ci`` with M = 1).
    - ``eps_lower_bound``: ``epsilon_lower_bound(threshold_choice="split")`` on all M N outcomes, a random half
      of the examples (all their outcomes) picking the threshold and the other half bounded. Clopper-Pearson
      treats those outcomes as independent trials; they share examples and references, so the row says it is
      an estimate (``eps_lower_bound_assumption``), not a certified bound. Under the null model it was > 0 in
      under 1% of runs; with members shifted by one noise SD it was > 0 for every attack, where prompt 0's
      outcomes alone gave 0 for online LiRA.

    ``prompt0`` names row 0 (default: the suite's prompt); ``bound_on`` is its former name, still accepted.
    """
    s = np.asarray(scores, dtype=np.float64)
    m = np.asarray(keep).astype(bool)
    if s.ndim != 2 or s.shape[0] < 2 or m.shape != s.shape:
        raise ValueError(f"need scores and keep of one shape [M >= 2, N]; got {s.shape}, {m.shape}")
    if prompt0 is not None and bound_on is not None and prompt0 != bound_on:
        raise ValueError("pass prompt0 or its old name bound_on, not both")
    rows = []
    for variant in variants:
        row_name, stats, member = variant_statistics(name, variant, s, m)
        rows.append(statistics_row(row_name, stats, member, delta=delta, base=base, confidence=confidence,
                                   n_boot=n_boot, seed=seed, prompt0=prompt0 or bound_on))
    return rows


def variant_statistics(name: str, variant: str, scores: np.ndarray, keep: np.ndarray,
                       attack: MembershipAttack | None = None):
    """(row name, statistics [M, N], memberships [M, N]) of one variant of attack ``name`` (``attack``: an
    instance of it with its parameters; default: with its default ones), every prompt attacked in turn with the
    others as references."""
    attack = ATTACKS.get(name)() if attack is None else attack
    s = np.asarray(scores, dtype=np.float64)
    stats, member = leave_one_out(attack, s, keep, variant)
    return attack.row_name(variant), stats.reshape(s.shape), member.reshape(s.shape)


def statistics_row(attack_name: str, stats: np.ndarray, member: np.ndarray, *, delta: float, base: dict,
                   confidence: float = CONFIDENCE, n_boot: int = 1000, seed: int = 0,
                   prompt0: str | None = None) -> dict:
    """The privacy row of one attack variant from its per-(prompt, example) statistics and memberships [M, N]
    (row 0 the attacked prompt): everything ``membership_rows`` documents, and what ``post-bench report``
    re-derives from a run's samples files (the row's ``n_boot`` and ``seed`` make the bootstrap repeatable)."""
    stats = np.asarray(stats, dtype=np.float64)
    member = np.asarray(member).astype(bool)
    if stats.ndim != 2 or member.shape != stats.shape:
        raise ValueError(f"need statistics and memberships of one shape [M, N]; got {stats.shape}, {member.shape}")
    n_prompts, n = stats.shape
    first = prompt0 or SUITE_PROMPT
    attacked = (f"{first} and its {n_prompts - 1} shadows, each attacked in turn" if first == SUITE_PROMPT else
                f"{first} and {n_prompts - 1} other prompts, each attacked in turn")
    pooled = f"examples (the {n_prompts} prompts' outcomes on one example resampled together)"
    examples = np.broadcast_to(np.arange(n), stats.shape).T.ravel()
    met = attack_metrics(stats, member).to_dict()
    ci = example_bootstrap_ci(stats, member, n_boot=n_boot, confidence=confidence, seed=seed, unit=pooled)
    one, one_ci = None, None
    if member[0].any() and not member[0].all():
        one = attack_metrics(stats[0], member[0]).auc
        one_ci = example_bootstrap_ci(stats[:1], member[:1], n_boot=n_boot, confidence=confidence, seed=seed,
                                      unit=f"examples (one outcome each: {first} attacked, the other prompts its references)")
    bound = epsilon_lower_bound(stats.T.ravel(), member.T.ravel(), delta=delta, confidence=confidence,
                                threshold_choice="split", seed=seed, groups=examples)
    held_out = n - n // 2
    return {**base, "attack": attack_name, "attacked": attacked, "auc": met["auc"],
            "balanced_accuracy": met["balanced_accuracy"], "tpr_at_fpr": met["tpr_at_fpr"],
            "tpr_null_reason": met["tpr_null_reason"], "ci": ci,
            "auc_attacked_prompt": one, "ci_attacked_prompt": one_ci,
            "n_prompts": int(n_prompts), "n_shadows": int(n_prompts - 1), "n_examples": int(n),
            "n_members": met["n_members"], "n_nonmembers": met["n_nonmembers"],
            "eps_lower_bound": bound.value, "eps_lower_bound_confidence": bound.confidence,
            "eps_lower_bound_threshold": bound.threshold_choice,
            "eps_lower_bound_trials": (f"{n_prompts * held_out} outcomes of {n_prompts} prompts x {held_out} "
                                       f"examples (the held-out half of {n}; the other {n // 2} "
                                       "picked the threshold)"),
            "eps_lower_bound_assumption": EPS_ASSUMPTION,
            "delta": delta, "roc": met["roc"]}
