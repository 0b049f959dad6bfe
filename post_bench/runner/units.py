"""Unit kinds: name -> function(unit, ctx, work_dir) -> record dict.

A record may hold result rows under the results.json section names (``utility``, ``privacy``,
``extraction``, ``distill``) and anything else the kind wants to keep; the executor adds ``cost``.
"""

from __future__ import annotations

from post_bench.registry import Registry

UNIT_KINDS: Registry = Registry("unit kind")


def load_unit_kinds() -> None:
    """Import the modules that register unit kinds."""
    import post_bench.units  # noqa: F401
