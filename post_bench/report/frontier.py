"""The source frontier: what each candidate source can do against its size, and the source a written rule chooses.

One run per candidate (``post-bench frontier`` makes them). From each run's results.json and per-example samples:
the candidate's share of the target's per-token compute (parameters a token passes through, from its distill
row), the one-off distillation cost, and per private set the source prompt's accuracy (``source_only``) against
the target's zero-shot, on the validation split (what the rule reads) and on the test split (what is reported),
as per-example paired differences with their CI (:func:`post_bench.report.claims.per_row_contrast`, as the claims
are decided).

The rule (``frontier`` in the suite): the smallest eligible candidate (share ≤ ``max_compute_share``) whose source
prompt beats the target's zero-shot by ≥ ``min_gain`` on the validation split of every private set. It is
applied to validation numbers only; test numbers are reported beside it and never change the choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from post_bench.report.claims import per_row_contrast
from post_bench.report.evidence import load_evidence
from post_bench.rows import Results

ZERO_SHOT, SOURCE_PROMPT, SOURCE_ZERO_SHOT, DIRECT_TRANSFER = "zero_shot", "source_only", "source_zero_shot", \
    "direct_transfer"


@dataclass(frozen=True)
class Gain:
    """Source prompt minus the target's zero-shot on one split, per example within seeds: estimate and CI."""

    estimate: float
    low: float
    high: float
    n_rows: int
    n_seeds: int


@dataclass(frozen=True)
class SetResult:
    """One private set under one candidate."""

    dataset: str
    accuracy: dict  # {(method, split): mean accuracy over seeds}
    validation_gain: Gain | None
    test_gain: Gain | None


@dataclass(frozen=True)
class Candidate:
    label: str
    layers: tuple[int, ...]
    compute_share: float | None  # the source's per-token parameters / the target's
    distill_wall_s: float | None  # the one-off distillation (its original wall time, even when cached)
    distill_steps: int | None
    student_loss: float | None
    teacher_loss: float | None
    sets: tuple[SetResult, ...]

    def passes(self, min_gain: float, max_share: float) -> bool:
        """The rule on validation numbers: eligible size and a gain ≥ ``min_gain`` on every private set."""
        if self.compute_share is None or self.compute_share > max_share or not self.sets:
            return False
        return all(s.validation_gain is not None and s.validation_gain.estimate >= min_gain for s in self.sets)


def _gain(results: Results, folder: Path, split: str) -> dict[str, Gain]:
    """{dataset: source prompt − zero-shot} on ``split`` from the per-example samples."""
    rows = results.validation if split == "validation" else results.utility
    ev = load_evidence(results.model_copy(update={"utility": rows}), folder)
    out = {}
    for dataset in {r.dataset for r in rows}:
        a, b = ev.rows((dataset, SOURCE_PROMPT, math.inf)), ev.rows((dataset, ZERO_SHOT, math.inf))
        if not a or not b:
            continue
        try:
            c, _, _ = per_row_contrast([(1.0, a), (-1.0, b)])
        except ValueError:  # no seed with rows on both sides
            continue
        out[dataset] = Gain(c.estimate, c.low, c.high, c.n_rows, c.n_seeds)
    return out


def candidate(label: str, results: Results, folder: Path) -> Candidate:
    """What one candidate's run shows (its results.json and the samples beside it)."""
    d = results.distill[0] if results.distill else None
    params, teacher = (d.extra("params"), d.extra("teacher_params")) if d else (None, None)
    share = params / teacher if params and teacher else None
    accuracy: dict[str, dict] = {}
    for split, rows in (("validation", results.validation), ("test", results.utility)):
        for r in rows:
            if math.isinf(r.epsilon):
                accuracy.setdefault(r.dataset, {}).setdefault((r.method, split), []).append(r.accuracy)
    gains = {split: _gain(results, folder, split) for split in ("validation", "test")}
    sets = tuple(SetResult(name, {k: sum(v) / len(v) for k, v in acc.items()}, gains["validation"].get(name),
                           gains["test"].get(name))
                 for name, acc in sorted(accuracy.items()))
    return Candidate(label, tuple(d.layers) if d else (), share, d.one_off.wall_s if d and d.one_off else None,
                     d.steps if d else None, d.student_loss if d else None, d.teacher_loss if d else None, sets)


def worst_validation_gain(c: Candidate) -> float:
    """The candidate's smallest validation gain over the private sets (-inf when one is missing)."""
    gains = [s.validation_gain.estimate if s.validation_gain else -math.inf for s in c.sets]
    return min(gains) if gains else -math.inf


def choose(candidates: Sequence[Candidate], min_gain: float, max_share: float,
           fallback: str = "none") -> Candidate | None:
    """The smallest candidate (by compute share) that passes the rule; when none does, None (``fallback``
    ``none``) or the eligible candidate with the largest worst validation gain (``best``)."""
    passing = [c for c in candidates if c.passes(min_gain, max_share)]
    if passing:
        return min(passing, key=lambda c: c.compute_share)
    eligible = [c for c in candidates if c.compute_share is not None and c.compute_share <= max_share]
    if fallback == "best" and eligible:
        return max(eligible, key=worst_validation_gain)
    return None
