"""The distilled source models kept between runs: ``<cache>/distilled/<key>/`` holds ``model/`` and
``record.json`` (the distillation's own row and its one-off cost), keyed by the distill unit's whole config and
the corpus texts. A cache that cannot take a model is a note; copying is stopped at the first file refused."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from tqdm.auto import tqdm

from post_bench.errors import os_failure
from post_bench.models.loading import cache_dir

CACHE_VERSION = 1  # raise when distillation changes what a config produces


def cache_key(cfg: dict, texts: list[str]) -> str:
    """The distilled model's cache key: its whole unit config (target, layers, settings, corpus, seed, precision)
    and the corpus texts themselves (the draw leaves out every private text of the suite, so two suites with the
    same config but other private sets may distil on other texts)."""
    text = json.dumps({"version": CACHE_VERSION, **cfg, "texts": hashlib.sha256("\x00".join(texts).encode()).hexdigest()},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_source(cfg: dict, texts: list[str]) -> Path:
    """Where the distilled model for ``cfg`` is kept between runs: ``<cache>/distilled/<key>/`` holding ``model/``
    and ``record.json`` (the distillation's own row and its one-off cost)."""
    return cache_dir() / "distilled" / cache_key(cfg, texts)


def cached_targets(cfg, kept_ids=None):
    """``targets_of(blocks, compute)`` for :func:`post_bench.models.distill.distil_source`: the teacher's top-k
    targets kept in ``<cache>/teacher-targets/<key>/`` (safetensors), keyed by the teacher, its precision, k, T and
    the token blocks themselves, so every student distilled from the same corpus shares one teacher pass."""

    def targets_of(blocks, compute):
        from post_bench.models.teacher_targets import TeacherTargets  # deferred: torch, only when distilling

        digest = hashlib.sha256(json.dumps(blocks).encode()).hexdigest()
        key = {"version": CACHE_VERSION, "model": cfg.model, "precision": cfg.precision, "k": cfg.teacher_top_k,
               "temperature": cfg.temperature, "blocks": digest}
        if kept_ids:
            key["kept_ids"] = list(kept_ids)
        folder = cache_dir() / "teacher-targets" / hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        if (folder / "targets.safetensors").is_file():
            return TeacherTargets.load(folder)
        targets = compute()
        keep(folder, targets.save, "the teacher targets", "the next one computes them again")
        return targets

    return targets_of


class _CopyFailed(Exception):
    """A file that :func:`copy_model` could not copy (not an OSError, so ``copytree`` stops at once instead of
    collecting every file's failure as text)."""

    def __init__(self, err: OSError, dst: str):
        super().__init__(err, dst)
        self.err, self.dst = err, dst


def _copy_file(src, dst):
    try:
        return shutil.copy2(src, dst)
    except OSError as err:
        raise _CopyFailed(err, dst) from err


def copy_model(src: Path, dst: Path) -> None:
    """``shutil.copytree(src, dst)`` that stops at the first file the OS refuses and raises that OSError (its
    path: the destination), rather than a ``shutil.Error`` listing every file as ``(src, dst, why)`` text."""
    try:
        shutil.copytree(src, dst, copy_function=_copy_file)
    except _CopyFailed as failed:
        err = failed.err
        if not (err.filename or getattr(err, "filename2", None)):  # a failed write() names no file
            err.filename = failed.dst
        raise err from None


def store(folder: Path, work: Path, record: dict) -> None:
    """Copy the finished model into the cache (:func:`keep`)."""

    def write(tmp: Path) -> None:
        copy_model(work / "model", tmp / "model")
        (tmp / "record.json").write_text(json.dumps(record, indent=1))

    keep(folder, write, "the distilled model", "the next one distils again")


def keep(folder: Path, write, what: str, otherwise: str) -> None:
    """``write(tmp)`` into a temporary folder renamed to ``folder``: a cache entry is never half-written. The
    cache only saves later runs work: a cache that cannot take it (full disk, read-only) is a note, and this
    run goes on with what it has."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write(tmp)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        where, reason = os_failure(err, tmp)
        tqdm.write(f"note: {where}: cannot keep {what} in the cache ({reason}); this run goes on, {otherwise}",
                   file=sys.stderr)  # above a progress bar, if one is shown
        return
    try:
        tmp.rename(folder)
    except OSError:  # another run stored it first
        shutil.rmtree(tmp, ignore_errors=True)
