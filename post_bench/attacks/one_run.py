"""One-run auditing (Steinke, Nasr, Jagielski, "Privacy Auditing with One (1) Training Run", NeurIPS 2023).

m canaries are each included independently with probability ½ in a single training run. The auditor
guesses "in" for the ``k_plus`` highest-scoring canaries and "out" for the ``k_minus`` lowest (abstaining
on the rest), both numbers fixed before looking at the scores. Under (ε, δ)-DP the number of correct
guesses W out of r = k_plus + k_minus satisfies ``P[W ≥ v] ≤ P[Binomial(r, e^ε/(1+e^ε)) ≥ v] + 2mδ·α``
(their Theorem 5.2, α as in ``p_value``); the lower bound is the largest ε that this rejects at the
stated confidence. ``audit`` also reports the f-DP bound of Mahloujifar, Melis, Chaudhuri (ICML 2025) on the same
guesses (:mod:`post_bench.attacks.fdp_one_run`). Pure numpy/scipy, except :func:`canary_signal`, which scores
the canaries on a model.

What the ``one_run`` unit runs: :func:`canary_signal` (the canaries' scores, optionally calibrated by the untrained
prompt), then :func:`audit_canaries` (the bound from the fixed guesses, or the best of a few guess counts, and the
canary AUC with its bootstrap CI: the positive control that says whether the attack sees memorisation at all).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

from post_bench.attacks.base import ATTACKS, CanaryAttack
from post_bench.attacks.extraction import canary_scores
from post_bench.attacks.fdp_one_run import epsilon_lower_bound_fdp, gdp_epsilon, mu_lower_bound_gdp
from post_bench.attacks.metrics import attack_metrics, bootstrap_ci

BOUND = "steinke-nasr-jagielski-2023"  # what OneRunResult.eps_lower_bound holds
BOUND_FDP = "mahloujifar-melis-chaudhuri-2025"  # eps_lower_bound_fdp ((ε, δ) curve) and the GDP fields
_TOL = 1e-10  # bisection tolerance on ε (was 1e-6: up to 9.5e-7 from jax_privacy's value at xtol 1e-12)


def p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """Probability of ≥ v correct guesses of r (m canaries) under the null hypothesis "(ε, δ)-DP"."""
    if not (0 <= v <= r <= m):
        raise ValueError(f"need 0 <= v <= r <= m; got v={v}, r={r}, m={m}")
    if eps < 0 or not 0 <= delta <= 1:
        raise ValueError(f"need eps >= 0 and delta in [0, 1]; got {eps}, {delta}")
    q = 1.0 / (1.0 + math.exp(-eps))  # accuracy of ε-DP randomised response
    beta = float(stats.binom.sf(v - 1, r, q))
    if delta == 0 or v == 0:
        return min(beta, 1.0)
    below = np.cumsum(stats.binom.pmf(v - np.arange(1, v + 1), r, q))  # P[v > Binomial ≥ v − i], i = 1..v
    alpha = float(np.max(below / np.arange(1, v + 1)))
    return min(beta + alpha * 2 * m * delta, 1.0)


def epsilon_lower_bound(m: int, r: int, v: int, *, delta: float, confidence: float = 0.95) -> float:
    """The largest ε with ``p_value(ε) < 1 − confidence`` (bisection, 1e-10); 0.0 when even ε = 0 is not rejected."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    level = 1.0 - confidence
    if p_value(m, r, v, 0.0, delta) >= level:
        return 0.0
    lo, hi = 0.0, 1.0
    while p_value(m, r, v, hi, delta) < level:
        lo, hi = hi, 2 * hi
        if hi > 1e3:
            return lo
    while hi - lo > _TOL:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p_value(m, r, v, mid, delta) < level else (lo, mid)
    return lo


@dataclasses.dataclass(frozen=True)
class OneRunResult:
    """``eps_lower_bound``: Steinke et al.'s bound (named by ``bound``), kept as the headline for old callers.
    ``eps_lower_bound_fdp``: Mahloujifar et al.'s bound against the (ε, δ)-DP trade-off curve (named by
    ``bound_fdp``) — like Steinke's, valid for any (ε, δ)-DP mechanism. ``mu_lower_bound_gdp`` /
    ``eps_lower_bound_gdp``: the same audit against Gaussian-DP curves (the largest μ rejected, and its ε at
    ``delta``; None when δ = 0) — tighter, but only meaningful if the mechanism's curve is Gaussian (DP-SGD-like)."""

    eps_lower_bound: float
    confidence: float
    delta: float
    m: int
    guesses: int
    correct: int
    k_plus: int
    k_minus: int
    eps_lower_bound_fdp: float | None = None
    eps_lower_bound_gdp: float | None = None
    mu_lower_bound_gdp: float | None = None
    bound: str = BOUND
    bound_fdp: str = BOUND_FDP

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def audit(scores: np.ndarray, included: np.ndarray, *, k_plus: int, k_minus: int = 0, delta: float,
          confidence: float = 0.95) -> OneRunResult:
    """Guess from canary scores (higher = more likely included) and bound ε (Steinke et al. and the f-DP bounds)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(included).astype(bool).ravel()
    if s.shape != y.shape or s.size == 0 or np.isnan(s).any():
        raise ValueError(f"scores and included must be non-empty, of one length, without NaN; got {s.size}, {y.size}")
    if k_plus < 0 or k_minus < 0 or not 0 < k_plus + k_minus <= s.size:
        raise ValueError(f"need k_plus, k_minus >= 0 and 0 < k_plus + k_minus <= {s.size}; got {k_plus}, {k_minus}")
    order = np.argsort(-s, kind="stable")
    correct = int(y[order[:k_plus]].sum()) + int((~y[order[s.size - k_minus:]]).sum() if k_minus else 0)
    r = k_plus + k_minus
    eps = epsilon_lower_bound(s.size, r, correct, delta=delta, confidence=confidence)
    eps_fdp = epsilon_lower_bound_fdp(s.size, r, correct, delta=delta, confidence=confidence, curve="eps-delta")
    mu = mu_lower_bound_gdp(s.size, r, correct, confidence=confidence)
    eps_gdp = gdp_epsilon(mu, delta) if delta > 0 else None
    return OneRunResult(eps, confidence, delta, int(s.size), r, correct, k_plus, k_minus,
                        eps_lower_bound_fdp=eps_fdp, eps_lower_bound_gdp=eps_gdp, mu_lower_bound_gdp=mu)


def default_guesses(m: int) -> list[int]:
    """Guesses per side tried by default: 5%, 10% and 20% of the m canaries (at least 1 each, distinct)."""
    return sorted({max(1, round(m * f)) for f in (0.05, 0.10, 0.20) if 2 * max(1, round(m * f)) <= m})


def audit_best_of(scores: np.ndarray, included: np.ndarray, *, guesses, delta: float,
                  confidence: float = 0.95) -> tuple[OneRunResult, list[dict]]:
    """One-run audits with k "in" and k "out" guesses for each k in ``guesses`` (fixed before the scores are seen),
    each at confidence 1 − (1 − ``confidence``)/len(guesses) (Bonferroni), so the largest of their bounds is a
    bound at ``confidence``: (the audit with the largest Steinke bound, every audit's summary)."""
    ks = [int(k) for k in guesses]
    if not ks or any(k < 1 for k in ks):
        raise ValueError(f"guesses: expected a non-empty list of positive counts; got {guesses!r}")
    each = 1.0 - (1.0 - confidence) / len(ks)
    results = [audit(scores, included, k_plus=k, k_minus=k, delta=delta, confidence=each) for k in ks]
    best = max(results, key=lambda r: (r.eps_lower_bound, r.eps_lower_bound_fdp or 0.0))
    return best, [{"k": r.k_plus, "correct": r.correct, "guesses": r.guesses, "eps_lower_bound": r.eps_lower_bound,
                   "eps_lower_bound_fdp": r.eps_lower_bound_fdp} for r in results]


def default_k_plus(m: int) -> int:
    """The "in" guesses when the fixed guesses leave k_plus unset: a quarter of the m canaries (at least 1)."""
    return max(1, m // 4)


def canary_signal(backbone, prompt, canaries, labels, task, max_tokens: int, batch_size: int,
                  reference=None) -> np.ndarray:
    """Each canary's score under ``prompt`` (higher = more likely included). Calibrated when ``reference`` (the
    untrained prompt) is given: minus the score under it, what training moved rather than how likely the planted
    label was anyway."""
    scores = canary_scores(backbone, prompt, canaries, labels, task, max_tokens, batch_size)
    if reference is not None:
        scores = scores - canary_scores(backbone, reference, canaries, labels, task, max_tokens, batch_size)
    return scores


def canary_auc(scores: np.ndarray, included: np.ndarray, *, seed: int) -> dict:
    """The positive control: AUC, balanced accuracy, TPR at low FPR and ROC of included vs left-out canaries of
    the run, with a bootstrap CI over canaries (``ci``); {} when all or none of the canaries were included."""
    included = np.asarray(included, dtype=bool)
    if not included.any() or included.all():
        return {}
    metrics = attack_metrics(scores, included).to_dict()
    keys = ("auc", "balanced_accuracy", "tpr_at_fpr", "tpr_null_reason", "roc", "n_members", "n_nonmembers")
    return {**{k: metrics[k] for k in keys}, "ci": bootstrap_ci(scores, included, seed=seed)}


@dataclasses.dataclass(frozen=True)
class CanaryAudit:
    """What a one-run audit of a prompt found: the audit (``result``) behind the headline bound, the confidence
    that bound holds at, how the guesses were chosen (``how``), every guess count tried (``tried``; None for
    fixed k+/k− guesses) and the canary AUC fields (:func:`canary_auc`)."""

    result: OneRunResult
    confidence: float
    how: str
    tried: list[dict] | None
    auc: dict


def audit_canaries(scores: np.ndarray, included, *, delta: float, guesses=None, k_plus: int | None = None,
                   k_minus: int = 0, seed: int = 0, confidence: float = 0.95) -> CanaryAudit:
    """The one-run audit of canary scores: with ``guesses``, the best of k in / k out guesses for each k
    (:func:`audit_best_of`, Bonferroni-corrected to ``confidence``); otherwise the fixed ``k_plus`` / ``k_minus``
    guesses (``k_plus`` None: :func:`default_k_plus`). Also the canary AUC (bootstrap CI seeded by ``seed``)."""
    included = np.asarray(included)
    if guesses:
        res, tried = audit_best_of(scores, included, guesses=guesses, delta=delta, confidence=confidence)
        how = (f"best of k in/k out guesses for k in {guesses}, each at {res.confidence:.4f} "
               f"(Bonferroni: the best holds at {confidence})")
        return CanaryAudit(res, confidence, how, tried, canary_auc(scores, included, seed=seed))
    res = audit(scores, included, k_plus=k_plus or default_k_plus(len(included)), k_minus=k_minus, delta=delta,
                confidence=confidence)
    return CanaryAudit(res, res.confidence, "fixed k+/k- guesses", None, canary_auc(scores, included, seed=seed))


@ATTACKS.register("one_run")
class OneRun(CanaryAttack):
    description = ("one-run audit (Steinke, Nasr, Jagielski 2023): canaries with planted labels, each in the private "
                   "set with probability 1/2, one training run; an ε lower bound from the top-k guesses at 95%")
    kind = "canaries"
    needs_base_model = True  # score: calibrated (the default) subtracts the untrained prompt's score
    unit_kind = "one_run"
    # defaults chosen by the audit-power sweep (reports/audit-power): canaries per run and their kind
    default_canaries, default_canary_kind, default_repetitions, include = 128, "nonsense", 1, "half"

    @classmethod
    def guesses(cls, entry) -> tuple[int, int]:
        """(k_plus, k_minus) of the fixed guesses (k_plus default: a quarter of the canaries)."""
        return entry.k_plus or (entry.canaries or cls.default_canaries) // 4, entry.k_minus

    @classmethod
    def problems(cls, entry, suite) -> list[tuple[str, str]]:
        if sum(cls.guesses(entry)) > (entry.canaries or cls.default_canaries):
            return [("k_plus", "k_plus + k_minus exceed the number of canaries")]
        return []

    @classmethod
    def fit_to_caps(cls, entry: dict, caps: dict) -> dict:
        """The fixed guesses made to fit the capped canaries."""
        k_plus = min(entry.get("k_plus") or 1, caps["canaries"])
        return {**entry, "k_plus": k_plus, "k_minus": min(entry.get("k_minus") or 0, caps["canaries"] - k_plus)}

    @classmethod
    def unit_settings(cls, entry, suite, count: int) -> dict:
        # δ: the one the prompt's DP claim is made at (tuning.delta; None: 1/N of its training set)
        out = {"k_plus": entry.k_plus, "k_minus": entry.k_minus, "delta": suite.tuning.delta}
        if entry.score == "calibrated":
            out["reference_init"] = suite.tuning.init
        if entry.k_plus is None and entry.k_minus == 0:  # no fixed guesses: the best of a few, corrected
            out["guesses"] = default_guesses(count)
        return out
