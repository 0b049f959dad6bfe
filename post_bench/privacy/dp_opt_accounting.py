"""DP-OPT's private token selection and its RDP accounting (pure numpy; no torch).

Neighbouring data sets differ by adding or removing one private example. :mod:`post_bench.privacy.dp_opt`
assigns every example to an ensemble member (or to the selection holdout) by a salted hash of *that example
alone*, so one example changes the demos, and hence the vote, of at most one member.

Token selection (:func:`dp_top1`): the exponential mechanism over the *whole vocabulary* (a
data-independent domain), utility u(v) = number of members voting v. One member changing its vote from
a to b moves u(a) down by 1 and u(b) up by 1: every utility changes by at most Δu = 1. Sampling
v ∝ exp(ε0·u(v) / (2Δu)) is ε0-DP and moreover ε0-bounded-range (Durfee & Rogers 2019), hence
ρ = ε0²/8-zCDP (Cesar & Rogers 2021), i.e. RDP ε(α) = α·ε0²/8; pure ε0-DP also gives ε(α) ≤ ε0, so
``rdp_exponential`` = min(α·ε0²/8, ε0). With a large vocabulary the many zero-vote tokens swamp the
vote at small ε0; an optional public domain (top-k tokens of a demo-free meta-prompt plus the released
prefix, i.e. data-independent) fixes that at no privacy cost. The limited-domain mechanism (Durfee &
Rogers 2019, (ε, δ)-DP) is not implemented.

Candidate selection (:func:`select_candidate`): the same mechanism on the number of holdout examples
each candidate classifies correctly (adding/removing one holdout example changes each count by ≤ 1).

Composition: RDP adds over the T = n_candidates · max_new_tokens token draws (the planned maximum, also
when generation stops early) and the one selection draw; sequential composition, although the holdout is
disjoint from the demos (parallel composition would allow more). Conversion to (ε, δ)-DP (Balle et al.
2020, Thm 21; what opacus/TF-privacy use):
    ε = min_α [ R(α) + log((α−1)/α) − (log δ + log α)/(α−1) ],
or with ``improved=False`` the classic ε = min_α [ R(α) + log(1/δ)/(α−1) ] (Mironov 2017).
Budget split: the selection draw gets ε_sel = selection_share·ε (pure-DP parameter), then ε0 is the
largest per-token parameter for which the composition stays ≤ ε (binary search).
"""

from __future__ import annotations

import math

import numpy as np

from post_bench.epsilon import is_private, parse_epsilon

ALPHAS = np.array([1 + x / 10.0 for x in range(1, 100)] + list(range(11, 64)) + [80, 128, 256, 512, 1024, 4096],
                  dtype=float)


def exponential_mechanism(scores, eps: float, rng, sensitivity: float = 1.0) -> int:
    """Index drawn ∝ exp(eps·score / (2·sensitivity)); ``eps`` = inf: argmax (non-private, lowest index on ties).
    ``eps`` is read by :func:`~post_bench.epsilon.parse_epsilon` (None, as a caller may write non-private: inf;
    ≤ 0 or NaN: ValueError)."""
    scores = np.asarray(scores, dtype=float)
    eps = parse_epsilon(eps)
    if not is_private(eps):
        return int(np.argmax(scores))
    logits = eps * scores / (2.0 * sensitivity)
    return int(np.argmax(logits + rng.gumbel(size=logits.shape)))  # Gumbel-max = exact softmax sampling


def vote_histogram(votes, vocab_size: int) -> np.ndarray:
    votes = np.asarray(votes, dtype=np.int64)
    if votes.size and (votes.min() < 0 or votes.max() >= vocab_size):
        raise ValueError(f"votes must be token ids in [0, {vocab_size})")
    return np.bincount(votes, minlength=vocab_size)


def dp_top1(votes: np.ndarray, eps_token: float, rng, *, vocab_size: int, domain=None) -> int:
    """DP top-1 token from member votes: exponential mechanism over the domain with Δu = 1.

    The domain is range(``vocab_size``), or the token ids in ``domain``; it must not depend on the private
    data (never the set of voted tokens; a domain computed from public text and already released tokens is
    fine). Votes outside it count for nothing. ``eps_token`` = inf: the plain majority vote over all votes.
    """
    hist = vote_histogram(votes, vocab_size)
    if domain is None or not is_private(parse_epsilon(eps_token)):
        return exponential_mechanism(hist, eps_token, rng)
    domain = np.asarray(domain, dtype=np.int64)
    return int(domain[exponential_mechanism(hist[domain], eps_token, rng)])


def select_candidate(correct_counts, eps_select: float, rng) -> int:
    """Private choice among candidates scored by their number of correct holdout examples (Δ = 1)."""
    return exponential_mechanism(correct_counts, eps_select, rng)


# ---------------------------------------------------------------- RDP accounting
def rdp_exponential(eps0: float, alphas=ALPHAS) -> np.ndarray:
    """RDP curve of one ε0 exponential mechanism: min(α·ε0²/8, ε0)."""
    alphas = np.asarray(alphas, dtype=float)
    return np.minimum(alphas * eps0 ** 2 / 8.0, eps0)


def epsilon_from_rdp(rdp, alphas, delta: float, improved: bool = True) -> float:
    """(ε, δ)-DP from an RDP curve, minimised over the orders (see the module docstring)."""
    rdp, alphas = np.asarray(rdp, dtype=float), np.asarray(alphas, dtype=float)
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    if np.any(alphas <= 1):
        raise ValueError("RDP orders must be > 1")
    if improved:
        eps = rdp + np.log((alphas - 1) / alphas) - (math.log(delta) + np.log(alphas)) / (alphas - 1)
    else:
        eps = rdp + math.log(1 / delta) / (alphas - 1)
    return float(max(0.0, np.min(eps)))


def composed_epsilon(eps0: float, n_tokens: int, delta: float, eps_select: float = 0.0, alphas=ALPHAS,
                     improved: bool = True) -> float:
    """ε after ``n_tokens`` ε0 token draws and one ``eps_select`` selection draw."""
    rdp = n_tokens * rdp_exponential(eps0, alphas)
    if eps_select:
        rdp = rdp + rdp_exponential(eps_select, alphas)
    return epsilon_from_rdp(rdp, alphas, delta, improved)


def calibrate_token_epsilon(target_eps: float, delta: float, n_tokens: int, eps_select: float = 0.0,
                            alphas=ALPHAS, improved: bool = True, tol: float = 1e-7) -> float:
    """Largest ε0 with composed ε ≤ ``target_eps`` (binary search; the result never exceeds the target)."""
    if not (target_eps > 0 and math.isfinite(target_eps)) or n_tokens < 1:
        raise ValueError(f"need a finite target ε > 0 and n_tokens ≥ 1, got {target_eps}, {n_tokens}")
    spent = lambda e: composed_epsilon(e, n_tokens, delta, eps_select, alphas, improved)  # noqa: E731
    if spent(0.0) > target_eps:
        raise ValueError(f"the selection share alone spends more than ε={target_eps:g} at δ={delta:g}")
    lo, hi = 0.0, target_eps  # ε0 = target already over-spends (ε ≥ ε0·1 at the pure-DP bound) unless T=1
    while spent(hi) <= target_eps:
        lo, hi = hi, 2 * hi
    while hi - lo > tol * max(1.0, hi):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if spent(mid) <= target_eps else (lo, mid)
    return lo


def plan_budget(target_eps: float, delta: float, n_tokens: int, selection_share: float = 0.1) -> dict:
    """Split ε between generation and selection; returns the per-draw parameters and the ε spent."""
    eps_select = selection_share * target_eps if selection_share > 0 else 0.0
    eps0 = calibrate_token_epsilon(target_eps, delta, n_tokens, eps_select)
    return {"eps_per_token": eps0, "eps_selection": eps_select or None, "n_tokens": n_tokens,
            "epsilon_spent": composed_epsilon(eps0, n_tokens, delta, eps_select)}
