"""``post-bench report``: re-render the report of a run from its results.json alone (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import click

from post_bench.atomic import writable_dir
from post_bench.errors import UserInputError, problem
from post_bench.report import load_results, render_report
from post_bench.runner.store import write_json_atomic


def render(results: dict, out: Path) -> list:
    """Write the report; a place that cannot take it (full disk, read-only) is one line, exit 2."""
    try:
        return render_report(results, out)
    except OSError as err:
        raise UserInputError(problem(str(err.filename or out), "", f"cannot write the report ({err.strerror or err})",
                                     "a writable directory with free space")) from None


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
        written = render(results, out)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as err:  # a hand-edited results.json
        raise UserInputError(f"{path}: cannot render it ({type(err).__name__}: {err}); allowed: results.json as "
                             "written by post-bench run") from None
    if to_dir:  # a standalone report dir keeps the results it was rendered from
        write_json_atomic(out / "results.json", results)
    click.echo(f"wrote {len(written)} files to {out}")
    return 0
