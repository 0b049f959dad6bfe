"""Membership attacks compared on the same outcomes, paired by example.

A privacy row's AUC and its 95% CI say how well one attack tells members from non-members; they do not say
whether one attack is stronger than another (two overlapping intervals do not mean "no difference"). Attacks of
one (dataset, method, ε, seed) cell that scored the same outcomes -- the same (prompt, example) pairs with the
same memberships -- are compared here directly:

- the difference of their pooled AUCs, AUC(attack) − AUC(reference), on all M × N outcomes;
- its 95% bootstrap interval over examples: each replicate draws N examples with replacement and takes all M
  prompts' outcomes of each drawn example together (they share the example), with the same draw for every attack
  of the cell. That is the pairing: an example that is easy (or hard) moves both AUCs, and cancels in their
  difference. Each replicate's AUCs are exact (``ExampleOutcomes`` of :mod:`post_bench.attacks.metrics`, as in
  the rows' own intervals); the interval is the percentile interval of the replicates' differences
  (``metrics.QUANTILE`` order statistics), 1000 replicates from a seed fixed by the cell's seed.
- references: the baseline attack (the registered one with ``baseline = True``: LOSS, the simplest) and the
  strongest attack of the cell by AUC;
- verdict: stronger (interval above 0), weaker (below 0), no difference at 95% (it includes 0).

Caveats the table states: the strongest attack is picked on the same outcomes, so differences against it lean
towards "weaker" (a winner's curse); each interval holds at 95% on its own, not jointly over a cell's
comparisons; a statistic that depends on other examples (RMIA's population, a pooled σ) is held fixed in a
replicate, as in the rows' own intervals.

Pure numpy (through ``attacks.metrics``); the outcomes come from the samples files through
:func:`post_bench.report.evidence.load_membership`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from post_bench.attacks.base import MembershipAttack, attack_of_row
from post_bench.attacks.metrics import QUANTILE, ExampleOutcomes
from post_bench.epsilon import eps_symbol
from post_bench.rows import PrivacyRow, Results

from .evidence import MembershipOutcomes, load_membership
from .tables import DASH, Table, is_canary_audit, num

TITLE = "Attacks compared on the same outcomes"
CONFIDENCE = 0.95
N_BOOT = 1000
STRONGER, WEAKER, NO_DIFFERENCE = "stronger", "weaker", "no difference at 95%"

__all__ = ["CONFIDENCE", "N_BOOT", "NO_DIFFERENCE", "STRONGER", "TITLE", "WEAKER", "AttackDifference",
           "AttackPairs", "Cell", "Comparison", "attack_pairs", "attack_pairs_table", "compare_attacks"]


@dataclasses.dataclass(frozen=True)
class AttackDifference:
    """AUC(attack) − AUC(reference) on the same outcomes, its bootstrap interval over examples and the verdict."""

    attack: str
    reference: str
    difference: float
    low: float
    high: float
    verdict: str  # STRONGER | WEAKER | NO_DIFFERENCE


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Attacks scored on the same outcomes: each one's pooled AUC, and its difference with each reference."""

    aucs: tuple[tuple[str, float], ...]  # (attack, AUC), highest AUC first (ties by name)
    strongest: str
    baseline: str | None  # None: the baseline attack did not score these outcomes
    differences: tuple[AttackDifference, ...]  # every other attack against the baseline, then the strongest
    n_prompts: int
    n_examples: int
    n_boot: int
    confidence: float

    def difference(self, attack: str, reference: str | None) -> AttackDifference | None:
        """``attack`` against ``reference``; None when there is no such comparison (the attack is the reference)."""
        return next((d for d in self.differences if d.attack == attack and d.reference == reference), None)


def verdict(low: float, high: float) -> str:
    """STRONGER when the interval lies above 0, WEAKER when below, else NO_DIFFERENCE."""
    if low > 0.0:
        return STRONGER
    return WEAKER if high < 0.0 else NO_DIFFERENCE


def _checked(statistics: Mapping[str, object], member: object) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(attack names in name order, statistics [A, M, N], memberships [M, N] bool); ValueError on what cannot be
    compared."""
    if not isinstance(statistics, Mapping) or len(statistics) < 2:
        raise ValueError(f"statistics: expected a mapping of at least 2 attacks -> [prompts, examples] arrays; got "
                         f"{len(statistics) if isinstance(statistics, Mapping) else type(statistics).__name__}")
    y = np.asarray(member)
    if y.ndim != 2 or y.shape[1] < 2:
        raise ValueError(f"member: expected a [prompts, examples] array with at least 2 examples; got shape {y.shape}")
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        raise ValueError("member: values must be boolean or 0/1")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("member: needs both members and non-members")
    names = sorted(statistics)
    stats = []
    for name in names:
        s = np.asarray(statistics[name], dtype=np.float64)
        if s.shape != y.shape:
            raise ValueError(f"statistics[{name!r}]: shape {s.shape}, the memberships' is {y.shape}; the attacks "
                             "must score the same (prompt, example) outcomes")
        if not np.isfinite(s).all():
            raise ValueError(f"statistics[{name!r}]: contains NaN or infinity")
        stats.append(s)
    return names, np.stack(stats), y


def _bootstrap(stats: np.ndarray, member: np.ndarray, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(AUC [A] on all outcomes, AUC [A, B] under B draws of the examples, the same draws for every attack)."""
    n = member.shape[1]
    rng = np.random.default_rng([seed, 0xA77A])
    draws = rng.integers(n, size=(n_boot, n))
    mult = np.bincount((draws + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n).reshape(n_boot, n)
    full, boot = [], []
    for s in stats:
        outcomes = ExampleOutcomes.from_arrays(s, member)
        full.append(float(outcomes.auc_se(np.ones((1, n)))[0][0]))
        boot.append(outcomes.auc_se(mult)[0])
    return np.array(full), np.stack(boot)


def _difference(names: list[str], auc: np.ndarray, boot: np.ndarray, attack: str, reference: str,
                confidence: float) -> AttackDifference:
    a, r = names.index(attack), names.index(reference)
    d = boot[a] - boot[r]
    d = d[np.isfinite(d)]  # a draw without members or without non-members has no AUC
    if d.size < 2:
        raise ValueError(f"{attack} − {reference}: fewer than 2 bootstrap draws with both members and non-members")
    low, high = (float(v) for v in np.quantile(d, [(1 - confidence) / 2, (1 + confidence) / 2], method=QUANTILE))
    return AttackDifference(attack, reference, float(auc[a] - auc[r]), low, high, verdict(low, high))


def compare_attacks(statistics: Mapping[str, object], member: object, *, baseline: str | None = None,
                    n_boot: int = N_BOOT, confidence: float = CONFIDENCE, seed: int = 0) -> Comparison:
    """Every attack of ``statistics`` ({attack: [M, N] statistics, higher = member}, all on the outcomes whose
    memberships ``member`` [M, N] holds; column n = the M prompts' outcomes on example n) against ``baseline``
    (when given) and against the strongest attack by AUC (ties: the first by name): AUC differences with a
    ``confidence`` percentile bootstrap interval over the N examples (``n_boot`` draws, the same for every attack;
    ``seed`` fixes them).

    Raises ValueError on fewer than 2 attacks, statistics of another shape than ``member`` or not finite, member
    values other than 0/1 or of one class only, fewer than 2 examples, a ``baseline`` not in ``statistics``,
    ``n_boot`` < 2 and ``confidence`` outside (0, 1)."""
    if n_boot < 2:
        raise ValueError(f"n_boot: must be >= 2; got {n_boot}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: must lie in (0, 1); got {confidence}")
    names, stats, y = _checked(statistics, member)
    if baseline is not None and baseline not in statistics:
        raise ValueError(f"baseline: {baseline!r} is not one of the attacks compared ({', '.join(names)})")
    auc, boot = _bootstrap(stats, y, n_boot, seed)
    order = sorted(range(len(names)), key=lambda i: (-auc[i], names[i]))
    strongest = names[order[0]]
    refs = [r for r in dict.fromkeys((baseline, strongest)) if r is not None]
    diffs = tuple(_difference(names, auc, boot, names[i], ref, confidence)
                  for ref in refs for i in order if names[i] != ref)
    return Comparison(tuple((names[i], float(auc[i])) for i in order), strongest, baseline, diffs,
                      int(y.shape[0]), int(y.shape[1]), n_boot, confidence)


# ---- a run's cells --------------------------------------------------------------------------------------

CellKey = tuple  # (dataset, method, ε, seed)


@dataclasses.dataclass(frozen=True)
class Cell:
    """The attacks of one (dataset, method, ε, seed) compared on the outcomes they share."""

    dataset: str
    method: str
    epsilon: float
    seed: int | None
    comparison: Comparison


@dataclasses.dataclass(frozen=True)
class AttackPairs:
    """The cells of a run whose membership attacks were compared, and what kept the others out."""

    cells: tuple[Cell, ...]
    without_samples: int = 0  # cells of ≥ 2 membership attacks with fewer than 2 readable samples files
    problems: tuple[str, ...] = ()  # one line each: unreadable files, attacks left out of a cell

    def note(self) -> str:
        """One line on what could not be compared ("" when every cell of ≥ 2 attacks was)."""
        parts = []
        if self.without_samples:
            parts.append(f"{self.without_samples} cell(s) of (dataset, method, ε, seed) with ≥ 2 membership attacks "
                         "have no per-example outputs (samples files) to pair them by example"
                         + ("; not shown" if not self.cells else ""))
        parts += list(self.problems[:5])
        if len(self.problems) > 5:
            parts.append(f"(and {len(self.problems) - 5} more)")
        return "; ".join(parts) + ("." if parts else "")


def _label(key: CellKey) -> str:
    ds, method, eps, seed = key
    return f"{ds} / {method} / ε={eps_symbol(eps)} / seed {num(seed)}"


def _is_baseline(row: PrivacyRow) -> bool:
    cls = attack_of_row(row.attack)
    return cls is not None and issubclass(cls, MembershipAttack) and cls.baseline


def _membership_cells(results: Results) -> dict[CellKey, list[tuple[int, PrivacyRow]]]:
    """The privacy table's rows (membership attacks with an AUC, no canary audits) by (dataset, method, ε, seed),
    with their index in ``results.privacy``."""
    cells: dict[CellKey, list[tuple[int, PrivacyRow]]] = defaultdict(list)
    for i, row in enumerate(results.privacy):
        if row.auc is not None and not is_canary_audit(row):
            cells[(row.dataset, row.method, row.epsilon, row.seed)].append((i, row))
    return cells


def _shared(rows: Sequence[tuple[int, PrivacyRow]], outcomes: Mapping[int, MembershipOutcomes]
            ) -> tuple[list[tuple[PrivacyRow, MembershipOutcomes]], list[str]]:
    """(the rows that scored the same outcomes as most of the others, with their outcomes; the other rows' attack
    names). Same outcomes: the same (prompt, example) grid with the same memberships."""
    groups: dict[tuple, list[tuple[PrivacyRow, MembershipOutcomes]]] = defaultdict(list)
    for i, row in rows:
        o = outcomes[i]
        groups[(o.member.shape, o.present.tobytes(), o.member.tobytes())].append((row, o))
    ranked = sorted(groups.values(), key=lambda g: (-len(g), not any(_is_baseline(r) for r, _ in g),
                                                    min(r.attack for r, _ in g)))
    return ranked[0], sorted(r.attack for g in ranked[1:] for r, _ in g)


def _compare_cell(key: CellKey, rows: Sequence[tuple[int, PrivacyRow]], outcomes: Mapping[int, MembershipOutcomes],
                  n_boot: int, confidence: float) -> tuple[Cell | None, list[str]]:
    """The cell's comparison (None when fewer than 2 attacks share outcomes) and its problem lines."""
    names = [r.attack for _, r in rows]
    if len(set(names)) < len(names):
        return None, [f"{_label(key)}: an attack has several rows (several models?); not compared"]
    group, others = _shared(rows, outcomes)
    problems = [f"{_label(key)}: {', '.join(others)} scored other outcomes than {', '.join(r.attack for r, _ in group)}"
                "; left out"] if others else []
    if len(group) < 2:
        return None, problems
    if not all(o.present.all() for _, o in group):
        return None, problems + [f"{_label(key)}: the samples cover only part of the prompts × examples; not compared"]
    member = group[0][1].member
    baseline = next((r.attack for r, _ in group if _is_baseline(r)), None)
    comparison = compare_attacks({r.attack: o.statistic for r, o in group}, member, baseline=baseline,
                                 n_boot=n_boot, confidence=confidence, seed=key[3] or 0)
    return Cell(*key, comparison), problems


def _cell_order(key: CellKey) -> tuple:
    ds, method, eps, seed = key
    return (ds, method, eps, -1 if seed is None else seed)


def attack_pairs(results: Results, folder, *, n_boot: int = N_BOOT, confidence: float = CONFIDENCE) -> AttackPairs:
    """The membership attacks of each (dataset, method, ε, seed) cell of ``results`` compared on their shared
    outcomes (``compare_attacks``), read from the samples files under ``folder`` (the folder holding results.json;
    None: no samples). A cell with fewer than 2 readable files counts in ``without_samples``; an attack without a
    file, on other outcomes or with outcomes that cannot be compared is a line in ``problems``."""
    outcomes, read_problems = load_membership(results, folder)
    cells, problems, without = [], list(read_problems), 0
    for key, rows in sorted(_membership_cells(results).items(), key=lambda kv: _cell_order(kv[0])):
        if len(rows) < 2:
            continue
        have = [(i, r) for i, r in rows if i in outcomes]
        if len(have) < 2:
            without += 1
            continue
        if len(have) < len(rows):
            problems.append(f"{_label(key)}: " + ", ".join(sorted(r.attack for i, r in rows if i not in outcomes))
                            + " without per-example outputs; left out")
        try:
            cell, lines = _compare_cell(key, have, outcomes, n_boot, confidence)
        except ValueError as err:
            cell, lines = None, [f"{_label(key)}: {err}; not compared"]
        problems += lines
        if cell is not None:
            cells.append(cell)
    return AttackPairs(tuple(cells), without, tuple(problems))


# ---- the table ------------------------------------------------------------------------------------------


def signed(x: float) -> str:
    """A difference with its sign and 3 decimals; down to its first significant digit where 3 decimals would
    round a non-zero value to ±0.000 (so a bound's side of 0 shows: +0.0004, +0.00006, not +0.000)."""
    if x == 0.0 or abs(x) >= 0.0005:
        return f"{x:+.3f}"
    if abs(x) < 1e-9:
        return f"{x:+.0e}"
    return f"{x:+.{-math.floor(math.log10(abs(x)))}f}"


def _diff_cells(c: Comparison, attack: str, reference: str | None) -> tuple[str, str]:
    """(difference [CI], verdict) of ``attack`` against ``reference``: "reference" on its own row, dashes when the
    cell has no such reference."""
    if reference is None:
        return DASH, DASH
    if attack == reference:
        return "reference", DASH
    d = c.difference(attack, reference)
    if d is None:
        return DASH, DASH
    return f"{signed(d.difference)} [{signed(d.low)}, {signed(d.high)}]", d.verdict


def _baseline_name(pairs: AttackPairs) -> str:
    names = {c.comparison.baseline for c in pairs.cells if c.comparison.baseline is not None}
    return names.pop() if len(names) == 1 else "baseline"


def attack_pairs_table(pairs: AttackPairs) -> Table:
    """One row per attack of each compared cell, highest AUC first: its AUC, and its AUC difference [95% CI] with
    the baseline attack and with the cell's strongest attack, each with its verdict."""
    base = _baseline_name(pairs)
    out = []
    for cell in pairs.cells:
        c = cell.comparison
        for attack, auc in c.aucs:
            out.append((cell.dataset, cell.method, eps_symbol(cell.epsilon), num(cell.seed),
                        attack + (" (strongest)" if attack == c.strongest else ""), num(auc),
                        *_diff_cells(c, attack, c.baseline), *_diff_cells(c, attack, c.strongest)))
    n_boot = {c.comparison.n_boot for c in pairs.cells}
    boot = f"{n_boot.pop()} " if len(n_boot) == 1 else ""
    return Table(
        TITLE,
        ("dataset", "method", "ε", "seed", "attack", "AUC", f"AUC − {base} [95% CI]", f"vs {base}",
         "AUC − strongest [95% CI]", "vs strongest"),
        tuple(out),
        f"Attacks of one cell that scored the same (prompt, example) outcomes, paired: AUC difference on all "
        f"outcomes, [95% CI]: percentile bootstrap over examples ({boot}draws; all prompts' outcomes of a drawn "
        "example together, the same draws for every attack of the cell). stronger / weaker: the CI lies above / "
        "below 0; no difference at 95%: it includes 0 (not evidence that the attacks are equally strong). "
        f"{base}: the simplest attack; strongest: the cell's highest AUC, picked on these same outcomes, so "
        "differences against it lean towards 'weaker'. Each CI holds on its own, not jointly over the table.",
    )


def attack_pairs_lines(results: Results, folder) -> tuple[Table | None, str]:
    """(the table, or None when no cell was compared; the line saying what was not compared, or "")."""
    pairs = attack_pairs(results, folder)
    table = attack_pairs_table(pairs)
    return (table if table.rows else None), pairs.note()
