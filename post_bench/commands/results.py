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
from pydantic import ValidationError

import post_bench
from post_bench.models.backbone import cpu_model_name, uses_bf16_autocast
from post_bench.report import SCHEMA
from post_bench.report.aggregates import aggregates
from post_bench.report.claims import from_results
from post_bench.report.evidence import evidence_section, load_evidence
from post_bench.rows import (
    CostRow,
    DistillRow,
    Environment,
    ExtractionRow,
    PrivacyRow,
    Results,
    Row,
    UtilityRow,
    problems_of,
)
from post_bench.runner.plan import Plan
from post_bench.runner.store import RunStore, write_json_atomic
from post_bench.samples import collected_name

ROW_TYPES: dict[str, type[Row]] = {"utility": UtilityRow, "privacy": PrivacyRow, "extraction": ExtractionRow,
                                   "distill": DistillRow, "cost": CostRow, "validation": UtilityRow}
SECTIONS = tuple(ROW_TYPES)


def environment(device: str, jobs: int = 1, precision: str = "auto") -> Environment:
    """Versions, hardware and run settings; ``precision`` is the suite's, recorded as the arithmetic it meant
    on this machine (auto differs between CPUs: a report's numbers depend on it)."""

    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(post_bench.__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        git = None
    return Environment(
        post_bench=post_bench.__version__, torch=torch.__version__, transformers=transformers.__version__,
        opacus=opacus.__version__, python=platform.python_version(), device=device, cpu=cpu_model_name(),
        cpu_threads=torch.get_num_threads(), jobs=jobs,
        precision=f"{precision}: " + ("bf16 autocast" if uses_bf16_autocast(precision, device) else "fp32"),
        git=git, date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def unit_rows(record: dict, unit_id: str) -> dict[str, list[Row]]:
    """The rows a finished unit recorded (its done.json), typed. A row that does not fit results.json is a bug
    in that unit's kind, not bad input: RuntimeError naming the unit (exit 1)."""
    out: dict[str, list[Row]] = {}
    for name, row_type in ROW_TYPES.items():
        rows = record.get(name) or []
        try:
            out[name] = [row_type.model_validate(row) for row in rows]
        except ValidationError as err:
            raise RuntimeError(f"internal error: unit {unit_id}: its {name} rows do not fit results.json: "
                               + "; ".join(problems_of(err)[:3])) from None
    return out


def collect(plan: Plan, store: RunStore, suite_dict: dict, device: str, jobs: int = 1) -> Results:
    """results.json of the plan's finished units: their rows (samples files copied into the run directory), the
    environment, then the evidence, claims and aggregates computed from those rows."""
    sections: dict[str, list[Row]] = {name: [] for name in SECTIONS}
    for unit in plan:
        if not store.is_done(unit.id):
            continue
        for name, rows in unit_rows(store.done_record(unit.id), unit.id).items():
            sections[name] += [collect_samples(row, unit.id, store) for row in rows]
    if not sections["validation"]:  # only suites with budget.evaluate_validation have the section
        del sections["validation"]
    results = Results(schema_=SCHEMA, suite=suite_dict, env=environment(device, jobs, suite_dict["precision"]),
                      **sections)
    evidence = load_evidence(results, store.root)  # every samples file read once for both
    return results.model_copy(update={"evidence": evidence_section(results, store.root, evidence),
                                      "claims": from_results(results, store.root, evidence),
                                      "aggregates": aggregates(results)})


def collect_samples(row: Row, unit_id: str, store: RunStore) -> Row:
    """``row`` with its samples file copied from the unit's folder to ``samples/<unit id>/`` of the run directory,
    and its reference pointing there (relative to the run directory, like results.json)."""
    ref = getattr(row, "samples", None)  # distill and cost rows have no samples
    if ref is None:
        return row
    name = collected_name(unit_id, ref.file)
    target = store.root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(store.unit_dir(unit_id) / ref.file, target)
    return row.model_copy(update={"samples": ref.model_copy(update={"file": name})})


def write_results(path: Path, results: Results) -> None:
    write_json_atomic(path, results.dump())
