"""How ε is written and ordered, everywhere: unit labels, messages, terminal lines, tables, figures, reports.

Inside the package ε is a float and a non-private setting is ``math.inf``; files and flags may spell it
``null``, ``inf`` or ``∞``, converted once at that boundary by :func:`parse_epsilon`. It is written ``inf`` in
plain-text lines (unit labels, messages, the run's summary) and ``∞`` in reports, tables and figures. (The
suite and unit configs still hold ``None`` for non-private, because unit ids hash their JSON; the formatters
accept both.)
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


def eps_label(eps: Any, infinity: str = "inf") -> str:
    """ε as text: ``8``, ``0.5``, ``1e-05`` (``:g``); non-private (``math.inf``, or None at a boundary) as
    ``infinity``."""
    if eps is None or math.isinf(float(eps)):
        return infinity
    return f"{float(eps):g}"


def eps_symbol(eps: Any) -> str:
    """ε as reports write it: :func:`eps_label` with ``∞`` for non-private."""
    return eps_label(eps, INFINITY)


def eps_key(eps: Any) -> float:
    """Sort key for ε: finite values ascending, non-private (None) last."""
    return math.inf if eps is None else float(eps)
