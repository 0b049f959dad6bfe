"""Command line: ``post-bench run | validate | ls | report | compare | audit | bench``.

Exit codes: 0 ok, 2 bad input (one line per problem, no traceback), 1 internal error, 3 a gate failed (the
run finished and its report is written; e.g. an ε lower bound above the claimed ε).
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


def _suite_overrides(f):
    """``--set``, ``--limit``, ``--device``, ``--precision``: applied to the suite's raw YAML before validation."""
    f = click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None,
                     help="override the suite's precision (fp16: autocast on CUDA only)")(f)
    f = click.option("--device", default=None, help="override the suite's device: auto, cpu, cuda, cuda:N")(f)
    f = click.option("--limit", type=click.IntRange(1), default=None, metavar="N",
                     help="at most N rows per split (budget train/val/test/public sizes)")(f)
    f = click.option("--set", "sets", multiple=True, metavar="KEY.PATH=VALUE",
                     help="override one suite key (repeatable), the value as YAML, e.g. --set tuning.steps=20 "
                          "--set 'seeds=[0, 1]'")(f)
    return f


@main.command()
@click.argument("suite_file", type=click.Path(dir_okay=False))
@_suite_overrides
def validate(suite_file: str, sets: tuple[str, ...], limit: int | None, device: str | None,
             precision: str | None) -> None:
    """Check a suite without training: keys, types, ranges, names, data files, model shapes, device."""
    from post_bench.suite import load_suite

    suite = load_suite(suite_file, sets=sets, limit=limit, device=device, precision=precision)
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
@click.option("--gate", "gate_texts", multiple=True, metavar="MAPPING",
              help="a gate like an entry of the suite's gates:, as one-line YAML (repeatable), e.g. "
                   "\"{metric: accuracy, method: post, epsilon: 8, min: 0.6}\"; a failed gate exits 3")
@click.option("--baseline", type=click.Path(), default=None,
              help="a run directory or results.json: print post-bench compare BASELINE THIS-RUN after the run")
@click.option("--baseline-gate", "baseline_gates", multiple=True, metavar="METRIC:THRESHOLD",
              help="with --baseline (repeatable): exit 3 when a cell moved beyond noise in the bad direction by "
                   "more than THRESHOLD: accuracy:0.05 (a drop of 5 points), auc:0.05 (a rise)")
@_suite_overrides
def run(suite_file: str, out_dir: str | None, executor: str, ray_address: str | None, jobs: int,
        no_report: bool, dry_run: bool, gate_texts: tuple[str, ...], baseline: str | None,
        baseline_gates: tuple[str, ...], sets: tuple[str, ...] = (), limit: int | None = None,
        device: str | None = None, precision: str | None = None) -> None:
    """Run a suite; a rerun resumes and skips finished units. Then the gates: exit 3 when one fails."""
    from post_bench.runner.context import RunContext
    from post_bench.runner.results import collect, write_results
    from post_bench.runner.store import RunStore
    from post_bench.suite import load_suite

    suite = load_suite(suite_file, sets=sets, limit=limit, device=device, precision=precision)
    if dry_run:
        from post_bench.dry_run import dry_suite

        if suite.gates or gate_texts:  # tiny random stand-ins: accuracy and AUC thresholds mean nothing there
            click.echo(f"dry run: {len(suite.gates) + len(gate_texts)} gate(s) not checked (tiny stand-in models); "
                       "the always-on DP check still runs")
            suite, gate_texts = suite.model_copy(update={"gates": []}), ()
        suite, notes = dry_suite(suite, suite_file, cuda=_cuda_available())
        for line in notes:
            click.echo(f"dry run: {line}")
    gates, baseline_run, thresholds = _gate_options(suite, gate_texts, baseline, baseline_gates)
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
    if not _check_gates(root, results, gates, (baseline, baseline_run), thresholds):
        sys.exit(3)


def _gate_options(suite, gate_texts, baseline, baseline_gates):
    """Parse and check ``--gate``, ``--baseline`` and ``--baseline-gate`` before any work (bad input: exit 2)."""
    from post_bench.gates import cli_gates

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
        from post_bench.compare import load_run, parse_threshold

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


def _check_gates(root: Path, results: dict, gates: list, baseline: tuple, thresholds: list) -> bool:
    """Evaluate the gates on a finished run (results and report written): JUnit file, GitHub step summary,
    one line per failed gate on stderr, the baseline comparison; False when anything failed."""
    from post_bench.gates import append_step_summary, evaluate, step_summary, write_junit

    outcomes = evaluate(gates, results)
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
        from post_bench.compare import run_compare

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


@main.command("compare")
@click.argument("run_a", type=click.Path())
@click.argument("run_b", type=click.Path())
@click.option("--json", "json_file", type=click.Path(dir_okay=False), default=None,
              help="also write the comparison (every cell, its CI and method, the gates) as JSON here")
@click.option("--gate", "gate_texts", multiple=True, metavar="METRIC:THRESHOLD",
              help="exit 3 when a cell moved beyond noise in the bad direction by more than THRESHOLD "
                   "(repeatable): accuracy:0.05 (accuracy dropped > 5 points), auc:0.05 (AUC rose > 0.05)")
def compare_cmd(run_a: str, run_b: str, json_file: str | None, gate_texts: tuple[str, ...]) -> None:
    """Per-cell differences B − A of two runs (run directories or results.json files) with 95% CIs; marks
    what moved beyond noise (the CI excludes 0). Markdown on stdout."""
    from post_bench.compare import parse_threshold, run_compare

    problems, thresholds = [], []
    for text in gate_texts:
        try:
            thresholds.append(parse_threshold(text))
        except UserInputError as err:
            problems += err.problems
    if problems:
        raise UserInputError(problems)
    if json_file:
        writable_dir(Path(json_file).parent, "--json")
    text, checked = run_compare(run_a, run_b, thresholds, json_file)
    click.echo(text)
    failed = [line for g in checked for line in g.lines]
    for line in failed:
        click.echo(line, err=True)
    if failed:
        sys.exit(3)


@main.command()
@click.argument("prompt", type=click.Path())
@click.option("--members", type=click.Path(dir_okay=False), default=None,
              help="csv/jsonl/tsv (text, label) of texts the prompt was tuned on")
@click.option("--nonmembers", type=click.Path(dir_okay=False), default=None,
              help="csv/jsonl/tsv (text, label) of texts it was not tuned on (same distribution)")
@click.option("--candidates", type=click.Path(dir_okay=False), default=None,
              help="one file with text, label and member (0/1 or true/false) columns instead of the two above")
@click.option("--population", type=click.Path(dir_okay=False), default=None,
              help="csv/jsonl/tsv (text, label) the shadows draw non-candidate rows from (default: --dataset's rows)")
@click.option("--dataset", "dataset", default=None,
              help="data set name (as in a suite): the task and default population; alone (no candidates): "
                   "the leakage of a recipe on it, not of the prompt")
@click.option("--model", "model", default=None,
              help="model name (as in a suite); default: base_model_name_or_path of the adapter_config.json")
@click.option("--template", default=None, help='custom task template, e.g. "Review: {text} Sentiment:"')
@click.option("--label-words", default=None, help='one per class: "negative,positive" (alternatives: "bad|awful,good")')
@click.option("--task-file", type=click.Path(dir_okay=False), default=None,
              help="YAML with template, mlm_template, label_words, instruction (the options above win)")
@click.option("--shadows", default=0, show_default=True, type=click.IntRange(0, 1024),
              help="shadow prompts for LiRA/RMIA (even; 0: reference-free attacks only)")
@click.option("--canaries", default=0, show_default=True, type=click.IntRange(0, 100_000),
              help="plant M random-word canaries in balanced halves of the shadows' training sets: a positive "
                   "control that the shadow recipe memorises (even, >= 8; needs --shadows)")
@click.option("--recipe", "recipe_file", type=click.Path(dir_okay=False), default=None,
              help="YAML like a suite's tuning: block (+ epochs, max_tokens, train_size, epsilon): how the shadows "
                   "are tuned; the options below win")
@click.option("--steps", default=None, type=click.IntRange(1), help="shadow tuning steps (or --epochs)")
@click.option("--epochs", default=None, type=click.FloatRange(0, min_open=True),
              help="shadow tuning epochs over train_size examples")
@click.option("--lr", default=None, type=click.FloatRange(0, min_open=True), help="shadow learning rate")
@click.option("--batch-size", default=None, type=click.IntRange(1), help="shadow batch size")
@click.option("--init", default=None, type=click.Choice(["text", "vocab", "random"]), help="shadow prompt init")
@click.option("--epsilon", default=None, type=float, help="tune the shadows with DP-SGD at this epsilon (inf: non-private)")
@click.option("--max-tokens", default=None, type=click.IntRange(8, 4096), help="text tokens per example (default 64)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="output folder (default audit-<prompt name>); replaced as a whole when the audit succeeds")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="bf16 autocast of the frozen model (auto: where bf16 matmuls are native: CUDA, AVX512/AMX CPUs)")
def audit(prompt, members, nonmembers, candidates, population, dataset, model, template, label_words, task_file,
          shadows, canaries, recipe_file, steps, epochs, lr, batch_size, init, epsilon, max_tokens, out_dir, seed,
          precision) -> None:
    """Does PROMPT (PEFT folder, .safetensors or hf:<repo>[@revision]) leak its training data? Attacks the
    prompt itself on known members and non-members: LOSS, zero-shot-calibrated LOSS, and with --shadows K
    LiRA/RMIA against shadows tuned by a recipe. Writes audit.json, report.md and roc.png/pdf to --out."""
    from post_bench.audit.inputs import task_options
    from post_bench.audit.pipeline import run_audit

    options = {"steps": steps, "epochs": epochs, "lr": lr, "batch_size": batch_size, "init": init,
               "epsilon": epsilon, "max_tokens": max_tokens}  # --epsilon inf: non-private, over the recipe file
    task = task_options(template, label_words, task_file)
    run_audit(prompt, members=members, nonmembers=nonmembers, candidates=candidates, population=population,
              dataset=dataset, model=model, task=task, shadows=shadows, recipe_file=recipe_file,
              recipe_options=options, seed=seed, precision=precision, out_dir=out_dir, echo=click.echo,
              canaries=canaries)


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
