"""``evaluate`` unit: accuracy of a model (with a soft or discrete prompt, or none) on the test split (or, for a
validation twin, the validation split)."""

from __future__ import annotations

import numpy as np

from post_bench.models.backbone import accuracy
from post_bench.models.soft_prompt import load_prompt
from post_bench.samples import row_id, write_samples
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


def prediction_rows(texts, labels, scores: np.ndarray) -> list[dict]:
    """One samples row per test example: its id, gold label, prediction, class scores and their log-softmax."""
    s = np.asarray(scores, dtype=np.float64)
    logprobs = s - np.logaddexp.reduce(s, axis=1, keepdims=True)
    return [{"row_id": row_id(t), "label": int(y), "pred": int(s[i].argmax()),
             "scores": [round(float(v), 5) for v in s[i]], "logprobs": [round(float(v), 5) for v in logprobs[i]]}
            for i, (t, y) in enumerate(zip(texts, labels))]


@unit_kind("evaluate")
def run_evaluate(unit, ctx, work, deps) -> EvaluateRecord:
    cfg: EvaluateConfig = unit.cfg
    backbone = ctx.backbone(ctx.model_name(unit))
    splits = ctx.splits(cfg.dataset, cfg.seed)
    test = splits.validation if cfg.split == "validation" else splits.test
    soft, text = prompt_of(deps)
    template = test.task.template(backbone.kind)
    if text:
        template = text.strip() + "\n" + template
    enc = ctx.encoded(backbone, test, f"{cfg.split or 'test'}-{cfg.seed}", cfg.max_tokens + (64 if text else 0),
                      template)
    label_ids = backbone.label_token_ids(test.task)
    scores = backbone.score_dataset(enc, label_ids, soft, batch_size=cfg.eval_batch_size)
    dp = deps["prompt"].record.dp if "prompt" in deps else None
    samples = write_samples(work, prediction_rows(test.texts, enc.labels, scores), "predictions")
    row = {"dataset": cfg.dataset, "method": cfg.method, "model": ctx.model_label(unit), "model_role": cfg.role,
           "epsilon": cfg.epsilon, "seed": cfg.seed, "accuracy": accuracy(scores, enc.labels),
           "n_test": len(enc), "num_classes": len(test.task.class_names),
           "duplicates_removed": test.meta.get("duplicates_removed", 0), "samples": samples}
    if dp:
        row.update({"accountant": dp.get("accountant"), "noise_multiplier": dp.get("noise_multiplier"),
                    "delta": dp.get("delta"), "epsilon_spent": dp.get("epsilon_spent")})
    if cfg.split == "validation":
        return EvaluateRecord(utility=[], validation=[{**row, "split": "validation"}], model_name=row["model"])
    return EvaluateRecord(utility=[row], model_name=row["model"])
