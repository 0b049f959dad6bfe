"""``distill`` unit: the source model for POST = kept layers of the target, knowledge-distilled on public text."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from post_bench import cost
from post_bench.errors import os_failure, write_failure
from post_bench.models.distill import distill, lm_loss, n_layers, resolve_layers, truncate_model
from post_bench.models.loading import cache_dir
from post_bench.unit.schemas import DistillConfig, DistillRecord
from post_bench.units import unit_kind

CACHE_VERSION = 1  # raise when distillation changes what a config produces

SETTINGS = ("steps", "batch_size", "max_tokens", "lr", "warmup", "grad_clip", "temperature", "kd_weight", "seed",
            "schedule", "freeze_embeddings")


def split_public(texts, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out): 10% held out, at least 16 texts (at most half)."""
    texts = [t for t in texts if t.strip()]
    order = np.random.default_rng(seed + 1).permutation(len(texts))
    n_held = min(max(16, len(texts) // 10), len(texts) // 2)
    return [texts[i] for i in order[n_held:]], [texts[i] for i in order[:n_held]]


def corpus_texts(ctx, names: list[str], size: int, seed: int) -> list[str]:
    """``size`` texts drawn evenly from the corpus data sets (labels, if any, are not used)."""
    share = [size // len(names) + (i < size % len(names)) for i in range(len(names))]
    return [t for name, n in zip(names, share) for t in ctx.public(name, seed, n).texts]


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


def _store(folder: Path, work: Path, record: dict) -> None:
    """Copy the finished model into the cache (a temporary folder renamed into place: never half-written). The
    cache only saves later runs work: a cache that cannot take it (full disk, read-only) is a note, and this
    run goes on with its own copy."""
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        copy_model(work / "model", tmp / "model")
        (tmp / "record.json").write_text(json.dumps(record, indent=1))
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        where, reason = os_failure(err, tmp)
        tqdm.write(f"note: {where}: cannot keep the distilled model in the cache ({reason}); this run goes on, "
                   "the next one distils again", file=sys.stderr)  # above a progress bar, if one is shown
        return
    try:
        tmp.rename(folder)
    except OSError:  # another run stored it first
        shutil.rmtree(tmp, ignore_errors=True)


@unit_kind("distill")
def run_distill(unit, ctx, work, deps) -> DistillRecord:
    """Distil once per config: a cached student (``cached_source``) is copied in and its recorded row returned with
    ``cached: true``; the row's ``one_off`` keeps the original distillation's wall time and FLOPs either way."""
    cfg: DistillConfig = unit.cfg
    texts = corpus_texts(ctx, cfg.corpus, cfg.corpus_size, cfg.seed)
    folder = cached_source(unit.config, texts)  # keyed by the plain config: the cache outlives runs
    if (folder / "record.json").is_file() and (folder / "model").is_dir():
        record = json.loads((folder / "record.json").read_text())
        try:
            copy_model(folder / "model", work / "model")
        except OSError as err:  # a full disk: one line, exit 2; the finished units stay, a rerun resumes
            raise write_failure(err, "copy the cached distilled model into the run", work / "model") from None
        return DistillRecord(distill=[{**record["row"], "cached": True, "cache_key": folder.name}],
                             model_name=record["model_name"])
    start = time.perf_counter()
    row, model_name = _distill(cfg, ctx, work, texts)
    meter = cost.current()
    row["one_off"] = {"wall_s": round(time.perf_counter() - start, 2),
                      "flops": meter.flops if meter else None, "device": str(ctx.device)}
    _store(folder, work, {"row": row, "model_name": model_name})
    row.update(cached=False, cache_key=folder.name)
    return DistillRecord(distill=[row], model_name=model_name)


def _distill(cfg: DistillConfig, ctx, work, texts) -> tuple[dict, str]:
    """(the distillation's row, the teacher's name)."""
    backbone = ctx.backbone(cfg.model)
    teacher, tok, kind = backbone.model, backbone.tokenizer, backbone.kind
    train, held = split_public(texts, cfg.seed)
    layers = resolve_layers(cfg.layers, n_layers(teacher))
    student = truncate_model(teacher, layers)

    def loss(model, name="student") -> float:
        return round(lm_loss(model, tok, held, kind, cfg.max_tokens, cfg.batch_size, cfg.seed, name), 5)

    teacher_loss, truncated_loss = loss(teacher, backbone.name), loss(student)
    out = distill(teacher, student, tok, train, kind=kind, names=(backbone.name, "student"), autocast=backbone.autocast,
                  **{k: getattr(cfg, k) for k in SETTINGS})
    student_loss = loss(student)
    folder = work / "model"
    student.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    row = {"model": cfg.model, "layers": layers, "teacher_loss": teacher_loss, "truncated_loss": truncated_loss,
           "student_loss": student_loss, "kd_curve": out["kd_curve"], "steps": out["steps"],
           "n_train_texts": len(train), "n_heldout_texts": len(held), "corpus": cfg.corpus,
           "freeze_embeddings": cfg.freeze_embeddings}
    return row, backbone.name
