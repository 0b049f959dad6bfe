"""The run directory: ``units/<kind>-<hash>/`` with ``done.json`` when finished, written atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

DONE = "done.json"


def write_json_atomic(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, default=_json_default)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
    os.replace(tmp, path)


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class RunStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.units_dir = self.root / "units"

    def unit_dir(self, unit_id: str) -> Path:
        return self.units_dir / unit_id

    def is_done(self, unit_id: str) -> bool:
        return (self.unit_dir(unit_id) / DONE).is_file()

    def done_record(self, unit_id: str) -> dict:
        return json.loads((self.unit_dir(unit_id) / DONE).read_text())

    def clean_partial(self) -> int:
        """Remove work directories left by a killed run; returns how many."""
        if not self.units_dir.is_dir():
            return 0
        stale = [p for p in self.units_dir.iterdir() if p.name.startswith(".work-")]
        for p in stale:
            shutil.rmtree(p, ignore_errors=True)
        return len(stale)

    def begin(self, unit_id: str) -> Path:
        """A fresh private work directory for a unit."""
        self.units_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.units_dir, prefix=f".work-{unit_id}-"))

    def commit(self, unit_id: str, work: Path, record: dict) -> Path:
        """Write done.json into the work dir and move it into place in one rename."""
        write_json_atomic(work / DONE, record)
        final = self.unit_dir(unit_id)
        if final.exists():  # a previous attempt without done.json
            shutil.rmtree(final)
        os.replace(work, final)
        return final
