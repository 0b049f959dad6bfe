"""Is a finished unit still what it was when it was committed? One check shared by every executor.

At commit :func:`checksums` records a SHA-256 of every artifact in ``done.json`` (key ``files``). Before a
finished unit is skipped on resume, :func:`damage` says why it cannot be reused, or ``None``:

* ``done.json`` must parse as an object;
* every recorded artifact must exist with the recorded checksum;
* every artifact without a recorded checksum (units committed before checksums existed) must load:
  ``.safetensors`` tensors and ``.npy`` arrays (``allow_pickle=False``) finite when floating point.

A file whose checksum matches is byte-identical to what its unit wrote, so it is not loaded again: a unit
that legitimately writes ``-inf`` (a log-probability) is not redone forever.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

DONE = "done.json"
OWNER = ".owner"
MAX_LOAD_BYTES = 1 << 30  # finiteness is checked on artifacts up to 1 GiB (all of them in practice)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file below ``folder`` (``done.json`` excluded), by relative path."""
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in (DONE, OWNER)}


def unreadable(path: Path) -> str | None:
    """Why an array artifact cannot be used (does not load, or holds NaN/inf); ``None`` when fine or not an array."""
    suffix = path.suffix
    if suffix not in (".safetensors", ".npy") or path.stat().st_size > MAX_LOAD_BYTES:
        return None
    try:
        if suffix == ".npy":
            import numpy as np  # deferred: start-up time (numpy)

            array = np.load(path, allow_pickle=False)
            if np.issubdtype(array.dtype, np.inexact) and not np.isfinite(array).all():
                return "holds NaN/inf"
            return None
        import torch  # deferred: start-up time (torch)
        from safetensors import safe_open  # deferred: start-up time (safetensors)

        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():
                tensor = f.get_tensor(key)
                if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
                    return f"tensor {key!r} holds NaN/inf"
    except Exception as err:  # truncated header, wrong dtype, a pickled array ...
        return f"does not load ({type(err).__name__})"
    return None


def damage(folder: Path) -> str | None:
    """Why the finished unit in ``folder`` cannot be reused; ``None``: intact. ``"not finished"``: no done.json."""
    try:
        record = json.loads((folder / DONE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "not finished"
    except (OSError, ValueError) as err:
        return f"{DONE} is unreadable ({type(err).__name__})"
    if not isinstance(record, dict):
        return f"{DONE} is not a JSON object"
    files = record.get("files", {})  # absent: committed before checksums existed
    if not isinstance(files, dict):
        return f"{DONE}: files is not an object"
    for name, digest in files.items():
        path = folder / name
        if not path.is_file():
            return f"artifact {name} is missing"
        if file_sha256(path) != digest:
            bad = unreadable(path)
            now = f"; now {bad}" if bad else ""
            return f"artifact {name} does not match its checksum (changed since it was committed{now})"
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if name in files or not path.is_file():
            continue
        bad = unreadable(path)
        if bad:
            return f"artifact {name} {bad}"
    return None
