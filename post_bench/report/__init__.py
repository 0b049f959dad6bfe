"""Reports from results.json alone (matplotlib figures without pyplot: no global backend, no model imports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from post_bench.rows import READABLE, SCHEMA, Results, read_results

from .markdown import render_report, roc_filename


__all__ = ["READABLE", "SCHEMA", "load_results", "render_report", "roc_filename", "schema_path"]


def schema_path() -> Path:
    """The JSON Schema (draft 2020-12) of results.json, shipped as package data."""
    return Path(__file__).resolve().parent.parent / "schemas" / "results.schema.json"


def load_results(path: Path | str) -> Results:
    """Read ``results.json`` (or ``<run dir>/results.json``) into its typed rows (:mod:`post_bench.rows`).

    Raises FileNotFoundError when it is missing and ValueError (one line per problem) when it is not a results
    object of a readable schema (``READABLE``).
    """
    return read_results(path)


SECTIONS = ("utility", "privacy", "extraction", "distill", "cost")
_NUM, _TEXT = (int, float), (str,)
FIELDS = {  # field -> allowed types besides null (a missing value renders as "—"); other fields are not checked
    "dataset": _TEXT, "method": _TEXT, "model": _TEXT, "attack": _TEXT, "kind": _TEXT, "unit": _TEXT,
    "model_role": _TEXT, "device": _TEXT, "epsilon": (*_NUM, type(None)), "seed": (int,),
    "accuracy": _NUM, "n_test": (int,), "duplicates_removed": (int,), "auc": _NUM, "balanced_accuracy": _NUM, "eps_lower_bound": (*_NUM, type(None)),
    "n_shadows": (int,), "n_examples": (int,), "mean_exposure": _NUM, "max_exposure": _NUM, "n_canaries": (int,),
    "teacher_loss": _NUM, "truncated_loss": _NUM, "student_loss": _NUM, "steps": (int,), "wall_s": _NUM,
    "tokens": _NUM, "flops": _NUM, "peak_mem_mb": _NUM, "tpr_at_fpr": (dict,), "roc": (dict, type(None)),
    "layers": (list,), "kd_curve": (list,),
}
# fields whose type differs by section: an extraction row's "tokens" are the prompt's nearest tokens
SECTION_FIELDS = {"extraction": {**FIELDS, "tokens": (list,)}}


def results_problems(data: dict) -> list[str]:
    """Rows that are not what ``post-bench run`` writes: sections must be lists of objects, and the fields
    the report reads must have their types (a bool is not a number)."""
    out = []
    for name in SECTIONS:
        rows = data.get(name, [])
        if not isinstance(rows, list):
            out.append(f"{name}: expected a list of rows, got {type(rows).__name__}")
            continue
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                out.append(f"{name}[{i}]: expected an object, got {type(row).__name__}")
                continue
            for key, kinds in SECTION_FIELDS.get(name, FIELDS).items():
                value = row.get(key)
                if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
                    allowed = " or ".join(k.__name__ for k in kinds if k is not type(None)) + " or null"
                    out.append(f"{name}[{i}].{key}: {type(value).__name__} value; allowed: {allowed}")
    for key in ("suite", "env"):
        if key in data and not isinstance(data[key], dict):
            out.append(f"{key}: expected an object, got {type(data[key]).__name__}")
    return out
