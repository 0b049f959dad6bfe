"""Runner: content hashes, shared units, atomic units, resume after SIGKILL, end-to-end smoke suite."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from post_bench.checks import load_suite
from post_bench.cli import main
from post_bench.commands.run import plan_suite
from post_bench.epsilon import parse_epsilon
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


def test_unit_hash_depends_on_config_and_inputs():
    a = Unit("tune", {"x": 1})
    assert a.hash == Unit("tune", {"x": 1}).hash
    assert a.hash != Unit("tune", {"x": 2}).hash
    child1 = Unit("evaluate", {"m": 1}, {"prompt": a})
    child2 = Unit("evaluate", {"m": 1}, {"prompt": Unit("tune", {"x": 2})})
    assert child1.hash != child2.hash
    plan = Plan()
    plan.add(child1)
    plan.add(Unit("evaluate", {"m": 2}, {"prompt": Unit("tune", {"x": 1})}))
    assert len(plan) == 3  # the shared tune unit is planned once


def test_store_publishes_units_atomically(tmp_path):
    store = RunStore(tmp_path)
    work = store.begin("tune-abc")
    (work / "prompt.txt").write_text("x")
    assert not store.is_done("tune-abc")
    store.commit("tune-abc", work, {"ok": 1})
    assert store.is_done("tune-abc") and store.done_record("tune-abc")["ok"] == 1
    stale = store.begin("tune-def")
    assert store.clean_partial() == 1 and not stale.exists()


def test_smoke_plan_shares_source_prompt():
    plan = plan_suite(load_suite(ROOT / "suites/smoke.yaml"))
    kinds = [u.kind for u in plan]
    assert kinds.count("distill") <= 1
    tune_ids = {u.deps["prompt"].id for u in plan if u.kind == "evaluate" and "prompt" in u.deps
                and u.deps["prompt"].kind == "tune" and u.config["role"] != "source"} | set()
    assert len(tune_ids) == len(set(tune_ids))


def test_end_to_end_smoke_suite(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(ROOT / "suites/smoke.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == 2 and results["suite"]["name"] == "smoke" and "aggregates" in results
    suite = load_suite(ROOT / "suites/smoke.yaml")
    got = {(r["method"], parse_epsilon(r["epsilon"])) for r in results["utility"]}  # null in the file: inf
    for m in suite.methods:
        eps_list = [math.inf] if m.name == "zero_shot" else suite.epsilons
        for eps in eps_list:
            assert (m.name, eps) in got, (m.name, eps)
    for row in results["utility"]:
        assert 0.0 <= row["accuracy"] <= 1.0 and row["n_test"] == suite.budget.test_size
        if row["epsilon"] is not None and row["method"] != "dp_opt":
            assert row["accountant"] in ("prv", "rdp") and row["noise_multiplier"] > 0
    assert len(results["cost"]) == len(list((out / "units").iterdir()))
    forward_kinds = {"tune", "evaluate", "shadows", "dp_opt"}  # ptfer and lira run no model
    assert all(c["wall_s"] > 0 and c["tokens"] > 0 and c["flops"] > 0 for c in results["cost"] if c["kind"] in forward_kinds)
    (one_off,) = [r["one_off"] for r in results["distill"]]  # a cached student costs this run ~0: its own cost is kept
    assert one_off["wall_s"] > 0 and one_off["flops"] > 0
    assert {c["model_role"] for c in results["cost"]} >= {"source", "target", "distill"}
    assert {r["dataset"] for r in results["privacy"]} == {"election-tweets"} and results["extraction"]
    assert results["distill"][0]["student_loss"] < results["distill"][0]["truncated_loss"]
    assert (out / "report" / "report.md").is_file()
    again = CliRunner().invoke(main, ["run", str(ROOT / "suites/smoke.yaml"), "--out", str(out)])
    assert again.exit_code == 0 and "already done, skipped" in again.output
    # every evaluate and membership row points at its per-example outputs, hashed
    assert all(r["samples"]["rows"] == r["n_test"] for r in results["utility"])
    assert all(r["samples"]["kind"] == "membership" for r in results["privacy"])
    # re-scoring: a copy of the run without its unit folders (samples kept) reports the same numbers
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("units"))
    res = CliRunner().invoke(main, ["report", str(copy), "--to", str(tmp_path / "standalone")])
    assert res.exit_code == 0, res.output
    again = json.loads((tmp_path / "standalone" / "results.json").read_text())
    for section in ("utility", "privacy", "claims", "aggregates", "evidence"):
        assert again[section] == results[section], section
    assert (tmp_path / "standalone" / results["utility"][0]["samples"]["file"]).is_file()


def _done_times(out: Path) -> dict:
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "units").glob("*/done.json")}


def test_resume_after_sigkill(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "post_bench.cli", "run", str(ROOT / "suites/smoke.yaml"), "--out", str(out), "--no-report"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (out / "units").exists() and len(_done_times(out)) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _done_times(out)
    assert before, "no unit finished before the kill"
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    after = _done_times(out)
    assert all(after[k] == v for k, v in before.items()), "a finished unit was redone"
    assert len(after) == len(plan_suite(load_suite(ROOT / "suites/smoke.yaml")))
    assert not [p for p in (out / "units").iterdir() if p.name.startswith(".work-")]


def test_two_seed_smoke_run_reports_claims(tmp_path, run_suite):
    """A real two-seed run: results.json carries claims paired over both seeds, cost rows name their data set
    and seed, and `post-bench report` renders the claims from results.json alone."""
    import yaml

    suite = yaml.safe_load((ROOT / "suites/smoke.yaml").read_text())
    suite.update(name="smoke-seeds", seeds=[0, 1], epsilons=["inf"], attacks=[],
                 methods=["zero_shot", "direct", "source_only", {"name": "post", "steps": 3, "batch_size": 8}])
    out, results = run_suite(suite, tmp_path)
    assert {(r["seed"], r["num_classes"]) for r in results["utility"]} == {(0, 2), (1, 2)}
    assert {(c["dataset"], c["seed"]) for c in results["cost"] if c["kind"] == "evaluate"} == {
        ("election-tweets", 0), ("election-tweets", 1)}
    claims = {c["claim"]: c for c in results["claims"]}
    assert sorted(claims) == [1, 2, 3, 4, 6]
    above_zero_shot = claims[2]["cells"][0]["checks"][0]
    assert above_zero_shot["seeds"] == [0, 1] and above_zero_shot["ci_low"] is not None
    assert claims[1]["cells"][0]["checks"][0]["reason"] == "no direct_transfer results at ε=∞"
    assert claims[6]["cells"][0]["checks"][0]["n"] == 2  # wall time paired over both seeds
    for c in results["claims"]:
        for chk in (x for cell in c["cells"] for x in cell["checks"]):
            assert chk["verdict"] != "holds" or chk["ci_low"] > 0
    res = CliRunner().invoke(main, ["report", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report" / "report.md").read_text()
    assert "### Claims: summary" in md and "| 2 | election-tweets | ∞ |" in md and "t, seeds" in md
    assert "| election-tweets | post | ∞ | 2 |" in md  # cost per method: data set named, 2 prompts
