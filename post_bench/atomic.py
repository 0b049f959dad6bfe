"""Output places: directories checked writable before any work, and atomic file writes (a temp file
beside the target, renamed into place, so a failed write — a full disk, a crash — never leaves a partial
or 0-byte file under the final name)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from post_bench.errors import UserInputError, problem


def write_atomic(path: str | Path, write: Callable, mode: str = "wb") -> Path:
    """Call ``write(file)`` on a temp file in ``path``'s folder, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda f: f.write(text), "w")


def save_figure(fig, path: str | Path, **kwargs) -> Path:
    """``fig.savefig`` through a temp file (the format from the file name's suffix)."""
    path = Path(path)
    return write_atomic(path, lambda f: fig.savefig(f, format=path.suffix.lstrip(".") or "png", **kwargs))


def writable_dir(path: str | Path, option: str) -> Path:
    """Create ``path`` (a directory we will write) now, so a bad place fails before any work."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".post-bench-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserInputError(problem(str(path), option, f"cannot write here ({err.strerror or err})",
                                     "a writable directory")) from None
    return path


def write_text_or_stdout(text: str, path: str | Path | None) -> None:
    """``text`` to ``path`` atomically, or to stdout when ``path`` is None (the doc generators' ``--out``)."""
    if path is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(path, text)
