"""A unit: one piece of work, identified by a content hash of its kind, its config and its inputs' hashes.

Identical work planned twice (e.g. the source prompt used by POST, PTfer and direct transfer) is one unit, and
a rerun finds finished units by hash. Methods and attacks plan units; ``runner.plan.Plan`` orders them.
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
