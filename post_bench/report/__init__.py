"""Reports from results.json alone (matplotlib figures without pyplot: no global backend, no model imports)."""

from __future__ import annotations

from pathlib import Path

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
