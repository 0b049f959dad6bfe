"""Ctrl-C at any moment ends ``post-bench`` with one line naming the phase and exit code 130, never a traceback
or click's "Aborted!", and the run resumes afterwards.

No test waits for time to pass: each interrupt is sent once the child process has said (on a pipe) that it
stands at the point under test, and it stays there, blocked, until the signal comes."""

import importlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from post_bench import entry

ROOT = Path(__file__).resolve().parents[1]
RUN_LINE = "interrupted during the unit runs; finished units are kept, rerun the same command to resume"
READY = "@@ready"


def _env(*paths) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *map(str, paths)]), "PYTHONUNBUFFERED": "1"}


def _interrupt_when_ready(proc: subprocess.Popen, group: bool = False) -> tuple[str, str]:
    """Read the child's stdout up to the READY line, send SIGINT (to its process group, as a terminal does, when
    ``group``), and return the rest of stdout and stderr."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.strip() == READY:
            break
    else:
        proc.kill()
        pytest.fail("the child ended before it was ready: " + "".join(seen) + proc.stderr.read())
    if group:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=300)  # a safety net against a hang, not a timing assumption
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return "".join(seen) + out, err


def _blocking_module(folder: Path, name: str) -> None:
    """A module whose import says READY and then blocks on stdin (a stand-in for a slow torch import)."""
    (folder / f"{name}.py").write_text(f"import sys\nprint({READY!r}, flush=True)\nsys.stdin.read(1)\n")


# ----------------------------------------------------------------------------- the entry point
def test_interrupt_while_importing_at_start_up(tmp_path):
    _blocking_module(tmp_path, "heavy")
    code = ("import sys; from post_bench.entry import main; "
            "sys.exit(main(['run', 'suite.yaml'], load=lambda: __import__('heavy')))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(tmp_path), cwd=tmp_path,
                            start_new_session=True)
    _, err = _interrupt_when_ready(proc)
    assert proc.returncode == entry.INTERRUPTED == 130
    assert err.strip() == "interrupted during start-up; nothing was lost, rerun the same command to resume"


def test_keyboard_interrupt_while_loading_the_cli(capsys):
    previous = signal.getsignal(signal.SIGINT)

    def load():
        raise KeyboardInterrupt

    assert entry.main(["ls", "methods"], load=load, restore=True) == 130
    assert capsys.readouterr().err.strip() == "interrupted during start-up; nothing was lost, rerun the same command"
    assert signal.getsignal(signal.SIGINT) is previous


def test_the_handler_tells_an_import_from_other_code(tmp_path, monkeypatch):
    assert not entry.in_import(sys._getframe())
    (tmp_path / "probe_import.py").write_text(
        "import sys\nfrom post_bench.entry import in_import\nINSIDE = in_import(sys._getframe())\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert importlib.import_module("probe_import").INSIDE
    with pytest.raises(KeyboardInterrupt):
        entry.on_sigint(signal.SIGINT, sys._getframe())


def test_the_console_script_is_the_entry_point():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'post-bench = "post_bench.entry:main"' in text


# ----------------------------------------------------------------------------- a run, interrupted
def _suite_file(folder: Path) -> Path:
    raw = yaml.safe_load((ROOT / "suites/smoke.yaml").read_text())
    raw.update(name="interrupt", epsilons=["inf"], attacks=[], methods=["zero_shot", "direct"])
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _driver(folder: Path, where: str, args: list[str]) -> Path:
    """A script that runs ``post-bench ARGS`` through the entry point with the tune unit stopped at ``where``:
    'unit' (inside the unit) or 'import' (inside an import the unit starts). Spawned ``--jobs`` workers import
    it too (as ``__mp_main__``), so the stop is in place there as well."""
    _blocking_module(folder, "slow_import")
    stop = ("import slow_import" if where == "import" else
            f"print({READY!r}, flush=True); import threading; threading.Event().wait()")
    path = folder / "driver.py"
    path.write_text(textwrap.dedent(f"""\
        import sys

        from post_bench.units import UNIT_KINDS, load_unit_kinds

        load_unit_kinds()
        _tune = UNIT_KINDS.get("tune")


        def tune(unit, ctx, work):
            {stop}
            return _tune(unit, ctx, work)


        UNIT_KINDS._items["tune"] = tune

        if __name__ == "__main__":
            from post_bench.entry import main

            sys.exit(main({args!r}))
        """))
    return path


def _units(out: Path) -> tuple[set, list]:
    units = out / "units"
    return ({p.parent.name for p in units.glob("*/done.json")},
            [p.name for p in units.iterdir() if p.name.startswith(".work-")])


@pytest.mark.parametrize("where, jobs", [("unit", 1), ("import", 1), ("unit", 2)])
def test_interrupted_run_says_one_line_and_resumes(tmp_path, where, jobs):
    suite, out = _suite_file(tmp_path), tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "--no-report", "--jobs", str(jobs)]
    driver = _driver(tmp_path, where, args)
    proc = subprocess.Popen([sys.executable, str(driver)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(tmp_path), cwd=tmp_path,
                            start_new_session=True)
    _, err = _interrupt_when_ready(proc, group=jobs > 1)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == RUN_LINE and "Traceback" not in err, err
    done, work = _units(out)
    assert not any(name.startswith("tune-") for name in done)
    if where == "import":  # the process ended at once: the unit's work dir stays for the next run to remove
        assert len(work) == 1
    if (where, jobs) == ("unit", 1):  # the unit removed its own work dir
        assert not work
    if where == "unit":
        assert (out / "results.json").is_file()  # the interrupt was handled: finished units are in results.json

    res = subprocess.run([sys.executable, "-m", "post_bench", *args], capture_output=True, text=True,
                         env=_env(), cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    if done:
        assert f"resuming: {len(done)} of 3 units already done, skipped" in res.stdout
    assert (f"removed {len(work)} unfinished unit dir(s)" in res.stdout) == bool(work)
    now, left = _units(out)
    assert len(now) == 3 and now >= done and not left


# ----------------------------------------------------------------------------- before the plan, other commands
def _stop_driver(folder: Path, target: str, args: list[str]) -> Path:
    """A script that runs ``post-bench ARGS`` through the entry point with ``MODULE:NAME`` (``target``) replaced
    by a function that says READY and blocks until the signal comes."""
    module, name = target.split(":")
    path = folder / "stop_driver.py"
    path.write_text(textwrap.dedent(f"""\
        import importlib
        import sys
        import threading

        module = importlib.import_module({module!r})
        real = getattr(module, {name!r})


        def stop(*args, **kwargs):
            print({READY!r}, flush=True)
            threading.Event().wait()
            return real(*args, **kwargs)


        setattr(module, {name!r}, stop)

        from post_bench.entry import main

        sys.exit(main({args!r}))
        """))
    return path


RESUME, AGAIN = "nothing was lost, rerun the same command to resume", "nothing was lost, rerun the same command"


@pytest.mark.parametrize("command, target, line", [
    ("run", "post_bench.commands.run:load_suite", f"interrupted during loading the suite; {RESUME}"),
    ("run", "post_bench.commands.run:preflight", f"interrupted during the preflight checks; {RESUME}"),
    ("run", "post_bench.checks:load_entry", f"interrupted during the preflight checks; {RESUME}"),  # data loading
    ("run", "post_bench.commands.run:plan_suite", f"interrupted during planning; {RESUME}"),
    ("validate", "post_bench.commands.run:preflight", f"interrupted during the preflight checks; {AGAIN}"),
    ("report", "post_bench.commands.report:rederive", f"interrupted during rendering the report; {AGAIN}"),
])
def test_interrupted_before_the_plan_or_in_another_command_says_one_line(tmp_path, command, target, line):
    out = tmp_path / "run"
    if command == "report":
        out.mkdir()
        (out / "results.json").write_text((ROOT / "tests/fixtures/results_small.json").read_text())
        args = ["report", str(out), "--to", str(tmp_path / "report")]
    else:
        args = [command, str(_suite_file(tmp_path))] + (["--out", str(out)] if command == "run" else [])
    driver = _stop_driver(tmp_path, target, args)
    proc = subprocess.Popen([sys.executable, str(driver)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path, start_new_session=True)
    _, err = _interrupt_when_ready(proc)
    assert proc.returncode == 130, err
    assert err.strip() == line, err  # one line: no traceback, no click "Aborted!"
    if command == "run":
        assert not out.exists()  # nothing was started: the same command runs the whole suite
    if command == "report":
        assert not (tmp_path / "report").exists() or not any((tmp_path / "report").iterdir())


def test_keyboard_interrupt_inside_a_command_is_one_line_not_aborted(tmp_path, monkeypatch):
    """In-process (click's own runner, no entry point): a KeyboardInterrupt anywhere in a command."""
    from click.testing import CliRunner

    from post_bench.cli import main
    from post_bench.commands import ls, run

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "preflight", interrupt)
    res = CliRunner().invoke(main, ["validate", str(_suite_file(tmp_path))])
    assert res.exit_code == 130 and res.stderr.strip() == f"interrupted during the preflight checks; {AGAIN}"
    assert "Aborted!" not in res.output
    monkeypatch.setattr(ls, "list_names", interrupt)
    res = CliRunner().invoke(main, ["ls", "methods"])
    assert res.exit_code == 130 and res.stderr.strip() == f"interrupted during listing the names; {AGAIN}"
