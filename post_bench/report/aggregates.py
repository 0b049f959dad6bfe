"""results.json ``aggregates`` (schema 2): per-cell statistics beside the per-seed rows, computed with the
report's own statistics (:func:`post_bench.report.stats.cell_interval`), so a machine reads the numbers the
report shows. ``post-bench run`` writes them; gates and ``compare`` read them (or compute them for schema 1).
"""

from __future__ import annotations

from collections import defaultdict

from post_bench.epsilon import eps_key

from .stats import NONE, cell_interval
from .tables import ZERO_SHOT

BOOTSTRAP = "percentile bootstrap over examples"  # the CI a single privacy row carries (``ci.auc``)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _eps(x) -> float | None:
    return None if x is None else float(x)


def _seeds(rows: list[dict]) -> list:
    return sorted((r.get("seed") for r in rows), key=lambda s: (not isinstance(s, int), s if isinstance(s, int) else str(s)))


def utility_aggregates(rows) -> list[dict]:
    """One entry per (dataset, method, model, ε) cell, exactly as the report's utility table computes it:
    the mean accuracy over seeds and ``cell_interval`` (Student-t over seeds, clipped to [0, 1]; one seed: a
    Wilson interval on its n_test predictions; ``ci_method`` says which)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows or []:
        if isinstance(r, dict) and _number(r.get("accuracy")):
            groups[(str(r.get("dataset", "?")), str(r.get("method", "?")), str(r.get("model", "")),
                    _eps(r.get("epsilon")))].append(r)
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1] != ZERO_SHOT, k[1], k[2], eps_key(k[3]))):
        items = groups[key]
        n_test = items[-1].get("n_test")
        n_test = n_test if isinstance(n_test, int) and not isinstance(n_test, bool) else None
        iv = cell_interval([float(r["accuracy"]) for r in items], n_test)
        out.append({"dataset": key[0], "method": key[1], "model": key[2], "epsilon": key[3], "mean": iv.mean,
                    "ci": [iv.low, iv.high] if iv.available else None, "ci_method": iv.kind,
                    "seeds": _seeds(items), "n_test": n_test})
    return out


def privacy_aggregates(rows) -> list[dict]:
    """One entry per (dataset, method, ε, attack) cell with an AUC: the mean over seeds; its CI is
    ``cell_interval`` over seeds (Student-t, clipped to [0, 1]) with ≥ 2 seeds, else the row's own 95%
    percentile-bootstrap CI over the scored examples (``ci.auc``), else none."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows or []:
        if isinstance(r, dict) and _number(r.get("auc")):
            groups[(str(r.get("dataset", "?")), str(r.get("method", "?")), _eps(r.get("epsilon")),
                    str(r.get("attack", "?")))].append(r)
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], eps_key(k[2]), k[3])):
        items = groups[key]
        iv = cell_interval([float(r["auc"]) for r in items])
        ci, method = ([iv.low, iv.high], iv.kind) if iv.available else (None, NONE)
        boot = (items[0].get("ci") or {}).get("auc") if isinstance(items[0].get("ci"), dict) else None
        if len(items) == 1 and isinstance(boot, list) and len(boot) == 2 and all(map(_number, boot)):
            ci, method = [float(boot[0]), float(boot[1])], BOOTSTRAP
        n_examples = [r["n_examples"] for r in items if isinstance(r.get("n_examples"), int)]
        out.append({"dataset": key[0], "method": key[1], "epsilon": key[2], "attack": key[3], "mean_auc": iv.mean,
                    "ci": ci, "ci_method": method, "seeds": _seeds(items),
                    "n_examples": min(n_examples) if n_examples else None})
    return out


def aggregates(results: dict) -> dict:
    """results.json ``aggregates`` (schema 2) for a results dict of any schema."""
    return {"utility": utility_aggregates(results.get("utility")),
            "privacy": privacy_aggregates(results.get("privacy"))}
