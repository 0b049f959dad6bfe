"""results.json ``aggregates`` (schema 2): per-cell statistics beside the per-seed rows, computed with the
report's own statistics (:func:`post_bench.report.stats.cell_interval`), so a machine reads the numbers the
report shows. ``post-bench run`` writes them; gates and ``compare`` read them (or compute them for schema 1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from post_bench.rows import Aggregates, PrivacyCell, PrivacyRow, Results, UtilityCell, UtilityRow

from .stats import NONE, cell_interval
from .tables import ZERO_SHOT

BOOTSTRAP = "percentile bootstrap over examples"  # the CI a single privacy row carries (``ci.auc``)


def _seeds(rows: Iterable[UtilityRow | PrivacyRow]) -> list[int | None]:
    """The rows' seeds: numbers ascending, then a missing seed."""
    return sorted((r.seed for r in rows), key=lambda s: (s is None, s or 0))


def utility_aggregates(rows: Iterable[UtilityRow]) -> list[UtilityCell]:
    """One entry per (dataset, method, model, ε) cell, exactly as the report's utility table computes it:
    the mean accuracy over seeds and ``cell_interval`` (Student-t over seeds, clipped to [0, 1]; one seed: a
    Wilson interval on its n_test predictions; ``ci_method`` says which)."""
    groups: dict[tuple[str, str, str, float], list[UtilityRow]] = defaultdict(list)
    for r in rows:
        groups[(r.dataset, r.method, r.model, r.epsilon)].append(r)
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1] != ZERO_SHOT, k[1], k[2], k[3])):
        items = groups[key]
        n_test = items[-1].n_test
        iv = cell_interval([r.accuracy for r in items], n_test)
        out.append(UtilityCell(dataset=key[0], method=key[1], model=key[2], epsilon=key[3], mean=iv.mean,
                               ci=(iv.low, iv.high) if iv.available else None, ci_method=iv.kind,
                               seeds=_seeds(items), n_test=n_test))
    return out


def privacy_aggregates(rows: Iterable[PrivacyRow]) -> list[PrivacyCell]:
    """One entry per (dataset, method, ε, attack) cell with an AUC: the mean over seeds; its CI is
    ``cell_interval`` over seeds (Student-t, clipped to [0, 1]) with ≥ 2 seeds, else the row's own 95%
    percentile-bootstrap CI over the scored examples (``ci.auc``), else none."""
    groups: dict[tuple[str, str, float, str], list[PrivacyRow]] = defaultdict(list)
    for r in rows:
        if r.auc is not None:
            groups[(r.dataset, r.method, r.epsilon, r.attack)].append(r)
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3])):
        items = groups[key]
        iv = cell_interval([r.auc for r in items])
        ci, method = ((iv.low, iv.high), iv.kind) if iv.available else (None, NONE)
        boot = items[0].ci.auc if items[0].ci is not None else None
        if len(items) == 1 and boot is not None:
            ci, method = boot, BOOTSTRAP
        n_examples = [r.n_examples for r in items if r.n_examples is not None]
        out.append(PrivacyCell(dataset=key[0], method=key[1], epsilon=key[2], attack=key[3], mean_auc=iv.mean,
                               ci=ci, ci_method=method, seeds=_seeds(items),
                               n_examples=min(n_examples) if n_examples else None))
    return out


def aggregates(results: Results) -> Aggregates:
    """results.json ``aggregates`` (schema 2) for results of any schema."""
    return Aggregates(utility=utility_aggregates(results.utility), privacy=privacy_aggregates(results.privacy))
