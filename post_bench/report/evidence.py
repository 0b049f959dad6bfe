"""Per-example evidence of a run: the samples files its results.json points at (:mod:`post_bench.samples`), read
back, checked against their hashes, and turned into what the report needs.

- :func:`load_evidence`: per-row correctness of every evaluated prompt, {(dataset, method, ε): {seed: {row id:
  0/1}}}, the input of claims and comparisons paired by example (:mod:`post_bench.report.paired`).
- :func:`load_membership`: each membership privacy row's per-(prompt, example) outcomes (statistic, member) as
  [M, N] arrays, the input of attacks compared on the same outcomes (:mod:`post_bench.report.attack_pairs`).
- :func:`rescore`: the results with every number that per-example outputs determine re-derived from them
  (accuracy and n_test; a membership attack's AUC, TPR, bootstrap CIs and ε lower bound; a one-run audit's AUC,
  CIs and bound), so a report needs no model and no unit folder, and a new statistic can be added to an old run.
  Rows without samples (runs older than samples) keep their stored numbers, and the evidence says how many.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import ValidationError

from post_bench.attacks.exposure import exposure_rows
from post_bench.attacks.membership import statistics_row
from post_bench.attacks.metrics import attack_metrics, bootstrap_ci
from post_bench.attacks.one_run import audit, audit_best_of
from post_bench.rows import Evidence as EvidenceRow
from post_bench.rows import ExtractionRow, PrivacyRow, Results, Row, UtilityRow, problems_of
from post_bench.samples import SamplesError, read_samples

Key = tuple  # (dataset, method, ε)
MEMBERSHIP_FIELDS = ("auc", "balanced_accuracy", "tpr_at_fpr", "tpr_null_reason", "ci", "auc_attacked_prompt",
                     "ci_attacked_prompt", "n_prompts", "n_shadows", "n_examples", "n_members", "n_nonmembers",
                     "eps_lower_bound", "eps_lower_bound_confidence", "roc")
R = TypeVar("R", bound=Row)


def key_of(row: UtilityRow) -> Key:
    return (row.dataset, row.method, row.epsilon)


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Per-row correctness by (dataset, method, ε) and seed, and what could not be read."""

    correct: Mapping[Key, Mapping[object, Mapping[str, float]]]
    ambiguous: frozenset = frozenset()  # keys with two rows for one seed (several models)
    problems: tuple[str, ...] = ()  # unreadable or damaged samples files, one line each
    without_samples: int = 0  # utility rows that point at no samples file
    with_samples: int = 0

    def rows(self, key: Key) -> Mapping[object, Mapping[str, float]] | None:
        """{seed: {row id: correct}} of one (dataset, method, ε), None when it has no per-row evidence."""
        return None if key in self.ambiguous else self.correct.get(key)

    @property
    def complete(self) -> bool:
        return self.with_samples > 0 and not self.without_samples and not self.problems

    def summary(self) -> str:
        if not self.with_samples:
            return ("no per-example outputs (a run older than samples files): claims are paired by seed only, "
                    "and per-row paired differences cannot be decided")
        text = f"{self.with_samples} evaluations with per-example outputs"
        if self.without_samples:
            text += f", {self.without_samples} without (those pair by seed only)"
        if self.problems:
            text += f"; {len(self.problems)} samples file(s) unreadable: " + "; ".join(self.problems[:3])
        return text


def _folder(folder) -> Path | None:
    return None if folder is None else Path(folder)


def load_evidence(results: Results, folder, key: Callable[[UtilityRow], Key] = key_of) -> Evidence:
    """The per-row correctness of every utility row of ``results`` whose samples file is under ``folder`` (the run
    directory, or the report folder that holds results.json and samples/), by ``key(row)`` (default (dataset,
    method, ε); ``compare`` adds the model) and seed."""
    base = _folder(folder)
    correct: dict[Key, dict] = defaultdict(dict)
    ambiguous, problems = set(), []
    with_samples = without = 0
    for row in results.utility:
        if row.samples is None or base is None:
            without += 1
            continue
        try:
            rows = {str(r["row_id"]): float(r["pred"] == r["label"]) for r in read_samples(base, row.samples.dump())}
        except SamplesError as err:
            problems.append(str(err))
            continue
        except (KeyError, TypeError):
            problems.append(f"{base / row.samples.file}: rows without row_id, pred or label")
            continue
        with_samples += 1
        cell = key(row)
        if row.seed in correct[cell]:
            ambiguous.add(cell)
        correct[cell][row.seed] = rows
    return Evidence({k: dict(v) for k, v in correct.items()}, frozenset(ambiguous), tuple(problems),
                    without, with_samples)


def evidence_section(results: Results, folder, ev: Evidence | None = None) -> EvidenceRow:
    """results.json's ``evidence``: how many evaluations have per-example outputs, and what that decides
    (``ev``: the run's evidence when the caller has already loaded it)."""
    ev = ev if ev is not None else load_evidence(results, folder)
    return EvidenceRow(with_samples=ev.with_samples, without_samples=ev.without_samples, problems=list(ev.problems),
                       seeds=len({r.seed for r in results.utility}),
                       test_rows=sorted({r.n_test for r in results.utility}), summary=ev.summary(),
                       claims_paired_by="rows within seeds" if ev.with_samples else "seeds")


def _updated(row: R, changes: Mapping[str, Any]) -> R:
    """``row`` with ``changes`` (JSON values, as the attack code returns them) validated into its types: a new
    row; ``model_copy(update=...)`` would keep nested values (``ci``, ``roc``, ``one_run``) as plain dicts."""
    return type(row).model_validate({**row.dump(), **changes})


def _rescore_utility(row: UtilityRow, samples: list[dict]) -> UtilityRow:
    n = len(samples)
    acc = sum(r["pred"] == r["label"] for r in samples) / n if n else float("nan")
    return _updated(row, {"accuracy": acc, "n_test": n})


@dataclasses.dataclass(frozen=True, eq=False)
class MembershipOutcomes:
    """A membership row's per-(prompt, example) outcomes, read back from its samples file: [M, N] arrays, M the
    prompts (0 the attacked one), N the scored examples."""

    statistic: np.ndarray  # float; NaN where the file has no line for (prompt, example) or a null statistic
    member: np.ndarray  # bool; False where the file has no line
    present: np.ndarray  # bool: the file has a line for (prompt, example)


def membership_outcomes(samples: list[dict]) -> MembershipOutcomes:
    """The [M, N] outcomes of a ``membership`` samples file's lines ({"prompt", "example", "statistic",
    "member"}). KeyError / TypeError on lines without them; ValueError on an empty file."""
    if not samples:
        raise ValueError("a membership samples file without lines")
    n_prompts = 1 + max(r["prompt"] for r in samples)
    n = 1 + max(r["example"] for r in samples)
    stats = np.full((n_prompts, n), np.nan)
    member = np.zeros((n_prompts, n), dtype=bool)
    present = np.zeros((n_prompts, n), dtype=bool)
    for r in samples:
        stats[r["prompt"], r["example"]] = np.nan if r["statistic"] is None else r["statistic"]
        member[r["prompt"], r["example"]] = bool(r["member"])
        present[r["prompt"], r["example"]] = True
    return MembershipOutcomes(stats, member, present)


def load_membership(results: Results, folder) -> tuple[dict[int, MembershipOutcomes], tuple[str, ...]]:
    """({index in ``results.privacy``: outcomes} of every privacy row whose ``membership`` samples file is under
    ``folder``, one line per file that could not be read). Rows without such a file are left out."""
    base = _folder(folder)
    out: dict[int, MembershipOutcomes] = {}
    problems: list[str] = []
    for i, row in enumerate(results.privacy):
        ref = row.samples
        if base is None or ref is None or ref.kind != "membership":
            continue
        try:
            out[i] = membership_outcomes(read_samples(base, ref.dump()))
        except SamplesError as err:
            problems.append(str(err))
        except (KeyError, TypeError, IndexError, ValueError):
            problems.append(f"{base / ref.file}: lines without prompt, example, statistic or member")
    return out, tuple(problems)


def _rescore_membership(row: PrivacyRow, samples: list[dict]) -> PrivacyRow:
    outcomes = membership_outcomes(samples)
    stats, member = outcomes.statistic, outcomes.member
    fresh = statistics_row(row.attack, stats, member, delta=row.delta, base={},
                           confidence=row.eps_lower_bound_confidence or 0.95,
                           n_boot=row.extra("n_boot", 1000), seed=row.seed or 0)
    return _updated(row, {k: fresh[k] for k in MEMBERSHIP_FIELDS})


def _rescore_canaries(row: PrivacyRow, samples: list[dict]) -> PrivacyRow:
    scores = np.array([r["score"] for r in samples], dtype=np.float64)
    included = np.array([bool(r["included"]) for r in samples])
    one = row.one_run
    changes: dict[str, Any] = {}
    if row.extra("guess_choices"):
        res, tried = audit_best_of(scores, included, guesses=[g["k"] for g in row.extra("guess_choices")],
                                   delta=row.delta)
        changes.update({"eps_lower_bound": res.eps_lower_bound, "eps_lower_bound_fdp": res.eps_lower_bound_fdp,
                        "eps_lower_bound_gdp": res.eps_lower_bound_gdp, "one_run": res.to_dict(),
                        "guess_choices": tried})
    elif one is not None and one.k_plus is not None:
        res = audit(scores, included, k_plus=one.k_plus, k_minus=one.k_minus or 0, delta=row.delta,
                    **({"confidence": one.confidence} if one.confidence else {}))
        changes.update({"eps_lower_bound": res.eps_lower_bound, "one_run": res.to_dict()})
    if included.any() and not included.all():
        m = attack_metrics(scores, included).to_dict()
        changes.update({k: m[k] for k in ("auc", "balanced_accuracy", "tpr_at_fpr", "tpr_null_reason", "roc",
                                          "n_members", "n_nonmembers")})
        changes["ci"] = bootstrap_ci(scores, included, seed=row.seed or 0)
    return _updated(row, changes)


def _rescore_exposure(row: ExtractionRow, samples: list[dict]) -> ExtractionRow:
    planted = np.array([r["score"] for r in samples if r["planted"]], dtype=np.float64)
    held = np.array([r["score"] for r in samples if not r["planted"]], dtype=np.float64)
    return _updated(row, exposure_rows(planted, held))


RESCORERS = {"predictions": _rescore_utility, "membership": _rescore_membership, "canaries": _rescore_canaries,
             "exposure": _rescore_exposure}


def _rescored(rows: list[R], base: Path | None, where: str, problems: list[str]) -> list[R]:
    """``rows`` with those that have samples re-derived; an unreadable file or a re-derived row that is not a
    valid row is a line in ``problems`` and the row keeps its stored numbers."""
    out = []
    for i, row in enumerate(rows):
        ref = row.samples
        if base is not None and ref is not None and ref.kind in RESCORERS:
            try:
                row = RESCORERS[ref.kind](row, read_samples(base, ref.dump()))
            except SamplesError as err:
                problems.append(str(err))
            except ValidationError as err:
                problems.append(f"{base / ref.file}: " + "; ".join(problems_of(err, f"{where}[{i}]")))
        out.append(row)
    return out


def rescore(results: Results, folder) -> tuple[Results, list[str]]:
    """(``results`` with every row that has samples re-derived from them, one line per unreadable file). The
    stored claims, aggregates and evidence are kept as they are: the caller recomputes them from the re-derived
    rows."""
    base = _folder(folder)
    problems: list[str] = []
    fresh = {section: _rescored(getattr(results, section), base, section, problems)
             for section in ("utility", "privacy", "extraction") if section in results.model_fields_set}
    return results.model_copy(update=fresh), problems
