"""``post-bench compare RUN_A RUN_B``: per-cell differences B − A with 95% confidence intervals.

Cells are the report's: utility (dataset, method, model, ε), privacy (dataset, method, ε, attack). What the
interval of a difference is:

- accuracy, both runs with per-row samples (``post_bench.samples``) on the **same test rows** (the same row ids)
  in at least one seed both have: **paired rows within seeds**. Per paired seed, d_i = correct_B[i] − correct_A[i]
  over the rows (paired by row id); the seeds are combined with equal weight by ``paired.row_contrast``
  (variance max(rows, between seeds): see that module). Pairing removes the row difficulty both runs share, so
  the interval is much narrower than one that treats the runs as independent when they agree on most rows.
  Also the exact **McNemar** test on the paired rows of every paired seed pooled (n01: rows only B gets right,
  n10: only A). A and B are then the accuracies on the paired rows of the paired seeds, so B − A is the paired
  estimate; seeds only one run has (or whose rows differ) are left out and named in the cell's note.
- accuracy otherwise (a run older than samples files, different splits, a damaged samples file), both runs
  with ≥ 2 seeds: **Welch t** on the per-seed accuracies (unequal variances, Welch–Satterthwaite df): covers
  seed-to-seed variation (split and training noise); the note says why rows were not paired.
- accuracy otherwise: **Newcombe's hybrid score interval** (the difference of two Wilson score intervals)
  on each run's test predictions (n_test × seeds): covers test-set sampling only.
- AUC: from each cell's own 95% CI (results.json ``aggregates.privacy``: t over seeds, or the row's
  percentile bootstrap over examples with one seed), combined as √(sum of squared half-widths), side by
  side (Newcombe's construction), assuming the two runs are independent.

A cell **moved** when the interval excludes 0. A threshold gate (``accuracy:0.05``, ``auc:0.05``) fails
when a cell moved in the bad direction (accuracy down, AUC up) by more than the threshold: |B − A| above the
threshold and the interval excluding 0, so noise alone never fails it; a paired cell is gated on its paired
interval.

Samples files are found relative to the folder that holds each run's results.json (``run_folder``); a results.json
copied without its ``samples/`` folder compares like a run without samples.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from pathlib import Path

import click
import numpy as np
from scipy import stats

from post_bench.atomic import writable_dir, write_text_atomic
from post_bench.epsilon import eps_label, eps_symbol
from post_bench.errors import UserInputError, problem
from post_bench.report import load_results
from post_bench.report.aggregates import privacy_aggregates
from post_bench.report.evidence import Evidence, load_evidence
from post_bench.report.paired import mcnemar, row_contrast
from post_bench.report.stats import wilson_interval
from post_bench.rows import PrivacyCell, Results, UtilityRow

PAIRED = "paired rows within seeds (+ McNemar)"
WELCH = "Welch t over seeds"
NEWCOMBE = "Newcombe (Wilson score) over test predictions"
COMBINED = "combined from both CIs (√ of summed squared half-widths)"
NONE = "none"
CONFIDENCE = 0.95
GATE_METRICS = {"accuracy": "down", "auc": "up"}  # the bad direction of each gated metric


# ---- inputs ---------------------------------------------------------------------------------------------


def run_folder(path: str | Path) -> Path:
    """The folder that holds a run's results.json (``path`` itself when it is a directory): samples files are
    relative to it."""
    p = Path(path)
    return p if p.is_dir() else p.parent


def results_problems(file: Path, err: ValueError) -> list[str]:
    """One line per problem of an unreadable results.json (``rows.read_results`` names the file, the key, what
    is wrong and what is allowed in each)."""
    return [line for line in str(err).splitlines() if line.strip()] or [problem(str(file), "", type(err).__name__)]


def load_run(path: str | Path, what: str = "RUN") -> Results:
    """results.json of a run directory (or the file itself), schema 1 or 2, as typed rows; bad input raises
    UserInputError (one line per problem). The folder it came from is ``run_folder(path)``: ``run_compare``
    reads the per-row samples from there."""
    p = Path(path)
    file = p / "results.json" if p.is_dir() else p
    if not file.is_file():
        raise UserInputError(problem(str(file), "", f"{what}: not found",
                                     "a run directory written by post-bench run, or its results.json"))
    try:
        return load_results(file)
    except ValueError as err:
        raise UserInputError(results_problems(file, err)) from None
    except OSError as err:
        raise UserInputError(problem(str(file), "", f"{what}: cannot read it ({err.strerror or err})",
                                     "a readable file")) from None


@dataclasses.dataclass(frozen=True)
class Threshold:
    metric: str  # accuracy | auc
    threshold: float  # in the metric's units (accuracy as a fraction: 0.05 = 5 points)

    @property
    def label(self) -> str:
        return f"{self.metric} {'drop' if GATE_METRICS[self.metric] == 'down' else 'rise'} > {self.threshold:g}"


def parse_threshold(text: str, option: str = "--gate") -> Threshold:
    """``accuracy:0.05`` / ``auc:0.05`` (a fraction; accuracy 0.05 = 5 points)."""
    allowed = "accuracy:<max drop> or auc:<max rise>, e.g. accuracy:0.05"
    metric, sep, value = str(text).partition(":")
    metric = metric.strip()
    if not sep or metric not in GATE_METRICS:
        raise UserInputError(problem(option, "", f"{text!r}: not METRIC:THRESHOLD with a known metric", allowed))
    try:
        threshold = float(value)
    except ValueError:
        raise UserInputError(problem(option, "", f"{text!r}: threshold {value.strip()!r} is not a number",
                                     allowed)) from None
    if not (math.isfinite(threshold) and 0 <= threshold < 1):
        raise UserInputError(problem(option, "", f"{text!r}: threshold must be in [0, 1) (a fraction)", allowed))
    return Threshold(metric, threshold)


# ---- differences ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Diff:
    section: str  # utility | privacy
    key: dict  # the cell's identifying fields
    a: float
    b: float
    seeds_a: int
    seeds_b: int
    low: float | None
    high: float | None
    ci_method: str
    # paired cells (ci_method PAIRED) only: rows paired over all paired seeds, the exact McNemar p-value on them
    # pooled, rows only B got right (n01) and only A got right (n10); None otherwise
    n_rows: int | None = None
    mcnemar_p: float | None = None
    n01: int | None = None
    n10: int | None = None
    note: str = ""  # paired: the seeds left out; not paired: why the rows were not paired

    @property
    def diff(self) -> float:
        return self.b - self.a

    @property
    def moved(self) -> str:
        """"up" / "down" when the 95% CI of B − A excludes 0, else ""."""
        if self.low is None or self.high is None:
            return ""
        return "up" if self.low > 0 else "down" if self.high < 0 else ""

    def to_json(self) -> dict:
        out = {**_json_cell(self.key), "a": self.a, "b": self.b, "diff": self.diff, "seeds_a": self.seeds_a,
               "seeds_b": self.seeds_b, "ci": None if self.low is None else [self.low, self.high],
               "ci_method": self.ci_method, "moved": self.moved or None}
        if self.section == "utility":
            out.update({"n_rows": self.n_rows, "mcnemar_p": self.mcnemar_p, "n01": self.n01, "n10": self.n10,
                        "note": self.note or None})
        return out


def _json_cell(cell: dict) -> dict:
    """A cell's identifying fields as the JSON file writes them: a non-private ε (inf) as null."""
    eps = cell["epsilon"]
    return {**cell, "epsilon": None if math.isinf(eps) else eps}


def welch_interval(a: list[float], b: list[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """CI of mean(b) − mean(a), unequal variances (Welch–Satterthwaite df); both need ≥ 2 values."""
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    d = float(b_.mean() - a_.mean())
    va, vb = a_.var(ddof=1) / a_.size, b_.var(ddof=1) / b_.size
    se = math.sqrt(va + vb)
    if se == 0.0:
        return d, d
    df = (va + vb) ** 2 / (va**2 / (a_.size - 1) + vb**2 / (b_.size - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    return d - t * se, d + t * se


def newcombe_interval(p_a: float, n_a: int, p_b: float, n_b: int,
                      confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Newcombe's hybrid score CI of p_b − p_a from the two Wilson intervals (``stats.wilson_interval``)."""
    wa, wb = wilson_interval(p_a, n_a, confidence), wilson_interval(p_b, n_b, confidence)
    return side_by_side(p_a, wa.low, wa.high, p_b, wb.low, wb.high)


def side_by_side(m_a: float, lo_a: float, hi_a: float, m_b: float, lo_b: float, hi_b: float) -> tuple[float, float]:
    """CI of m_b − m_a from two independent CIs: each side's distance combined as √(sum of squares)."""
    d = m_b - m_a
    return (d - math.sqrt((m_b - lo_b) ** 2 + (hi_a - m_a) ** 2),
            d + math.sqrt((hi_b - m_b) ** 2 + (m_a - lo_a) ** 2))


def _cell_key(r: UtilityRow) -> tuple[str, str, str, float]:
    return (r.dataset, r.method, r.model, r.epsilon)


def _accuracies(results: Results) -> dict[tuple, tuple[dict, int]]:
    """{(dataset, method, model, ε): ({seed: accuracy}, n_test)} from the utility rows."""
    values: dict[tuple, dict] = defaultdict(dict)
    n_test: dict[tuple, int] = {}
    for r in results.utility:
        key = _cell_key(r)
        values[key][r.seed] = r.accuracy
        n_test[key] = r.n_test
    return {k: (v, n_test[k]) for k, v in values.items()}


def samples_summary(ev: Evidence) -> str:
    """One run's per-row samples in one line (``Evidence`` keyed by compare's cells)."""
    if not ev.with_samples and not ev.problems:
        return "no per-row samples (a run older than samples files, or results.json without its samples/)"
    text = f"per-row samples for {ev.with_samples} evaluation(s)"
    if ev.without_samples:
        text += f", {ev.without_samples} without"
    if ev.problems:
        text += f"; {len(ev.problems)} samples file(s) unreadable: " + "; ".join(ev.problems[:3])
    return text


def row_samples(results: Results, folder: str | Path | None) -> Evidence:
    """Per-row correctness (pred == label) of every utility row with a readable samples file under ``folder``, by
    compare's cell (dataset, method, model, ε) and seed."""
    return load_evidence(results, folder, key=_cell_key)


def _seeds(seeds) -> list[int]:
    return sorted(seeds)


def paired_utility(rows_a: dict | None, rows_b: dict | None, seeds_a=(), seeds_b=()) -> tuple[dict | None, str]:
    """The per-row paired difference B − A of one utility cell: ({"a", "b", "contrast" (``RowContrast``),
    "mcnemar", "seeds", "note"}, "") or (None, why the rows cannot be paired). ``rows_x`` = {seed: {row id:
    correct}}; a seed pairs when both runs have it with the same row ids (at least 2). ``seeds_x``: every seed
    of the cell in each run (for the note on the seeds left out)."""
    if rows_a is None and rows_b is None:
        return None, "neither run has per-row samples for this cell"
    if rows_a is None or rows_b is None:
        return None, f"run {'A' if rows_a is None else 'B'} has no per-row samples for this cell"
    both = [s for s in _seeds(rows_a) if s in rows_b]
    paired = [s for s in both if set(rows_a[s]) == set(rows_b[s]) and len(rows_a[s]) >= 2]
    differ = [s for s in both if s not in paired]
    if not both:
        return None, "no seed has per-row samples in both runs"
    if not paired:
        return None, (f"no seed has the same test rows in both runs (seed(s) {differ}: other row ids, so other "
                      "splits or data)")
    per_seed, xa, xb, ma, mb = {}, [], [], [], []
    for s in paired:
        ids = sorted(rows_a[s])
        a_s = np.array([rows_a[s][i] for i in ids])
        b_s = np.array([rows_b[s][i] for i in ids])
        per_seed[s] = b_s - a_s
        xa.append(a_s)
        xb.append(b_s)
        ma.append(float(a_s.mean()))
        mb.append(float(b_s.mean()))
    left = []
    all_a, all_b = set(seeds_a) | set(rows_a), set(seeds_b) | set(rows_b)
    if only := _seeds(all_a - all_b):
        left.append(f"seed(s) only in A: {only}")
    if only := _seeds(all_b - all_a):
        left.append(f"seed(s) only in B: {only}")
    if differ:
        left.append(f"seed(s) with other test rows: {differ}")
    if missing := _seeds((all_a & all_b) - set(both)):
        left.append(f"seed(s) without samples in one run: {missing}")
    note = f"paired on seed(s) {paired}; left out: " + "; ".join(left) if left else ""
    return {"a": sum(ma) / len(ma), "b": sum(mb) / len(mb), "contrast": row_contrast(per_seed),
            "mcnemar": mcnemar(np.concatenate(xa), np.concatenate(xb)), "seeds": paired, "note": note}, ""


def utility_diff(key: tuple, a: tuple[dict, int | None], b: tuple[dict, int | None],
                 rows_a: dict | None = None, rows_b: dict | None = None) -> Diff:
    """B − A of one utility cell: paired by row within seeds when both runs have per-row samples on the same
    test rows (``paired_utility``), else Welch over seeds (≥ 2 each) or Newcombe over predictions."""
    (va, na), (vb, nb) = a, b
    fields = dict(zip(("dataset", "method", "model", "epsilon"), key))
    found, why = paired_utility(rows_a, rows_b, va, vb)
    if found is not None:
        rc, mc = found["contrast"], found["mcnemar"]
        n = len(found["seeds"])
        return Diff("utility", fields, found["a"], found["b"], n, n, rc.low, rc.high, PAIRED, rc.n_rows, mc.p,
                    mc.n01, mc.n10, found["note"])
    xa, xb = list(va.values()), list(vb.values())
    ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)
    if len(xa) >= 2 and len(xb) >= 2:
        (lo, hi), method = welch_interval(xa, xb), WELCH
    elif na and nb:
        (lo, hi), method = newcombe_interval(ma, na * len(xa), mb, nb * len(xb)), NEWCOMBE
    else:
        lo = hi = None
        method = NONE
    return Diff("utility", fields, ma, mb, len(xa), len(xb), lo, hi, method, note=f"not paired: {why}")


def _privacy_cells(results: Results) -> dict[tuple, PrivacyCell]:
    """{(dataset, method, ε, attack): cell}: results.json ``aggregates`` (schema 2), else computed from its rows."""
    cells = results.aggregates.privacy if results.aggregates is not None else privacy_aggregates(results.privacy)
    return {(c.dataset, c.method, c.epsilon, c.attack): c for c in cells}


def privacy_diff(key: tuple, a: PrivacyCell, b: PrivacyCell) -> Diff:
    if a.ci is not None and b.ci is not None:
        (lo, hi), method = side_by_side(a.mean_auc, *a.ci, b.mean_auc, *b.ci), COMBINED
    else:
        lo = hi = None
        method = NONE
    fields = dict(zip(("dataset", "method", "epsilon", "attack"), key))
    return Diff("privacy", fields, a.mean_auc, b.mean_auc, len(a.seeds), len(b.seeds), lo, hi, method)


@dataclasses.dataclass(frozen=True)
class Comparison:
    utility: list[Diff]
    privacy: list[Diff]
    only_a: list[dict]  # cells only run A has
    only_b: list[dict]
    samples_a: str = ""  # samples_summary() of each run
    samples_b: str = ""


def compare(a: Results, b: Results, folder_a: str | Path | None = None,
            folder_b: str | Path | None = None) -> Comparison:
    """Every cell both runs have, and the cells only one has. ``folder_x``: the folder that holds run x's
    results.json, where its samples files are (None: no per-row samples, so no cell is paired by row)."""
    acc_a, acc_b = _accuracies(a), _accuracies(b)
    priv_a, priv_b = _privacy_cells(a), _privacy_cells(b)
    rows_a, rows_b = row_samples(a, folder_a), row_samples(b, folder_b)
    utility = [utility_diff(k, acc_a[k], acc_b[k], rows_a.rows(k), rows_b.rows(k))
               for k in sorted(set(acc_a) & set(acc_b))]
    privacy = [privacy_diff(k, priv_a[k], priv_b[k]) for k in sorted(set(priv_a) & set(priv_b))]
    ukeys, pkeys = ("dataset", "method", "model", "epsilon"), ("dataset", "method", "epsilon", "attack")

    def only(x: dict, y: dict, names: tuple, section: str) -> list[dict]:
        return [{"section": section, **dict(zip(names, k))} for k in sorted(set(x) - set(y))]

    return Comparison(utility, privacy,
                      only(acc_a, acc_b, ukeys, "utility") + only(priv_a, priv_b, pkeys, "privacy"),
                      only(acc_b, acc_a, ukeys, "utility") + only(priv_b, priv_a, pkeys, "privacy"),
                      samples_summary(rows_a), samples_summary(rows_b))


# ---- gates ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    passed: bool
    lines: tuple[str, ...]
    checked: int


def _where(d: Diff) -> str:
    k = d.key
    if d.section == "utility":
        return f"{k['dataset']} {k['method']} ({k['model']}) eps={eps_label(k['epsilon'])}"
    return f"{k['dataset']} {k['method']} {k['attack']} eps={eps_label(k['epsilon'])}"


def check_thresholds(comparison: Comparison, thresholds: list[Threshold]) -> list[ThresholdResult]:
    out = []
    for t in thresholds:
        diffs = comparison.utility if t.metric == "accuracy" else comparison.privacy
        if not diffs:
            out.append(ThresholdResult(t, False, (f"gate failed: {t.label}: the runs have no {t.metric} cell in "
                                                  "common",), 0))
            continue
        bad = [d for d in diffs if d.moved == GATE_METRICS[t.metric] and abs(d.diff) > t.threshold]
        lines = tuple(f"gate failed: {t.label}: {_where(d)}: {d.a:.3f} -> {d.b:.3f} ({d.diff:+.3f}, 95% CI "
                      f"[{d.low:+.3f}, {d.high:+.3f}], {d.ci_method}{_paired_text(d)})" for d in bad)
        out.append(ThresholdResult(t, not bad, lines, len(diffs)))
    return out


# ---- output ---------------------------------------------------------------------------------------------


def _fmt(x: float | None, scale: float, digits: int, sign: bool = False) -> str:
    if x is None:
        return "—"
    return f"{scale * x:+.{digits}f}" if sign else f"{scale * x:.{digits}f}"


def _key_cell(d: Diff, column: str) -> str:
    if column == "ε":
        return eps_symbol(d.key["epsilon"])
    return str(d.key[column])


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _paired_text(d: Diff) -> str:
    """', 400 paired rows, McNemar p=0.012 (n01 9, n10 25)' for a paired cell, else ''."""
    if d.mcnemar_p is None:
        return ""
    return f", {d.n_rows} paired rows, McNemar p={_p(d.mcnemar_p)} (n01 {d.n01}, n10 {d.n10})"


def _table(diffs: list[Diff], scale: float, digits: int, cols: tuple[str, ...], paired: bool = False) -> list[str]:
    """One row per cell; ``paired`` adds the paired-row columns (utility): rows, McNemar p (n01/n10)."""
    extra = ("paired rows", "McNemar p (n01/n10)") if paired else ()
    lines = ["| " + " | ".join((*cols, "seeds A/B", "A", "B", "B − A", "95% CI of B − A", "CI", *extra, "moved"))
             + " |", "|" + "---|" * (len(cols) + 7 + len(extra))]
    for d in diffs:
        keys = [_key_cell(d, c) for c in cols]
        ci = "—" if d.low is None else f"[{_fmt(d.low, scale, digits, True)}, {_fmt(d.high, scale, digits, True)}]"
        moved = f"**{d.moved}**" if d.moved else "no"
        rows = (("—", "—") if d.mcnemar_p is None else (str(d.n_rows), f"{_p(d.mcnemar_p)} ({d.n01}/{d.n10})")) \
            if paired else ()
        cells = [*keys, f"{d.seeds_a}/{d.seeds_b}", _fmt(d.a, scale, digits), _fmt(d.b, scale, digits),
                 _fmt(d.diff, scale, digits, True), ci, d.ci_method, *rows, moved]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def _notes(diffs: list[Diff]) -> list[str]:
    """The cells' notes (seeds left out of a pairing, why rows were not paired), cells with one note together."""
    by_note: dict[str, list[str]] = defaultdict(list)
    for d in diffs:
        if d.note:
            by_note[d.note].append(_where(d))
    out = []
    for note, cells in by_note.items():
        where = "; ".join(cells) if len(cells) <= 4 else f"{len(cells)} cells"
        out.append(f"- {note}: {where}")
    return out + [""] if out else []


def _run_label(path: str, results: Results) -> str:
    env = results.env
    extra = ", ".join(f"{k} {v}" for k, v in (("git", env.git), ("device", env.device)) if v)
    return f"`{path}` (suite `{results.name or '?'}`, schema {results.schema_}{', ' + extra if extra else ''})"


def to_markdown(comparison: Comparison, a_label: str, b_label: str,
                gates: list[ThresholdResult] | None = None) -> str:
    out = ["# post-bench compare", "",
           f"- A: {a_label}" + (f"; {comparison.samples_a}" if comparison.samples_a else ""),
           f"- B: {b_label}" + (f"; {comparison.samples_b}" if comparison.samples_b else ""), ""]
    if comparison.utility:
        moved = sum(bool(d.moved) for d in comparison.utility)
        paired = sum(d.ci_method == PAIRED for d in comparison.utility)
        out += [f"## Utility: accuracy (%), {moved} of {len(comparison.utility)} cells moved", "",
                *_table(comparison.utility, 100.0, 1, ("dataset", "method", "model", "ε"), paired=True), "",
                f"_Mean over seeds. 95% CI of B − A ({paired} of {len(comparison.utility)} cells paired by row): "
                f"{PAIRED} when both runs have per-row samples on the same test rows (per seed, correct_B − "
                "correct_A over the rows both have; seeds combined with equal weight, variance the larger of the "
                "row and the between-seed one; A and B are then the accuracies on the paired rows; McNemar: exact "
                f"test on the pooled paired rows, n01 = only B right, n10 = only A right), else {WELCH} when both "
                f"runs have ≥ 2 seeds (seed-to-seed variation), else {NEWCOMBE} (test-set sampling only). moved: "
                "the CI excludes 0._", "", *_notes(comparison.utility)]
    if comparison.privacy:
        moved = sum(bool(d.moved) for d in comparison.privacy)
        out += [f"## Privacy: membership-inference AUC, {moved} of {len(comparison.privacy)} cells moved", "",
                *_table(comparison.privacy, 1.0, 3, ("dataset", "method", "ε", "attack")), "",
                f"_Mean AUC over seeds. 95% CI of B − A: {COMBINED}, from each cell's CI (t over seeds, or "
                "one seed's percentile bootstrap over examples), side by side; assumes independent runs. "
                "moved: the CI excludes 0._", ""]
    if not comparison.utility and not comparison.privacy:
        out += ["No cell is in both runs.", ""]
    for label, cells in (("only in A", comparison.only_a), ("only in B", comparison.only_b)):
        if cells:
            out += [f"**Cells {label}** ({len(cells)}): " + "; ".join(
                " ".join((eps_symbol(v) if k == "epsilon" else str(v)) for k, v in c.items()
                         if k != "section")
                for c in cells), ""]
    if gates:
        out += ["## Gates", ""]
        for g in gates:
            out += [f"- {g.threshold.label}: " + ("pass" if g.passed else "**FAIL**") + f" ({g.checked} cells)"]
            out += [f"  - {line.removeprefix('gate failed: ')}" for line in g.lines]
        out.append("")
    return "\n".join(out)


def to_json(comparison: Comparison, a_path: str, b_path: str, gates: list[ThresholdResult] | None = None) -> dict:
    return {
        "a": a_path, "b": b_path,
        "methods": {"utility": {"same test rows with per-row samples": PAIRED, "else both >= 2 seeds": WELCH,
                                "otherwise": NEWCOMBE},
                    "privacy": COMBINED, "confidence": CONFIDENCE, "moved": "the CI of B - A excludes 0"},
        "samples": {"a": comparison.samples_a, "b": comparison.samples_b},
        "utility": [d.to_json() for d in comparison.utility],
        "privacy": [d.to_json() for d in comparison.privacy],
        "only_in_a": [_json_cell(c) for c in comparison.only_a],
        "only_in_b": [_json_cell(c) for c in comparison.only_b],
        "gates": [{"gate": f"{g.threshold.metric}:{g.threshold.threshold:g}", "label": g.threshold.label,
                   "passed": g.passed, "cells": g.checked, "failures": list(g.lines)} for g in gates or []],
    }


def run_compare(a_path: str, b_path: str, thresholds: list[Threshold], json_file: str | None = None,
                a: Results | None = None, b: Results | None = None) -> tuple[str, list[ThresholdResult]]:
    """Load (unless given), compare, check thresholds, write ``json_file``: (markdown, threshold results).
    Samples files are read relative to ``run_folder`` of each path (also when the results are given)."""
    a = a if a is not None else load_run(a_path, "RUN_A")
    b = b if b is not None else load_run(b_path, "RUN_B")
    comparison = compare(a, b, run_folder(a_path), run_folder(b_path))
    gates = check_thresholds(comparison, thresholds)
    if json_file:
        try:
            write_text_atomic(json_file, json.dumps(to_json(comparison, str(a_path), str(b_path), gates), indent=2) + "\n")
        except OSError as err:
            raise UserInputError(problem(str(json_file), "", f"cannot write it ({err.strerror or err})",
                                         "a writable path")) from None
    return to_markdown(comparison, _run_label(str(a_path), a), _run_label(str(b_path), b), gates), gates


def compare_runs(run_a: str, run_b: str, json_file: str | None, gate_texts: tuple[str, ...]) -> int:
    """``post-bench compare``: the comparison on stdout, one line per failed gate on stderr; 3 when one failed."""
    problems, thresholds = [], []
    for text in gate_texts:
        try:
            thresholds.append(parse_threshold(text))
        except UserInputError as err:
            problems += err.problems
    if problems:
        raise UserInputError(problems)
    if json_file:
        writable_dir(Path(json_file).parent, "--json")
    text, checked = run_compare(run_a, run_b, thresholds, json_file)
    click.echo(text)
    failed = [line for g in checked for line in g.lines]
    for line in failed:
        click.echo(line, err=True)
    return 3 if failed else 0
