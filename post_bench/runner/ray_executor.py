"""Ray executor: every ready unit becomes a Ray task on an existing cluster (or a local Ray).

Units share artifacts through the run directory (a shared filesystem on a cluster); a task publishes its
unit with the same atomic rename as the local executor, so results are identical and reruns resume.
GPUs are requested as Ray resources when the suite runs on CUDA.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from post_bench.runner.context import RunContext
from post_bench.runner.execute import apply_threads, run_unit
from post_bench.runner.executor import Backend, Finished, execute
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore
from post_bench.suite import Suite

DEFAULT_LOCAL_CPUS = None  # a local Ray gets all cores unless set


def _run_remote(unit, suite_dict: dict, root: str) -> tuple[str, dict]:
    ctx = RunContext(Suite.model_validate(suite_dict), root=Path(root))
    apply_threads(ctx)
    record = run_unit(unit, ctx, RunStore(root))
    return unit.id, record["cost"][0]


class RayBackend(Backend):
    """Every ready unit is a Ray task (one GPU each when the suite runs on CUDA, else one CPU); Ray is started
    here unless the process is already connected, and shut down again at the end."""

    slots = None

    def __init__(self, ray, address: str | None, num_cpus: int | None):
        self.ray, self.address, self.num_cpus = ray, address, num_cpus
        self.running: dict = {}
        self.started_here = False

    def open(self, plan: Plan, ctx: RunContext, store: RunStore, echo) -> None:
        ray = self.ray
        if not ray.is_initialized():
            kwargs = {"address": self.address} if self.address else {
                "num_cpus": self.num_cpus or DEFAULT_LOCAL_CPUS or os.cpu_count()}
            ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **kwargs)
            self.started_here = True
        suite = ctx.suite
        gpu = suite.device == "cuda" or (suite.device == "auto" and ray.cluster_resources().get("GPU", 0) > 0)
        self.remote = ray.remote(num_gpus=1 if gpu else 0, num_cpus=1 if not gpu else 0, max_retries=0)(_run_remote)
        self.args = (suite.model_dump(mode="json"), str(store.root.resolve()))

    def start(self, unit: Unit) -> None:
        self.running[self.remote.remote(unit, *self.args)] = unit

    def wait(self) -> list[Finished]:
        finished, _ = self.ray.wait(list(self.running), num_returns=1)
        stopped = []
        for ref in finished:
            unit = self.running.pop(ref)
            try:
                stopped.append(Finished(unit, cost=self.ray.get(ref)[1]))
            except Exception as err:
                stopped.append(Finished(unit, error=err))
        return stopped

    def close(self, interrupted: bool) -> None:
        try:
            if interrupted:  # stop the tasks now; a unit they were running is redone by the next run
                for ref in self.running:
                    self.ray.cancel(ref, force=True)
        finally:
            if self.started_here:
                self.ray.shutdown()


def run_ray(plan: Plan, ctx: RunContext, store: RunStore, address: str | None = None, echo=click.echo,
            num_cpus: int | None = None) -> None:
    try:
        import ray  # deferred: optional dependency (ray); start-up time
    except ImportError:
        raise RuntimeError("the ray executor needs ray: pip install 'post-bench[ray]'") from None
    execute(plan, ctx, store, RayBackend(ray, address or os.environ.get("RAY_ADDRESS"), num_cpus), echo)
