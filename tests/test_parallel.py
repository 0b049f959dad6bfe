"""``run --jobs 2``: worker processes give the same unit ids and results as the in-process executor, and
resume a partly finished run directory; the scheduler starts long chains first."""

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner

from post_bench.checks import load_suite, parse_suite
from post_bench.cli import main
from post_bench.commands.run import plan_suite
from post_bench.runner.execute import threads_per_job
from post_bench.runner.parallel import priorities

ROOT = Path(__file__).resolve().parents[1]


def _small_smoke() -> dict:
    """The smoke suite cut to direct tuning and POST without DP (distill, tune, transfer and evaluate units;
    fast enough to run twice)."""
    suite = yaml.safe_load((ROOT / "suites/smoke.yaml").read_text())
    suite["methods"] = [m for m in suite["methods"] if (m if isinstance(m, str) else m["name"]) in ("direct", "post")]
    suite["epsilons"], suite["attacks"] = ["inf"], []
    return suite


def _rows(results: dict) -> list:
    return sorted((r["method"], str(r["epsilon"]), r["accuracy"]) for r in results["utility"])


def test_jobs_2_matches_jobs_1_and_resumes(tmp_path, run_suite):
    one, results_one = run_suite(_small_smoke(), tmp_path)
    two = tmp_path / "two"
    shutil.copytree(one, two)
    (two / "results.json").unlink()
    units = sorted(p.name for p in (one / "units").iterdir())
    for name in units:  # keep only the distillation: the rest reruns in two worker processes
        if not name.startswith("distill-"):
            shutil.rmtree(two / "units" / name)
    res = CliRunner().invoke(main, ["run", str(tmp_path / "suite.yaml"), "--out", str(two), "--no-report", "--jobs", "2"])
    assert res.exit_code == 0, res.output
    assert f"resuming: 1 of {len(units)} units already done" in res.output
    assert sorted(p.name for p in (two / "units").iterdir()) == units
    results_two = json.loads((two / "results.json").read_text())
    assert len(results_one["utility"]) == 2 and _rows(results_two) == _rows(results_one)
    assert results_two["env"]["jobs"] == 2 and results_two["env"]["cpu_threads"] == 1


def test_jobs_refused_with_ray():
    res = CliRunner().invoke(main, ["run", str(ROOT / "suites/smoke.yaml"), "--jobs", "2", "--executor", "ray"])
    assert res.exit_code == 2 and "--jobs 2" in res.output


def test_threads_divided_among_jobs(monkeypatch):
    from post_bench.runner import execute

    monkeypatch.setattr(execute, "cores", lambda: 8)
    assert threads_per_job(0, 1) is None  # torch's default
    assert threads_per_job("auto", 1) == 8 and threads_per_job("auto", 3) == 2 and threads_per_job(0, 2) == 4
    assert threads_per_job(2, 2) == 1 and threads_per_job(2, 4) == 1 and threads_per_job(6, 2) == 3
    raw = yaml.safe_load((ROOT / "suites/smoke.yaml").read_text())
    assert parse_suite({**raw, "threads": "auto"}, "s.yaml").threads == "auto"


def test_long_chains_start_first():
    plan = plan_suite(load_suite(ROOT / "suites/smoke.yaml"))
    rank = priorities(plan)
    by_kind = {}
    for u in plan:
        by_kind.setdefault(u.kind, []).append(rank[u.id])
    # distillation heads every chain; shadows and transfers outrank the evaluations waiting on nothing else
    assert min(by_kind["distill"]) == max(rank.values())
    assert min(by_kind["shadows"]) > max(by_kind["evaluate"]) and min(by_kind["transfer"]) > max(by_kind["evaluate"])
    for u in plan:
        assert all(rank[d.id] > rank[u.id] for d in u.deps.values())
