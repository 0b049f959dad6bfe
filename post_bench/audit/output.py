"""The audit's output folder: checked before any work, written as a whole into a hidden staging folder
beside it and renamed into place at the end, so an interrupted or failed audit never leaves a half-written
folder under the final name; a rerun replaces a previous audit's folder (never a folder of other files)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from post_bench.atomic import writable_dir
from post_bench.errors import UserInputError, problem

MARKER = "audit.json"


def prepare(out: str | Path) -> Path:
    """``out`` if it can become the audit's folder: new, empty, or a previous audit's (it holds audit.json);
    its parent is created and test-written now."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(problem(str(out), "--out", "exists and is not a folder", "a new folder or a previous audit's"))
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UserInputError(problem(str(out), "--out", f"holds files but no {MARKER} (not a previous audit's "
                                     "folder; it would be replaced)", "a new folder or a previous audit's"))
    writable_dir(out.absolute().parent, "--out")
    return out


@contextlib.contextmanager
def staged(out: Path):
    """Yield a staging folder; on success it replaces ``out``, on any failure (Ctrl-C too) it is removed."""
    out = Path(out)
    tmp = Path(tempfile.mkdtemp(dir=out.absolute().parent, prefix=f".{out.name}.partial-"))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700 folders
        old = None
        if out.exists():
            old = out.absolute().parent / f".{out.name}.old-{os.getpid()}"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
