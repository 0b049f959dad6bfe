"""Command line: ``post-bench run | validate | ls | report | compare | audit | bench``.

Exit codes: 0 ok, 2 bad input (one line per problem, no traceback), 1 internal error, 3 a gate failed (the
run finished and its report is written; e.g. an ε lower bound above the claimed ε), 130 interrupted (Ctrl-C at
any moment: one line naming the phase, never a traceback or click's "Aborted!"; a rerun resumes).
Only the click wiring is here; what each command does is in :mod:`post_bench.commands`, imported when the
command runs (so that ``--help`` and option errors never load torch, pandas or matplotlib).
"""

from __future__ import annotations

import sys

import click

from post_bench.errors import UserInputError, begin_command, say_interrupted, set_phase


class _Group(click.Group):
    """Bad input: one line per problem, exit 2. Ctrl-C: one line naming the phase, exit 130 (click itself
    would print "Aborted!" and exit 1)."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            raise click.exceptions.Exit(say_interrupted()) from None

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        begin_command(cmd.name if cmd is not None else name)
        return name, cmd, rest

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserInputError as err:
            for line in err.problems:
                click.echo(line, err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            ctx.exit(say_interrupted())


@click.group(cls=_Group)
@click.version_option(package_name="post-bench")
def main() -> None:
    """Privacy auditing and benchmarking for soft prompts (POST and baselines)."""


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
    from post_bench.commands.run import validate_suite  # deferred: start-up time (torch)

    sys.exit(validate_suite(suite_file, _overrides(sets, limit, device, precision)))


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
                   "\"{metric: accuracy, method: post, epsilon: 8, min: 0.6}\", or a paired difference "
                   "\"difference:post-zero_shot>=0\" (POST above zero-shot at 95%, rows paired within seeds); a "
                   "failed gate exits 3")
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
    from post_bench.commands.run import run_suite  # deferred: start-up time (torch)

    sys.exit(run_suite(suite_file, _overrides(sets, limit, device, precision), out_dir=out_dir, executor=executor,
                       ray_address=ray_address, jobs=jobs, no_report=no_report, dry_run=dry_run,
                       gate_texts=gate_texts, baseline=baseline, baseline_gates=baseline_gates))


@main.command()
@click.argument("suite_file", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="folder of the candidates' runs and the report (default runs/<suite name>)")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="worker processes per candidate run (local executor)")
@click.option("--report-only", is_flag=True,
              help="write the report from OUT/layers-*/results.json (and samples) without running anything")
@_suite_overrides
def frontier(suite_file: str, out_dir: str | None, jobs: int, report_only: bool, sets: tuple[str, ...] = (),
             limit: int | None = None, device: str | None = None, precision: str | None = None) -> None:
    """Run SUITE_FILE once per candidate source of its `frontier` block, then write the source-frontier report
    (OUT/report/frontier.md) with the candidate the suite's rule chooses. Resumes like `run`."""
    from post_bench.commands.frontier import run_frontier  # deferred: start-up time (torch)

    sys.exit(run_frontier(suite_file, _overrides(sets, limit, device, precision), out_dir=out_dir, jobs=jobs,
                          report_only=report_only))


def _overrides(sets, limit, device, precision) -> dict:
    return {"sets": sets, "limit": limit, "device": device, "precision": precision}


@main.command("ls")
@click.argument("what", type=click.Choice(["methods", "attacks", "datasets", "models"]))
def ls_cmd(what: str) -> None:
    """List the names a suite can use."""
    from post_bench.commands.ls import list_names  # deferred: start-up time (scipy, pandas)
    set_phase("listing the names")

    sys.exit(list_names(what))


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--to", "to_dir", type=click.Path(file_okay=False), help="output dir (default RUN_DIR/report)")
def report(run_dir: str, to_dir: str | None) -> None:
    """Re-render the report from RUN_DIR/results.json alone (no model is loaded)."""
    from post_bench.commands.report import report_run  # deferred: start-up time (matplotlib)
    set_phase("rendering the report")

    sys.exit(report_run(run_dir, to_dir))


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
    from post_bench.commands.compare import compare_runs  # deferred: start-up time (scipy, matplotlib)
    set_phase("the comparison")

    sys.exit(compare_runs(run_a, run_b, json_file, gate_texts))


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
              help="plant M nonsense canaries (made-up words, random labels) in balanced halves of the shadows' "
                   "training sets: a positive control that the shadow recipe memorises (even, >= 8; needs --shadows)")
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
    from post_bench.commands.audit import audit_prompt  # deferred: start-up time (pandas, scipy)
    set_phase("the audit")

    sys.exit(audit_prompt(prompt, members=members, nonmembers=nonmembers, candidates=candidates, population=population,
                          dataset=dataset, model=model, template=template, label_words=label_words,
                          task_file=task_file, shadows=shadows, canaries=canaries, recipe_file=recipe_file,
                          steps=steps, epochs=epochs, lr=lr, batch_size=batch_size, init=init, epsilon=epsilon,
                          max_tokens=max_tokens, out_dir=out_dir, seed=seed, precision=precision))


@main.command()
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="write the JSON here")
@click.option("--quick", is_flag=True, help="tiny model only (seconds)")
def bench(out_file: str | None, quick: bool) -> None:
    """Performance ratios within one run (DP/non-DP step, stacked shadows, head cost)."""
    from post_bench.commands.bench import run_bench  # deferred: start-up time (torch)
    set_phase("the benchmark")

    run_bench(out_file, quick=quick, echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    main()
