"""``transfer`` unit: the private source prompt (a ``tune`` unit) moved to the target by POST or PTfer.

Sees only the source prompt, the two models and (POST) public text, so the target prompt keeps the source
prompt's DP guarantee (post-processing), which is passed on as ``dp``. The one exception is ``alpha: auto``
(the paper's Eq. 6), which reads the private validation split: outside the DP guarantee, and recorded.
"""

from __future__ import annotations

import torch

from post_bench.data import load_dataset
from post_bench.models.soft_prompt import load_prompt, run_metadata, save_prompt
from post_bench.training.alpha import alpha_choice, prompt_accuracy
from post_bench.training.plateau import Plateau, hold_out, label_columns
from post_bench.training.ptfer import pick_anchors, ptfer_transfer
from post_bench.training.transfer import initial_prompts, loss_columns, transfer_prompts
from post_bench.unit.schemas import TransferConfig, TransferRecord, TuneRecord
from post_bench.units import unit_kind


def _public_task(name: str, private_task):
    """The public set's own task (its template), or the private task's when the public set has none."""
    return load_dataset(name).task or private_task


def _alpha(cfg: TransferConfig, ctx, source, target, source_prompt) -> tuple[float, dict | None]:
    """(α, how it was chosen): a number from the suite, or the paper's Eq. 6 on the private validation split."""
    if cfg.alpha != "auto":
        return float(cfg.alpha), None
    val = ctx.splits(cfg.dataset, cfg.seed).validation

    def acc(backbone, prompt) -> float:
        return prompt_accuracy(backbone, ctx.encoded(backbone, val, f"val-{cfg.seed}", cfg.max_tokens), val.task,
                               prompt)

    # the target's zero-shot accuracy does not depend on the prompt: once per process for all ε and shadows
    zs = ctx.memo(("zero_shot_val", target.name, cfg.dataset, cfg.seed, cfg.max_tokens),
                  lambda: acc(target, None))
    return alpha_choice(zs, acc(source, source_prompt), val.task.num_classes, len(val))


def _post(cfg: TransferConfig, ctx, source, target, source_prompts, label):
    """(target prompts, loss histories, α records) by POST's loss on the public set, all K source prompts
    transferred at once (stacked in one batch through the target)."""
    task = ctx.splits(cfg.dataset, cfg.seed).train.task  # the template and label words only
    plateau = cfg.stop == "plateau"
    drawn = ctx.public(cfg.public, cfg.seed, cfg.public_size + (cfg.public_val_size if plateau else 0))
    public_task = _public_task(cfg.public, task) if cfg.public_template == "own" else task
    split = f"public-{cfg.seed}"

    def encode(backbone, data, name):
        return ctx.encoded(backbone, data, name, cfg.max_tokens, public_task.template(backbone.kind))

    public, held = hold_out(drawn, cfg.public_size) if plateau else (drawn, None)
    stopping = {} if held is None else {
        "plateau": Plateau(cfg.check_every, cfg.patience, cfg.min_delta),
        "validation": (encode(source, held, f"{split}-val"), encode(target, held, f"{split}-val")),
        "label_columns": label_columns(target, task), "stops": []}
    enc_s, enc_t = encode(source, public, split), encode(target, public, split)
    init = initial_prompts(target, source_prompts, cfg.init, cfg.prompt_length, task.instruction, cfg.seed)
    alphas, records = zip(*(_alpha(cfg, ctx, source, target, p) for p in source_prompts))
    # s_0 and t_0 do not depend on the prompt: computed once per process for all ε and seeds sharing them
    s_0 = ctx.memo(("logits", source.name, id(enc_s)), lambda: source.vocab_logits_dataset(enc_s))
    t_0 = ctx.memo(("logits", target.name, id(enc_t)), lambda: target.vocab_logits_dataset(enc_t))
    prompts, histories = transfer_prompts(source, target, source_prompts, enc_s, enc_t, steps=cfg.steps,
                                          lr=cfg.lr, batch_size=cfg.batch_size, alphas=list(alphas),
                                          temperature=cfg.temperature, init=init,
                                          seeds=[cfg.seed] * len(source_prompts), desc=label, s_0=s_0, t_0=t_0,
                                          columns=loss_columns(cfg.loss, target, task), **stopping)
    stops = stopping.get("stops") or [None] * len(source_prompts)
    return prompts, histories, [{"alpha": a, "stop": st} for a, st in zip(records, stops)]


def _ptfer(cfg: TransferConfig, source, target, source_prompt):
    src_ids, tgt_ids = pick_anchors(source.tokenizer, target.tokenizer, cfg.anchors)
    return ptfer_transfer(source_prompt, source.input_embeddings.weight, target.input_embeddings.weight, src_ids,
                          cfg.steps, cfg.lr, cfg.seed, target_anchor_ids=tgt_ids)


def transfer_many(cfg: TransferConfig, ctx, source, target, source_prompts, label: str = "transfer"):
    """(target prompts [K, P', H_t], K loss histories, K {"alpha": record or None, "stop": record or None}) for
    source prompts [K, P, H_s],
    each moved exactly as one would be alone, by ``cfg.method`` (POST: stacked in one batch; PTfer: in turn)."""
    if cfg.method == "post":
        return _post(cfg, ctx, source, target, source_prompts, label)
    if cfg.method == "ptfer":
        moved = [_ptfer(cfg, source, target, p) for p in source_prompts]
        return torch.stack([m[0] for m in moved]), [m[1] for m in moved], [{"alpha": None, "stop": None}] * len(moved)
    raise ValueError(f"unknown transfer method {cfg.method!r}; allowed: post, ptfer")


def transfer_one(cfg: TransferConfig, ctx, source, target, source_prompt, label: str = "transfer"):
    """(target prompt, loss history, {"alpha": record or None, "stop": record or None}) for one source prompt."""
    prompts, histories, records = transfer_many(cfg, ctx, source, target, source_prompt.unsqueeze(0), label)
    return prompts[0], histories[0], records[0]


@unit_kind("transfer")
def run_transfer(unit, ctx, work, deps) -> TransferRecord:
    cfg: TransferConfig = unit.cfg
    source = ctx.backbone(ctx.model_name(unit, "source_model"))
    target = ctx.backbone(ctx.model_name(unit))
    tuned: TuneRecord = deps["prompt"].record
    source_prompt, _ = load_prompt(deps["prompt"].folder / "prompt")
    if source_prompt.shape[1] != source.hidden_size:
        raise ValueError(f"source prompt is {tuple(source_prompt.shape)} but {source.name!r} has hidden size "
                         f"{source.hidden_size}")
    prompt, history, record = transfer_one(cfg, ctx, source, target, source_prompt, unit.label or "transfer")
    dp = tuned.dp
    task = ctx.splits(cfg.dataset, cfg.seed).train.task
    meta = {**run_metadata(ctx, unit.config, task, target.kind), "method": cfg.method, "role": "target",
            "source": source.name}  # ε: the config's, as written (null: non-private)
    save_prompt(work / "prompt", prompt, base_model=target.name, metadata=meta,
                task_type="SEQ_CLS" if target.kind == "mlm" else "CAUSAL_LM")
    every = max(1, len(history) // 200)
    stop = {"stop": record["stop"]} if record["stop"] is not None else {}  # only for stop: plateau
    return TransferRecord(dp=dp, loss_curve=[round(x, 6) for x in history[::every]],
                          final_loss=history[-1] if history else None, model_name=target.name,
                          source_model=source.name, alpha=record["alpha"], **stop)
