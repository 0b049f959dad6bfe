"""Parallel local executor (``post-bench run --jobs N``): ready units run in N spawned worker processes.

Every worker keeps one :class:`RunContext` (loaded models, data splits, tokenised data, cached logits) for
the whole run, so units after the first in a worker pay no loading cost. Units publish themselves with the
same atomic rename as the in-process executor, so results, unit ids and resume are the same as ``--jobs 1``.

Scheduling: among the ready units the one with the longest estimated remaining chain (its own cost plus
the costliest path through the units that wait for it) starts first, so distillation, shadows and
transfers are not left for the end while short evaluations fill the workers.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import click
from tqdm.auto import tqdm

from post_bench.errors import UserInputError
from post_bench.runner.context import RunContext
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore

# rough relative cost of a unit kind (CPU quickstart: seconds per unit); only the order matters
KIND_COST = {"distill": 30.0, "shadow_prompts": 25.0, "shadows": 3.0, "transfer": 6.0, "tune": 4.0, "dp_opt": 4.0, "extraction": 2.0,
             "evaluate": 2.0, "one_run": 4.0, "membership": 0.2, "lira": 0.2}


def unit_cost(unit: Unit) -> float:
    """Estimated cost of a unit: its kind's cost, scaled for shadows (K prompts, transfers) and PTfer (no model)."""
    base = KIND_COST.get(unit.kind, 1.0)
    if unit.kind == "shadows":
        return base * (8.0 if unit.config.get("transfer") else 1.0)
    if unit.kind == "transfer" and unit.config.get("method") == "ptfer":
        return 1.0
    return base


def priorities(plan: Plan) -> dict[str, float]:
    """Unit id -> its cost plus the costliest chain of units that depend on it (critical-path rank)."""
    dependents: dict[str, list[Unit]] = {u.id: [] for u in plan}
    for u in plan:
        for d in u.deps.values():
            dependents[d.id].append(u)
    rank: dict[str, float] = {}
    for u in reversed(list(plan)):  # plan order is dependency order: dependents come later
        rank[u.id] = unit_cost(u) + max((rank[d.id] for d in dependents[u.id]), default=0.0)
    return rank


# ----------------------------------------------------------------------------- worker side
_WORKER: dict = {}


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies (a SIGKILLed ``run`` must not leave workers training on)."""
    while True:
        threading.Event().wait(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(suite_dict: dict, root: str, threads: int | None, parent: int) -> None:
    import torch
    import transformers  # noqa: F401  (imported here, not inside the first unit's measured wall time)

    from post_bench.units import load_unit_kinds
    from post_bench.suite import Suite

    if threads:
        torch.set_num_threads(threads)
    load_unit_kinds()
    _WORKER["ctx"] = RunContext(Suite.model_validate(suite_dict), root=Path(root))
    _WORKER["store"] = RunStore(root)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _run_in_worker(unit: Unit) -> tuple[str, dict]:
    from post_bench.runner.execute import run_unit

    record = run_unit(unit, _WORKER["ctx"], _WORKER["store"])
    return unit.id, record["cost"][0]


# ----------------------------------------------------------------------------- driver
def run_parallel(plan: Plan, ctx: RunContext, store: RunStore, jobs: int, threads: int | None,
                 echo=click.echo) -> None:
    """Run the unfinished units of ``plan`` in ``jobs`` worker processes, ``threads`` torch threads each."""
    from post_bench.runner.execute import unit_failure

    removed = store.clean_partial()
    if removed:
        echo(f"removed {removed} unfinished unit dir(s) from an interrupted run")
    todo = {u.id for u in store.pending(plan, echo)}
    done = {u.id for u in plan if u.id not in todo}
    if done:
        echo(f"resuming: {len(done)} of {len(plan)} units already done, skipped")
    if len(done) == len(plan):
        return
    rank = priorities(plan)
    suite_dict = ctx.suite.model_dump(mode="json")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker,
                               initargs=(suite_dict, str(store.root.resolve()), threads, os.getpid()))
    echo(f"{jobs} worker processes, {threads or 'default'} torch thread(s) each")
    running: dict = {}
    failure: BaseException | None = None
    try:
        while len(done) < len(plan) and failure is None:
            started = set(running.values())
            ready = sorted((u for u in plan.ready(done) if u.id not in started), key=lambda u: -rank[u.id])
            for unit in ready[: jobs - len(running)]:  # never queue more than there are free workers
                running[pool.submit(_run_in_worker, unit)] = unit.id
            if not running:
                raise RuntimeError("no unit is ready but the plan is unfinished (a dependency cycle?)")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                unit = plan.units[running.pop(fut)]
                try:
                    _, c = fut.result()
                except Exception as err:  # finish what is running, start nothing new, then report
                    if failure is None:
                        failure = unit_failure(unit, err)
                        if not isinstance(failure, UserInputError):  # the worker's traceback rides as the cause
                            tqdm.write("".join(traceback.format_exception(err)))
                    continue
                done.add(unit.id)
                echo(f"done {unit.id:<26} {unit.label:<48} {c['wall_s']:8.1f}s  ({len(done)}/{len(plan)})")
        if running:
            wait(running)
            for fut, unit_id in running.items():
                if fut.exception() is None:
                    done.add(unit_id)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if failure is not None:
        raise failure
