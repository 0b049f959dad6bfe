"""Faults: bounded one-line errors, input errors through executors, damaged run directories, the run lock."""

import json
import math
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from post_bench.checks import parse_suite
from post_bench.errors import MAX_LINE, UserInputError, input_error_of, one_line, short_repr
from post_bench.runner.context import RunContext
from post_bench.runner.execute import run_local, unit_failure
from post_bench.runner.plan import Plan, Unit
from post_bench.runner.store import RunStore
from post_bench.units import UNIT_KINDS, load_unit_kinds

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
SUITE = {"name": "t", "models": {"target": "tiny-gpt2"}, "datasets": {"private": ["election-tweets"]},
         "methods": ["zero_shot"]}


# ----------------------------------------------------------------- messages
def test_os_failures_name_the_path_and_the_reason():
    import errno
    import shutil

    from post_bench.errors import os_failure, write_failure

    listed = shutil.Error([("/c/model.bin", "/run/model.bin", "[Errno 28] No space left on device: '/run/model.bin'"),
                           ("/c/vocab.json", "/run/vocab.json", "[Errno 28] No space left on device")])
    assert os_failure(listed) == ("/run/model.bin", "No space left on device")  # copytree's list of tuples
    sendfile = OSError(errno.ENOSPC, "No space left on device", "/c/model.bin", None, "/run/model.bin")
    assert os_failure(sendfile) == ("/run/model.bin", "No space left on device")  # the destination, not the source
    assert os_failure(OSError(errno.ENOSPC, "No space left on device"), "/run/x") == ("/run/x", "No space left on device")
    (line,) = write_failure(listed, "copy it").problems
    assert line == "/run/model.bin: cannot copy it (No space left on device); allowed: a writable directory with free space"


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


# ----------------------------------------------------------------- data files and hygiene
ROWS = [(f"text number {i} about {'cats' if i % 2 else 'dogs'}", "pos" if i % 2 else "neg") for i in range(40)]


@pytest.mark.parametrize(("name", "body", "expected"), [
    ("notext.csv", "body,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS), "no text column 'text'; allowed: body, label"),
    ("header.csv", "text,label\n", "cannot read file"),
    ("empty.csv", "", "the file is empty"),
    ("nulltext.csv", "text,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS) + ",pos\n", "text: row 41: text is missing"),
    ("nanlabel.csv", "text,label\n" + "".join(f"{t},{i % 2}\n" for i, (t, _) in enumerate(ROWS)) + "x,\n",
     "label: row 41: label is missing"),
    ("mixed.jsonl", "".join(json.dumps({"text": t, "label": 1 if i % 2 else "neg"}) + "\n" for i, (t, _) in enumerate(ROWS)),
     "labels mix text and numbers"),
    ("unhashable.jsonl", "".join(json.dumps({"text": t, "label": [1]}) + "\n" for t, _ in ROWS), "label [1] is a list"),
    ("broken.jsonl", "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in ROWS) + "{broken\n", "cannot read file"),
    ("latin.csv", "text,label\ncaf\xe9,pos\n", "UnicodeDecodeError"),
])
def test_bad_data_files_are_one_line_input_errors(tmp_path, name, body, expected):
    from post_bench.data import load_dataset

    path = tmp_path / name
    path.write_bytes(body.encode("latin-1" if name.startswith("latin") else "utf-8"))
    with pytest.raises(UserInputError) as caught:
        load_dataset(f"path:{path}")
    (line,) = caught.value.problems
    assert expected in line and "\n" not in line and str(path) in line


def test_duplicates_dropped_before_splitting_and_every_split_has_two_classes():
    from post_bench.data import TextDataset, drop_duplicates, generic_task, make_splits, sample_public

    task = generic_task("t", ["a", "b"])
    ds = TextDataset("t", ("x", "y", "x", "z", "y") * 1 + tuple(f"u{i}" for i in range(40)),
                     (0, 1, 1, 0, 1) + tuple(i % 2 for i in range(40)), task)
    clean = drop_duplicates(ds)
    assert len(clean) == 43 and clean.meta["duplicates_removed"] == 2 and clean.labels[:3] == (0, 1, 0)
    splits = make_splits(clean, seed=0, train_size=20, val_size=0, test_size=10)
    assert not set(splits.train.texts) & set(splits.test.texts)
    one = TextDataset("one", tuple(f"v{i}" for i in range(40)), (0,) * 40, task)
    with pytest.raises(ValueError, match="train split has examples of 1 class only"):
        make_splits(one, seed=0, train_size=20, val_size=0, test_size=10)
    public = sample_public(clean, seed=0, size=None, exclude=set(splits.test.texts))
    assert len(public) == 33 and not set(public.texts) & set(splits.test.texts)



def test_loaded_data_has_no_duplicates_and_the_public_sample_shares_no_private_text(tmp_path):
    """Dedup happens on load (so every split and population is duplicate-free), and a public set that
    contains private texts under another name never hands them to the transfer."""
    private = tmp_path / "private.csv"
    private.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS + ROWS[:5]))
    public = tmp_path / "public.csv"
    public.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS[:10])
                      + "".join(f"public text {i},neg\n" for i in range(30)))
    from post_bench.data import load_dataset

    ds = load_dataset(f"path:{private}")
    assert len(ds) == 40 and ds.meta["duplicates_removed"] == 5
    suite = parse_suite({**SUITE, "datasets": {"private": [f"path:{private}"], "public": f"path:{public}"}}, "s.yaml")
    sample = RunContext(suite, tmp_path).public(f"path:{public}", seed=0, size=None)
    assert len(sample) == 30 and all(t.startswith("public text") for t in sample.texts)

# ----------------------------------------------------------------- preflight (validate and run)
def _preflight(**changes):
    from post_bench.checks import preflight

    raw = {**SUITE, "budget": {"train_size": 64, "val_size": 0, "test_size": 32}, **changes}
    return preflight(parse_suite(raw, "s.yaml"), "s.yaml")[0]


def test_preflight_refuses_what_would_fail_mid_run():
    assert _preflight() == []
    (line,) = _preflight(datasets={"private": ["election-tweets"], "public": "election-tweets"}, methods=["post"],
                         models={"target": "tiny-gpt2", "source": {"distill": {"layers": [0, -1]}}})
    assert line.startswith("s.yaml: datasets.public: 'election-tweets' is also a private data set")
    (line,) = _preflight(models={"target": "tiny-gpt2", "source": {"distill": {"layers": [0, -2]}}},
                         datasets={"private": ["election-tweets"], "public": "friends"}, methods=["post"])
    assert "models.source.distill.layers: layers must be non-empty and distinct" in line and "[0, 0]" in line
    (line,) = _preflight(budget={"train_size": 64, "val_size": 0, "test_size": 32, "max_tokens": 510})
    assert "budget.max_tokens: prompt_length 10 + max_tokens 510 exceeds the 512 positions" in line
    (line,) = _preflight(models={"target": "tiny-gpt2", "source": {"model": "tiny-roberta"}}, methods=["direct_transfer"])
    assert "models.source.model: 'tiny-roberta' does not share the target's vocabulary" in line
    (line,) = _preflight(budget={"train_size": 6000, "val_size": 0, "test_size": 600})
    assert "too few for validation 0 + test 600 + train 6000" in line


def test_an_epsilon_the_accountants_cannot_meet_is_bad_input_not_a_negative_spend():
    from post_bench.training.settings import tune_settings
    from post_bench.unit.schemas import TuneConfig

    cfg = TuneConfig.of(role="target", model="tiny-gpt2", dataset="d", seed=0, train_size=64, val_size=8, test_size=8,
                        max_tokens=16, canaries=None, precision="fp32", epsilon=1e-9, prompt_length=4, steps=100,
                        batch_size=16, lr=0.01, dp_lr=None, clip=1.0, delta=None, accountant="rdp", init="text",
                        micro_batch=16)
    with pytest.raises(UserInputError, match=r"^suite: epsilons: 1e-09 cannot be met by DP-SGD") as caught:
        tune_settings(cfg, 64)
    assert "epsilon spent -" in caught.value.problems[0]  # what opacus would have reported as the result


@pytest.mark.parametrize(("name", "expected"), [
    ("tiny-gpt2:hidden=0", ">= 1"), ("tiny-gpt2:hidden=64,heads=3", "not divisible"), ("tiny-llama:layers=0", ">= 1"),
    ("tiny-llama:hidden=48,heads=16", "even head size"),
])
def test_impossible_tiny_shapes_are_refused(name, expected):
    from post_bench.models.loading import check_model_spec

    assert expected in check_model_spec(name)


def test_model_folder_needs_safetensors_and_a_tokenizer(tmp_path):
    from post_bench.models.loading import check_model_spec

    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    assert "no .safetensors weights (pickle weights pytorch_model.bin are never loaded)" in check_model_spec(f"path:{tmp_path}")
    (tmp_path / "model.safetensors").write_bytes(b"x")
    assert "no tokenizer files" in check_model_spec(f"path:{tmp_path}")
    (tmp_path / "config.json").write_text("[1]")
    assert "no model_type" in check_model_spec(f"path:{tmp_path}")


def test_cuda_without_cuda_is_an_input_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    (line,) = _preflight(device="cuda")
    assert line == "s.yaml: device: cuda is asked for but no CUDA device is available; allowed: auto, cpu"


# ----------------------------------------------------------------- suite files
def test_suite_file_hazards(tmp_path):
    from post_bench.checks import load_suite

    bomb = tmp_path / "bomb.yaml"
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefg", "bcdefgh"):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    bomb.write_text("\n".join(lines) + "\nname: x\ndescription: *h\n")
    with pytest.raises(UserInputError, match="YAML aliases expand to more than"):
        load_suite(bomb)
    small = tmp_path / "small.yaml"  # under the limit: the value in the message is bounded
    small.write_text('a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
                     "name: x\ndescription: *b\nmodels: {target: tiny-gpt2}\n")
    with pytest.raises(UserInputError) as caught:
        load_suite(small)
    assert all(len(p) <= MAX_LINE for p in caught.value.problems)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b'name: x\ndescription: "caf\xe9"\n')
    with pytest.raises(UserInputError, match="not UTF-8 text"):
        load_suite(latin)
    suite = parse_suite({**SUITE, "epsilons": ["1e-5", 8, "inf"]}, "s.yaml")
    assert suite.epsilons == [1e-5, 8.0, math.inf]


# ----------------------------------------------------------------- output places
def test_output_places(tmp_path):
    from post_bench.atomic import writable_dir, write_atomic

    (tmp_path / "file").write_text("x")
    with pytest.raises(UserInputError, match="--out: cannot write here"):
        writable_dir(tmp_path / "file" / "out", "--out")

    def full_disk(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(tmp_path / "fig.png", full_disk)
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]  # no 0-byte or partial file


def test_report_refuses_wrong_typed_results(tmp_path):
    from click.testing import CliRunner

    from post_bench.cli import main

    results = json.loads((ROOT / "tests/fixtures/results_small.json").read_text())
    results["utility"][0]["accuracy"] = "high"
    (tmp_path / "results.json").write_text(json.dumps(results))
    res = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert res.exit_code == 2 and res.output == (f"{tmp_path / 'results.json'}: utility[0].accuracy: 'high' is not "
                                                 "allowed; allowed: a valid number\n")


# ----------------------------------------------------------------- audit inputs
def test_audit_inputs_are_checked_before_any_work(tmp_path):
    import torch
    from safetensors.torch import save_file

    from post_bench.audit.inputs import audit_epsilon, check_audit_inputs
    from post_bench.models.soft_prompt import load_prompt

    def check(path, **kw):
        args = {"model": "tiny-gpt2", "dataset": "election-tweets", "epsilon": None, "out_dir": tmp_path / "o",
                "max_tokens": 64, **kw}
        with pytest.raises(UserInputError) as caught:
            check_audit_inputs(path, load_prompt(path)[0], **args)
        return caught.value.problems[0]

    def read_error(path):
        with pytest.raises(UserInputError) as caught:
            load_prompt(path)
        return caught.value.problems[0]

    os.mkfifo(tmp_path / "fifo.safetensors")
    assert "not a regular file" in read_error(tmp_path / "fifo.safetensors")
    for name, cfg, expected in [("list", [1], "expected a JSON object, got list"),
                                ("str", {"num_virtual_tokens": "4"}, "num_virtual_tokens: '4' is not a count"),
                                ("zero", {"num_virtual_tokens": 0}, "num_virtual_tokens: 0 is not a count")]:
        (tmp_path / name).mkdir()
        save_file({"prompt_embeddings": torch.zeros(4, 64)}, str(tmp_path / name / "adapter_model.safetensors"))
        (tmp_path / name / "adapter_config.json").write_text(json.dumps(cfg))
        assert expected in read_error(tmp_path / name)
    bad = torch.zeros(4, 64)
    bad[1, 1] = float("inf")
    save_file({"p": bad}, str(tmp_path / "inf.safetensors"))
    assert "1 values are NaN or infinite" in read_error(tmp_path / "inf.safetensors")
    save_file({"p": torch.zeros(0, 64)}, str(tmp_path / "empty.safetensors"))
    assert "at least one token" in read_error(tmp_path / "empty.safetensors")
    save_file({"p": torch.zeros(460, 64)}, str(tmp_path / "long.safetensors"))
    assert "allowed: at most 448 virtual tokens" in check(tmp_path / "long.safetensors")
    assert audit_epsilon(float("inf")) == float("inf") and audit_epsilon(None) == float("inf") and audit_epsilon(2.0) == 2.0
    assert "--epsilon" in check(tmp_path / "long.safetensors", epsilon=float("nan"))
    save_file({"p": torch.zeros(4, 64)}, str(tmp_path / "ok.safetensors"))
    prompt, _ = load_prompt(tmp_path / "ok.safetensors")
    eps, out = check_audit_inputs(tmp_path / "ok.safetensors", prompt, model="tiny-gpt2", dataset="election-tweets",
                                  epsilon=float("inf"), out_dir=tmp_path / "made", max_tokens=64)
    assert eps == float("inf") and out.is_dir()  # --out exists before the audit runs


# ----------------------------------------------------------------- a full disk
DISTILL_SUITE = {**SUITE, "name": "full-disk", "seeds": [0], "methods": ["zero_shot", "source_only"],
                 "models": {"target": "tiny-gpt2:layers=4,hidden=64",
                            "source": {"distill": {"layers": [0, -1], "steps": 2, "batch_size": 4, "max_tokens": 16}}},
                 "datasets": {"private": ["election-tweets"], "public": "friends"},
                 "budget": {"train_size": 16, "val_size": 0, "test_size": 16, "public_size": 40, "max_tokens": 16,
                            "prompt_length": 2},
                 "tuning": {"steps": 1, "batch_size": 8, "lr": 0.01, "accountant": "rdp"}}


def test_full_disk_while_the_cached_student_is_copied_in_is_one_line_and_the_run_resumes(tmp_path, monkeypatch):
    """The OS is simulated, not our code: ``shutil.copy2`` (which copies each file of the cached student) fails
    with ENOSPC, and from then on the disk stays full (every ``fsync`` fails too: results.json and the report
    cannot be written either). One line names the file and the reason, exit 2; the unit finished before the
    distillation stays done, and the same command resumes once there is space."""
    import errno
    import shutil

    import yaml
    from click.testing import CliRunner

    from post_bench.cli import main

    monkeypatch.setenv("POST_BENCH_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(DISTILL_SUITE))

    def run(out):
        return CliRunner().invoke(main, ["run", str(path), "--out", str(out)])

    res = run(tmp_path / "first")  # distils and keeps the student in the cache
    assert res.exit_code == 0, res.output
    out, full = tmp_path / "run", []
    real_fsync = os.fsync

    def copy2(src, dst, **kwargs):
        full.append(str(dst))
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    def fsync(fd):
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    with monkeypatch.context() as disk:
        disk.setattr(shutil, "copy2", copy2)
        disk.setattr(os, "fsync", fsync)
        res = run(out)
    assert res.exit_code == 2, res.output
    assert len(full) == 1  # the copy stopped at the first file the disk refused
    line = (f"{full[0]}: cannot copy the cached distilled model into the run (No space left on device); "
            "allowed: a writable directory with free space")
    assert res.stderr.strip().splitlines()[-1] == line, res.stderr
    assert [ln for ln in res.output.splitlines() if "No space left" in ln] == [line]
    assert "Traceback" not in res.output and "Errno" not in res.output
    done = {p.parent.name for p in (out / "units").glob("*/done.json")}
    assert len(done) == 1 and done.pop().startswith("evaluate-")  # zero_shot ran before the distillation
    assert not list((out / "units").glob(".work-*"))  # the half-copied student is gone
    assert not (out / "results.json").exists()  # the disk stayed full: a rerun writes it from the units

    res = run(out)  # space again: the same command resumes
    assert res.exit_code == 0, res.output
    assert "resuming: 1 of 4 units already done, skipped" in res.output
    results = json.loads((out / "results.json").read_text())
    assert results["distill"][0]["cached"] is True


def test_a_full_cache_is_a_note_and_the_run_goes_on(tmp_path, monkeypatch):
    """The distilled student cannot be kept in the cache (its disk is full): a note, and this run finishes with
    its own copy; the next run distils again."""
    import errno
    import shutil

    import yaml
    from click.testing import CliRunner

    from post_bench.cli import main

    cache = tmp_path / "cache"
    monkeypatch.setenv("POST_BENCH_CACHE", str(cache))
    real_copy2 = shutil.copy2

    def copy2(src, dst, **kwargs):
        if str(dst).startswith(str(cache / "distilled")):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_copy2(src, dst, **kwargs)

    monkeypatch.setattr(shutil, "copy2", copy2)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({**DISTILL_SUITE, "methods": ["source_only"]}))
    res = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path / "run"), "--no-report"])
    assert res.exit_code == 0, res.output
    (note,) = [ln for ln in res.stderr.splitlines() if "No space left" in ln]
    assert note.startswith(f"note: {cache / 'distilled'}") and note.endswith(
        "cannot keep the distilled model in the cache (No space left on device); this run goes on, "
        "the next one distils again")
    assert not list((cache / "distilled").iterdir())  # no half-written cache entry
    assert json.loads((tmp_path / "run/results.json").read_text())["distill"][0]["cached"] is False
