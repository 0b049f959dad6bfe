"""The ``post-bench`` command's entry point: a Ctrl-C at any moment ends with one line and exit code 130.

The line names what the command was doing (its phase, :func:`post_bench.errors.set_phase`), e.g.
``interrupted during the preflight checks; nothing was lost, rerun the same command to resume``. Every
artifact is written atomically, so a rerun of ``run`` resumes where it stopped (once units ran: ``finished
units are kept``).

This module imports nothing but the standard library and :mod:`post_bench.errors` (itself standard library
only), so its SIGINT handler is in place before torch, scipy or transformers start loading. Outside an import
a Ctrl-C is the usual KeyboardInterrupt, which the commands handle (``run`` keeps the finished units and writes
results.json; any other moment ends in :mod:`post_bench.cli` with the line, never click's ``Aborted!``). A
Ctrl-C that lands *while a module is being imported* cannot be handled that way: Python drops the
half-imported module, and later code that imports it again finds half-initialised packages (seen:
``NameError: name '_signal_api' is not defined`` from scipy, exit 1 with a traceback). So then the process
ends at once, with the same line and exit code: every artifact is written atomically and a run directory's
lock is released by the kernel, so nothing half-written stays behind, and the next run removes the
interrupted units' work dirs and resumes. The same holds once the command has returned (interpreter
shutdown)."""

from __future__ import annotations

import os
import signal
import sys

from post_bench.errors import INTERRUPTED, begin_command, interrupted_line, interrupted_said, say_interrupted

_IMPORT_FILES = ("<frozen importlib._bootstrap", "importlib/_bootstrap.py", "importlib/_bootstrap_external.py")
_state = {"argv": None, "leaving": False}


def _command(argv: list[str] | None) -> str | None:
    args = sys.argv[1:] if argv is None else argv
    return args[0] if args else None


def in_import(frame) -> bool:
    """Whether ``frame`` (or a caller of it) runs inside an import."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_IMPORT_FILES[0]) or name.endswith(_IMPORT_FILES[1:]):
            return True
        frame = frame.f_back
    return False


def leave_interrupted(argv: list[str] | None = None) -> None:
    """End the process now: the interrupted line on stderr (unless said already), exit code
    :data:`INTERRUPTED`, no cleanup."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        if not interrupted_said():  # the newline first ends a ``^C`` echo or a progress bar
            os.write(2, f"\n{interrupted_line(command=_command(argv))}\n".encode())
    finally:
        os._exit(INTERRUPTED)


def on_sigint(signum, frame) -> None:
    """SIGINT handler: a KeyboardInterrupt, except inside an import or after the command returned."""
    if _state["leaving"] or in_import(frame):
        leave_interrupted(_state["argv"])
    raise KeyboardInterrupt


def _load_cli():
    from post_bench.cli import main as cli  # deferred: SIGINT handler first (click, torch)

    return cli


def main(argv: list[str] | None = None, load=_load_cli, restore: bool = False) -> int:
    """Run the command line (``argv``: the arguments, default ``sys.argv[1:]``); ``load`` returns the click
    command (importing it is start-up, which the handler covers). The handler stays for the interpreter's
    shutdown unless ``restore`` (a caller that goes on running: the previous handler comes back)."""
    previous = signal.getsignal(signal.SIGINT)
    _state["argv"], _state["leaving"] = argv, False
    begin_command(None)  # the cli names the command once it is parsed
    if previous is not signal.SIG_IGN:  # nohup and background jobs: stay immune
        signal.signal(signal.SIGINT, on_sigint)
    try:
        cli = load()
        cli.main(args=argv, prog_name="post-bench")  # click's standalone mode: ends with SystemExit
    except KeyboardInterrupt:  # outside a command (the cli handles its own): loading the cli
        return say_interrupted(command=_command(argv))
    finally:
        if restore:
            signal.signal(signal.SIGINT, previous)
        else:
            _state["leaving"] = True
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
