"""One-run auditing (Steinke, Nasr, Jagielski, "Privacy Auditing with One (1) Training Run", NeurIPS 2023).

m canaries are each included independently with probability ½ in a single training run. The auditor
guesses "in" for the ``k_plus`` highest-scoring canaries and "out" for the ``k_minus`` lowest (abstaining
on the rest), both numbers fixed before looking at the scores. Under (ε, δ)-DP the number of correct
guesses W out of r = k_plus + k_minus satisfies ``P[W ≥ v] ≤ P[Binomial(r, e^ε/(1+e^ε)) ≥ v] + 2mδ·α``
(their Theorem 5.2, α as in ``p_value``); the lower bound is the largest ε that this rejects at the
stated confidence. Pure numpy/scipy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

from post_bench.attacks.base import ATTACKS, Attack


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
    """The largest ε with ``p_value(ε) < 1 − confidence`` (bisection, 1e-6); 0.0 when even ε = 0 is not rejected."""
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
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p_value(m, r, v, mid, delta) < level else (lo, mid)
    return lo


@dataclasses.dataclass(frozen=True)
class OneRunResult:
    eps_lower_bound: float
    confidence: float
    delta: float
    m: int
    guesses: int
    correct: int
    k_plus: int
    k_minus: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def audit(scores: np.ndarray, included: np.ndarray, *, k_plus: int, k_minus: int = 0, delta: float,
          confidence: float = 0.95) -> OneRunResult:
    """Guess from canary scores (higher = more likely included) and bound ε."""
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
    return OneRunResult(eps, confidence, delta, int(s.size), r, correct, k_plus, k_minus)


@ATTACKS.register("one_run")
class OneRun(Attack):
    description = ("one-run audit (Steinke, Nasr, Jagielski 2023): canaries with planted labels, each in the private "
                   "set with probability 1/2, one training run; an ε lower bound from the top-k guesses at 95%")
    kind = "canaries"
