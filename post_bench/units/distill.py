"""``distill`` unit: the source model for POST = kept layers of the target, knowledge-distilled on public text
(:func:`post_bench.models.distill.distil_source`), kept between runs (:mod:`post_bench.models.distill_cache`)."""

from __future__ import annotations

import json
import time

from post_bench import cost
from post_bench.errors import write_failure
from post_bench.models.distill import distil_source
from post_bench.models.distill_cache import cached_source, cached_targets, copy_model, store
from post_bench.unit.schemas import DistillConfig, DistillRecord
from post_bench.units import unit_kind


def corpus_texts(ctx, names: list[str], size: int, seed: int) -> list[str]:
    """``size`` texts drawn evenly from the corpus data sets (labels, if any, are not used)."""
    share = [size // len(names) + (i < size % len(names)) for i in range(len(names))]
    return [t for name, n in zip(names, share) for t in ctx.public(name, seed, n).texts]


@unit_kind("distill")
def run_distill(unit, ctx, work, deps) -> DistillRecord:
    """Distil once per config: a cached student (``cached_source``) is copied in and its recorded row returned with
    ``cached: true``; the row's ``one_off`` keeps the original distillation's wall time and FLOPs either way."""
    cfg: DistillConfig = unit.cfg
    texts = corpus_texts(ctx, cfg.corpus, cfg.corpus_size, cfg.seed)
    templates = distill_templates(ctx, cfg)
    label_ids = distill_label_ids(ctx, ctx.backbone(cfg.model)) if cfg.label_words_weight else None
    key = dict(unit.config)  # the plain config (the cache outlives runs), with what it resolves to in this suite
    if templates:
        key["templates"] = templates
    if label_ids:
        key["label_ids"] = label_ids
    folder = cached_source(key, texts)
    if (folder / "record.json").is_file() and (folder / "model").is_dir():
        record = json.loads((folder / "record.json").read_text())
        try:
            copy_model(folder / "model", work / "model")
        except OSError as err:  # a full disk: one line, exit 2; the finished units stay, a rerun resumes
            raise write_failure(err, "copy the cached distilled model into the run", work / "model") from None
        return DistillRecord(distill=[{**record["row"], "cached": True, "cache_key": folder.name}],
                             model_name=record["model_name"])
    start = time.perf_counter()
    row, model_name = _distill(cfg, ctx, work, texts, templates, label_ids)
    meter = cost.current()
    row["one_off"] = {"wall_s": round(time.perf_counter() - start, 2),
                      "flops": meter.flops if meter else None, "device": str(ctx.device)}
    store(folder, work, {"row": row, "model_name": model_name})
    row.update(cached=False, cache_key=folder.name)
    return DistillRecord(distill=[row], model_name=model_name)


def distill_templates(ctx, cfg: DistillConfig) -> list[str] | None:
    """The task templates the corpus is put in (``template: private``: each private set's, in suite order, once
    each), or None for packed plain text."""
    if cfg.template is None:
        return None
    if cfg.template != "private":
        return [cfg.template]
    kind = ctx.backbone(cfg.model).kind
    found = [ctx.load(name).task.template(kind) for name in ctx.suite.datasets.private]
    return list(dict.fromkeys(t for t in found if t))


def distill_label_ids(ctx, backbone) -> list[int]:
    """Every private task's label-word ids (first sub-token of each word), once each, in suite order."""
    ids = [i for name in ctx.suite.datasets.private for words in backbone.label_token_ids(ctx.load(name).task)
           for i in words]
    return list(dict.fromkeys(ids))


def _distill(cfg: DistillConfig, ctx, work, texts, templates, label_ids) -> tuple[dict, str]:
    """(the distillation's row, the teacher's name); the student is saved to ``work/model``."""
    backbone = ctx.backbone(cfg.model)
    out = distil_source(backbone, texts, cfg, templates, targets_of=cached_targets(cfg, label_ids), label_ids=label_ids)
    folder = work / "model"
    out.student.save_pretrained(folder, safe_serialization=True)
    backbone.tokenizer.save_pretrained(folder)
    row = {"model": cfg.model, "layers": out.layers, "teacher_loss": out.teacher_loss,
           "truncated_loss": out.truncated_loss, "student_loss": out.student_loss, "kd_curve": out.kd_curve,
           "steps": out.steps, "n_train_texts": out.n_train, "n_heldout_texts": out.n_heldout, "corpus": cfg.corpus,
           "freeze_embeddings": cfg.freeze_embeddings, "templates": templates, "teacher_top_k": cfg.teacher_top_k,
           "label_words_weight": cfg.label_words_weight,
           "n_blocks": out.n_blocks, "params": out.params, "teacher_params": out.teacher_params}
    return row, backbone.name
