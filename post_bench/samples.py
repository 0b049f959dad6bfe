"""Per-example outputs ("samples"): what an evaluate or attack unit saw row by row, kept so that every number can
be re-derived, and claims decided per example, without loading a model (lm-eval's ``--log_samples`` for us).

A samples file is gzip-compressed JSON lines, one object per row, written deterministically (gzip mtime 0, keys
in a fixed order) so equal outputs hash equally. A result row points at its file with a *reference*::

    "samples": {"file": "samples.jsonl.gz", "sha256": "…", "rows": 400, "kind": "predictions"}

``file`` is relative to the folder that holds it: the unit's folder in ``done.json``; the run directory in
``results.json`` (``samples/<unit id>/<file>``, copied there when the results are collected). Readers check the
hash before they trust a file. No pickle is ever involved: JSON only.

Kinds and their rows:

- ``predictions`` (evaluate): ``row_id`` (:func:`row_id` of the text: stable across seeds, splits and runs),
  ``label`` (gold class), ``pred``, ``scores`` (the class scores the prediction is the argmax of: mean logit of
  each class's label words) and ``logprobs`` (log-softmax of ``scores`` over the classes).
- ``membership`` (membership attacks): ``prompt`` (0 = the attacked prompt, 1.. its shadows), ``example``
  (index in the scored population), ``statistic`` (the attack's score, higher = member) and ``member``;
  one file per attack variant.
- ``canaries`` (one-run audits): ``canary`` (index), ``score`` and ``included``.
- ``exposure`` (extraction): ``canary`` (index), ``score`` and ``planted`` (False: a never-planted candidate).
- ``candidates`` (``post-bench audit``, one file per attack, beside audit.json): ``candidate`` (index in the
  members + non-members files), ``row_id``, ``statistic`` and ``member``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
from pathlib import Path

SAMPLES_FILE = "samples.jsonl.gz"
KINDS = ("predictions", "membership", "canaries", "candidates", "exposure")


class SamplesError(ValueError):
    """A samples file is missing, damaged (hash mismatch) or not what its reference says."""


def row_id(text: str) -> str:
    """A stable id of a test row: the first 16 hex digits of the SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def encode(rows: list[dict]) -> bytes:
    """The gzip JSON-lines bytes of ``rows`` (deterministic)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        for row in rows:
            line = json.dumps({k: _clean(v) for k, v in row.items()}, separators=(",", ":"), allow_nan=False)
            gz.write(line.encode("utf-8") + b"\n")
    return buf.getvalue()


def write_samples(folder: Path | str, rows: list[dict], kind: str, name: str = SAMPLES_FILE) -> dict:
    """Write ``rows`` to ``folder/name``; returns the reference a result row carries."""
    if kind not in KINDS:
        raise ValueError(f"samples kind: {kind!r}; allowed: {', '.join(KINDS)}")
    data = encode(rows)
    path = Path(folder) / name
    path.write_bytes(data)
    return {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": len(rows), "kind": kind}


def read_samples(folder: Path | str, ref: dict) -> list[dict]:
    """The rows of the file ``ref`` points at (relative to ``folder``), after checking its hash and row count."""
    if not isinstance(ref, dict) or not isinstance(ref.get("file"), str) or not isinstance(ref.get("sha256"), str):
        raise SamplesError(f"samples reference {ref!r}: expected {{file, sha256, rows, kind}}")
    path = Path(folder) / ref["file"]
    if not path.is_file():
        raise SamplesError(f"{path}: samples file not found")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != ref["sha256"]:
        raise SamplesError(f"{path}: sha256 {digest[:12]}… differs from the {ref['sha256'][:12]}… results.json "
                           "records (the file was changed or damaged)")
    try:
        text = gzip.decompress(data).decode("utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SamplesError(f"{path}: not a gzip JSON-lines samples file ({err})") from None
    if "rows" in ref and len(rows) != ref["rows"]:
        raise SamplesError(f"{path}: {len(rows)} rows, the reference says {ref['rows']}")
    return rows


def collected_name(unit_id: str, file: str) -> str:
    """Where a unit's samples file goes in a run directory (relative to it)."""
    return f"samples/{unit_id}/{file}"
