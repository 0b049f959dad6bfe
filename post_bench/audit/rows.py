"""From an attack's statistics to the numbers an audit reports, and the verdict. Pure numpy/scipy.

Per attack, one :class:`post_bench.rows.PrivacyRow` (the row type of a run's results.json): AUC with a
bootstrap CI over candidates (members and non-members resampled separately) in ``ci``, the same CI at a
family-wise level over all attacks in ``ci_familywise`` (what the verdict uses), TPR at 10% / 1% / 0.1% FPR
with the realized FPR, threshold and counts in ``operating_points`` (or n/a with the reason), and an empirical
ε lower bound (``eps_lower_bound`` with its confidence, δ and how it was made).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from post_bench.attacks.metrics import attack_metrics, bootstrap_ci, epsilon_lower_bound, example_bootstrap_ci
from post_bench.attacks.operating_points import FPR_TARGETS, operating_points
from post_bench.rows import Intervals, PrivacyRow, TprPoint

CONFIDENCE = 0.95
N_BOOT = 1000
THRESHOLD_CHOICE = "bonferroni"  # every threshold on all outcomes, each at level (1 - confidence) / (2 x thresholds)
INDEPENDENCE = ("candidates' outcomes are treated as independent trials given membership; they come from one "
                "training run, so this holds only approximately (a correct DP guarantee bounds each candidate's "
                "influence, but the trials share the run's randomness)")
GIVEN, RECIPE = "the given prompt", "a recipe's shadows"
METHOD = {GIVEN: "the given prompt", RECIPE: "recipe shadows"}  # the rows' method: where the scored prompts came from
CANDIDATES_UNIT = "candidates (members and non-members resampled separately)"


def audited(attacked: str = GIVEN, dataset: str = "candidates", epsilon: float = math.inf,
            seed: int | None = None) -> dict:
    """The identity fields of an audit's rows: ``attacked`` (:data:`GIVEN` or :data:`RECIPE`), the data set (the
    task's name: ``--dataset``, else ``candidates``), ε (the recipe's, i.e. how the auditor says the prompt was
    tuned; inf when non-private) and the seed."""
    return {"dataset": dataset, "method": METHOD[attacked], "epsilon": epsilon, "attacked": attacked, "seed": seed}


def familywise_confidence(n_attacks: int, confidence: float = CONFIDENCE) -> float:
    """Bonferroni: each of ``n_attacks`` CIs at this level makes all of them hold at ``confidence``."""
    return 1.0 - (1.0 - confidence) / max(1, n_attacks)


def _intervals(statistic: np.ndarray, is_member: np.ndarray, *, confidence: float, n_boot: int,
               seed: int) -> Intervals:
    """``statistic`` [N]: one prompt's candidates, members and non-members resampled apart; [M, N]: M prompts
    on the same N examples, each example's M outcomes resampled together (``example_bootstrap_ci``)."""
    if statistic.ndim == 2:
        unit = f"examples (each example's {statistic.shape[0]} outcomes resampled together)"
        ci = example_bootstrap_ci(statistic, is_member, n_boot=n_boot, confidence=confidence, seed=seed, unit=unit)
    else:
        ci = {**bootstrap_ci(statistic, is_member, n_boot=n_boot, confidence=confidence, seed=seed),
              "unit": CANDIDATES_UNIT}
    return Intervals.model_validate(ci)


def _points(statistic: np.ndarray, is_member: np.ndarray, ci: Intervals) -> list[TprPoint]:
    return [TprPoint.model_validate({**p.to_dict(), "tpr_ci": ci.tpr_at_fpr[f"{p.target_fpr:g}"]})
            for p in operating_points(statistic, is_member, FPR_TARGETS)]


def _bound_fields(statistic, is_member, *, delta: float, confidence: float, seed: int, trials: str) -> dict:
    """The ε lower bound's fields of a row (``eps_lower_bound_threshold``/``_trials``/``_assumption`` as in a
    run's rows; ``_n_trials``, ``_at`` (the statistic's threshold) and ``_direction``: the audit's own)."""
    eps = epsilon_lower_bound(statistic, is_member, delta=delta, confidence=confidence,
                              threshold_choice=THRESHOLD_CHOICE, seed=seed)
    return {"eps_lower_bound": eps.value, "eps_lower_bound_confidence": eps.confidence, "delta": eps.delta,
            "eps_lower_bound_threshold": eps.threshold_choice, "eps_lower_bound_trials": trials,
            "eps_lower_bound_n_trials": eps.n_trials, "eps_lower_bound_at": eps.threshold,
            "eps_lower_bound_direction": eps.direction, "eps_lower_bound_assumption": INDEPENDENCE}


def attack_row(name: str, statistic, is_member, *, delta: float, n_attacks: int = 1, seed: int = 0,
               bound=None, bound_trials: str = "all candidates", confidence: float = CONFIDENCE,
               n_boot: int = N_BOOT, base: dict | None = None, samples: dict | None = None) -> PrivacyRow:
    """One attack's row for audit.json. ``statistic``/``is_member``: [N] (one prompt's outcomes: CIs resample
    members and non-members separately) or [M, N] (M prompts pooled on the same N examples: CIs resample
    examples, all M outcomes of one together, ``example_bootstrap_ci``). ``bound``: (statistics, is_member)
    for the ε lower bound when it should use other outcomes (default: the same); ``bound_trials`` says what.
    ``base``: the identity fields (:func:`audited`; default: the given prompt on ``candidates``);
    ``samples``: the reference of the per-candidate samples file."""
    s = np.asarray(statistic, dtype=np.float64)
    y = np.asarray(is_member, dtype=bool)
    ci = _intervals(s, y, confidence=confidence, n_boot=n_boot, seed=seed)
    fw = _intervals(s, y, confidence=familywise_confidence(n_attacks, confidence), n_boot=max(n_boot, 2000),
                    seed=seed)
    bs, by = bound if bound is not None else (s.ravel(), y.ravel())
    return PrivacyRow.model_validate({
        **(base or audited(seed=seed)), "attack": name, **attack_metrics(s, y).to_dict(), "n_examples": s.shape[-1],
        "ci": ci, "ci_familywise": fw, "n_attacks": n_attacks, "operating_points": _points(s, y, ci),
        **_bound_fields(bs, by, delta=delta, confidence=confidence, seed=seed, trials=bound_trials),
        **({"samples": samples} if samples is not None else {})})


def detectable_auc(n_members: int, n_nonmembers: int, n_attacks: int = 1, confidence: float = CONFIDENCE) -> float:
    """The smallest AUC whose family-wise interval would exclude 0.5 at these counts (normal approximation
    of the AUC's spread when there is no leakage: SE² = (n₁ + n₀ + 1) / (12 n₁ n₀), Mann-Whitney)."""
    se = math.sqrt((n_members + n_nonmembers + 1) / (12.0 * n_members * n_nonmembers))
    z = stats.norm.ppf(1.0 - (1.0 - familywise_confidence(n_attacks, confidence)) / 2.0)
    return min(1.0, 0.5 + float(z) * se)


def _familywise(r: PrivacyRow) -> tuple[float, float]:
    return r.ci_familywise.auc


def verdict(rows: list[PrivacyRow], *, what: str = "candidates") -> dict:
    """The one-line answer: leakage detected when some attack's family-wise AUC interval lies above 0.5."""
    if not rows:
        raise ValueError("no attack rows")
    n_m, n_n = rows[0].n_members, rows[0].n_nonmembers
    n = n_m + n_n
    k = len(rows)
    fw = rows[0].ci_familywise.confidence
    above = [r for r in rows if _familywise(r)[0] > 0.5]
    mde = detectable_auc(n_m, n_n, k)
    family = f"{100 * fw:.1f}% CIs: 95% family-wise over {k} attacks" if k > 1 else "95% CI"
    if above:
        best = max(above, key=lambda r: _familywise(r)[0])
        lo, hi = _familywise(best)
        line = (f"Leakage detected: {best.attack} AUC {best.auc:.2f} [{lo:.2f}, {hi:.2f}] > 0.5 on {n} {what} "
                f"({n_m} members, {n_n} non-members; {family})")
        return {"leakage_detected": True, "line": line, "attack": best.attack, "detectable_auc": mde}
    includes = all(_familywise(r)[0] <= 0.5 <= _familywise(r)[1] for r in rows)
    how = "every AUC CI includes 0.5" if includes else "no AUC CI lies above 0.5"
    line = (f"No leakage detected at this power: {how} (n={n}: {n_m} members, {n_n} non-members; {family}); "
            f"the smallest detectable effect is AUC ≈ {mde:.2f}")
    return {"leakage_detected": False, "line": line, "attack": None, "detectable_auc": mde}
