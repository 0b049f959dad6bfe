"""``extraction`` unit: what a tuned prompt gives away about its private training data.

The prompt is one the extraction attack planned for itself (tuned, and transferred for POST/PTfer, on the
private data with the canaries planted); the logic is in ``post_bench.attacks.extraction``:
exposure of the planted-label canaries against held-out canaries, nearest-token decoding, and optionally
``generate_tokens`` greedy tokens under the prompt checked against the training set. A discrete prompt
(dp_opt's prompt.txt) gets the shared-substring check of its text.
"""

from __future__ import annotations

from post_bench.attacks.extraction import (
    canary_scores,
    exposure_rows,
    generate,
    nearest_tokens,
    shared_substring,
)
from post_bench.samples import write_samples
from post_bench.unit.schemas import ExtractionConfig, ExtractionRecord
from post_bench.units import unit_kind
from post_bench.units.evaluate import prompt_of


@unit_kind("extraction")
def run_extraction(unit, ctx, work, deps) -> ExtractionRecord:
    cfg: ExtractionConfig = unit.cfg
    train = ctx.private_train(cfg.dataset, cfg.seed, cfg.canaries)
    corpus = list(train.texts)
    base = {"dataset": cfg.dataset, "method": cfg.method, "epsilon": cfg.epsilon, "seed": cfg.seed}
    soft, text = prompt_of(deps)
    if soft is None:  # a discrete instruction (dp_opt)
        row = shared_substring(text or "", corpus, "instruction")
        return ExtractionRecord(extraction=[{**base, "attack": "shared-substring", **row}])
    backbone = ctx.backbone(ctx.model_name(unit))
    rows = [{**base, "attack": "nearest-tokens", **nearest_tokens(backbone, soft)}]
    plan = train.meta.get("canary_plan")
    if plan is not None:
        b = cfg.eval_batch_size
        planted = canary_scores(backbone, soft, plan.canaries, plan.labels, train.task, cfg.max_tokens, b)
        held = canary_scores(backbone, soft, plan.held_out, plan.held_out_labels, train.task, cfg.max_tokens, b)
        samples = write_samples(work, [{"canary": i, "score": float(v), "planted": p}
                                       for i, (v, p) in enumerate([(v, True) for v in planted] +
                                                                  [(v, False) for v in held])], "exposure")
        rows.insert(0, {**base, "attack": "canary-exposure", "repetitions": plan.repetitions,
                        **exposure_rows(planted, held), "samples": samples})
    if cfg.generate_tokens and backbone.kind == "causal":
        gen = generate(backbone, soft, cfg.generate_tokens)
        rows.append({**base, "attack": "shared-substring", **shared_substring(gen, corpus, "generation")})
    return ExtractionRecord(extraction=rows, model_name=backbone.name)
