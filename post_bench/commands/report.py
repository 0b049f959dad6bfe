"""``post-bench report``: re-render the report of a run from its results.json alone (no model is loaded)."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from post_bench.atomic import writable_dir
from post_bench.errors import UserInputError, problem
from post_bench.report import load_results, render_report
from post_bench.report.aggregates import aggregates
from post_bench.report.claims import from_results
from post_bench.report.evidence import evidence_section, load_evidence, rescore
from post_bench.runner.store import write_json_atomic


def render(results: dict, out: Path) -> list:
    """Write the report; a place that cannot take it (full disk, read-only) is one line, exit 2."""
    try:
        return render_report(results, out)
    except OSError as err:
        raise UserInputError(problem(str(err.filename or out), "", f"cannot write the report ({err.strerror or err})",
                                     "a writable directory with free space")) from None


def rederive(results: dict, folder: Path) -> dict:
    """Every number that the run's samples files determine re-derived from them (``evidence.rescore``), then the
    claims (paired per example where samples exist) and aggregates recomputed; an unreadable samples file is one
    line on stderr and its row keeps the stored numbers."""
    fresh, problems = rescore(results, folder)
    for line in problems:
        click.echo(f"note: {line}; its row keeps the numbers results.json records", err=True)
    evidence = load_evidence(fresh, folder)  # every samples file read once for both
    fresh["evidence"] = evidence_section(fresh, folder, evidence)
    fresh["claims"] = from_results(fresh, folder, evidence)
    fresh["aggregates"] = aggregates(fresh)
    return fresh


def copy_samples(results: dict, src: Path, dst: Path) -> int:
    """Copy the samples files ``results`` points at from ``src`` to ``dst`` (same relative paths)."""
    n = 0
    if src.resolve() == dst.resolve():
        return 0
    for section in ("utility", "privacy", "extraction"):
        for row in results.get(section) or []:
            ref = row.get("samples") if isinstance(row, dict) else None
            if isinstance(ref, dict) and isinstance(ref.get("file"), str) and (src / ref["file"]).is_file():
                (dst / ref["file"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / ref["file"], dst / ref["file"])
                n += 1
    return n


def report_run(run_dir: str, to_dir: str | None) -> int:
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise UserInputError(f"{path}: not found; allowed: a run directory written by post-bench run")
    try:
        results = load_results(path)
    except ValueError as err:
        raise UserInputError(f"{path}: {err}") from None
    out = writable_dir(Path(to_dir) if to_dir else Path(run_dir) / "report", "--to")
    try:
        results = rederive(results, path.parent)
        written = render(results, out)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as err:  # a hand-edited results.json
        raise UserInputError(f"{path}: cannot render it ({type(err).__name__}: {err}); allowed: results.json as "
                             "written by post-bench run") from None
    if to_dir:  # a standalone report dir keeps the results it was rendered from, and their samples
        write_json_atomic(out / "results.json", results)
        copy_samples(results, path.parent, out)
    click.echo(f"wrote {len(written)} files to {out}")
    return 0
