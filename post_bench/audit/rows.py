"""From an attack's statistics to the numbers an audit reports, and the verdict. Pure numpy/scipy.

Per attack: AUC with a bootstrap CI over candidates (members and non-members resampled separately), the
same CI at a family-wise level over all attacks (what the verdict uses), TPR at 10% / 1% / 0.1% FPR with
the realized FPR, threshold and counts (or n/a with the reason), and an empirical ε lower bound.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from post_bench.attacks.metrics import attack_metrics, bootstrap_ci, epsilon_lower_bound, example_bootstrap_ci
from post_bench.attacks.operating_points import FPR_TARGETS, operating_points

CONFIDENCE = 0.95
N_BOOT = 1000
THRESHOLD_CHOICE = "bonferroni"  # every threshold on all outcomes, each at level (1 - confidence) / (2 x thresholds)
INDEPENDENCE = ("candidates' outcomes are treated as independent trials given membership; they come from one "
                "training run, so this holds only approximately (a correct DP guarantee bounds each candidate's "
                "influence, but the trials share the run's randomness)")


def familywise_confidence(n_attacks: int, confidence: float = CONFIDENCE) -> float:
    """Bonferroni: each of ``n_attacks`` CIs at this level makes all of them hold at ``confidence``."""
    return 1.0 - (1.0 - confidence) / max(1, n_attacks)


def attack_row(name: str, statistic, is_member, *, delta: float, n_attacks: int = 1, seed: int = 0,
               bound=None, bound_trials: str = "all candidates", confidence: float = CONFIDENCE,
               n_boot: int = N_BOOT) -> dict:
    """One attack's row for audit.json. ``statistic``/``is_member``: [N] (one prompt's outcomes: CIs resample
    members and non-members separately) or [M, N] (M prompts pooled on the same N examples: CIs resample
    examples, all M outcomes of one together, ``example_bootstrap_ci``). ``bound``: (statistics, is_member)
    for the ε lower bound when it should use other outcomes (default: the same); ``bound_trials`` says what."""
    s = np.asarray(statistic, dtype=np.float64)
    y = np.asarray(is_member, dtype=bool)
    m = attack_metrics(s, y)
    if s.ndim == 2:
        ci_fn, method = example_bootstrap_ci, "BCa bootstrap over examples (each example's outcomes together)"
    else:
        ci_fn, method = bootstrap_ci, "percentile bootstrap over candidates (members, non-members resampled apart)"
    ci = ci_fn(s, y, n_boot=n_boot, confidence=confidence, seed=seed)
    fw_conf = familywise_confidence(n_attacks, confidence)
    fw = ci_fn(s, y, n_boot=max(n_boot, 2000), confidence=fw_conf, seed=seed)["auc"]
    points = []
    for p in operating_points(s, y, FPR_TARGETS):
        d = p.to_dict()
        d["tpr_ci"] = ci["tpr_at_fpr"].get(f"{p.target_fpr:g}")
        points.append(d)
    bs, by = bound if bound is not None else (s.ravel(), y.ravel())
    eps = epsilon_lower_bound(bs, by, delta=delta, confidence=confidence, threshold_choice=THRESHOLD_CHOICE, seed=seed)
    return {
        "attack": name, "auc": m.auc, "auc_ci": ci["auc"], "ci_confidence": confidence, "n_boot": n_boot,
        "ci_method": method,
        "auc_ci_familywise": {"interval": fw, "confidence": fw_conf, "attacks": n_attacks},
        "balanced_accuracy": m.balanced_accuracy,
        "operating_points": points, "tpr_at_fpr": dict(m.tpr_at_fpr), "tpr_null_reason": dict(m.tpr_null_reason),
        "eps_lower_bound": {**eps.to_dict(), "trials": bound_trials, "assumption": INDEPENDENCE},
        "n_members": m.n_members, "n_nonmembers": m.n_nonmembers,
        "roc": {"fpr": list(m.fpr), "tpr": list(m.tpr)},
    }


def detectable_auc(n_members: int, n_nonmembers: int, n_attacks: int = 1, confidence: float = CONFIDENCE) -> float:
    """The smallest AUC whose family-wise interval would exclude 0.5 at these counts (normal approximation
    of the AUC's spread when there is no leakage: SE² = (n₁ + n₀ + 1) / (12 n₁ n₀), Mann-Whitney)."""
    se = math.sqrt((n_members + n_nonmembers + 1) / (12.0 * n_members * n_nonmembers))
    z = stats.norm.ppf(1.0 - (1.0 - familywise_confidence(n_attacks, confidence)) / 2.0)
    return min(1.0, 0.5 + float(z) * se)


def verdict(rows: list[dict], *, what: str = "candidates") -> dict:
    """The one-line answer: leakage detected when some attack's family-wise AUC interval lies above 0.5."""
    if not rows:
        raise ValueError("no attack rows")
    n_m, n_n = rows[0]["n_members"], rows[0]["n_nonmembers"]
    n = n_m + n_n
    k = len(rows)
    fw = rows[0]["auc_ci_familywise"]["confidence"]
    above = [r for r in rows if r["auc_ci_familywise"]["interval"][0] > 0.5]
    mde = detectable_auc(n_m, n_n, k)
    family = f"{100 * fw:.1f}% CIs: 95% family-wise over {k} attacks" if k > 1 else "95% CI"
    if above:
        best = max(above, key=lambda r: r["auc_ci_familywise"]["interval"][0])
        lo, hi = best["auc_ci_familywise"]["interval"]
        line = (f"Leakage detected: {best['attack']} AUC {best['auc']:.2f} [{lo:.2f}, {hi:.2f}] > 0.5 on {n} {what} "
                f"({n_m} members, {n_n} non-members; {family})")
        return {"leakage_detected": True, "line": line, "attack": best["attack"], "detectable_auc": mde}
    includes = all(r["auc_ci_familywise"]["interval"][0] <= 0.5 <= r["auc_ci_familywise"]["interval"][1] for r in rows)
    how = "every AUC CI includes 0.5" if includes else "no AUC CI lies above 0.5"
    line = (f"No leakage detected at this power: {how} (n={n}: {n_m} members, {n_n} non-members; {family}); "
            f"the smallest detectable effect is AUC ≈ {mde:.2f}")
    return {"leakage_detected": False, "line": line, "attack": None, "detectable_auc": mde}
