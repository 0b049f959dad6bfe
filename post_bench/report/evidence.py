"""Per-example evidence of a run: the samples files its results.json points at (:mod:`post_bench.samples`), read
back, checked against their hashes, and turned into what the report needs.

- :func:`load_evidence`: per-row correctness of every evaluated prompt, {(dataset, method, ε): {seed: {row id:
  0/1}}}, the input of claims and comparisons paired by example (:mod:`post_bench.report.paired`).
- :func:`rescore`: results.json with every number that per-example outputs determine re-derived from them
  (accuracy and n_test; a membership attack's AUC, TPR, bootstrap CIs and ε lower bound; a one-run audit's AUC,
  CIs and bound), so a report needs no model and no unit folder, and a new statistic can be added to an old run.
  Rows without samples (runs older than samples) keep their stored numbers, and the evidence says how many.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from post_bench.attacks.exposure import exposure_rows
from post_bench.attacks.membership import statistics_row
from post_bench.attacks.metrics import attack_metrics, bootstrap_ci
from post_bench.attacks.one_run import audit, audit_best_of
from post_bench.samples import SamplesError, read_samples

Key = tuple  # (dataset, method, ε)
MEMBERSHIP_FIELDS = ("auc", "balanced_accuracy", "tpr_at_fpr", "tpr_null_reason", "ci", "auc_attacked_prompt",
                     "ci_attacked_prompt", "n_prompts", "n_shadows", "n_examples", "n_members", "n_nonmembers",
                     "eps_lower_bound", "eps_lower_bound_confidence", "roc")


def _eps(value) -> float | None:
    return None if value is None else float(value)


def key_of(row: Mapping) -> Key:
    return (str(row.get("dataset")), str(row.get("method")), _eps(row.get("epsilon")))


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


def load_evidence(results: Mapping, folder, key=key_of) -> Evidence:
    """The per-row correctness of every utility row of ``results`` whose samples file is under ``folder`` (the run
    directory, or the report folder that holds results.json and samples/), by ``key(row)`` (default (dataset,
    method, ε); ``compare`` adds the model) and seed."""
    base = _folder(folder)
    correct: dict[Key, dict] = defaultdict(dict)
    ambiguous, problems = set(), []
    with_samples = without = 0
    for row in results.get("utility") or []:
        if not isinstance(row, dict):
            continue
        ref = row.get("samples")
        if not isinstance(ref, dict) or base is None:
            without += 1
            continue
        try:
            rows = {str(r["row_id"]): float(r["pred"] == r["label"]) for r in read_samples(base, ref)}
        except SamplesError as err:
            problems.append(str(err))
            continue
        except (KeyError, TypeError):
            problems.append(f"{base / str(ref.get('file'))}: rows without row_id, pred or label")
            continue
        with_samples += 1
        cell, seed = key(row), row.get("seed")
        if seed in correct[cell]:
            ambiguous.add(cell)
        correct[cell][seed] = rows
    return Evidence({k: dict(v) for k, v in correct.items()}, frozenset(ambiguous), tuple(problems),
                    without, with_samples)


def evidence_section(results: Mapping, folder, ev: Evidence | None = None) -> dict:
    """results.json's ``evidence``: how many evaluations have per-example outputs, and what that decides
    (``ev``: the run's evidence when the caller has already loaded it)."""
    ev = ev if ev is not None else load_evidence(results, folder)
    seeds = {r.get("seed") for r in results.get("utility") or [] if isinstance(r, dict)}
    n_test = sorted({r.get("n_test") for r in results.get("utility") or [] if isinstance(r, dict)
                     and isinstance(r.get("n_test"), int)})
    return {"with_samples": ev.with_samples, "without_samples": ev.without_samples, "problems": list(ev.problems),
            "seeds": len(seeds), "test_rows": n_test, "summary": ev.summary(),
            "claims_paired_by": "rows within seeds" if ev.with_samples else "seeds"}


def _rescore_utility(row: dict, rows: list[dict]) -> dict:
    n = len(rows)
    acc = sum(r["pred"] == r["label"] for r in rows) / n if n else float("nan")
    return {**row, "accuracy": acc, "n_test": n}


def _rescore_membership(row: dict, rows: list[dict]) -> dict:
    n_prompts = 1 + max(r["prompt"] for r in rows)
    n = 1 + max(r["example"] for r in rows)
    stats = np.full((n_prompts, n), np.nan)
    member = np.zeros((n_prompts, n), dtype=bool)
    for r in rows:
        stats[r["prompt"], r["example"]] = np.nan if r["statistic"] is None else r["statistic"]
        member[r["prompt"], r["example"]] = bool(r["member"])
    fresh = statistics_row(row["attack"], stats, member, delta=row["delta"], base={},
                           confidence=row.get("eps_lower_bound_confidence") or 0.95,
                           n_boot=row.get("n_boot", 1000), seed=row.get("seed") or 0)
    return {**row, **{k: fresh[k] for k in MEMBERSHIP_FIELDS}}


def _rescore_canaries(row: dict, rows: list[dict]) -> dict:
    scores = np.array([r["score"] for r in rows], dtype=np.float64)
    included = np.array([bool(r["included"]) for r in rows])
    one = row.get("one_run") or {}
    out = dict(row)
    if row.get("guess_choices"):
        res, tried = audit_best_of(scores, included, guesses=[g["k"] for g in row["guess_choices"]], delta=row["delta"])
        out.update({"eps_lower_bound": res.eps_lower_bound, "eps_lower_bound_fdp": res.eps_lower_bound_fdp,
                    "eps_lower_bound_gdp": res.eps_lower_bound_gdp, "one_run": res.to_dict(), "guess_choices": tried})
    elif one.get("k_plus") is not None:
        res = audit(scores, included, k_plus=one["k_plus"], k_minus=one.get("k_minus") or 0, delta=row["delta"],
                    **({"confidence": one["confidence"]} if one.get("confidence") else {}))
        out.update({"eps_lower_bound": res.eps_lower_bound, "one_run": res.to_dict()})
    if included.any() and not included.all():
        m = attack_metrics(scores, included).to_dict()
        out.update({k: m[k] for k in ("auc", "balanced_accuracy", "tpr_at_fpr", "tpr_null_reason", "roc",
                                      "n_members", "n_nonmembers")})
        out["ci"] = bootstrap_ci(scores, included, seed=row.get("seed") or 0)
    return out


def _rescore_exposure(row: dict, rows: list[dict]) -> dict:
    planted = np.array([r["score"] for r in rows if r["planted"]], dtype=np.float64)
    held = np.array([r["score"] for r in rows if not r["planted"]], dtype=np.float64)
    return {**row, **exposure_rows(planted, held)}


RESCORERS = {"predictions": _rescore_utility, "membership": _rescore_membership, "canaries": _rescore_canaries,
             "exposure": _rescore_exposure}


def rescore(results: Mapping, folder) -> tuple[dict, list[str]]:
    """(``results`` with every row that has samples re-derived from them, one line per unreadable file). The
    stored claims and aggregates are dropped: the caller recomputes them from the re-derived rows."""
    base = _folder(folder)
    out = dict(results)
    problems: list[str] = []
    for section in ("utility", "privacy", "extraction"):
        fresh = []
        for row in results.get(section) or []:
            ref = row.get("samples") if isinstance(row, dict) else None
            if base is not None and isinstance(ref, dict) and ref.get("kind") in RESCORERS:
                try:
                    row = RESCORERS[ref["kind"]](row, read_samples(base, ref))
                except SamplesError as err:
                    problems.append(str(err))
            fresh.append(row)
        out[section] = fresh
    return out, problems
