"""Assemble ``results.json`` (schema 2) from the finished units of a plan: the rows the units recorded, the
environment, and the claims and per-cell ``aggregates`` the report computes from those rows
(:mod:`post_bench.report.aggregates`), so a machine reads the numbers the report shows.
"""

from __future__ import annotations

import datetime as dt
import platform
import shutil
import subprocess
from pathlib import Path

import opacus
import torch
import transformers

import post_bench
from post_bench.models.backbone import cpu_model_name, uses_bf16_autocast
from post_bench.report import SCHEMA
from post_bench.report.aggregates import aggregates
from post_bench.report.claims import from_results
from post_bench.report.evidence import evidence_section, load_evidence
from post_bench.runner.plan import Plan
from post_bench.runner.store import RunStore, write_json_atomic
from post_bench.samples import collected_name

SECTIONS = ("utility", "privacy", "extraction", "distill", "cost")


def environment(device: str, jobs: int = 1, precision: str = "auto") -> dict:
    """Versions, hardware and run settings; ``precision`` is the suite's, recorded as the arithmetic it meant
    on this machine (auto differs between CPUs: a report's numbers depend on it)."""

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
    env = environment(device, jobs, suite_dict.get("precision", "auto"))
    results: dict = {"schema": SCHEMA, "suite": suite_dict, "env": env}
    for name in SECTIONS:
        results[name] = []
    for unit in plan:
        if not store.is_done(unit.id):
            continue
        record = store.done_record(unit.id)
        for name in SECTIONS:
            results[name].extend(collect_samples(record.get(name, []), unit.id, store))
    evidence = load_evidence(results, store.root)  # every samples file read once for both
    results["evidence"] = evidence_section(results, store.root, evidence)
    results["claims"] = from_results(results, store.root, evidence)
    results["aggregates"] = aggregates(results)
    return results


def collect_samples(rows: list[dict], unit_id: str, store: RunStore) -> list[dict]:
    """``rows`` with their samples files copied from the unit's folder to ``samples/<unit id>/`` of the run
    directory, and their references pointing there (relative to the run directory, like results.json)."""
    out = []
    for row in rows:
        ref = row.get("samples") if isinstance(row, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("file"), str):
            name = collected_name(unit_id, ref["file"])
            target = store.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store.unit_dir(unit_id) / ref["file"], target)
            row = {**row, "samples": {**ref, "file": name}}
        out.append(row)
    return out


def write_results(path: Path, results: dict) -> None:
    write_json_atomic(path, results)
