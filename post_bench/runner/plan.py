"""Units of work and the plan (a DAG) a suite expands into.

A unit's identity is a content hash of its kind, its config and its inputs' hashes, so identical work
planned twice (e.g. the source prompt used by POST, PTfer and direct transfer) is one unit, and a rerun
finds finished units by hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


@dataclass(eq=False)
class Unit:
    kind: str
    config: dict
    deps: dict[str, Unit] = field(default_factory=dict)
    label: str = ""  # human-readable, for progress lines

    @property
    def hash(self) -> str:
        body = json.dumps(
            {"kind": self.kind, "config": self.config, "deps": {k: d.hash for k, d in sorted(self.deps.items())}},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.hash}"

    def describe(self) -> dict:
        return {"id": self.id, "kind": self.kind, "label": self.label, "config": self.config,
                "deps": {k: d.id for k, d in self.deps.items()}}


class Plan:
    """Units in dependency order, de-duplicated by id."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}

    def add(self, unit: Unit) -> Unit:
        """Add a unit and (first) its inputs; returns the canonical unit for its id."""
        for name, dep in list(unit.deps.items()):
            unit.deps[name] = self.add(dep)
        return self.units.setdefault(unit.id, unit)

    def __iter__(self):
        return iter(self.units.values())

    def __len__(self) -> int:
        return len(self.units)

    def ready(self, done: set[str]) -> list[Unit]:
        return [u for u in self if u.id not in done and all(d.id in done for d in u.deps.values())]
