"""The plan: the units a suite expands into (:class:`post_bench.unit.Unit`), as a DAG in dependency order.

Files named in a unit's config (``path:<file or folder>``) enter the hash by their
content (:func:`input_digests`), so an edited data file or model folder means new units.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from post_bench.runner.verify import file_sha256
from post_bench.unit import Unit

INPUTS_KEY = "input_sha256"
_DIGESTS: dict[tuple, str] = {}  # (path, size, mtime) -> sha256, per process


def _digest(path: Path) -> str | None:
    """SHA-256 of a file, or of a folder's files (names and contents); None when it does not exist."""
    if path.is_file():
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _DIGESTS:
            _DIGESTS[key] = file_sha256(path)
        return _DIGESTS[key]
    if path.is_dir():
        parts = [f"{p.relative_to(path).as_posix()}:{_digest(p)}" for p in sorted(path.rglob("*")) if p.is_file()]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return None


def input_digests(config) -> dict[str, str]:
    """Content hashes of every ``path:`` input named anywhere in a unit config."""
    found: dict[str, str] = {}

    def walk(value) -> None:
        if isinstance(value, str) and value.startswith("path:"):
            digest = _digest(Path(value[5:]))
            if digest is not None:
                found[value] = digest
        elif isinstance(value, dict):
            for k, v in value.items():
                if k != INPUTS_KEY:
                    walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(config)
    return found


class Plan:
    """Units in dependency order, de-duplicated by id."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}

    def add(self, unit: Unit) -> Unit:
        """Add a unit and (first) its inputs; returns the canonical unit for its id."""
        for name, dep in list(unit.deps.items()):
            unit.deps[name] = self.add(dep)
        digests = input_digests(unit.config)
        if digests:
            unit.config = {**unit.config, INPUTS_KEY: digests}
        return self.units.setdefault(unit.id, unit)

    def __iter__(self):
        return iter(self.units.values())

    def __len__(self) -> int:
        return len(self.units)

    def ready(self, done: set[str]) -> list[Unit]:
        return [u for u in self if u.id not in done and all(d.id in done for d in u.deps.values())]
