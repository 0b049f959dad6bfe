"""How ε is written and ordered, everywhere: unit labels, messages, terminal lines, tables, figures, reports.

The privacy budget of a non-private setting is ``None`` (or ``+inf``): it is written ``inf`` in plain-text
lines (unit labels, messages, the run's summary) and ``∞`` in reports, tables and figures.
"""

from __future__ import annotations

import math
from typing import Any

INFINITY = "∞"  # the spelling of a non-private ε in reports, tables and figures


NON_PRIVATE = ("inf", "+inf", "infinity", INFINITY)  # how files and flags may spell a non-private ε


def parse_epsilon(value: Any) -> float:
    """ε as the package holds it: a positive float, ``math.inf`` for non-private (None, "inf", "∞", a float inf).
    The one conversion at a file or flag boundary. Raises ValueError for anything else (a bool, ≤ 0, NaN, text)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in NON_PRIVATE):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"ε must be a positive number or null (non-private); got {value!r}")
    try:
        eps = float(value)
    except ValueError:
        raise ValueError(f"ε must be a positive number or null (non-private); got {value!r}") from None
    if math.isnan(eps) or eps <= 0:
        raise ValueError(f"ε must be a positive number or null (non-private); got {value!r}")
    return eps


def eps_label(eps: Any, infinity: str = "inf", *, only_none: bool = False) -> str:
    """ε as text: ``8``, ``0.5``, ``1e-05`` (``:g``); non-private (None or a float inf) as ``infinity``.
    ``only_none``: only None is non-private; a float inf is a number like any other (``inf``, ``-inf``), as the
    report's claims and cost model write the ε they read from results.json."""
    if eps is None or (not only_none and isinstance(eps, float) and math.isinf(eps)):
        return infinity
    return f"{float(eps):g}"


def eps_symbol(eps: Any, *, only_none: bool = False) -> str:
    """ε as reports write it: :func:`eps_label` with ``∞`` for non-private."""
    return eps_label(eps, INFINITY, only_none=only_none)


def eps_key(eps: Any) -> float:
    """Sort key for ε: finite values ascending, non-private (None) last."""
    return math.inf if eps is None else float(eps)
