"""``post-bench report``: re-render the report of a run from its results.json alone (no model is loaded)."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from post_bench.atomic import writable_dir
from post_bench.commands.compare import load_run
from post_bench.errors import UserInputError, problem
from post_bench.report import render_report
from post_bench.report.aggregates import aggregates
from post_bench.report.claims import from_results
from post_bench.report.evidence import evidence_section, load_evidence, rescore
from post_bench.rows import Results
from post_bench.runner.store import write_json_atomic


def render(results: Results, out: Path, samples_dir: Path | None = None) -> list:
    """Write the report (``samples_dir``: the folder holding results.json and its samples files); a place that
    cannot take it (full disk, read-only) is one line, exit 2."""
    try:
        return render_report(results, out, samples_dir)
    except OSError as err:
        raise UserInputError(problem(str(err.filename or out), "", f"cannot write the report ({err.strerror or err})",
                                     "a writable directory with free space")) from None


def rederive(results: Results, folder: Path) -> Results:
    """Every number that the run's samples files determine re-derived from them (``evidence.rescore``), then the
    claims (paired per example where samples exist) and aggregates recomputed; an unreadable samples file is one
    line on stderr and its row keeps the stored numbers."""
    fresh, problems = rescore(results, folder)
    for line in problems:
        click.echo(f"note: {line}; its row keeps the numbers results.json records", err=True)
    evidence = load_evidence(fresh, folder)  # every samples file read once for both
    return fresh.model_copy(update={"evidence": evidence_section(fresh, folder, evidence),
                                    "claims": from_results(fresh, folder, evidence),
                                    "aggregates": aggregates(fresh)})


def copy_samples(results: Results, src: Path, dst: Path) -> int:
    """Copy the samples files ``results`` points at from ``src`` to ``dst`` (same relative paths)."""
    n = 0
    if src.resolve() == dst.resolve():
        return 0
    for row in (*results.utility, *results.privacy, *results.extraction):
        if row.samples is not None and (src / row.samples.file).is_file():
            (dst / row.samples.file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / row.samples.file, dst / row.samples.file)
            n += 1
    return n


def report_run(run_dir: str, to_dir: str | None) -> int:
    path = Path(run_dir) / "results.json"
    results = load_run(path, "RUN_DIR")  # bad input: one line per problem, exit 2
    out = writable_dir(Path(to_dir) if to_dir else Path(run_dir) / "report", "--to")
    try:
        results = rederive(results, path.parent)
        written = render(results, out, path.parent)
    except (TypeError, ValueError, KeyError, IndexError) as err:  # rows that parse but do not fit together
        raise UserInputError(f"{path}: cannot render it ({type(err).__name__}: {err}); allowed: results.json as "
                             "written by post-bench run") from None
    if to_dir:  # a standalone report dir keeps the results it was rendered from, and their samples
        write_json_atomic(out / "results.json", results.dump())
        copy_samples(results, path.parent, out)
    click.echo(f"wrote {len(written)} files to {out}")
    return 0
