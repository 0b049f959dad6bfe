"""Errors that the CLI reports as one line per problem with exit code 2 (bad input), and the one bounded
formatter every message goes through (one line, at most ``MAX_LINE`` characters, whatever the input)."""

from __future__ import annotations

import reprlib

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
