"""The Ray executor on a local 2-CPU Ray runs the smoke suite with the same results as the local executor."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from post_bench.cli import main

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[1]



def _utility(path: Path) -> list:
    rows = json.loads((path / "results.json").read_text())["utility"]
    return sorted((r["method"], str(r["epsilon"]), round(r["accuracy"], 6)) for r in rows)


def test_ray_matches_local(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    suite = ROOT / "suites/smoke.yaml"
    runner = CliRunner()
    local = runner.invoke(main, ["run", str(suite), "--out", str(tmp_path / "local"), "--no-report"])
    assert local.exit_code == 0, local.output
    from post_bench.runner import ray_executor

    monkeypatch.setattr(ray_executor, "DEFAULT_LOCAL_CPUS", 2)
    remote = runner.invoke(main, ["run", str(suite), "--out", str(tmp_path / "ray"), "--executor", "ray", "--no-report"])
    assert remote.exit_code == 0, remote.output
    assert _utility(tmp_path / "ray") == _utility(tmp_path / "local")
    local_units = sorted(p.parent.name for p in (tmp_path / "local" / "units").glob("*/done.json"))
    assert sorted(p.parent.name for p in (tmp_path / "ray" / "units").glob("*/done.json")) == local_units
