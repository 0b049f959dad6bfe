"""``post-bench run`` and ``post-bench validate``: a suite is loaded and checked, planned into units, run by an
executor, collected into results.json, reported, and held against its gates. Each step names its phase
(:func:`post_bench.errors.set_phase`): a Ctrl-C at any moment ends with one line naming it and exit code 130
(:data:`post_bench.errors.INTERRUPTED`), and a rerun resumes."""

from __future__ import annotations

from pathlib import Path

import click
import torch

from post_bench.atomic import writable_dir
from post_bench.checks import load_suite, preflight
from post_bench.commands.compare import load_run, parse_threshold, run_compare
from post_bench.commands.dry_run import dry_suite
from post_bench.commands.report import render
from post_bench.commands.results import collect, write_results
from post_bench.epsilon import eps_label
from post_bench.errors import UNIT_RUNS, UserInputError, say_interrupted, set_phase, write_failure
from post_bench.gates import append_step_summary, cli_gates, evaluate, step_summary, write_junit
from post_bench.methods import Planner
from post_bench.methods.attack_plan import attack_units
from post_bench.rows import Results
from post_bench.runner.context import RunContext
from post_bench.runner.execute import apply_threads, run_local
from post_bench.runner.parallel import run_parallel
from post_bench.runner.plan import Plan
from post_bench.runner.ray_executor import run_ray
from post_bench.runner.store import RunStore


def check_suite(suite, suite_file: str, here: bool = True) -> None:
    """Every check that needs no training (data files, model shapes, the machine); notes are printed."""
    problems, notes = preflight(suite, suite_file, here)
    if problems:
        raise UserInputError(problems)
    for note in notes:
        click.echo(note)


def plan_suite(suite) -> Plan:
    """The suite's units: every method's, then every attack's."""
    planner = Planner(suite)
    plan = Plan()
    for unit in planner.method_units():
        plan.add(unit)
    for unit in attack_units(planner):
        plan.add(unit)
    return plan


def validate_suite(suite_file: str, overrides: dict) -> int:
    set_phase("loading the suite")
    suite = load_suite(suite_file, **overrides)
    set_phase("the preflight checks")
    check_suite(suite, suite_file, here=False)
    set_phase("planning")
    plan = plan_suite(suite)
    kinds: dict[str, int] = {}
    for u in plan:
        kinds[u.kind] = kinds.get(u.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in kinds.items())
    click.echo(f"{suite_file}: ok — suite {suite.name!r}, {len(plan)} units ({summary})")
    return 0


def run_suite(suite_file: str, overrides: dict, *, out_dir: str | None, executor: str, ray_address: str | None,
              jobs: int, no_report: bool, dry_run: bool, gate_texts: tuple[str, ...], baseline: str | None,
              baseline_gates: tuple[str, ...]) -> int:
    """Run a suite; a rerun resumes and skips finished units. Then the gates: 3 when one fails; 130 when
    interrupted while units ran (results.json written from the finished ones)."""
    set_phase("loading the suite")
    suite = load_suite(suite_file, **overrides)
    if dry_run:
        set_phase("preparing the dry run")
        if suite.gates or gate_texts:  # tiny random stand-ins: accuracy and AUC thresholds mean nothing there
            click.echo(f"dry run: {len(suite.gates) + len(gate_texts)} gate(s) not checked (tiny stand-in models); "
                       "the always-on DP check still runs")
            suite, gate_texts = suite.model_copy(update={"gates": []}), ()
        suite, notes = dry_suite(suite, suite_file, cuda=_cuda_available())
        for line in notes:
            click.echo(f"dry run: {line}")
    set_phase("checking the options")
    gates, baseline_run, thresholds = gate_options(suite, gate_texts, baseline, baseline_gates)
    if jobs > 1 and executor != "local":
        raise UserInputError(f"--jobs {jobs}: worker processes are for the local executor; allowed: --jobs 1 with "
                             f"--executor {executor} (Ray schedules its own workers)")
    set_phase("the preflight checks")
    check_suite(suite, suite_file)
    set_phase("planning")
    plan = plan_suite(suite)
    set_phase("opening the run directory")
    root = writable_dir(Path(out_dir or Path("runs") / suite.name), "--out")
    store = RunStore(root)
    store.lock()  # one process per run directory; released when this process exits (or below)
    try:
        return _run_and_report(suite, plan, root, store, executor=executor, jobs=jobs,
                               ray_address=ray_address or suite.ray_address, no_report=no_report,
                               gates=gates, baseline=(baseline, baseline_run), thresholds=thresholds)
    finally:
        store.unlock()


def _run_and_report(suite, plan: Plan, root: Path, store: RunStore, *, executor: str, jobs: int,
                    ray_address: str | None, no_report: bool, gates: list, baseline: tuple, thresholds: list) -> int:
    ctx = RunContext(suite, root)
    click.echo(f"suite {suite.name!r}: {len(plan)} units -> {root}")
    interrupted = False
    failure: str | None = None
    bad_input: UserInputError | None = None
    set_phase(UNIT_RUNS)
    try:
        _execute(plan, ctx, store, executor, jobs, ray_address)
    except KeyboardInterrupt:
        interrupted = True
    except UserInputError as err:  # bad input found inside a unit: exit 2 after the finished units are saved
        bad_input = err
    except RuntimeError as err:
        failure = str(err)
    try:
        set_phase("writing results.json")
        results = collect(plan, store, suite.model_dump(mode="json"), ctx.device, jobs)
        write_results(root / "results.json", results)
        click.echo(f"wrote {root / 'results.json'}")
        if not no_report:
            set_phase("writing the report")
            written = render(results, root / "report", root)
            click.echo(f"wrote report {root / 'report' / 'report.md'} ({len(written)} files)")
    except (OSError, UserInputError) as err:  # a full disk: results.json is made again from the units by a rerun
        if interrupted or failure or bad_input:  # the first problem is the one to tell (often the same full disk)
            results = None
        elif isinstance(err, UserInputError):
            raise
        else:
            raise write_failure(err, "write the run's results", root / "results.json") from None
    if bad_input is not None:
        raise bad_input
    if interrupted:
        return say_interrupted(UNIT_RUNS)
    if failure:
        click.echo(f"error: {failure}; finished units are kept, rerun to resume", err=True)
        return 1
    set_phase("checking the gates")
    print_utility(results)
    if not check_gates(root, results, gates, baseline, thresholds):
        return 3
    return 0


def _execute(plan, ctx, store, executor: str, jobs: int, ray_address: str | None) -> None:
    if executor == "ray":
        run_ray(plan, ctx, store, address=ray_address)
    elif jobs > 1:
        run_parallel(plan, ctx, store, jobs, apply_threads(ctx, jobs))
    else:
        run_local(plan, ctx, store)


def gate_options(suite, gate_texts, baseline, baseline_gates):
    """Parse and check ``--gate``, ``--baseline`` and ``--baseline-gate`` before any work (bad input: exit 2)."""
    problems = []
    try:
        gates = list(suite.gates) + cli_gates(gate_texts, suite)
    except UserInputError as err:
        problems += err.problems
        gates = []
    thresholds, baseline_run = [], None
    if baseline_gates and baseline is None:
        problems.append("--baseline-gate: needs --baseline RUN (the run to compare with)")
    if baseline is not None:
        for text in baseline_gates:
            try:
                thresholds.append(parse_threshold(text, "--baseline-gate"))
            except UserInputError as err:
                problems += err.problems
        try:
            baseline_run = load_run(baseline, "--baseline")
        except UserInputError as err:
            problems += err.problems
    if problems:
        raise UserInputError(problems)
    return gates, baseline_run, thresholds


def check_gates(root: Path, results: Results, gates: list, baseline: tuple, thresholds: list) -> bool:
    """Evaluate the gates on a finished run (results and report written): JUnit file, GitHub step summary,
    one line per failed gate on stderr, the baseline comparison; False when anything failed."""
    outcomes = evaluate(gates, results, root)
    junit = root / "gates.junit.xml"
    write_junit(junit, outcomes, results)
    summary = step_summary(outcomes, results)
    failed = [o for o in outcomes if not o.passed]
    click.echo(f"gates: {len(outcomes) - len(failed)} passed, {len(failed)} failed; wrote {junit}")
    for o in failed:
        for line in o.lines:
            click.echo(line, err=True)
    ok = not failed
    if baseline[1] is not None:
        text, checked = run_compare(baseline[0], str(root), thresholds, a=baseline[1], b=results)
        click.echo(text)
        summary += text + "\n"
        for g in checked:
            for line in g.lines:
                click.echo(line, err=True)
        ok = ok and all(g.passed for g in checked)
    try:
        append_step_summary(summary)
    except OSError as err:  # the CI's summary file is a convenience: never fail a run over it
        click.echo(f"warning: cannot append to GITHUB_STEP_SUMMARY ({err.strerror or err})", err=True)
    return ok


def _cuda_available() -> bool:
    return torch.cuda.is_available()


def print_utility(results: Results) -> None:
    for row in results.utility:
        click.echo(f"  {row.dataset:<16} {row.method:<16} eps={eps_label(row.epsilon):<5} seed={row.seed} "
                   f"acc={row.accuracy:.3f} (n={row.n_test})")
