"""Assemble ``results.json`` (schema 2) from the finished units of a plan.

Schema 2 = schema 1 + ``aggregates``: per-cell statistics beside the per-seed rows, computed with the
report's own statistics (``post_bench.report.stats.cell_interval``), so a machine reads the numbers the
report shows. The JSON Schema is ``post_bench/schemas/results.schema.json`` (:func:`schema_path`).
"""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from collections import defaultdict
from pathlib import Path

from post_bench.runner.plan import Plan
from post_bench.runner.store import RunStore, write_json_atomic

SECTIONS = ("utility", "privacy", "extraction", "distill", "cost")
BOOTSTRAP = "percentile bootstrap over examples"  # the CI a single privacy row carries (``ci.auc``)


def environment(device: str, jobs: int = 1, precision: str = "auto") -> dict:
    """Versions, hardware and run settings; ``precision`` is the suite's, recorded as the arithmetic it meant
    on this machine (auto differs between CPUs: a report's numbers depend on it)."""
    import opacus
    import torch
    import transformers

    import post_bench
    from post_bench.models.backbone import cpu_model_name, uses_bf16_autocast

    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(post_bench.__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        git = None
    return {"post_bench": post_bench.__version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "opacus": opacus.__version__, "python": platform.python_version(), "device": device,
            "cpu": cpu_model_name(), "cpu_threads": torch.get_num_threads(), "jobs": jobs,
            "precision": f"{precision}: " + ("bf16 autocast" if uses_bf16_autocast(precision, device) else "fp32"),
            "git": git,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def collect(plan: Plan, store: RunStore, suite_dict: dict, device: str, jobs: int = 1) -> dict:
    from post_bench.report import SCHEMA

    env = environment(device, jobs, suite_dict.get("precision", "auto"))
    results: dict = {"schema": SCHEMA, "suite": suite_dict, "env": env}
    for name in SECTIONS:
        results[name] = []
    for unit in plan:
        if not store.is_done(unit.id):
            continue
        record = store.done_record(unit.id)
        for name in SECTIONS:
            results[name].extend(record.get(name, []))
    from post_bench.report.claims import from_results

    results["claims"] = from_results(results)
    results["aggregates"] = aggregates(results)
    return results


def schema_path() -> Path:
    """The JSON Schema (draft 2020-12) of results.json, shipped as package data."""
    return Path(__file__).resolve().parent.parent / "schemas" / "results.schema.json"


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
    from post_bench.report.stats import cell_interval
    from post_bench.report.tables import ZERO_SHOT, eps_key

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
    from post_bench.report.stats import NONE, cell_interval
    from post_bench.report.tables import eps_key

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


def write_results(path: Path, results: dict) -> None:
    write_json_atomic(path, results)
