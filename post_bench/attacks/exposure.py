"""Canary exposure (Carlini et al., "The Secret Sharer", 2019) and shared-substring checks. Pure Python/numpy."""

from __future__ import annotations

import difflib
import math

import numpy as np


def exposure(rank: float, n_candidates: int) -> float:
    """``log2(n_candidates) - log2(rank)``; rank is 1-based (1 = the secret scores best of all candidates).

    ``n_candidates`` counts the whole candidate space, the secret included. A fractional rank (an estimate
    from a sample of the space) is allowed.
    """
    if n_candidates < 1:
        raise ValueError(f"n_candidates must be >= 1; got {n_candidates}")
    if not 1 <= rank <= n_candidates:
        raise ValueError(f"rank must lie in [1, n_candidates={n_candidates}]; got {rank}")
    return math.log2(n_candidates) - math.log2(rank)


def rank_of_secret(secret_score: float, candidate_scores: np.ndarray, lower_is_better: bool = True) -> int:
    """1 + the number of other candidates that score strictly better than the secret.

    ``candidate_scores`` are the *other* candidates (the secret excluded). Ties count in the secret's favour,
    which errs towards reporting more exposure (the safe side for an audit). Scores are e.g. the model's
    negative log-likelihood of each candidate (``lower_is_better=True``).
    """
    c = np.asarray(candidate_scores, dtype=np.float64).ravel()
    if not math.isfinite(secret_score) or np.isnan(c).any():
        raise ValueError("scores must not be NaN (and the secret's must be finite)")
    better = c < secret_score if lower_is_better else c > secret_score
    return 1 + int(better.sum())


def exposure_from_scores(
    secret_score: float,
    candidate_scores: np.ndarray,
    *,
    lower_is_better: bool = True,
    space_size: int | None = None,
) -> float:
    """Exposure of a secret given the scores of the other candidates.

    With ``space_size=None`` the candidates are the whole space (``n = len(candidate_scores) + 1``).
    Otherwise they are a uniform sample of a space of ``space_size`` strings (secret included), and the rank
    is extrapolated as ``1 + fraction_better * (space_size - 1)``; the estimate saturates at
    ``log2(space_size)`` when no sampled candidate beats the secret, so sample enough candidates.
    """
    c = np.asarray(candidate_scores, dtype=np.float64).ravel()
    rank = rank_of_secret(secret_score, c, lower_is_better)
    if space_size is None:
        return exposure(rank, c.size + 1)
    if c.size == 0:
        raise ValueError("candidate_scores is empty; cannot extrapolate a rank")
    if space_size < c.size + 1:
        raise ValueError(
            f"space_size {space_size} is smaller than the candidates plus the secret ({c.size + 1})"
        )
    return exposure(1.0 + (rank - 1) / c.size * (space_size - 1), space_size)


def longest_common_substring(a: str, b: str) -> str:
    """The longest string occurring in both ``a`` and ``b`` (the first one in ``a`` on ties)."""
    m = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return a[m.a : m.a + m.size]


def max_shared_substring(prompt_text: str, corpus: list[str]) -> tuple[int, int, str]:
    """``(length, example_index, substring)`` of the longest substring of ``prompt_text`` found in ``corpus``.

    ``example_index`` is -1 (and length 0) when nothing is shared. The prompt is indexed once and reused
    for every corpus text (difflib, no autojunk), so 1,000 short texts take well under a second.
    """
    if not isinstance(corpus, (list, tuple)):
        raise ValueError("corpus must be a list of strings")
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(prompt_text)
    best = (0, -1, "")
    for i, text in enumerate(corpus):
        matcher.set_seq1(text)
        m = matcher.find_longest_match(0, len(text), 0, len(prompt_text))
        if m.size > best[0]:
            best = (m.size, i, text[m.a : m.a + m.size])
    return best


def exposure_rows(planted: np.ndarray, held_out: np.ndarray) -> dict:
    """Exposure of each planted canary's score among the held-out canaries' scores (higher = memorised)."""
    planted = np.asarray(planted, dtype=np.float64)
    held = np.asarray(held_out, dtype=np.float64)
    exps = [exposure_from_scores(float(s), held, lower_is_better=False) for s in planted]
    ranks = [1 + int((held > s).sum()) for s in planted]
    return {"mean_exposure": float(np.mean(exps)), "max_exposure": float(np.max(exps)),
            "max_possible": math.log2(held.size + 1), "n_canaries": int(planted.size),
            "n_candidates": int(held.size + 1), "exposures": [round(e, 3) for e in exps], "ranks": ranks,
            "scoring": "logit-scaled confidence of the planted label vs held-out canaries"}
