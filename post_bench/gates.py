"""Checks a finished run must pass (exit 3 when one fails; the results and report are already written).

Always on: an empirical ε lower bound above the ε a prompt claims. A correct DP implementation cannot
produce one (at the bound's confidence), so it means a DP bug or a broken accounting, never bad luck to shrug at.

User gates (``gates:`` in a suite, ``--gate`` on ``post-bench run``; :class:`post_bench.suite.Gate`):

- ``{claim: N, must: hold|not-fail}``: the verdict of PAPER.md claim N (results.json ``claims``) in every
  matching (dataset, ε) cell.
- ``{metric: accuracy, ...}``: the per-cell **mean over seeds** (results.json ``aggregates.utility``: one
  cell per dataset × method × model × ε) must be within ``min``/``max``.
- ``{metric: auc|tpr|eps_lb, ...}``: **every** matching privacy row must be within ``min``/``max`` (so a
  ``max`` compares the largest value, a ``min`` the smallest).
- ``{difference: [a, b], min: x, max: y}``: in every matching (dataset, ε) cell the 95% interval of
  accuracy(a) − accuracy(b) must have its lower end ≥ ``min`` and its upper end ≤ ``max``. The interval pairs
  the test rows within each seed and combines the seeds (``claims.per_row_contrast``, ``paired.row_contrast``)
  from the run's samples files, read relative to the run directory; without them (a run older than samples
  files, a damaged file) it is the t-interval over the paired seeds, and the gate's message says so. Cells: the
  ε values of the methods that read private data (``claims.EPSILON_FREE`` methods, zero_shot and
  source_zero_shot, have one row at ε=None that serves every ε); a cell where one method has no row fails.
  On the command line also ``difference:A-B>=MIN`` / ``difference:A-B<=MAX`` (:func:`parse_difference`).

A gate that matches no value fails with a line saying so: a misspelt filter never passes silently.
Failures are one line per gate, ``gate failed: <gate>: <why>``. :func:`write_junit` writes one testcase per
gate and per claim verdict; :func:`step_summary` is the markdown for ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from post_bench.atomic import write_text_atomic
from post_bench.attacks.base import ATTACKS, load_attacks
from post_bench.epsilon import eps_label, parse_epsilon
from post_bench.errors import UserInputError, problem, short_repr
from post_bench.registry import did_you_mean
from post_bench.report import aggregates as report_aggregates
from post_bench.report.claims import (
    CHANCE,
    CLAIMS,
    EPSILON_FREE,
    accuracy_values,
    from_results,
    per_row_contrast,
)
from post_bench.report.evidence import Evidence, load_evidence
from post_bench.report.stats import weighted_paired_difference
from post_bench.report.tables import claims_tables, to_markdown
from post_bench.rows import Claim, PrivacyRow, Results, UtilityCell
from post_bench.suite import Gate, _pydantic_problems

DP_GATE = "eps lower bound <= claimed eps (always on)"


def _finite_claim(row: PrivacyRow) -> bool:
    return row.claimed_epsilon is not None and math.isfinite(row.claimed_epsilon)


def dp_violations(results: Results) -> list[str]:
    """One line per privacy row whose ``eps_lower_bound`` exceeds its ``claimed_epsilon`` (finite claims only)."""
    lines = []
    for row in results.privacy:
        bound = row.eps_lower_bound
        if not _finite_claim(row) or bound is None or not bound > row.claimed_epsilon:
            continue
        lines.append(f"gate failed: {row.dataset} {row.method} {row.attack} seed={row.seed}: eps lower bound "
                     f"{bound:.2f} (confidence {row.eps_lower_bound_confidence}) > claimed eps "
                     f"{eps_label(row.claimed_epsilon)}: the DP training or its accounting is broken")
    return lines


# ---- parsing and checking names ------------------------------------------------------------------------


DIFFERENCE_SYNTAX = ("difference:A-B>=MIN or difference:A-B<=MAX, e.g. difference:post-zero_shot>=0 (write "
                     "'A - B' with spaces when a method name has a hyphen)")
_DIFFERENCE = re.compile(r"\s*difference\s*:\s*(?P<expr>[^\[{].*?)\s*(?P<op>>=|<=)\s*(?P<bound>\S+)\s*")


def parse_difference(text: str, source: str):
    """``difference:post-zero_shot>=0`` (``<=`` for a max) as a Gate: the methods split at the one `` - `` (spaced)
    when there is one, else at the one ``-``; bad input raises UserInputError."""
    m = _DIFFERENCE.fullmatch(text)
    if m is None:
        raise UserInputError(problem(source, "", "not a difference gate", DIFFERENCE_SYNTAX))
    expr = m["expr"]
    names = [n.strip() for n in (expr.split(" - ") if " - " in expr else expr.split("-"))]
    if len(names) != 2 or not all(names):
        why = (f"{expr!r}: cannot tell the two methods apart" if len(names) > 2
               else f"{expr!r}: expected two methods A-B")
        raise UserInputError(problem(source, "", why, DIFFERENCE_SYNTAX))
    try:
        bound = float(m["bound"])
    except ValueError:
        raise UserInputError(problem(source, "", f"bound {m['bound']!r} is not a number", DIFFERENCE_SYNTAX)) from None
    if not math.isfinite(bound):
        raise UserInputError(problem(source, "", f"bound {m['bound']!r} is not a finite number", DIFFERENCE_SYNTAX))
    data = {"difference": names, ("min" if m["op"] == ">=" else "max"): bound}
    try:
        return Gate.model_validate(data)
    except ValidationError as err:
        raise UserInputError(_pydantic_problems(source, err, model=Gate)) from None


def parse_gate_option(text: str):
    """A ``--gate`` value as a Gate: a one-line YAML flow mapping (as in a suite's ``gates:``), or the difference
    short form ``difference:A-B>=MIN`` (:func:`parse_difference`); bad input raises UserInputError."""

    source = f"--gate {short_repr(text)}"
    if re.match(r"\s*difference\s*:\s*[^\s\[{]", text):
        return parse_difference(text, source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise UserInputError(problem(source, "", f"invalid YAML: {getattr(err, 'problem', err)}",
                                     "a one-line mapping, e.g. {metric: accuracy, method: post, min: 0.6}")) from None
    try:
        return Gate.model_validate(data)
    except ValidationError as err:
        if _not_a_mapping(err):
            raise UserInputError(problem(source, "", "not a YAML mapping",
                                         "a one-line mapping, e.g. {metric: accuracy, method: post, min: 0.6}")) from None
        raise UserInputError(_pydantic_problems(source, err, model=Gate)) from None


def _not_a_mapping(err: ValidationError) -> bool:
    """Whether a model was given something other than a mapping (pydantic's ``model_type`` error on the whole
    input), e.g. a YAML scalar or list where a mapping of keys belongs."""
    return any(e["type"] == "model_type" and not e["loc"] for e in err.errors())


def _gate_attack_names(suite) -> tuple[list[str], dict[str, list]]:
    """(names a gate's ``attack`` may use, {name: suite attacks it matches}) for attacks with privacy rows."""
    load_attacks()
    names: dict[str, list] = {}
    for attack in suite.attacks:
        if attack.name not in ATTACKS:
            continue
        cls = ATTACKS.get(attack.name)
        if cls.kind == "membership":
            names.setdefault(attack.name, []).append(attack)
            for v in attack.variants or cls.default_variants:
                names.setdefault(cls().row_name(v), []).append(attack)
        elif cls.kind == "canaries":  # one_run: privacy rows named after the attack
            names.setdefault(attack.name, []).append(attack)
    return list(names), names


Problem = tuple[str, str, str | None]  # (key, what is wrong, what is allowed)


def _claim_problems(gate, suite) -> list[Problem]:
    claims = [c.number for c in CLAIMS]
    if gate.claim not in claims:
        return [("claim", f"no claim {gate.claim}", ", ".join(map(str, claims)))]
    out: list[Problem] = []
    claim = next(c for c in CLAIMS if c.number == gate.claim)
    needed = sorted({t.method for c in claim.checks for t in (c.a, c.b)} - {CHANCE})
    if missing := [m for m in needed if m not in suite.method_names]:
        out.append(("claim", f"claim {gate.claim} ({claim.statement}) compares {', '.join(needed)}; the suite does not "
                    f"run {', '.join(missing)}, so its verdict can only be inconclusive",
                    "a claim whose methods the suite runs"))
    if len(suite.seeds) < 2:
        out.append(("claim", f"claim {gate.claim}: with one seed every claim is inconclusive (no CI over seeds), so "
                    "this gate could never " + ("hold" if (gate.must or "hold") == "hold" else "fail"),
                    "seeds: at least 2"))
    return out


def _epsilon_problems(gate, suite) -> list[Problem]:
    if not gate.epsilon_given:
        return []
    eps, suite_eps = gate_epsilon(gate), [parse_epsilon(e) for e in suite.epsilons]
    free = gate.method in EPSILON_FREE or bool(gate.difference and set(gate.difference) <= EPSILON_FREE)
    if eps not in suite_eps and not (math.isinf(eps) and free):
        return [("epsilon", f"{eps_label(eps)} is not among the suite's epsilons",
                 ", ".join(map(eps_label, suite_eps)))]
    if gate.difference and math.isfinite(eps) and free:
        return [("epsilon", f"{' and '.join(gate.difference)} read no private data: their only cell is ε=inf, so no "
                 "cell matches ε=" + eps_label(eps), "inf, or leave epsilon out")]
    return []


def _privacy_problems(gate, suite) -> list[Problem]:
    attack_names, by_name = _gate_attack_names(suite)
    if not attack_names:
        return [("metric", f"{gate.metric}: the suite has no membership or one_run attack, so no privacy rows",
                 "accuracy, or add an attack")]
    if gate.attack is not None and gate.attack not in by_name:
        return [("attack", f"{gate.attack!r} is not among the suite's attacks{did_you_mean(gate.attack, attack_names)}",
                 ", ".join(attack_names))]
    if gate.method is not None and gate.method in suite.method_names:
        attacks = by_name[gate.attack] if gate.attack else [a for v in by_name.values() for a in v]
        attacked = {m for a in attacks for m in a.methods}
        if gate.method not in attacked:
            return [("method", f"{gate.method!r} is not attacked by {gate.attack or 'any attack'}",
                     ", ".join(sorted(attacked)))]
    return []


def _name_problems(gate, suite) -> list[Problem]:
    """Problems of one gate, in the order of its keys."""
    methods, datasets = suite.method_names, suite.datasets.private
    out = _claim_problems(gate, suite) if gate.claim is not None else []
    if gate.method is not None and gate.method not in methods:
        out.append(("method", f"{gate.method!r} is not among the suite's methods{did_you_mean(gate.method, methods)}",
                    ", ".join(methods)))
    if gate.dataset is not None and gate.dataset not in datasets:
        out.append(("dataset", f"{gate.dataset!r} is not among datasets.private"
                    f"{did_you_mean(gate.dataset, datasets)}", ", ".join(datasets)))
    out += _epsilon_problems(gate, suite)
    out += [("difference", f"{name!r} is not among the suite's methods{did_you_mean(name, methods)}",
             ", ".join(methods)) for name in gate.difference or [] if name not in methods]
    if gate.metric in ("auc", "tpr", "eps_lb"):
        out += _privacy_problems(gate, suite)
    return out


def gate_problems(gates: Sequence, suite, sources: Sequence[tuple[str, str]]) -> list[str]:
    """Names in ``gates`` the suite does not have (one line each); ``sources[i]`` = (source, key prefix)."""
    return [problem(source, f"{prefix}{key}", what, allowed)
            for gate, (source, prefix) in zip(gates, sources) for key, what, allowed in _name_problems(gate, suite)]


def cli_gates(texts: Iterable[str], suite) -> list:
    """``--gate`` values parsed and checked against the suite; every problem in one UserInputError."""
    gates, problems = [], []
    for text in texts:  # problems in the order of the options
        try:
            gate = parse_gate_option(text)
        except UserInputError as err:
            problems += err.problems
            continue
        problems += gate_problems([gate], suite, [(f"--gate {short_repr(text)}", "")])
        gates.append(gate)
    if problems:
        raise UserInputError(problems)
    return gates


# ---- evaluation -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    value: str  # the compared (worst) value or verdict, for tables
    detail: str  # what was compared, or why it failed
    line: str = ""  # the failure line ("" when passed)
    lines: tuple[str, ...] = ()  # every failure line (the always-on DP gate may have several)


def describe(gate) -> str:
    """``accuracy >= 0.6 (method=post, epsilon=8)`` / ``claim 1 must hold``: the gate in one phrase."""
    if gate.name:
        return gate.name
    filters = [f"{k}={eps_label(gate_epsilon(gate)) if k == 'epsilon' else getattr(gate, k)}"
               for k in ("dataset", "method", "attack", "epsilon")
               if (gate.epsilon_given if k == "epsilon" else getattr(gate, k) is not None)]
    where = f" ({', '.join(filters)})" if filters else ""
    if gate.claim is not None:
        return f"claim {gate.claim} must {gate.must or 'hold'}{where}"
    if gate.difference is not None:
        bounds = " and ".join(b for b in ((f">= {gate.min:g}" if gate.min is not None else ""),
                                          (f"<= {gate.max:g}" if gate.max is not None else "")) if b)
        return f"{gate.difference[0]} - {gate.difference[1]} {bounds} at 95%{where}"
    metric = f"tpr@{gate.fpr:g}" if gate.metric == "tpr" else gate.metric
    bounds = " and ".join(b for b in ((f">= {gate.min:g}" if gate.min is not None else ""),
                                      (f"<= {gate.max:g}" if gate.max is not None else "")) if b)
    return f"{metric} {bounds}{where}"


def gate_epsilon(gate) -> float:
    """The ε a gate names, as the package holds it (``math.inf`` for non-private); the suite's ``null`` / ``inf``
    is converted here, at the suite boundary."""
    return parse_epsilon(gate.epsilon)


def _matches(gate, dataset: str, method: str, epsilon: float, attack: str | None = None) -> bool:
    if gate.method is not None and method != gate.method:
        return False
    if gate.dataset is not None and dataset != gate.dataset:
        return False
    if gate.epsilon_given and epsilon != gate_epsilon(gate):
        return False
    if gate.attack is not None and attack != gate.attack and not str(attack).startswith(gate.attack + "-"):
        return False
    return True


def _outside(gate, value: float) -> str:
    if gate.min is not None and value < gate.min:
        return f"< min {gate.min:g}"
    if gate.max is not None and value > gate.max:
        return f"> max {gate.max:g}"
    return ""


def _failed(name: str, why: str, value: str = "—") -> GateResult:
    return GateResult(name, False, value, why, f"gate failed: {name}: {why}")


def claims_of(results: Results) -> list[Claim]:
    """The run's claims: those results.json holds (schema 2), else computed from its rows (schema 1)."""
    return results.claims if results.claims is not None else from_results(results)


def _claim_gate(gate, results: Results) -> GateResult:
    name = describe(gate)
    found = next((c for c in claims_of(results) if c.claim == gate.claim), None)
    if found is None:
        return _failed(name, f"claim {gate.claim} is not in the results (no utility rows?)")
    cells = [c for c in found.cells
             if (gate.dataset is None or c.dataset == gate.dataset)
             and (not gate.epsilon_given or c.epsilon == gate_epsilon(gate))]
    if not cells:
        return _failed(name, "no (dataset, ε) cell of this claim matches")
    must = gate.must or "hold"
    bad = [c for c in cells if (c.verdict != "holds" if must == "hold" else c.verdict == "does not hold")]
    value = ", ".join(sorted({c.verdict for c in cells}))
    if not bad:
        return GateResult(name, True, value, f"{len(cells)} cell(s): {value}")
    first = bad[0]
    reasons = "; ".join(k.reason for k in first.checks if k.reason)
    why = (f"{first.dataset} ε={eps_label(first.epsilon)}: {first.verdict}"
           + (f" ({reasons})" if reasons else "") + (f" [+{len(bad) - 1} more cell(s)]" if len(bad) > 1 else ""))
    return _failed(name, why, value)


def utility_cells(results: Results) -> list[UtilityCell]:
    """The per-cell accuracy means: results.json ``aggregates`` (schema 2), else computed from its rows."""
    if results.aggregates is not None:
        return results.aggregates.utility
    return report_aggregates.utility_aggregates(results.utility)


def _accuracy_gate(gate, results: Results) -> GateResult:
    name = describe(gate)
    cells = [c for c in utility_cells(results) if _matches(gate, c.dataset, c.method, c.epsilon)]
    if not cells:
        return _failed(name, "no accuracy cell matches (check method, dataset and epsilon against the run's results)")
    failing = [c for c in cells if _outside(gate, c.mean)]
    low_side = _outside(gate, failing[0].mean).startswith("<") if failing else gate.min is not None
    worst = (min if low_side else max)(failing or cells, key=lambda c: c.mean)
    where = (f"{worst.dataset} {worst.method} ({worst.model}) ε={eps_label(worst.epsilon)}: mean "
             f"{worst.mean:.3f} over {len(worst.seeds)} seed(s)")
    if not failing:
        return GateResult(name, True, f"{worst.mean:.3f}", f"{len(cells)} cell(s); worst {where}")
    why = f"{where} {_outside(gate, worst.mean)}" + (f" [+{len(failing) - 1} more cell(s)]" if len(failing) > 1 else "")
    return _failed(name, why, f"{worst.mean:.3f}")


def _privacy_value(gate, row: PrivacyRow) -> float | None:
    if gate.metric == "auc":
        return row.auc
    if gate.metric == "eps_lb":
        return row.eps_lower_bound
    return row.tpr_at_fpr.get(f"{gate.fpr:g}")


def _no_privacy_value(gate, rows: list[PrivacyRow]) -> str:
    if not rows:
        return "no privacy row matches (check attack, method, dataset and epsilon against the run's results)"
    reasons = {r.tpr_null_reason[f"{gate.fpr:g}"] for r in rows
               if f"{gate.fpr:g}" in r.tpr_null_reason} if gate.metric == "tpr" else set()
    return (f"{len(rows)} privacy row(s) match but none has a {gate.metric} value"
            + (f" ({'; '.join(sorted(reasons))})" if reasons else ""))


def _privacy_gate(gate, results: Results) -> GateResult:
    name = describe(gate)
    rows = [r for r in results.privacy if _matches(gate, r.dataset, r.method, r.epsilon, r.attack)]
    valued = [(r, v) for r in rows if (v := _privacy_value(gate, r)) is not None]
    if not valued:
        return _failed(name, _no_privacy_value(gate, rows))
    failing = [(r, v) for r, v in valued if _outside(gate, v)]
    low_side = _outside(gate, failing[0][1]).startswith("<") if failing else gate.max is None
    row, value = (min if low_side else max)(failing or valued, key=lambda rv: rv[1])
    where = (f"{row.dataset} {row.method} {row.attack} ε={eps_label(row.epsilon)} seed={row.seed}: "
             f"{gate.metric} {value:.3f}")
    if not failing:
        return GateResult(name, True, f"{value:.3f}", f"{len(valued)} row(s); worst {where}")
    why = f"{where} {_outside(gate, value)}" + (f" [+{len(failing) - 1} more row(s)]" if len(failing) > 1 else "")
    return _failed(name, why, f"{value:.3f}")


def _difference_cells(gate, values) -> list[tuple[str, float]]:
    """The (dataset, ε) cells of a difference gate: every data set with a row of either method, at the ε values of
    the methods that read private data (ε=inf alone when both are ε-free), filtered by the gate."""
    names = set(gate.difference)
    private = names - EPSILON_FREE
    cells = set()
    for ds, method, eps in values.by_key:
        if method not in names or (gate.dataset is not None and ds != gate.dataset):
            continue
        if not private or method in private:
            cells.add((ds, eps))
    if gate.epsilon_given:
        cells = {c for c in cells if c[1] == gate_epsilon(gate)}
    return sorted(cells)


@dataclasses.dataclass(frozen=True)
class DifferenceCell:
    """One (dataset, ε) cell of a difference gate: its interval of a − b and how it was made, or why there is
    none (a method missing, one seed without samples)."""

    where: str
    why: str = ""  # no interval: why
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    how: str = ""

    def text(self, a: str, b: str) -> str:
        if self.why:
            return f"{self.where}: {self.why}"
        return (f"{self.where}: {a} - {b} {self.estimate:+.3f}, 95% CI [{self.low:+.3f}, {self.high:+.3f}] "
                f"({self.how})")

    def outside(self, gate) -> str:
        if self.why:
            return "no interval"
        if gate.min is not None and self.low < gate.min:
            return f"lower end < min {gate.min:g}"
        if gate.max is not None and self.high > gate.max:
            return f"upper end > max {gate.max:g}"
        return ""


def _per_row_cell(where: str, rows: list) -> tuple[DifferenceCell | None, str]:
    """(the cell paired by row within seeds, "") or (None, why the rows could not be paired)."""
    try:
        rc, seeds, unpaired = per_row_contrast([(1.0, rows[0]), (-1.0, rows[1])])
    except ValueError as err:
        return None, f"no per-row pairing ({err})"
    how = f"rows paired within {len(seeds)} seed(s), {rc.n_rows} rows"
    if rc.reason:
        how += f"; {rc.reason}"
    if unpaired:
        how += f"; seeds missing on one side: {list(unpaired)}"
    return DifferenceCell(where, estimate=rc.estimate, low=rc.low, high=rc.high, how=how), ""


def _difference_cell(gate, ds: str, eps: float, values, evidence: Evidence | None, no_rows: str) -> DifferenceCell:
    """One cell of a difference gate: paired by row within seeds where both methods have per-row samples, else the
    t-interval over the paired seeds."""
    a, b = gate.difference
    keys = [(ds, m, math.inf if m in EPSILON_FREE else eps) for m in (a, b)]
    where = f"{ds} ε={eps_label(eps)}"
    for key in keys:
        if key in values.ambiguous:
            return DifferenceCell(where, f"several {key[1]} rows per seed (several models?)")
        if not values.by_key.get(key):
            return DifferenceCell(where, f"no {key[1]} results at ε={eps_label(key[2])}")
    rows = [evidence.rows(k) for k in keys] if evidence is not None else [None, None]
    why_not = no_rows
    if all(rows):
        found, why_not = _per_row_cell(where, rows)
        if found is not None:
            return found
    elif evidence is not None and evidence.with_samples:
        missing = [m for m, r in zip((a, b), rows) if not r]
        why_not = f"no per-row samples for {' and '.join(missing)}" + (f" ({no_rows})" if no_rows else "")
    try:
        diff = weighted_paired_difference([(1.0, values.by_key[keys[0]]), (-1.0, values.by_key[keys[1]])])
    except ValueError:
        return DifferenceCell(where, f"no seed has both {a} and {b}")
    iv = diff.interval
    if not iv.available:
        return DifferenceCell(where, f"{iv.n} paired seed(s) and {why_not}: no interval")
    how = f"t over {iv.n} paired seeds, not per row: {why_not}"
    if diff.unpaired:
        how += f"; seeds missing on one side: {list(diff.unpaired)}"
    return DifferenceCell(where, estimate=iv.mean, low=iv.low, high=iv.high, how=how)


def _no_rows(evidence: Evidence | None) -> str:
    """Why a difference gate's cells are not paired by row (or "" when the run has readable samples)."""
    if evidence is None:
        return "no run directory to read per-row samples from"
    if not evidence.with_samples:
        return "the run has no per-row samples"
    return "per-row samples unreadable: " + "; ".join(evidence.problems[:2]) if evidence.problems else ""


def _worst_difference(gate, found: list[DifferenceCell], failing: list[DifferenceCell]) -> DifferenceCell:
    if failing:
        return next((c for c in failing if c.why), None) or (
            min(failing, key=lambda c: c.low) if gate.min is not None and any(c.low < gate.min for c in failing)
            else max(failing, key=lambda c: c.high))
    scored = [c for c in found if not c.why]
    return min(scored, key=lambda c: c.low) if gate.min is not None else max(scored, key=lambda c: c.high)


def _difference_gate(gate, results: Results, folder=None, evidence: Evidence | None = None) -> GateResult:
    name = describe(gate)
    a, b = gate.difference
    values = accuracy_values(results.utility)
    cells = _difference_cells(gate, values)
    if not cells:
        return _failed(name, f"no (dataset, ε) cell has {a} or {b} accuracy (check the methods, dataset and epsilon "
                       "against the run's results)")
    if evidence is None and folder is not None:
        evidence = load_evidence(results, folder)
    no_rows = _no_rows(evidence)
    found = [_difference_cell(gate, ds, eps, values, evidence, no_rows) for ds, eps in cells]
    failing = [c for c in found if c.outside(gate)]
    worst = _worst_difference(gate, found, failing)
    value = "—" if worst.why else f"[{worst.low:+.3f}, {worst.high:+.3f}]"
    if not failing:
        return GateResult(name, True, value, f"{len(found)} cell(s); worst {worst.text(a, b)}")
    why = (worst.text(a, b) + ("" if worst.why else f" {worst.outside(gate)}")
           + (f" [+{len(failing) - 1} more cell(s)]" if len(failing) > 1 else ""))
    return _failed(name, why, value)


def evaluate_gate(gate, results: Results, folder=None, evidence: Evidence | None = None) -> GateResult:
    """One gate on a finished run. ``folder``: the run directory (where results.json and its samples/ are),
    read by difference gates for their per-row samples (``evidence``: those already loaded)."""
    if gate.difference is not None:
        r = _difference_gate(gate, results, folder, evidence)
    elif gate.claim is not None:
        r = _claim_gate(gate, results)
    elif gate.metric == "accuracy":
        r = _accuracy_gate(gate, results)
    else:
        r = _privacy_gate(gate, results)
    return dataclasses.replace(r, lines=(r.line,) if r.line else ())


def evaluate(gates: Sequence, results: Results, folder=None) -> list[GateResult]:
    """The always-on DP gate, then every user gate, in order. ``folder``: the run directory (difference gates
    read the per-row samples there; None: they use the t-interval over seeds)."""
    dp = dp_violations(results)
    n_bounds = sum(1 for r in results.privacy if r.eps_lower_bound is not None and _finite_claim(r))
    out = [GateResult(DP_GATE, not dp, f"{len(dp)} violation(s)",
                      dp[0].removeprefix("gate failed: ") if dp else f"{n_bounds} bound(s) against a finite claimed ε",
                      dp[0] if dp else "", tuple(dp))]
    evidence = load_evidence(results, folder) if folder is not None and any(
        g.difference is not None for g in gates) else None
    out += [evaluate_gate(g, results, folder, evidence) for g in gates]
    return out


# ---- JUnit and the GitHub step summary ------------------------------------------------------------------


def _suite_name(results: Results) -> str:
    return results.name or "run"


def junit_xml(outcomes: Sequence[GateResult], results: Results) -> str:
    """JUnit XML: testsuite ``gates`` (a testcase per gate, failed gates as failures) and testsuite
    ``claims`` (a testcase per claim verdict: informational; inconclusive ones are skipped, a claim fails
    CI only through a claim gate)."""
    suite_name = _suite_name(results)
    claims = claims_of(results)
    failures = str(sum(not o.passed for o in outcomes))
    root = ET.Element("testsuites", name=f"post-bench {suite_name}", tests=str(len(outcomes) + len(claims)),
                      failures=failures)
    gates = ET.SubElement(root, "testsuite", name=f"post-bench gates ({suite_name})", tests=str(len(outcomes)),
                          failures=failures, errors="0", skipped="0")
    for o in outcomes:
        case = ET.SubElement(gates, "testcase", classname="post_bench.gates", name=o.name, time="0")
        if o.passed:
            ET.SubElement(case, "system-out").text = o.detail
        else:
            fail = ET.SubElement(case, "failure", message=o.line, type="gate")
            fail.text = "\n".join(o.lines or (o.line,))
    skipped = sum(c.verdict == "inconclusive" for c in claims)
    csuite = ET.SubElement(root, "testsuite", name=f"post-bench claims ({suite_name})", tests=str(len(claims)),
                           failures="0", errors="0", skipped=str(skipped))
    for c in claims:
        case = ET.SubElement(csuite, "testcase", classname="post_bench.claims",
                             name=f"claim {c.claim}: {c.statement} — {c.verdict}", time="0")
        cells = "\n".join(f"{x.dataset} ε={eps_label(x.epsilon)}: {x.verdict}" for x in c.cells)
        if c.verdict == "inconclusive":
            ET.SubElement(case, "skipped", message=f"inconclusive: {cells.splitlines()[0] if cells else 'no cells'}")
        ET.SubElement(case, "system-out").text = f"verdict: {c.verdict}\n{cells}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, outcomes: Sequence[GateResult], results: Results) -> None:
    write_text_atomic(Path(path), junit_xml(outcomes, results))


def step_summary(outcomes: Sequence[GateResult], results: Results) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: the gates table and the claims summary table."""
    def esc(s: str) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    failed = sum(not o.passed for o in outcomes)
    head = f"## post-bench `{_suite_name(results)}`: " + (f"{failed} of {len(outcomes)} gates failed" if failed
                                                          else f"all {len(outcomes)} gates passed")
    lines = [head, "", "| gate | result | value | detail |", "|---|---|---|---|"]
    lines += [f"| {esc(o.name)} | {'pass' if o.passed else '**FAIL**'} | {esc(o.value)} | {esc(o.detail)} |"
              for o in outcomes]
    claims = claims_of(results)
    if claims:
        lines += ["", "### Claims", "", to_markdown(claims_tables(claims)[0])]
    return "\n".join(lines) + "\n\n"


def append_step_summary(text: str, env: dict | None = None) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when it is set (GitHub Actions); returns the path."""
    path = (env if env is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
    return Path(path)
