"""Reports from results.json alone (matplotlib figures without pyplot: no global backend, no model imports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .markdown import render_report, roc_filename

SCHEMA = 1

__all__ = ["SCHEMA", "load_results", "render_report", "roc_filename"]


def load_results(path: Path | str) -> dict[str, Any]:
    """Read ``results.json`` (or ``<run dir>/results.json``) and check that it is schema 1.

    Raises FileNotFoundError when it is missing and ValueError when it is not a schema-1 results object.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a JSON object with a 'schema' key; got {type(data).__name__}")
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{p}: schema: unsupported results schema {data.get('schema')!r}; allowed: {SCHEMA}")
    return data
