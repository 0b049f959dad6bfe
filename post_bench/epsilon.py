"""How ε is held, read, written and ordered, everywhere: unit configs and records, rows, unit labels, messages,
terminal lines, tables, figures, reports.

Inside the package ε is a float and a non-private setting is ``math.inf`` (:func:`is_private` tells the two
apart; plain float order sorts non-private last). Files and flags may spell it ``null``, ``inf`` or ``∞``,
converted once at that boundary by :func:`parse_epsilon`; files write it back as ``null`` (:func:`eps_json`,
JSON has no infinity), and :data:`Eps` is the pydantic type that does both (unit configs and records, results
rows). It is written ``inf`` in plain-text lines (unit labels, messages, the run's summary) and ``∞`` in reports,
tables and figures (:func:`eps_label`, :func:`eps_symbol`).
"""

from __future__ import annotations

import math
import numbers
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

INFINITY = "∞"  # the spelling of a non-private ε in reports, tables and figures
NON_PRIVATE = ("inf", "+inf", "infinity", INFINITY)  # how files and flags may spell a non-private ε


def parse_epsilon(value: Any) -> float:
    """ε as the package holds it: a positive float, ``math.inf`` for non-private (None, "inf", "∞", a float inf).
    The one conversion at a file or flag boundary. Raises ValueError for anything else (a bool, ≤ 0, NaN, text)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in NON_PRIVATE):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):  # numbers.Real: numpy scalars too
        raise ValueError(f"ε must be a positive number or null (non-private); got {value!r}")
    try:
        eps = float(value)
    except ValueError:
        raise ValueError(f"ε must be a positive number or null (non-private); got {value!r}") from None
    if math.isnan(eps) or eps <= 0:
        raise ValueError(f"ε must be a positive number or null (non-private); got {value!r}")
    return eps


def is_private(eps: float) -> bool:
    """Whether ``eps`` is a privacy budget (finite) rather than a non-private setting (``math.inf``)."""
    return not math.isinf(eps)


def eps_json(eps: float) -> float | None:
    """ε as a file holds it: the number, ``None`` (``null``) for non-private (JSON has no infinity)."""
    return eps if is_private(eps) else None


Eps = Annotated[
    float, BeforeValidator(parse_epsilon), PlainSerializer(eps_json, when_used="unless-none"),
    WithJsonSchema({"type": ["number", "null"], "exclusiveMinimum": 0,
                    "description": "privacy budget; null = non-private (inf)"}),
]
"""ε in a pydantic model: a positive float, ``math.inf`` when non-private; read from and dumped to ``null``."""


def eps_label(eps: Any, infinity: str = "inf") -> str:
    """ε as text: ``8``, ``0.5``, ``1e-05`` (``:g``); non-private (``math.inf``) as ``infinity``. A value straight
    from a file (null, "inf") is read as :func:`parse_epsilon` reads it."""
    eps = parse_epsilon(eps)
    return f"{eps:g}" if is_private(eps) else infinity


def eps_symbol(eps: Any) -> str:
    """ε as reports write it: :func:`eps_label` with ``∞`` for non-private."""
    return eps_label(eps, INFINITY)
