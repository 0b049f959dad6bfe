"""From the scores of M prompts on a population to privacy rows: each prompt attacked in turn (the others as
its references), pooled metrics with bootstrap CIs, and an ε lower bound from the first prompt's outcomes."""

from __future__ import annotations

import numpy as np

from post_bench.attacks.base import ATTACKS, MembershipAttack, load_attacks
from post_bench.attacks.metrics import attack_metrics, bootstrap_ci, epsilon_lower_bound

CONFIDENCE = 0.95


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
    """``(statistics, is_member)`` over the ``targets`` (default all) prompts, each ``[len(targets) * N]``;
    each target's references are ``references(keep, target)``."""
    s = np.asarray(scores, dtype=np.float64)
    m = np.asarray(keep).astype(bool)
    if s.ndim != 2 or s.shape[0] < 2 or m.shape != s.shape:
        raise ValueError(f"need scores and keep of one shape [M >= 2, N]; got {s.shape}, {m.shape}")
    stats, member = [], []
    for t in range(s.shape[0]) if targets is None else targets:
        rest = references(m, t)
        if not rest.any():
            raise ValueError(f"prompt {t} has no reference left once its complement is excluded: "
                             f"{s.shape[0] - 1} other prompts are too few")
        stats.append(attack.statistic(s[t], s[rest], m[rest], variant))
        member.append(m[t])
    return np.concatenate(stats), np.concatenate(member)


def membership_rows(name: str, variants, scores: np.ndarray, keep: np.ndarray, *, delta: float, base: dict,
                    confidence: float = CONFIDENCE, n_boot: int = 1000, seed: int = 0,
                    bound_on: str = "the attacked prompt") -> list[dict]:
    """One privacy row per variant of attack ``name``. AUC/TPR pool every prompt as a target; the ε lower
    bound uses only prompt 0's outcomes (``bound_on`` says what prompt 0 is), its threshold chosen on one
    random half of them and bounded on the other."""
    load_attacks()
    attack = ATTACKS.get(name)()
    rows = []
    for variant in variants:
        stats, member = leave_one_out(attack, scores, keep, variant)
        m = attack_metrics(stats, member).to_dict()
        one, one_member = leave_one_out(attack, scores, keep, variant, targets=[0])
        bound = epsilon_lower_bound(one, one_member, delta=delta, confidence=confidence, seed=seed)
        rows.append({**base, "attack": attack.row_name(variant), "auc": m["auc"],
                     "balanced_accuracy": m["balanced_accuracy"], "tpr_at_fpr": m["tpr_at_fpr"],
                     "tpr_null_reason": m["tpr_null_reason"],
                     "ci": bootstrap_ci(stats, member, n_boot=n_boot, confidence=confidence, seed=seed),
                     "n_shadows": int(scores.shape[0] - 1), "n_examples": int(scores.shape[1]),
                     "n_members": m["n_members"], "n_nonmembers": m["n_nonmembers"],
                     "eps_lower_bound": bound.value, "eps_lower_bound_confidence": bound.confidence,
                     "eps_lower_bound_threshold": bound.threshold_choice,
                     "eps_lower_bound_trials": f"{bound.n_trials} outcomes of {bound_on} (held-out half)",
                     "delta": delta, "roc": m["roc"]})
    return rows
