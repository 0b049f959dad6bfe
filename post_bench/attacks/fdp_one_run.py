"""f-DP one-run audit (Mahloujifar, Melis, Chaudhuri, "Auditing f-Differential Privacy in One Run", ICML 2025).

Same experiment as :mod:`post_bench.attacks.one_run` (Steinke, Nasr, Jagielski 2023): m canaries, each included
independently with probability ½ in one training run; the auditor makes r guesses ("in" or "out", abstaining on
the rest) and v of them are correct. Instead of reducing the null hypothesis to (ε, δ)-DP randomised response,
the null hypothesis here is a whole trade-off curve f (the mechanism is f-DP with respect to every canary), and
the paper's recursion bounds how likely v or more correct guesses are under it.

The recursion (their Algorithm 3, in the "with cap" form of the authors' and jax_privacy's code), with
τ = 1 − confidence, k = r guesses, c = v correct and the blow-up function f̄(x) = 1 − f(x)::

    ρ_c = τ·c/m,  η_c = τ·(k − c)/m
    for i = c−1, …, 0:   η_i = max(η_{i+1}, f̄⁻¹(ρ_{i+1}))
                         ρ_i = min(ρ_{i+1} + i/(k − i)·(η_i − η_{i+1}), 1)
    the claim "f-DP" is rejected at level τ iff ρ_0 + η_0 > k/m.

The empirical lower bound is then the largest privacy parameter whose curve is rejected:

- ``curve="eps-delta"``: f is the trade-off function of (ε, δ)-DP, f(x) = max(0, 1−δ−e^ε·x, e^−ε·(1−δ−x));
  the bound is an ε lower bound for (ε, δ)-DP with no further assumption, directly comparable with Steinke's.
- ``curve="gdp"``: f is Gaussian DP, f(x) = Φ(Φ⁻¹(1−x) − μ). :func:`mu_lower_bound_gdp` gives the largest μ
  rejected; ``epsilon_lower_bound_fdp(..., curve="gdp")`` reports it as the ε at which the Gaussian mechanism with
  that μ is (ε, δ)-DP (Balle & Wang 2018) — the quantity that jax_privacy's ``epsilon_one_run_fdp`` returns. It
  assumes the mechanism's privacy curve *is* Gaussian (as for DP-SGD): it is not a bound on ε for an arbitrary
  (ε, δ)-DP mechanism, and it needs δ > 0 (no finite μ is (ε, 0)-DP).

Pure numpy/scipy. The searches for the largest rejected ε or μ end on its rejected side, within 1e-10.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from scipy import optimize, special

CURVES = ("eps-delta", "gdp")
_EPS_CAP = 1e3  # searches stop doubling beyond this (ε or μ): the bound is then reported as the last doubled value
_TOL = 1e-10


def _counts(m: int, r: int, v: int) -> tuple[int, int, int]:
    try:
        m, r, v = operator.index(m), operator.index(r), operator.index(v)
    except TypeError:
        raise ValueError(f"m, r and v must be integers; got m={m!r}, r={r!r}, v={v!r}") from None
    if not (0 <= v <= r <= m and m >= 1):
        raise ValueError(f"need 0 <= v <= r <= m and m >= 1; got v={v}, r={r}, m={m}")
    return m, r, v


def _level(confidence: float) -> float:
    if not 0 < confidence < 1:  # also refuses NaN
        raise ValueError(f"confidence must lie in (0, 1); got {confidence}")
    return 1.0 - confidence


def _delta(delta: float) -> float:
    if not 0 <= delta <= 1:
        raise ValueError(f"delta must lie in [0, 1]; got {delta}")
    return float(delta)


def eps_delta_blow_up_inverse(eps: float, delta: float) -> Callable[[float], float]:
    """f̄⁻¹ for the trade-off function of (ε, δ)-DP: y ↦ max(0, (y − δ)·e^−ε, 1 − δ − e^ε·(1 − y))."""
    if not eps >= 0 or math.isinf(eps):
        raise ValueError(f"eps must be finite and >= 0; got {eps}")
    delta = _delta(delta)
    down, up = math.exp(-eps), math.exp(eps)

    def inverse(y: float) -> float:
        return max(0.0, (y - delta) * down, 1.0 - delta - up * (1.0 - y))

    return inverse


def gdp_blow_up_inverse(mu: float) -> Callable[[float], float]:
    """f̄⁻¹ for μ-Gaussian DP: y ↦ Φ(Φ⁻¹(y) − μ)."""
    if not mu >= 0 or math.isinf(mu):
        raise ValueError(f"mu must be finite and >= 0; got {mu}")
    ndtr, ndtri = special.ndtr, special.ndtri

    def inverse(y: float) -> float:
        return float(ndtr(ndtri(y) - mu))

    return inverse


def gdp_delta(eps: float, mu: float) -> float:
    """δ(ε) of μ-GDP (Dong, Roth, Su 2019): Φ(−ε/μ + μ/2) − e^ε·Φ(−ε/μ − μ/2)."""
    if mu == 0:
        return 0.0
    a = special.log_ndtr(-eps / mu + mu / 2)
    b = eps + special.log_ndtr(-eps / mu - mu / 2)
    return float(math.exp(a) * -math.expm1(b - a)) if b < a else 0.0


def gdp_epsilon(mu: float, delta: float) -> float:
    """The smallest ε ≥ 0 at which μ-GDP implies (ε, δ)-DP (δ > 0)."""
    if not mu >= 0 or math.isinf(mu):
        raise ValueError(f"mu must be finite and >= 0; got {mu}")
    if not 0 < delta <= 1:
        raise ValueError(f"converting μ-GDP to ε needs delta in (0, 1]; got {delta}")
    if gdp_delta(0.0, mu) <= delta:
        return 0.0
    hi = 1.0
    while gdp_delta(hi, mu) > delta:
        hi *= 2
    return float(optimize.brentq(lambda e: gdp_delta(e, mu) - delta, 0.0, hi, xtol=1e-13, rtol=1e-15))


def fdp_audit_margin(m: int, r: int, v: int, blow_up_inverse: Callable[[float], float], *,
                     confidence: float = 0.95) -> float:
    """ρ_0 + η_0 − r/m of the recursion above: > 0 when v correct guesses of r reject the claimed curve."""
    m, r, v = _counts(m, r, v)
    tau = _level(confidence)
    rho, eta = tau * v / m, tau * (r - v) / m
    for i in range(v - 1, -1, -1):
        eta_next = max(eta, blow_up_inverse(rho))
        if eta_next == eta:  # nothing moves any more: the remaining steps are no-ops
            break
        rho = min(rho + i / (r - i) * (eta_next - eta), 1.0)
        eta = eta_next
    return rho + eta - r / m


def _largest_rejected(rejects: Callable[[float], bool]) -> float:
    """sup{x ≥ 0 : rejects(x)} for a claim that gets weaker as x grows; 0.0 when even x = 0 is not rejected."""
    if not rejects(0.0):
        return 0.0
    lo, hi = 0.0, 1.0
    while rejects(hi):
        lo, hi = hi, 2 * hi
        if hi > _EPS_CAP:
            return lo
    while hi - lo > _TOL:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rejects(mid) else (lo, mid)
    return lo


def mu_lower_bound_gdp(m: int, r: int, v: int, *, confidence: float = 0.95) -> float:
    """The largest μ whose μ-GDP curve v correct guesses of r (m canaries) reject at ``confidence``."""
    m, r, v = _counts(m, r, v)
    _level(confidence)
    return _largest_rejected(
        lambda mu: fdp_audit_margin(m, r, v, gdp_blow_up_inverse(mu), confidence=confidence) > 0)


def epsilon_lower_bound_fdp(m: int, r: int, v: int, *, delta: float, confidence: float = 0.95,
                            curve: str = "eps-delta") -> float:
    """Empirical ε lower bound of Mahloujifar et al. from v correct of r guesses on m canaries.

    ``curve="eps-delta"``: the largest ε whose (ε, δ)-DP trade-off curve is rejected (0.0 when even ε = 0 is not).
    ``curve="gdp"``: the ε at δ of the largest μ-GDP curve rejected (needs δ > 0; assumes a Gaussian curve).
    """
    m, r, v = _counts(m, r, v)
    _level(confidence)
    delta = _delta(delta)
    if curve == "eps-delta":
        return _largest_rejected(
            lambda e: fdp_audit_margin(m, r, v, eps_delta_blow_up_inverse(e, delta), confidence=confidence) > 0)
    if curve == "gdp":
        if delta == 0:
            raise ValueError("curve='gdp' needs delta > 0: no finite μ-GDP curve is (ε, 0)-DP")
        return gdp_epsilon(mu_lower_bound_gdp(m, r, v, confidence=confidence), delta)
    raise ValueError(f"curve must be one of {CURVES}; got {curve!r}")
