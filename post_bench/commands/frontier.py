"""``post-bench frontier SUITE``: run a suite once per candidate source listed in its ``frontier`` block (each into
``OUT/layers-<n>/``, resumable like any run), then write the frontier report to ``OUT/report/``
(:mod:`post_bench.report.frontier`): each candidate's size, one-off cost and what its source prompt can do, and
the candidate the suite's rule chooses from validation numbers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from post_bench.checks import load_suite
from post_bench.commands.run import run_suite
from post_bench.errors import INTERRUPTED, UserInputError, problem, set_phase
from post_bench.report.frontier import SOURCE_PROMPT, ZERO_SHOT, candidate, choose
from post_bench.report.frontier_page import write
from post_bench.rows import read_results


def frontier_problems(suite, source: str) -> list[str]:
    """What keeps ``suite`` from being a frontier suite, one line each."""
    out = []
    if suite.frontier is None:
        out.append(problem(source, "frontier", "missing", "a `frontier:` block with `layers` (the candidates)"))
    if suite.models.source is None or suite.models.source.distill is None:
        out.append(problem(source, "models.source.distill", "missing", "a distilled source (the candidates vary "
                           "its layers)"))
    if not suite.budget.evaluate_validation:
        out.append(problem(source, "budget.evaluate_validation", "must be true", "the rule reads validation rows"))
    names = {m.name for m in suite.methods}
    for needed in (ZERO_SHOT, SOURCE_PROMPT):
        if needed not in names:
            out.append(problem(source, "methods", f"{needed} is missing", "the rule compares source_only with "
                               "zero_shot"))
    return out


def label_of(layers: list[int]) -> str:
    return f"layers-{len(layers)}"


def run_frontier(suite_file: str, overrides: dict, *, out_dir: str | None, jobs: int, report_only: bool = False) -> int:
    set_phase("loading the suite")
    suite = load_suite(suite_file, **overrides)
    if problems := frontier_problems(suite, suite_file):
        raise UserInputError(problems)
    root = Path(out_dir or Path("runs") / suite.name)
    if report_only:
        missing = [label_of(x) for x in suite.frontier.layers if not (root / label_of(x) / "results.json").is_file()]
        if missing:
            raise UserInputError([problem(str(root / m / "results.json"), "", "not found", "a finished candidate "
                                          "run (run `post-bench frontier` without --report-only)") for m in missing])
        return write_report(suite, root, f"post-bench frontier {suite_file}")
    for layers in suite.frontier.layers:
        label = label_of(layers)
        click.echo(f"frontier: candidate {label} {layers}")
        sets = (*overrides.get("sets", ()), f"models.source.distill.layers={json.dumps(layers)}",
                f"name={suite.name}-{label}")
        rc = run_suite(suite_file, {**overrides, "sets": sets}, out_dir=str(root / label), executor="local",
                       ray_address=None, jobs=jobs, no_report=True, dry_run=False, gate_texts=(), baseline=None,
                       baseline_gates=())
        if rc == INTERRUPTED or rc not in (0, 3):
            return rc
    return write_report(suite, root, f"post-bench frontier {suite_file}")


def write_report(suite, root: Path, command: str) -> int:
    set_phase("writing the frontier report")
    cands = [candidate(label_of(layers), read_results(root / label_of(layers) / "results.json"),
                       root / label_of(layers)) for layers in suite.frontier.layers]
    rule = {"min_gain": suite.frontier.min_gain, "max_compute_share": suite.frontier.max_compute_share,
            "split": "validation", "fallback": suite.frontier.fallback}
    chosen = choose(cands, rule["min_gain"], rule["max_compute_share"], rule["fallback"])
    written = write(cands, chosen, rule, root / "report", command)
    click.echo(f"wrote {written[0]}; chosen: {chosen.label if chosen else 'none'}")
    return 0
