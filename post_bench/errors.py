"""Errors that the CLI reports as one line per problem with exit code 2 (bad input)."""

from __future__ import annotations


class UserInputError(Exception):
    """Bad input from the user. Each problem is one line: ``FILE: key.path: what is wrong; allowed: ...``."""

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def problem(source: str, key: str, what: str, allowed: str | None = None) -> str:
    """Format one problem line in the project's contract format."""
    line = f"{source}: {key}: {what}" if key else f"{source}: {what}"
    if allowed:
        line += f"; allowed: {allowed}"
    return line
