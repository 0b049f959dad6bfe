"""Unit kinds: name -> function(unit, ctx, work_dir) -> record dict, one thin adapter per kind (unit config ->
library call -> artifacts). Each module of this package registers its kind(s) in :data:`UNIT_KINDS` when it is
imported; :func:`load_unit_kinds` imports them all.

A record may hold result rows under the results.json section names (``utility``, ``privacy``,
``extraction``, ``distill``) and anything else the kind wants to keep; the executor adds ``cost``.
"""

from __future__ import annotations

from post_bench.registry import Registry

UNIT_KINDS: Registry = Registry("unit kind")


def load_unit_kinds() -> None:
    """Import the modules that register unit kinds."""
    # imported on demand: the kinds load torch, which the registry alone (and so the CLI's start) does not need
    from post_bench.units import (  # noqa: F401
        distill,
        dp_opt,
        evaluate,
        extraction,
        membership,
        one_run,
        shadows,
        transfer,
        tune,
    )
