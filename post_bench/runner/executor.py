"""The executor core, shared by every way of running a plan (in-process, ``--jobs N``, Ray).

:func:`execute` is the one run loop: own the run directory → remove work dirs of killed runs → skip the
finished units (verified: :meth:`RunStore.pending` redoes a damaged unit with its dependents) → start ready
units → record each finished one. Each unit runs through :func:`post_bench.runner.execute.run_unit`
(private work dir → the unit kind → cost → atomic commit with checksums), wherever it runs.

A :class:`Backend` only decides *where* a unit runs: in this process (``LocalBackend``), in worker processes
(``ProcessBackend``), as Ray tasks (``RayBackend``). It says how many units may run at once and whether the
longest remaining chain starts first; the core does the rest, so resume, failures, messages and the
results are the same for all of them.

Failures: the first failed unit stops new starts; what is running finishes (its results are kept), then the
failure is raised (:func:`unit_failure`: our own bad-input error unchanged, anything else one RuntimeError
line). A KeyboardInterrupt stops the backend at once (:meth:`Backend.close` with ``interrupted=True``:
worker processes and Ray tasks are stopped, not waited for); their work dirs are removed by the next run.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

import click
from tqdm.auto import tqdm

from post_bench.errors import UserInputError, input_error_of, one_line
from post_bench.runner.context import RunContext
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore


@dataclass
class Finished:
    """A unit that stopped running: its cost row when it succeeded, else the error it raised."""

    unit: Unit
    cost: dict | None = None
    error: BaseException | None = None


class Backend:
    """Where units run. Subclasses implement :meth:`start` and :meth:`wait`; :meth:`open` and :meth:`close`
    bracket a run that has work to do."""

    slots: int | None = 1  # units running at once (None: every ready unit)
    critical_path_first: bool = False  # start the ready unit with the longest remaining chain (else plan order)
    progress_bar: bool = False  # a tqdm bar over the units (else a "(done/total)" count on each done line)

    def open(self, plan: Plan, ctx: RunContext, store: RunStore, echo) -> None:
        """Get ready to run units of ``plan`` (start workers, connect to a cluster)."""

    def start(self, unit: Unit) -> None:
        raise NotImplementedError

    def wait(self) -> list[Finished]:
        """Block until at least one started unit stopped; those units."""
        raise NotImplementedError

    def close(self, interrupted: bool) -> None:
        """Release what :meth:`open` took; ``interrupted``: stop running units instead of waiting for them."""


def execute(plan: Plan, ctx: RunContext, store: RunStore, backend: Backend, echo=click.echo) -> None:
    """Run the unfinished units of ``plan`` on ``backend``; finished units are skipped (after verification)."""
    with store.held():
        removed = store.clean_partial()
        if removed:
            echo(f"removed {removed} unfinished unit dir(s) from an interrupted run")
        todo = store.pending(plan, echo)
        done = {u.id for u in plan} - {u.id for u in todo}
        if done:
            echo(f"resuming: {len(done)} of {len(plan)} units already done, skipped")
        if not todo:
            return
        backend.open(plan, ctx, store, echo)
        interrupted = True
        try:
            _drive(plan, backend, done, len(todo), echo)
            interrupted = False
        finally:
            backend.close(interrupted)


def _drive(plan: Plan, backend: Backend, done: set[str], todo: int, echo) -> None:
    if backend.critical_path_first:
        rank = priorities(plan)
        order = sorted(plan, key=lambda u: -rank[u.id])  # stable: plan order among equals
    else:
        order = list(plan)  # dependency order
    bar = tqdm(total=todo, desc="units", unit="unit", dynamic_ncols=True) if backend.progress_bar else None
    running: set[str] = set()
    failure: Exception | None = None
    cause: BaseException | None = None
    try:
        while running or (failure is None and len(done) < len(plan)):
            if failure is None:
                free = len(order) if backend.slots is None else backend.slots - len(running)
                ready = [u for u in order if u.id not in done and u.id not in running
                         and all(d.id in done for d in u.deps.values())][:max(free, 0)]
                for unit in ready:
                    if bar is not None:
                        bar.set_postfix_str(unit.label or unit.id)
                    running.add(unit.id)
                    backend.start(unit)
            if not running:
                raise RuntimeError("no unit is ready but the plan is unfinished (a dependency cycle?)")
            for stopped in backend.wait():
                unit = stopped.unit
                running.discard(unit.id)
                if stopped.error is not None:
                    if failure is None:  # finish what is running, start nothing new, then report
                        failure, cause = unit_failure(unit, stopped.error), stopped.error
                        if not isinstance(failure, UserInputError):  # a worker's traceback rides as the cause
                            tqdm.write("".join(traceback.format_exception(stopped.error)))
                    continue
                done.add(unit.id)
                line = f"done {unit.id:<26} {unit.label:<48} {stopped.cost['wall_s']:8.1f}s"
                if bar is not None:
                    bar.update()
                    tqdm.write(line)
                else:
                    echo(f"{line}  ({len(done)}/{len(plan)})")
    finally:
        if bar is not None:
            bar.close()
    if failure is not None:
        raise failure from (cause if cause is not failure else None)


# rough relative cost of a unit kind (CPU quickstart: seconds per unit); only the order matters
KIND_COST = {"distill": 30.0, "shadow_prompts": 25.0, "shadows": 3.0, "transfer": 6.0, "tune": 4.0, "dp_opt": 4.0, "extraction": 2.0,
             "evaluate": 2.0, "one_run": 4.0, "one_run_gradient": 0.2, "membership": 0.2}


def unit_cost(unit: Unit) -> float:
    """Estimated cost of a unit: its kind's cost, scaled for shadows (K prompts, transfers) and PTfer (no model)."""
    base = KIND_COST.get(unit.kind, 1.0)
    if unit.kind == "shadows":
        return base * (8.0 if unit.config.get("transfer") else 1.0)
    if unit.kind == "membership" and unit.config.get("scorer"):  # an attack that scores the prompts itself
        return KIND_COST["shadows"]
    if unit.kind == "transfer" and unit.config.get("method") == "ptfer":
        return 1.0
    return base


def priorities(plan: Plan) -> dict[str, float]:
    """Unit id -> its cost plus the costliest chain of units that depend on it (critical-path rank), so that
    distillation, shadows and transfers are not left for the end while short evaluations fill the workers."""
    dependents: dict[str, list[Unit]] = {u.id: [] for u in plan}
    for u in plan:
        for d in u.deps.values():
            dependents[d.id].append(u)
    rank: dict[str, float] = {}
    for u in reversed(list(plan)):  # plan order is dependency order: dependents come later
        rank[u.id] = unit_cost(u) + max((rank[d.id] for d in dependents[u.id]), default=0.0)
    return rank


def unit_failure(unit: Unit, err: BaseException) -> Exception:
    """What an executor raises when a unit failed: our own bad-input error unchanged (exit 2 with its one
    line), anything else a RuntimeError naming the unit (exit 1). Every backend goes through here."""
    found = input_error_of(err)
    if found is not None:
        return found
    return RuntimeError(one_line(f"unit {unit.id} ({unit.label}) failed: {type(err).__name__}: {err}"))
