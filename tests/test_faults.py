"""Faults: bounded one-line errors, input errors through executors, damaged run directories, the run lock."""

import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from post_bench.errors import MAX_LINE, UserInputError, input_error_of, one_line, short_repr
from post_bench.runner.context import RunContext
from post_bench.runner.execute import run_local, unit_failure
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore
from post_bench.runner.units import UNIT_KINDS, load_unit_kinds
from post_bench.suite import parse_suite

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SUITE = {"name": "t", "models": {"target": "tiny-gpt2"}, "datasets": {"private": ["election-tweets"]},
         "methods": ["zero_shot"]}


# ----------------------------------------------------------------- messages
def test_messages_are_one_bounded_line():
    err = UserInputError(["a\nb  c", "x" * 10**6])
    assert err.problems[0] == "a b c"
    assert len(err.problems[1]) <= MAX_LINE and " ... " in err.problems[1]
    bomb = [[[list(range(10))] * 10] * 10] * 10
    assert len(short_repr(bomb)) < 200
    assert one_line("s" * 50) == "s" * 50


def test_input_error_survives_pickling_and_wrapping():
    err = UserInputError(["f: k: bad; allowed: 1"])
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, UserInputError) and back.problems == err.problems
    try:
        try:
            raise err
        except UserInputError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert input_error_of(outer) is err
    unit = Unit("tune", {"x": 1}, label="lbl")
    assert unit_failure(unit, err) is err
    other = unit_failure(unit, ValueError("boom\nmore"))
    assert isinstance(other, RuntimeError) and "\n" not in str(other) and unit.id in str(other)


def test_input_error_inside_ray_task_error_is_found():
    ray_exceptions = pytest.importorskip("ray.exceptions")
    err = UserInputError("f: k: bad")
    wrapped = ray_exceptions.RayTaskError("fn", "traceback", pickle.loads(pickle.dumps(err)))
    found = unit_failure(Unit("tune", {}), wrapped)
    assert isinstance(found, UserInputError) and found.problems == ["f: k: bad"]


# ----------------------------------------------------------------- executor
@pytest.fixture
def fault_kinds():
    load_unit_kinds()

    def good(unit, ctx, work):
        (work / "artifact.txt").write_text("ok")
        return {"utility": [{"value": 1}]}

    def bad(unit, ctx, work):
        (work / "partial.txt").write_text("half")
        raise UserInputError("data.csv: label: one class only; allowed: at least two classes")

    UNIT_KINDS.add("test-good", good)
    UNIT_KINDS.add("test-bad", bad)
    yield
    for name in ("test-good", "test-bad"):
        UNIT_KINDS._items.pop(name)


def test_input_error_inside_a_unit_is_kept_and_finished_units_stay(tmp_path, fault_kinds):
    plan = Plan()
    good = plan.add(Unit("test-good", {"i": 1}))
    plan.add(Unit("test-bad", {"i": 2}, {"dep": good}))
    store = RunStore(tmp_path)
    ctx = RunContext(parse_suite(SUITE, "t.yaml"), tmp_path)
    with pytest.raises(UserInputError) as caught:
        run_local(plan, ctx, store, echo=lambda *_: None)
    assert caught.value.problems == ["data.csv: label: one class only; allowed: at least two classes"]
    assert store.is_done(good.id)
    assert not list((tmp_path / "units").glob(".work-*"))  # the failed unit's work dir is gone


# ----------------------------------------------------------------- run directory
def _finished(store: RunStore, unit_id: str, text: str = "weights") -> None:
    work = store.begin(unit_id)
    (work / "model").mkdir()
    (work / "model" / "w.bin").write_text(text)
    store.commit(unit_id, work, {"utility": [{"a": 1}]})


def test_damaged_units_are_not_done(tmp_path):
    store = RunStore(tmp_path)
    for uid in ("u-empty", "u-corrupt", "u-list", "u-trunc", "u-ok"):
        _finished(store, uid)
    (tmp_path / "units/u-empty/done.json").write_text("")
    (tmp_path / "units/u-corrupt/done.json").write_text('{"utility": [')
    (tmp_path / "units/u-list/done.json").write_text("[]")
    (tmp_path / "units/u-trunc/model/w.bin").write_text("weig")
    fresh = RunStore(tmp_path)
    notices = []
    units = {uid: type("U", (), {"id": uid})() for uid in ("u-empty", "u-corrupt", "u-list", "u-trunc", "u-ok", "u-new")}
    todo = fresh.pending(units.values(), notices.append)
    assert [u.id for u in todo] == ["u-empty", "u-corrupt", "u-list", "u-trunc", "u-new"]
    assert len(notices) == 4 and all(n.endswith("redoing it") and "\n" not in n for n in notices)
    assert "w.bin does not match its checksum" in notices[3]
    _finished(fresh, "u-trunc")  # redone: replaces the damaged folder
    assert fresh.is_done("u-trunc")


def test_records_without_checksums_still_count(tmp_path):
    folder = tmp_path / "units" / "u-old"
    folder.mkdir(parents=True)
    (folder / "done.json").write_text(json.dumps({"utility": []}))
    assert RunStore(tmp_path).is_done("u-old")


def test_second_process_is_refused_with_the_holders_pid(tmp_path):
    first = RunStore(tmp_path)
    first.lock()
    code = ("import sys; from post_bench.runner.store import RunStore; from post_bench.errors import UserInputError\n"
            "try:\n  RunStore(sys.argv[1]).lock()\nexcept UserInputError as e:\n  print(e.problems[0]); sys.exit(2)\n")
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=ENV)
    assert res.returncode == 2 and f"pid {os.getpid()}" in res.stdout and "--out" in res.stdout
    first.unlock()
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=ENV)
    assert res.returncode == 0


def test_cleanup_keeps_a_live_processs_work_dir(tmp_path):
    store = RunStore(tmp_path)
    dead = store.begin("u-dead")
    (dead / ".owner").write_text("somehost 1")
    live = store.begin("u-live")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (live / ".owner").write_text(f"{socket.gethostname()} {sleeper.pid}\n")
        assert store.clean_partial() == 1
        assert live.is_dir() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert store.clean_partial() == 1 and not live.exists()


def test_unit_ids_cover_input_file_contents(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,0\n")

    def planned():
        plan = Plan()
        return plan.add(Unit("evaluate", {"dataset": f"path:{data}"}, {"prompt": Unit("tune", {"dataset": f"path:{data}"})}))

    first = planned()
    assert first.id == planned().id
    data.write_text("text,label\nb,0\n")
    second = planned()
    assert second.id != first.id and second.deps["prompt"].id != first.deps["prompt"].id
