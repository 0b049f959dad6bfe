"""Unit kinds: name -> function(unit, ctx, work_dir) -> record dict, one thin adapter per kind (unit config ->
library call -> artifacts). Each module of this package registers its kind(s) with :func:`unit_kind` when it
is imported, and importing the package imports them all.

An adapter reads its config typed (``unit.cfg``: the kind's model in :data:`post_bench.unit.schemas.SCHEMAS`),
gets its inputs from the runner (``deps``: name -> typed done record and directory, never a path of its own
making) and returns its kind's typed record, written to done.json as the plain dict it dumps to. A record may
hold result rows under the results.json section names (``utility``, ``privacy``, ``extraction``, ``distill``)
and anything else the kind wants to keep; the executor adds ``cost``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from post_bench.registry import Registry
from post_bench.unit.schemas import SCHEMAS

UNIT_KINDS: Registry = Registry("unit kind")


def unit_kind(name: str) -> Callable:
    """Register ``fn(unit, ctx, work, deps) -> record`` as unit kind ``name``: in :data:`UNIT_KINDS` as the
    plain ``(unit, ctx, work) -> dict`` the executor runs, with the inputs' typed records handed in
    (``ctx.inputs(unit)``) and the returned record checked against the kind's record model."""
    record_type = SCHEMAS[name].record

    def decorate(fn: Callable) -> Callable:
        def run(unit, ctx, work) -> dict:
            record = fn(unit, ctx, work, ctx.inputs(unit))
            if type(record) is not record_type:
                raise TypeError(f"unit kind {name!r} returned {type(record).__name__}, not {record_type.__name__}")
            return record.dump()

        run.__name__, run.__doc__, run.adapter = fn.__name__, fn.__doc__, fn
        UNIT_KINDS.add(name, run)
        return fn

    return decorate


def load_unit_kinds() -> None:
    """Kept for callers: importing the package registers every unit kind."""


# every module of the package registers its kind(s) when imported: a new kind is one new file. The kinds load
# torch, but only runner/ imports this package, and only to run units
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")  # deferred: registry loop (each module registers itself)
