"""The run directory: ``units/<kind>-<hash>/`` with ``done.json`` when finished, written atomically.

``done.json`` lists a SHA-256 of every artifact of its unit; a unit counts as done only when its
``done.json`` parses and every artifact still matches (a damaged unit is redone). One process at a time
owns a run directory (:meth:`RunStore.lock`); work directories name their owner so cleanup never touches
a live process's files.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path

from post_bench.atomic import write_atomic
from post_bench.errors import UserInputError, problem
from post_bench.runner import verify
from post_bench.runner.verify import DONE, OWNER, checksums, file_sha256  # noqa: F401  (re-exported)

LOCK = ".lock"


def write_json_atomic(path: Path, data) -> None:
    write_atomic(path, lambda f: json.dump(data, f, indent=2, default=_json_default), "w")


def _json_default(obj):
    import numpy as np  # deferred: start-up time (numpy)

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner_is_live(work: Path) -> bool:
    """Whether the process that created a work directory still runs (on this host)."""
    try:
        host, pid = (work / OWNER).read_text().split()
        return host == socket.gethostname() and int(pid) != os.getpid() and _alive(int(pid))
    except (OSError, ValueError):
        return False


class RunStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.units_dir = self.root / "units"
        self._intact: set[str] = set()  # units verified intact by this process (other processes may finish more)
        self._lock_fd: int | None = None

    def unit_dir(self, unit_id: str) -> Path:
        return self.units_dir / unit_id

    # ------------------------------------------------------------------ done units
    def damage(self, unit_id: str) -> str | None:
        """Why a finished unit cannot be reused (``None``: intact). Missing done.json is not damage."""
        if unit_id in self._intact:
            return None
        why = self._verify(unit_id)
        if why is None:
            self._intact.add(unit_id)
        return why

    def _verify(self, unit_id: str) -> str | None:
        return verify.damage(self.unit_dir(unit_id))

    def is_done(self, unit_id: str) -> bool:
        return self.damage(unit_id) is None

    def done_record(self, unit_id: str) -> dict:
        return json.loads((self.unit_dir(unit_id) / DONE).read_text(encoding="utf-8"))

    def pending(self, units, echo=print) -> list:
        """The units still to run, in the given (dependency) order. A finished unit whose files are damaged is
        redone with every finished unit that depends on it (their outputs came from the damaged one), with
        one notice line per damaged unit; their folders are moved aside first, so an interrupted rerun
        still redoes them."""
        units = list(units)
        todo, stale, reason = [], set(), {}
        for unit in units:
            why = self.damage(unit.id)
            deps = getattr(unit, "deps", {}) or {}
            upstream = next((d.id for d in deps.values() if d.id in stale), None)
            if why is None and upstream is None:
                continue
            if why is not None and why != "not finished":
                reason[unit.id] = why
                stale.add(unit.id)
            elif why is None:  # intact, but built from a damaged unit's outputs
                reason[unit.id] = upstream
                stale.add(unit.id)
            todo.append(unit)
        for unit in units:
            if unit.id in reason and reason[unit.id] not in stale:  # a damaged unit (not a dependent)
                below = self._downstream(unit.id, units, reason)
                extra = f" and {below} dependent unit(s)" if below else ""
                echo(f"unit {unit.id}: {reason[unit.id]}; redoing it{extra}")
        for unit_id in reason:
            self.discard(unit_id)
        return todo

    @staticmethod
    def _downstream(unit_id: str, units: list, reason: dict) -> int:
        """How many units are redone only because ``unit_id`` (directly or through others) is damaged."""
        hit, found = {unit_id}, 0
        for unit in units:
            if unit.id in reason and reason[unit.id] in hit and unit.id not in hit:
                hit.add(unit.id)
                found += 1
        return found

    def discard(self, unit_id: str) -> None:
        """Move a finished unit's folder aside (a ``.work-`` name, so a failed removal is cleaned up later) and
        remove it: the unit counts as not done from now on."""
        self._intact.discard(unit_id)
        folder = self.unit_dir(unit_id)
        if not folder.exists():
            return
        aside = Path(tempfile.mkdtemp(dir=self.units_dir, prefix=f".work-{unit_id}-stale-"))
        os.replace(folder, aside / "unit")
        shutil.rmtree(aside, ignore_errors=True)

    # ------------------------------------------------------------------ ownership
    def lock(self) -> None:
        """Own the run directory until this process exits (or :meth:`unlock`); a second process gets a
        UserInputError naming the holder's pid."""
        if self._lock_fd is not None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise UserInputError(problem(str(self.root), "--out", f"cannot create the run directory ({err.strerror})",
                                         "a writable directory")) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserInputError(problem(str(self.root), "--out", f"run directory is in use by another post-bench "
                                         f"process (pid {holder})", "wait for it to finish, or use another --out")) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    @contextmanager
    def locked(self):
        self.lock()
        try:
            yield self
        finally:
            self.unlock()

    @contextmanager
    def held(self):
        """Own the run directory for the block; a store that already owns it keeps owning it afterwards."""
        if self._lock_fd is not None:
            yield self
            return
        with self.locked():
            yield self

    # ------------------------------------------------------------------ work directories
    def clean_partial(self) -> int:
        """Remove work directories left by killed runs (never one whose owner still runs); returns how many."""
        if not self.units_dir.is_dir():
            return 0
        stale = [p for p in self.units_dir.iterdir() if p.name.startswith(".work-") and not _owner_is_live(p)]
        for p in stale:
            shutil.rmtree(p, ignore_errors=True)
        return len(stale)

    def begin(self, unit_id: str) -> Path:
        """A fresh private work directory for a unit, marked with its owner (host and pid)."""
        self.units_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=self.units_dir, prefix=f".work-{unit_id}-"))
        (work / OWNER).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        return work

    def commit(self, unit_id: str, work: Path, record: dict) -> Path:
        """Checksum the artifacts, write done.json into the work dir and move it into place in one rename."""
        (work / OWNER).unlink(missing_ok=True)
        record = {**record, "files": checksums(work)}
        write_json_atomic(work / DONE, record)
        final = self.unit_dir(unit_id)
        if final.exists():  # a previous attempt without (a valid) done.json
            shutil.rmtree(final)
        os.replace(work, final)
        self._intact.discard(unit_id)
        return final
