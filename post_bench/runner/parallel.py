"""Parallel local executor (``post-bench run --jobs N``): ready units run in N spawned worker processes.

Every worker keeps one :class:`RunContext` (loaded models, data splits, tokenised data, cached logits) for
the whole run, so units after the first in a worker pay no loading cost. Units publish themselves with the
same atomic rename as the in-process executor, so results, unit ids and resume are the same as ``--jobs 1``.

Scheduling (the executor core, :mod:`post_bench.runner.executor`): among the ready units the one with the
longest estimated remaining chain (its own cost plus the costliest path through the units that wait for it)
starts first, so distillation, shadows and transfers are not left for the end while short evaluations fill
the workers.

Ctrl-C: workers start with SIGINT blocked (the signal mask survives fork and exec), so a Ctrl-C reaches only
the driver, which stops the workers (:meth:`ProcessBackend.close`) instead of waiting for their units; no
worker prints a traceback, and the next run removes their work dirs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

import click

from post_bench.runner.context import RunContext
from post_bench.runner.execute import run_unit
from post_bench.runner.executor import KIND_COST, Backend, Finished, execute, priorities, unit_cost  # noqa: F401
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore
from post_bench.suite import Suite
from post_bench.units import load_unit_kinds

# ----------------------------------------------------------------------------- worker side
_WORKER: dict = {}


def _watch_parent(parent: int) -> None:
    """Exit when the parent dies (a SIGKILLed ``run`` must not leave workers training on)."""
    while True:
        threading.Event().wait(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(suite_dict: dict, root: str, threads: int | None, parent: int) -> None:
    import torch  # deferred: start-up time (torch; loaded in the worker)
    import transformers  # noqa: F401  # deferred: start-up time (transformers; here, not in the first unit's measured time)

    if threads:
        torch.set_num_threads(threads)
    load_unit_kinds()
    _WORKER["ctx"] = RunContext(Suite.model_validate(suite_dict), root=Path(root))
    _WORKER["store"] = RunStore(root)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _run_in_worker(unit: Unit) -> tuple[str, dict]:
    record = run_unit(unit, _WORKER["ctx"], _WORKER["store"])
    return unit.id, record["cost"][0]


# ----------------------------------------------------------------------------- driver
@contextmanager
def _sigint_blocked():
    """Processes started in the block keep SIGINT blocked for life; here a Ctrl-C waits for the block's end."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class ProcessBackend(Backend):
    """Units run in ``jobs`` spawned worker processes that keep their :class:`RunContext` for the whole run."""

    critical_path_first = True

    def __init__(self, jobs: int, threads: int | None):
        self.slots, self.threads = jobs, threads
        self.running: dict = {}

    def open(self, plan: Plan, ctx: RunContext, store: RunStore, echo) -> None:
        self.before = set(multiprocessing.active_children())
        self.pool = ProcessPoolExecutor(max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker,
                                        initargs=(ctx.suite.model_dump(mode="json"), str(store.root.resolve()),
                                                  self.threads, os.getpid()))
        echo(f"{self.slots} worker processes, {self.threads or 'default'} torch thread(s) each")

    def start(self, unit: Unit) -> None:
        with _sigint_blocked():  # the pool starts its worker processes inside submit
            self.running[self.pool.submit(_run_in_worker, unit)] = unit

    def wait(self) -> list[Finished]:
        finished, _ = wait(self.running, return_when=FIRST_COMPLETED)
        stopped = []
        for fut in finished:
            unit = self.running.pop(fut)
            err = fut.exception()
            stopped.append(Finished(unit, error=err) if err is not None else Finished(unit, cost=fut.result()[1]))
        return stopped

    def close(self, interrupted: bool) -> None:
        if interrupted:  # stop the workers now; a unit they were running is redone by the next run
            for process in set(multiprocessing.active_children()) - self.before:
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)


def run_parallel(plan: Plan, ctx: RunContext, store: RunStore, jobs: int, threads: int | None,
                 echo=click.echo) -> None:
    """Run the unfinished units of ``plan`` in ``jobs`` worker processes, ``threads`` torch threads each."""
    execute(plan, ctx, store, ProcessBackend(jobs, threads), echo)
