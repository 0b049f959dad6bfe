"""Command line: ``post-bench run | validate | ls | report | audit | bench``.

Exit codes: 0 ok, 2 bad input (one line per problem, no traceback), 1 internal error.
Heavy libraries are imported inside commands so that ``--help``, ``ls`` and errors stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from post_bench.atomic import writable_dir
from post_bench.errors import UserInputError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserInputError as err:
            for line in err.problems:
                click.echo(line, err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="post-bench")
def main() -> None:
    """Privacy auditing and benchmarking for soft prompts (POST and baselines)."""


def _preflight(suite, suite_file: str, here: bool = True) -> None:
    """Every check that needs no training (data files, model shapes, the machine); notes are printed."""
    from post_bench.checks import preflight

    problems, notes = preflight(suite, suite_file, here)
    if problems:
        raise UserInputError(problems)
    for note in notes:
        click.echo(note)


def _render(results: dict, out: Path) -> list:
    """Write the report; a place that cannot take it (full disk, read-only) is one line, exit 2."""
    from post_bench.errors import problem
    from post_bench.report import render_report

    try:
        return render_report(results, out)
    except OSError as err:
        raise UserInputError(problem(str(err.filename or out), "", f"cannot write the report ({err.strerror or err})",
                                     "a writable directory with free space")) from None


def _plan(suite):
    from post_bench.attacks.plan import attack_units
    from post_bench.methods import Planner
    from post_bench.runner.plan import Plan

    planner = Planner(suite)
    plan = Plan()
    for unit in planner.method_units():
        plan.add(unit)
    for unit in attack_units(planner):
        plan.add(unit)
    return plan


@main.command()
@click.argument("suite_file", type=click.Path(dir_okay=False))
def validate(suite_file: str) -> None:
    """Check a suite without training: keys, types, ranges, names, data files, model shapes, device."""
    from post_bench.suite import load_suite

    suite = load_suite(suite_file)
    _preflight(suite, suite_file, here=False)
    plan = _plan(suite)
    kinds: dict[str, int] = {}
    for u in plan:
        kinds[u.kind] = kinds.get(u.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in kinds.items())
    click.echo(f"{suite_file}: ok — suite {suite.name!r}, {len(plan)} units ({summary})")


@main.command()
@click.argument("suite_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="run directory (default runs/<suite name>)")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--ray-address", default=None, help="Ray cluster address (default: suite ray_address or RAY_ADDRESS)")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="local executor: run up to N independent units at once in N worker processes "
                   "(the suite's threads are divided among them)")
@click.option("--no-report", is_flag=True, help="skip writing RUN_DIR/report/")
@click.option("--dry-run", is_flag=True,
              help="run the whole plan on tiny random stand-ins of the hub models, synthetic rows for hub data, "
                   "2 steps per unit (default out runs/<suite name>-dry-run)")
def run(suite_file: str, out_dir: str | None, executor: str, ray_address: str | None, jobs: int,
        no_report: bool, dry_run: bool) -> None:
    """Run a suite; a rerun resumes and skips finished units."""
    from post_bench.runner.context import RunContext
    from post_bench.runner.results import collect, write_results
    from post_bench.runner.store import RunStore
    from post_bench.suite import load_suite

    suite = load_suite(suite_file)
    if dry_run:
        from post_bench.dry_run import dry_suite

        suite, notes = dry_suite(suite, suite_file, cuda=_cuda_available())
        for line in notes:
            click.echo(f"dry run: {line}")
    if jobs > 1 and executor != "local":
        raise UserInputError(f"--jobs {jobs}: worker processes are for the local executor; allowed: --jobs 1 with "
                             f"--executor {executor} (Ray schedules its own workers)")
    _preflight(suite, suite_file)
    plan = _plan(suite)
    root = writable_dir(Path(out_dir or Path("runs") / suite.name), "--out")
    store = RunStore(root)
    store.lock()  # one process per run directory; released when this process exits
    ctx = RunContext(suite, root)
    click.echo(f"suite {suite.name!r}: {len(plan)} units -> {root}")
    failure: str | None = None
    bad_input: UserInputError | None = None
    try:
        if executor == "ray":
            from post_bench.runner.ray_executor import run_ray

            run_ray(plan, ctx, store, address=ray_address or suite.ray_address)
        elif jobs > 1:
            from post_bench.runner.execute import apply_threads
            from post_bench.runner.parallel import run_parallel

            run_parallel(plan, ctx, store, jobs, apply_threads(ctx, jobs))
        else:
            from post_bench.runner.execute import run_local

            run_local(plan, ctx, store)
    except KeyboardInterrupt:
        failure = "interrupted"
    except UserInputError as err:  # bad input found inside a unit: exit 2 after the finished units are saved
        bad_input = err
    except RuntimeError as err:
        failure = str(err)
    results = collect(plan, store, suite.model_dump(mode="json"), ctx.device, jobs)
    write_results(root / "results.json", results)
    click.echo(f"wrote {root / 'results.json'}")
    if not no_report:
        written = _render(results, root / "report")
        click.echo(f"wrote report {root / 'report' / 'report.md'} ({len(written)} files)")
    store.unlock()
    if bad_input is not None:
        raise bad_input
    if failure:
        click.echo(f"error: {failure}; finished units are kept, rerun to resume", err=True)
        sys.exit(1)
    _print_utility(results)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _print_utility(results: dict) -> None:
    for row in results["utility"]:
        eps = "inf" if row["epsilon"] is None else f"{row['epsilon']:g}"
        click.echo(f"  {row['dataset']:<16} {row['method']:<16} eps={eps:<5} seed={row['seed']} "
                   f"acc={row['accuracy']:.3f} (n={row['n_test']})")


@main.command("ls")
@click.argument("what", type=click.Choice(["methods", "attacks", "datasets", "models"]))
def ls_cmd(what: str) -> None:
    """List the names a suite can use."""
    if what == "methods":
        from post_bench.methods import METHODS

        for name in METHODS.names():
            click.echo(f"{name:<16} {METHODS.get(name).description}")
    elif what == "attacks":
        from post_bench.attacks.base import ATTACKS, load_attacks

        load_attacks()
        for name in ATTACKS.names():
            cls = ATTACKS.get(name)
            variants = f" [variants: {', '.join(cls.variants)}]" if len(cls.variants) > 1 else ""
            click.echo(f"{name:<12} {cls.kind:<10} {cls.description}{variants}")
    elif what == "datasets":
        from post_bench.data import dataset_names

        for name in [*dataset_names(), "hf:<name>[:<config>]", "path:<csv|jsonl|tsv>"]:
            click.echo(name)
    else:
        from post_bench.models.loading import model_names

        for name in model_names():
            click.echo(name)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--to", "to_dir", type=click.Path(file_okay=False), help="output dir (default RUN_DIR/report)")
def report(run_dir: str, to_dir: str | None) -> None:
    """Re-render the report from RUN_DIR/results.json alone (no model is loaded)."""
    from post_bench.report import load_results

    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise UserInputError(f"{path}: not found; allowed: a run directory written by post-bench run")
    try:
        results = load_results(path)
    except ValueError as err:
        raise UserInputError(f"{path}: {err}") from None
    out = writable_dir(Path(to_dir) if to_dir else Path(run_dir) / "report", "--to")
    try:
        written = _render(results, out)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as err:  # a hand-edited results.json
        raise UserInputError(f"{path}: cannot render it ({type(err).__name__}: {err}); allowed: results.json as "
                             "written by post-bench run") from None
    if to_dir:  # a standalone report dir keeps the results it was rendered from
        from post_bench.runner.store import write_json_atomic

        write_json_atomic(out / "results.json", results)
    click.echo(f"wrote {len(written)} files to {out}")


@main.command()
@click.argument("prompt", type=click.Path())
@click.option("--model", "model", default=None,
              help="model name (as in a suite); default: base_model_name_or_path of the adapter_config.json")
@click.option("--dataset", "dataset", required=True, help="data set name (as in a suite)")
@click.option("--template", default=None, help='custom task template, e.g. "Review: {text} Sentiment:"')
@click.option("--label-words", default=None, help='one per class: "negative,positive" (alternatives: "bad|awful,good")')
@click.option("--task-file", type=click.Path(dir_okay=False), default=None,
              help="YAML with template, mlm_template, label_words, instruction (the options above win)")
@click.option("--shadows", default=8, show_default=True, type=click.IntRange(2, 1024))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="where to write audit.json")
@click.option("--steps", default=30, show_default=True, type=click.IntRange(1))
@click.option("--epsilon", default=None, type=float, help="train shadows with DP at this epsilon (default: non-private)")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="bf16 autocast of the frozen model (auto: where bf16 matmuls are native: CUDA, AVX512/AMX CPUs)")
def audit(prompt, model, dataset, template, label_words, task_file, shadows, out_dir, steps, epsilon, seed,
          precision) -> None:
    """Audit a prompt someone else tuned (PEFT folder, .safetensors or hf:<repo>[@revision]): shape, utility,
    LiRA/RMIA/LOSS vs shadow prompts, nearest tokens."""
    from post_bench.attacks.audit import run_audit, task_options

    task = task_options(template, label_words, task_file)
    run_audit(prompt, model=model, dataset=dataset, shadows=shadows, out_dir=out_dir, steps=steps,
              epsilon=epsilon, seed=seed, echo=click.echo, precision=precision, task=task)


@main.command()
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="write the JSON here")
@click.option("--quick", is_flag=True, help="tiny model only (seconds)")
def bench(out_file: str | None, quick: bool) -> None:
    """Performance ratios within one run (DP/non-DP step, stacked shadows, head cost)."""
    from post_bench.bench import run_bench

    if out_file:
        writable_dir(Path(out_file).parent, "--out")
    run_bench(out_file, quick=quick, echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    main()
