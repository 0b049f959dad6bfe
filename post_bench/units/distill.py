"""``distill`` unit: the source model for POST = kept layers of the target, knowledge-distilled on public text."""

from __future__ import annotations

from post_bench.models.distill import distill, lm_loss, n_layers, resolve_layers, truncate_model
from post_bench.units import UNIT_KINDS

SETTINGS = ("steps", "batch_size", "max_tokens", "lr", "warmup", "grad_clip", "temperature", "kd_weight", "seed",
            "schedule", "freeze_embeddings")


def split_public(texts, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out): 10% held out, at least 16 texts (at most half)."""
    import numpy as np

    texts = [t for t in texts if t.strip()]
    order = np.random.default_rng(seed + 1).permutation(len(texts))
    n_held = min(max(16, len(texts) // 10), len(texts) // 2)
    return [texts[i] for i in order[n_held:]], [texts[i] for i in order[:n_held]]


def corpus_texts(ctx, names: list[str], size: int, seed: int) -> list[str]:
    """``size`` texts drawn evenly from the corpus data sets (labels, if any, are not used)."""
    share = [size // len(names) + (i < size % len(names)) for i in range(len(names))]
    return [t for name, n in zip(names, share) for t in ctx.public(name, seed, n).texts]


@UNIT_KINDS.register("distill")
def run_distill(unit, ctx, work):
    cfg = unit.config
    backbone = ctx.backbone(cfg["model"])
    teacher, tok, kind = backbone.model, backbone.tokenizer, backbone.kind
    train, held = split_public(corpus_texts(ctx, cfg["corpus"], cfg["corpus_size"], cfg["seed"]), cfg["seed"])
    layers = resolve_layers(cfg["layers"], n_layers(teacher))
    student = truncate_model(teacher, layers)

    def loss(model, name="student") -> float:
        return round(lm_loss(model, tok, held, kind, cfg["max_tokens"], cfg["batch_size"], cfg["seed"], name), 5)

    teacher_loss, truncated_loss = loss(teacher, backbone.name), loss(student)
    out = distill(teacher, student, tok, train, kind=kind, names=(backbone.name, "student"), autocast=backbone.autocast,
                  **{k: cfg[k] for k in SETTINGS})
    student_loss = loss(student)
    folder = work / "model"
    student.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    row = {"model": cfg["model"], "layers": layers, "teacher_loss": teacher_loss, "truncated_loss": truncated_loss,
           "student_loss": student_loss, "kd_curve": out["kd_curve"], "steps": out["steps"],
           "n_train_texts": len(train), "n_heldout_texts": len(held), "corpus": cfg["corpus"],
           "freeze_embeddings": cfg["freeze_embeddings"]}
    return {"distill": [row], "model_name": backbone.name}
