"""Writes tests/data/one_run_golden.json: one-run ε lower bounds from jax_privacy, an independent implementation.

Run with a separate environment that has jax_privacy (never post_bench's venv; no torch is needed)::

    python3 -m venv /work/jaxvenv && /work/jaxvenv/bin/pip install jax-privacy==2.0.0
    /work/jaxvenv/bin/python tests/data/make_one_run_golden.py

Nothing from post_bench is imported: every number comes from ``jax_privacy.auditing`` (and dp_accounting, which
it uses for the Gaussian mechanism's σ(ε, δ)).

Mapping onto jax_privacy 2.0.0's API
------------------------------------
- Our (m, r, v, δ, confidence) are jax_privacy's (m, n_guess, n_correct, delta, significance) with
  ``significance = 1 − confidence`` (their p-value threshold). Both bounds depend on the guesses only through
  r and v, so our two-sided guesses (k_plus "in" + k_minus "out") map onto their one-sided n_guess = r.
- ``steinke``: ``auditing._epsilon_one_run(0, m, r, v, significance, delta)`` (Steinke, Nasr, Jagielski 2023,
  Theorem 5.2 with δ).
- ``fdp_gdp``: ``auditing._epsilon_one_run_fdp(0, m, r, v, significance, delta)`` (Mahloujifar, Melis, Chaudhuri
  2025): the null hypothesis is the Gaussian-DP curve with μ = 1/σ, σ = dp_accounting.get_sigma_gaussian(ε, δ)
  (the Gaussian mechanism that is exactly (ε, δ)-DP); only for δ > 0 (σ(ε, 0) = ∞).
- ``fdp_eps_delta``: the same jax_privacy routine (its recursion, its search over ε) with the Gaussian curve
  swapped for the (ε, δ)-DP trade-off curve f(x) = max(0, 1 − δ − e^ε·x, e^−ε·(1 − δ − x)). jax_privacy ships
  only the Gaussian curve; the blow-up inverse (1 − f)⁻¹ is found here *numerically* by root-finding on f as
  defined (not from a closed form), so this column checks our closed-form inverse as well as the recursion.
- jax_privacy stops its ε search at brentq's default ``xtol=1e-6``. The columns above are computed with brentq
  tightened to ``xtol=1e-12`` (patched in for this script only), so that they are exact to well below the 1e-6
  the tests ask for. ``*_shipped`` columns are the numbers of the public API as shipped
  (``CanaryScoreAuditor(...).epsilon_one_run[_fdp](significance, delta, threshold_strategy=Explicit(1.0))`` on
  scores built to give exactly r guesses with v correct), for δ > 0 only (the public API refuses δ = 0) and
  not where no such scores exist (r = v = m: no held-out canary).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import pathlib
import platform
import sys

import numpy as np
import scipy.optimize
from jax_privacy import auditing

OUT = pathlib.Path(__file__).with_name("one_run_golden.json")
TIGHT_XTOL = 1e-12

GRID = {
    100: [(10, 10), (20, 15), (20, 18), (40, 40), (50, 26), (50, 35), (100, 50), (100, 70)],
    1000: [(50, 45), (100, 80), (100, 90), (200, 150), (300, 160), (500, 400), (1000, 500), (1000, 650),
           (1000, 1000)],
}
DELTAS = (0.0, 1e-5)
EXTRA_CONFIDENCE = {0.99: [(100, 20, 18), (1000, 100, 90), (1000, 500, 400)]}  # (m, r, v) at another level


@contextlib.contextmanager
def tight_brentq(xtol: float = TIGHT_XTOL):
    """Force brentq's xtol down (jax_privacy hard-codes 1e-6) for the duration of the block."""
    original = scipy.optimize.brentq

    def brentq(f, a, b, *args, xtol=2e-12, **kwargs):
        return original(f, a, b, *args, xtol=min(xtol, TIGHT_XTOL), **kwargs)

    scipy.optimize.brentq = brentq
    had_alias = hasattr(auditing, "_brentq")  # newer jax_privacy binds brentq at import
    if had_alias:
        alias, auditing._brentq = auditing._brentq, brentq
    try:
        yield
    finally:
        scipy.optimize.brentq = original
        if had_alias:
            auditing._brentq = alias


def _eps_delta_tradeoff(eps: float, delta: float, x: float) -> float:
    return max(0.0, 1.0 - delta - math.exp(eps) * x, math.exp(-eps) * (1.0 - delta - x))


def _eps_delta_blow_up_inverse_numeric(eps: float, delta: float):
    """y ↦ inf{x ∈ [0, 1] : 1 − f(x) ≥ y} for the (ε, δ)-DP trade-off f, by root-finding on f itself."""
    top = 1.0 - delta  # 1 − f reaches 1 at x = 1 − δ; 1 − f(0) = δ

    def inverse(y: float) -> float:
        if y <= delta:
            return 0.0
        if y >= 1.0:
            return top
        return scipy.optimize.brentq(lambda x: 1.0 - _eps_delta_tradeoff(eps, delta, x) - y, 0.0, top,
                                     xtol=1e-16, maxiter=500)

    return inverse


@contextlib.contextmanager
def eps_delta_curve():
    original = auditing._gaussian_dp_blow_up_inverse
    auditing._gaussian_dp_blow_up_inverse = _eps_delta_blow_up_inverse_numeric
    try:
        yield
    finally:
        auditing._gaussian_dp_blow_up_inverse = original


def _shipped(m: int, r: int, v: int, significance: float, delta: float, fdp: bool) -> float | None:
    n_in = v + (m - r) // 2  # any split works: the bound sees only m, r = n_guess and v = n_correct
    n_out = m - n_in
    if n_in < 1 or n_out < 1:  # CanaryScoreAuditor needs both groups non-empty (e.g. r = v = m cannot be built)
        return None
    in_scores = np.r_[np.ones(v), np.zeros(n_in - v)]
    out_scores = np.r_[np.ones(r - v), np.zeros(n_out - (r - v))]
    auditor = auditing.CanaryScoreAuditor(in_scores, out_scores)
    method = auditor.epsilon_one_run_fdp if fdp else auditor.epsilon_one_run
    return float(method(significance, delta, threshold_strategy=auditing.Explicit(1.0)))


def case(m: int, r: int, v: int, delta: float, confidence: float) -> dict:
    significance = 1.0 - confidence
    row = {"m": m, "r": r, "v": v, "delta": delta, "confidence": confidence}
    with tight_brentq():
        row["steinke"] = float(auditing._epsilon_one_run(0, m, r, v, significance, delta))
        row["fdp_gdp"] = float(auditing._epsilon_one_run_fdp(0, m, r, v, significance, delta)) if delta else None
        with eps_delta_curve():
            row["fdp_eps_delta"] = float(auditing._epsilon_one_run_fdp(0, m, r, v, significance, delta))
    if delta:
        row["steinke_shipped"] = _shipped(m, r, v, significance, delta, fdp=False)
        row["fdp_gdp_shipped"] = _shipped(m, r, v, significance, delta, fdp=True)
    else:
        row["steinke_shipped"] = row["fdp_gdp_shipped"] = None
    return row


def main() -> None:
    cases = [(m, r, v, d, 0.95) for m, rv in GRID.items() for r, v in rv for d in DELTAS]
    cases += [(m, r, v, d, c) for c, mrv in EXTRA_CONFIDENCE.items() for m, r, v in mrv for d in DELTAS]
    rows = [case(*c) for c in cases]
    versions = {p: importlib.metadata.version(p) for p in ("jax-privacy", "dp-accounting", "scipy", "numpy")}
    doc = {
        "source": "jax_privacy.auditing (Google DeepMind), an independent implementation of both one-run bounds",
        "jax_privacy_version": versions["jax-privacy"],
        "versions": versions,
        "python": platform.python_version(),
        "command": ("python3 -m venv /work/jaxvenv && /work/jaxvenv/bin/pip install jax-privacy==2.0.0 && "
                    "/work/jaxvenv/bin/python tests/data/make_one_run_golden.py"),
        "mapping": {
            "significance": "1 - confidence",
            "n_guess": "r (k_plus + k_minus)",
            "n_correct": "v",
            "steinke": "auditing._epsilon_one_run(0, m, r, v, significance, delta), brentq xtol 1e-12",
            "fdp_gdp": ("auditing._epsilon_one_run_fdp(0, m, r, v, significance, delta), brentq xtol 1e-12: "
                        "Gaussian-DP curve mu = 1/get_sigma_gaussian(eps, delta); delta > 0 only"),
            "fdp_eps_delta": ("auditing._epsilon_one_run_fdp with auditing._gaussian_dp_blow_up_inverse replaced "
                              "by a numeric inverse of 1 - f, f the (eps, delta)-DP trade-off curve; brentq "
                              "xtol 1e-12"),
            "*_shipped": ("CanaryScoreAuditor.epsilon_one_run[_fdp](significance, delta, "
                          "threshold_strategy=Explicit(1.0)) as shipped (brentq xtol 1e-6); delta > 0 only"),
        },
        "cases": rows,
    }
    head = json.dumps({k: v for k, v in doc.items() if k != "cases"}, indent=1)[:-2]  # one case a line below
    body = ",\n".join("  " + json.dumps(row) for row in rows)
    OUT.write_text(f'{head},\n "cases": [\n{body}\n ]\n}}\n')
    assert json.loads(OUT.read_text()) == doc
    print(f"wrote {len(rows)} cases to {OUT} with jax-privacy {versions['jax-privacy']}", file=sys.stderr)


if __name__ == "__main__":
    main()
