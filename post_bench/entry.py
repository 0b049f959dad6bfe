"""The ``post-bench`` command's entry point: a Ctrl-C at any moment ends with one line and exit code 1.

This module imports nothing but the standard library, so its SIGINT handler is in place before torch, scipy
or transformers start loading. Outside an import a Ctrl-C is the usual KeyboardInterrupt, which the commands
handle (``run`` keeps the finished units, writes results.json and exits 1; a rerun resumes). A Ctrl-C that
lands *while a module is being imported* cannot be handled that way: Python drops the half-imported module,
and later code that imports it again finds half-initialised packages (seen: ``NameError: name '_signal_api'
is not defined`` from scipy, exit 1 with a traceback). So then the process ends at once, with the same line
and exit code: every artifact is written atomically and a run directory's lock is released by the kernel, so
nothing half-written stays behind, and the next run removes the interrupted units' work dirs and resumes.
The same holds once the command has returned (interpreter shutdown).
"""

from __future__ import annotations

import os
import signal
import sys

INTERRUPTED = 1  # the exit code of an interrupted command: `post-bench run` after a Ctrl-C between units
_IMPORT_FILES = ("<frozen importlib._bootstrap", "importlib/_bootstrap.py", "importlib/_bootstrap_external.py")
_state = {"argv": None, "leaving": False}


def interrupted_line(argv: list[str] | None = None) -> str:
    """The one line an interrupted command ends with."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "run":
        return "error: interrupted; finished units are kept, rerun to resume"
    return "error: interrupted"


def in_import(frame) -> bool:
    """Whether ``frame`` (or a caller of it) runs inside an import."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_IMPORT_FILES[0]) or name.endswith(_IMPORT_FILES[1:]):
            return True
        frame = frame.f_back
    return False


def leave_interrupted(argv: list[str] | None = None) -> None:
    """End the process now: the interrupted line on stderr, exit code :data:`INTERRUPTED`, no cleanup."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        os.write(2, f"\n{interrupted_line(argv)}\n".encode())  # the newline ends a ``^C`` echo or a progress bar
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
    if previous is not signal.SIG_IGN:  # nohup and background jobs: stay immune
        signal.signal(signal.SIGINT, on_sigint)
    try:
        cli = load()
        cli.main(args=argv, prog_name="post-bench")  # click's standalone mode: ends with SystemExit
    except KeyboardInterrupt:
        print(f"\n{interrupted_line(argv)}", file=sys.stderr)
        return INTERRUPTED
    finally:
        if restore:
            signal.signal(signal.SIGINT, previous)
        else:
            _state["leaving"] = True
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
