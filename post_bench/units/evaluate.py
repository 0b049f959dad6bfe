"""``evaluate`` unit: accuracy of a model (with a soft or discrete prompt, or none) on the test split."""

from __future__ import annotations

from post_bench.models.backbone import accuracy
from post_bench.models.soft_prompt import load_prompt
from post_bench.unit.schemas import EvaluateConfig, EvaluateRecord
from post_bench.units import unit_kind


def prompt_of(deps):
    """(soft prompt tensor or None, discrete instruction text or None) from a unit's ``prompt`` input."""
    dep = deps.get("prompt")
    if dep is None:
        return None, None
    folder = dep.folder
    if (folder / "prompt.txt").is_file():
        return None, (folder / "prompt.txt").read_text()
    tensor, _ = load_prompt(folder / "prompt")
    return tensor, None


@unit_kind("evaluate")
def run_evaluate(unit, ctx, work, deps) -> EvaluateRecord:
    cfg: EvaluateConfig = unit.cfg
    backbone = ctx.backbone(ctx.model_name(unit))
    test = ctx.splits(cfg.dataset, cfg.seed).test
    soft, text = prompt_of(deps)
    template = test.task.template(backbone.kind)
    if text:
        template = text.strip() + "\n" + template
    enc = ctx.encoded(backbone, test, f"test-{cfg.seed}", cfg.max_tokens + (64 if text else 0), template)
    label_ids = backbone.label_token_ids(test.task)
    scores = backbone.score_dataset(enc, label_ids, soft, batch_size=cfg.eval_batch_size)
    dp = deps["prompt"].record.dp if "prompt" in deps else None
    row = {"dataset": cfg.dataset, "method": cfg.method, "model": ctx.model_label(unit), "model_role": cfg.role,
           "epsilon": cfg.epsilon, "seed": cfg.seed, "accuracy": accuracy(scores, enc.labels),
           "n_test": len(enc), "num_classes": len(test.task.class_names),
           "duplicates_removed": test.meta.get("duplicates_removed", 0)}
    if dp:
        row.update({"accountant": dp.get("accountant"), "noise_multiplier": dp.get("noise_multiplier"),
                    "delta": dp.get("delta"), "epsilon_spent": dp.get("epsilon_spent")})
    return EvaluateRecord(utility=[row], model_name=row["model"])
