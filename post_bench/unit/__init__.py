"""A unit: one piece of work, identified by a content hash of its kind, its config and its inputs' hashes.

Identical work planned twice (e.g. the source prompt used by POST, PTfer and direct transfer) is one unit, and
a rerun finds finished units by hash. Methods and attacks plan units; ``runner.plan.Plan`` orders them.

A unit's config is built through its kind's typed model (:mod:`post_bench.unit.schemas`) and kept as the plain
dict it serialises to (what the hash, ``done.json`` and the cost rows read); :attr:`Unit.cfg` is the typed view
a unit function reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from post_bench.unit.schemas import SCHEMAS, Schema, UnitConfigError


@dataclass(eq=False)
class Unit:
    kind: str
    config: dict
    deps: dict[str, Unit] = field(default_factory=dict)
    label: str = ""  # human-readable, for progress lines

    def __post_init__(self) -> None:
        if isinstance(self.config, Schema):  # a typed config: kept as the dict it serialises to
            schema = SCHEMAS.get(self.kind)
            if schema is None or type(self.config) is not schema.config:
                raise UnitConfigError(f"a {type(self.config).__name__} is not the config of a {self.kind!r} unit")
            self.config = self.config.dump()

    @property
    def cfg(self) -> Schema:
        """The config as its kind's typed model (a mismatch raises :class:`UnitConfigError`)."""
        schema = SCHEMAS.get(self.kind)
        if schema is None:
            raise UnitConfigError(f"unit kind {self.kind!r} has no typed config")
        return schema.config.of(**self.config)

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
