"""Run one unit (shared by every backend of the executor core, :mod:`post_bench.runner.executor`), torch
threads per worker, and the local backend: units one at a time in this process, in plan order."""

from __future__ import annotations

import os
import shutil

import click

from post_bench import cost
from post_bench.runner.context import RunContext
from post_bench.runner.executor import Backend, Finished, execute, unit_failure  # noqa: F401  (re-exported)
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore
from post_bench.units import UNIT_KINDS, load_unit_kinds


def run_unit(unit: Unit, ctx: RunContext, store: RunStore) -> dict:
    """Run a unit in a private work dir, measure its cost, then publish it atomically with done.json."""
    load_unit_kinds()
    work = store.begin(unit.id)
    try:
        with cost.measure() as meter:
            record = UNIT_KINDS.get(unit.kind)(unit, ctx, work) or {}
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    config = unit.config
    record["cost"] = [{
        "unit": unit.id, "kind": unit.kind, "label": unit.label, "method": config.get("label") or config.get("method"),
        "dataset": config.get("dataset"), "epsilon": config.get("epsilon"), "seed": config.get("seed"), "deps": sorted(d.id for d in unit.deps.values()),
        "model": ctx.model_label(unit) if "model" in config else record.get("model_name"),
        "model_role": model_role(unit),
        "wall_s": round(meter.wall_s, 3), "tokens": meter.tokens, "flops": meter.flops,
        "peak_mem_mb": round(meter.peak_mem_mb, 1), "device": ctx.device, "by_model": meter.by_model,
    }]
    record["unit"] = unit.describe()
    store.commit(unit.id, work, record)
    return record


def model_role(unit: Unit) -> str:
    """Which model did the work: 'source', 'target', or 'distill' (the one-time teacher→student step)."""
    if unit.kind == "distill":
        return "distill"
    return unit.config.get("role") or ("source" if unit.config.get("model") == "@model" else "target")


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_job(setting: int | str, jobs: int = 1) -> int | None:
    """Torch threads for each of ``jobs`` concurrent workers: the suite's ``threads`` divided among them
    (``auto``: all cores; 0: torch's default for one job, all cores for several); None = leave torch's default."""
    if setting == 0 and jobs == 1:
        return None
    total = cores() if setting in ("auto", 0) else int(setting)
    return max(1, total // jobs)


def apply_threads(ctx: RunContext, jobs: int = 1) -> int | None:
    threads = threads_per_job(ctx.suite.threads, jobs)
    if threads:
        import torch  # deferred: start-up time (torch)

        torch.set_num_threads(threads)
    return threads


class LocalBackend(Backend):
    """Each unit runs in this process when it starts (one at a time, plan order, a progress bar)."""

    slots, progress_bar = 1, True

    def open(self, plan: Plan, ctx: RunContext, store: RunStore, echo) -> None:
        self.ctx, self.store, self.stopped = ctx, store, []

    def start(self, unit: Unit) -> None:
        try:
            self.stopped.append(Finished(unit, cost=run_unit(unit, self.ctx, self.store)["cost"][0]))
        except Exception as err:
            self.stopped.append(Finished(unit, error=err))

    def wait(self) -> list[Finished]:
        stopped, self.stopped = self.stopped, []
        return stopped


def run_local(plan: Plan, ctx: RunContext, store: RunStore, echo=click.echo) -> None:
    apply_threads(ctx)
    execute(plan, ctx, store, LocalBackend(), echo)
