"""The executor core (runner/executor.py) behind its three backends: in-process, ``--jobs`` worker processes
and Ray give the same unit records for one tiny plan; a rerun skips every finished unit; a damaged unit is
redone with its dependents (one notice line) and the others are kept."""

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from post_bench.checks import parse_suite
from post_bench.commands.run import plan_suite as _plan
from post_bench.runner.context import RunContext
from post_bench.runner.execute import run_local
from post_bench.runner.executor import priorities
from post_bench.runner.parallel import run_parallel
from post_bench.runner.ray_executor import run_ray
from post_bench.runner.store import RunStore
from post_bench.samples import read_samples

ROOT = Path(__file__).resolve().parents[1]
MEASURED = ("wall_s", "peak_mem_mb")  # cost fields that differ between any two runs
NO_RAY = importlib.util.find_spec("ray") is None

BACKENDS = {
    "local": lambda plan, ctx, store, echo: run_local(plan, ctx, store, echo=echo),
    "jobs": lambda plan, ctx, store, echo: run_parallel(plan, ctx, store, 2, 1, echo=echo),
    "ray": lambda plan, ctx, store, echo: run_ray(plan, ctx, store, echo=echo, num_cpus=2),
}


def _suite():
    """Zero-shot and direct tuning on the smoke suite's tiny model: an independent unit and a chain of two."""
    raw = yaml.safe_load((ROOT / "suites/smoke.yaml").read_text())
    raw.update(name="executor", epsilons=["inf"], attacks=[], methods=["zero_shot", "direct"])
    return parse_suite(raw, "executor.yaml")


def _run(backend: str, root: Path) -> list[str]:
    suite = _suite()
    lines: list[str] = []
    BACKENDS[backend](_plan(suite), RunContext(suite, root), RunStore(root), lines.append)
    return lines


def _records(root: Path) -> dict:
    """Every unit's done.json without measured costs; artifacts by name and loaded content (safetensors metadata
    is written in a per-process order, so the bytes and their checksums may differ while the tensors are equal)."""
    out = {}
    for done in sorted((root / "units").glob("*/done.json")):
        record = json.loads(done.read_text())
        for row in record["cost"]:
            for key in MEASURED:
                row.pop(key)
        files = record.pop("files")
        record["artifacts"] = {name: ({k: v.tolist() for k, v in load_file(done.parent / name).items()}
                                      if name.endswith(".safetensors") else
                                      read_samples(done.parent, {"file": name, "sha256": files[name]})
                                      if name.endswith(".jsonl.gz") else (done.parent / name).read_text())
                               for name in files}
        out[done.parent.name] = record
    return out


def _done_times(root: Path) -> dict:
    return {p.parent.name: p.stat().st_mtime_ns for p in (root / "units").glob("*/done.json")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    _run("local", root)
    return _records(root)


@pytest.mark.parametrize("backend", ["local", "jobs", pytest.param(
    "ray", marks=[pytest.mark.ray, pytest.mark.skipif(NO_RAY, reason="ray is not installed")])])
def test_backend_records_resume_and_damage(backend, reference, tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    root = tmp_path / "run"
    _run(backend, root)
    records = _records(root)
    assert len(records) == 3 and records == reference

    before = _done_times(root)
    lines = _run(backend, root)
    assert "resuming: 3 of 3 units already done, skipped" in lines
    assert not any(line.startswith("done ") for line in lines) and _done_times(root) == before

    tune = next(name for name in before if name.startswith("tune-"))
    dependent = next(name for name, r in records.items() if tune in r["unit"]["deps"].values())
    prompt = root / "units" / tune / "prompt" / "adapter_model.safetensors"
    data = bytearray(prompt.read_bytes())
    data[-1] ^= 0x01
    prompt.write_bytes(bytes(data))
    lines = _run(backend, root)
    notices = [line for line in lines if line.startswith("unit ")]
    assert notices == [f"unit {tune}: artifact prompt/adapter_model.safetensors does not match its checksum "
                       "(changed since it was committed); redoing it and 1 dependent unit(s)"], lines
    assert "resuming: 1 of 3 units already done, skipped" in lines
    after = _done_times(root)
    assert {u for u in before if after[u] != before[u]} == {tune, dependent}
    assert _records(root) == reference
    assert not [p for p in (root / "units").iterdir() if p.name.startswith(".work-")]


def test_local_backend_runs_in_plan_order_and_jobs_start_long_chains_first(tmp_path, capsys):
    suite = _suite()
    plan = _plan(suite)
    run_local(plan, RunContext(suite, tmp_path), RunStore(tmp_path), echo=print)
    done = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("done ")]
    assert done == [u.id for u in plan]
    rank = priorities(plan)
    tune = next(u for u in plan if u.kind == "tune")
    assert rank[tune.id] == max(rank.values())  # the chain tune -> evaluate starts before the lone evaluation


def test_the_core_owns_the_run_directory_only_for_the_run_unless_owned_before(tmp_path):
    from post_bench.errors import UserInputError

    suite = _suite()
    store = RunStore(tmp_path)
    run_local(_plan(suite), RunContext(suite, tmp_path), store, echo=lambda *_: None)
    with RunStore(tmp_path).locked():  # released at the end of the run
        pass
    store.lock()
    run_local(_plan(suite), RunContext(suite, tmp_path), store, echo=lambda *_: None)
    with pytest.raises(UserInputError, match="in use by another post-bench process"):
        RunStore(tmp_path).lock()  # a store that owned the directory before keeps owning it
    store.unlock()
