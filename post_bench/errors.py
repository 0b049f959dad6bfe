"""Errors that the CLI reports as one line per problem with exit code 2 (bad input), and the one bounded
formatter every message goes through (one line, at most ``MAX_LINE`` characters, whatever the input); the
one line of an interrupted command (exit code 130) and the phase it names (:func:`set_phase`).

Standard library only: :mod:`post_bench.entry` imports it before its SIGINT handler is in place."""

from __future__ import annotations

import os
import re
import reprlib
import shutil
import sys

MAX_LINE = 400  # characters per problem line
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 5
_REPR.maxlevel = 2


def short_repr(value) -> str:
    """``repr`` bounded in size and in work (a YAML alias bomb is never expanded)."""
    return one_line(_REPR.repr(value), 120)


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """Collapse whitespace (newlines included) and cut the middle of text longer than ``limit``."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


class UserInputError(Exception):
    """Bad input from the user. Each problem is one line: ``FILE: key.path: what is wrong; allowed: ...``.

    Lines are bounded (:func:`one_line`), and the error pickles by its problems, so it crosses process
    boundaries (worker processes, Ray tasks) unchanged and the executor can report it as bad input.
    """

    def __init__(self, problems: str | list[str]):
        problems = [problems] if isinstance(problems, str) else list(problems)
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(self.problems))

    def __reduce__(self):
        return (type(self), (self.problems,))


def problem(source: str, key: str, what: str, allowed: str | None = None) -> str:
    """Format one problem line in the project's contract format."""
    line = f"{source}: {key}: {what}" if key else f"{source}: {what}"
    if allowed:
        line += f"; allowed: {allowed}"
    return one_line(line)


def input_error_of(err: BaseException) -> UserInputError | None:
    """The UserInputError behind ``err`` (itself, its cause, or a Ray task error's cause), else None."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, UserInputError) and hasattr(err, "problems"):
            return err
        seen.add(id(err))
        err = getattr(err, "cause", None) or err.__cause__
    return None


def os_failure(err: OSError, path=None) -> tuple[str, str]:
    """(the path, the OS's reason) of a failed file operation, e.g. ``("/runs/x/model.bin", "No space left on
    device")``. ``shutil.copytree`` raises a :class:`shutil.Error` whose ``args[0]`` lists ``(src, dst, why)``
    with ``why`` as text (``"[Errno 28] No space left on device: 'dst'"``): its first entry is used."""
    entries = err.args[0] if isinstance(err, shutil.Error) and err.args else None
    if isinstance(entries, list) and entries and isinstance(entries[0], tuple) and len(entries[0]) == 3:
        _, dst, why = entries[0]
        match = re.match(r"\[Errno \d+\] (.*?)(?:: '.*')?$", str(why))
        return str(dst), match.group(1) if match else str(why)
    where = getattr(err, "filename2", None) or getattr(err, "filename", None) or path
    reason = err.strerror or (os.strerror(err.errno) if err.errno else None) or str(err) or type(err).__name__
    return str(where), reason


def write_failure(err: OSError, doing: str, path=None) -> UserInputError:
    """A write of ours that the OS refused (a full disk, a read-only place, a quota) as one bad-input line:
    ``PATH: cannot DOING (No space left on device); allowed: a writable directory with free space``."""
    where, reason = os_failure(err, path)
    return UserInputError(problem(where, "", f"cannot {doing} ({reason})", "a writable directory with free space"))


# ----------------------------------------------------------------- Ctrl-C
INTERRUPTED = 130  # the exit code of an interrupted command (128 + SIGINT, as a shell reports a Ctrl-C)
START_UP = "start-up"  # the phase before a command names its own: imports, option parsing
UNIT_RUNS = "the unit runs"  # ``run``'s phase while units run: an interrupted unit is redone, finished ones kept
_command = {"name": None, "phase": START_UP, "said": False}


def begin_command(name: str | None) -> None:
    """A command starts (its name as typed, e.g. ``run``): the phase is start-up again, no line said yet."""
    _command.update(name=name, phase=START_UP, said=False)


def set_phase(phase: str) -> None:
    """Name what the command does from now on; an interrupted command says ``interrupted during PHASE``."""
    _command["phase"] = phase


def interrupted_line(phase: str | None = None, command: str | None = None) -> str:
    """The one line an interrupted command ends with: what it was doing, that nothing is lost (every artifact
    is written atomically; ``run`` keeps its finished units) and what to do (``phase``/``command``: default
    the current ones)."""
    command, phase = _command["name"] or command, phase or _command["phase"]
    if command != "run":
        return f"interrupted during {phase}; nothing was lost, rerun the same command"
    if phase == UNIT_RUNS:
        return f"interrupted during {phase}; finished units are kept, rerun the same command to resume"
    return f"interrupted during {phase}; nothing was lost, rerun the same command to resume"


def interrupted_said() -> bool:
    return _command["said"]


def say_interrupted(phase: str | None = None, command: str | None = None) -> int:
    """Write the interrupted line on stderr, once per command (a second Ctrl-C adds no line), and return
    :data:`INTERRUPTED`, the exit code."""
    if not _command["said"]:
        _command["said"] = True
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        # the newline first ends a ``^C`` echo or a progress bar
        print(f"\n{interrupted_line(phase, command)}", file=sys.stderr, flush=True)
    return INTERRUPTED
