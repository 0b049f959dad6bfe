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
from post_bench.runner.execute import unit_failure
from post_bench.runner.plan import Plan
from post_bench.runner.store import RunStore

DEFAULT_LOCAL_CPUS = None  # a local Ray gets all cores unless set


def _run_remote(unit, suite_dict: dict, root: str) -> tuple[str, float]:
    from post_bench.runner.execute import apply_threads, run_unit
    from post_bench.suite import Suite

    ctx = RunContext(Suite.model_validate(suite_dict), root=Path(root))
    apply_threads(ctx)
    record = run_unit(unit, ctx, RunStore(root))
    return unit.id, record["cost"][0]["wall_s"]


def run_ray(plan: Plan, ctx: RunContext, store: RunStore, address: str | None = None, echo=click.echo,
            num_cpus: int | None = None) -> None:
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray executor needs ray: pip install 'post-bench[ray]'") from None
    address = address or os.environ.get("RAY_ADDRESS")
    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"address": address} if address else {"num_cpus": num_cpus or DEFAULT_LOCAL_CPUS or os.cpu_count()}
        ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **kwargs)
    try:
        _drive(ray, plan, ctx, store, echo)
    finally:
        if started_here:
            ray.shutdown()


def _drive(ray, plan: Plan, ctx: RunContext, store: RunStore, echo) -> None:
    store.clean_partial()
    suite = ctx.suite
    gpu = suite.device == "cuda" or (suite.device == "auto" and ray.cluster_resources().get("GPU", 0) > 0)
    remote = ray.remote(num_gpus=1 if gpu else 0, num_cpus=1 if not gpu else 0, max_retries=0)(_run_remote)
    suite_dict = suite.model_dump(mode="json")
    todo = {u.id for u in store.pending(plan, echo)}
    done = {u.id for u in plan if u.id not in todo}
    if done:
        echo(f"resuming: {len(done)} of {len(plan)} units already done, skipped")
    running: dict = {}
    while len(done) < len(plan):
        for unit in plan.ready(done):
            if unit.id not in running.values():
                running[remote.remote(unit, suite_dict, str(store.root.resolve()))] = unit.id
        if not running:
            raise RuntimeError("no unit is ready but the plan is unfinished (a dependency cycle?)")
        finished, _ = ray.wait(list(running), num_returns=1)
        for ref in finished:
            unit_id = running.pop(ref)
            try:
                _, wall = ray.get(ref)
            except Exception as err:
                raise unit_failure(plan.units[unit_id], err) from err
            done.add(unit_id)
            echo(f"done {unit_id:<26} {wall:8.1f}s  ({len(done)}/{len(plan)})")
