"""``tune`` unit: a soft prompt tuned on private data, DP-SGD when ``epsilon`` is finite."""

from __future__ import annotations

from post_bench.data.canaries import GRADIENT
from post_bench.errors import UserInputError, problem
from post_bench.models.soft_prompt import init_prompt, run_metadata, save_prompt
from post_bench.training.gradient_canaries import TRACE_FILE, CanaryTrace, make_gradient_canaries
from post_bench.training.prompt_tuning import tune_prompts
from post_bench.training.settings import tune_settings
from post_bench.unit.schemas import TuneConfig, TuneRecord
from post_bench.units import unit_kind


def private_tuning_inputs(unit, ctx):
    """What tuning on the private data needs (shared with the LiRA shadows, which re-tune the same way):
    (backbone, private train split, its encoding, label token ids, initial prompt)."""
    cfg: TuneConfig = unit.cfg
    backbone = ctx.backbone(ctx.model_name(unit))
    train = ctx.private_train(cfg.dataset, cfg.seed, cfg.canaries)
    enc = ctx.encoded(backbone, train, f"train-{cfg.seed}", cfg.max_tokens)
    label_ids = backbone.label_token_ids(train.task)
    init = init_prompt(backbone, cfg.prompt_length, init=cfg.init, text=train.task.instruction, seed=cfg.seed)
    return backbone, train, enc, label_ids, init


@unit_kind("tune")
def run_tune(unit, ctx, work, deps) -> TuneRecord:
    cfg: TuneConfig = unit.cfg
    backbone, train, enc, label_ids, init = private_tuning_inputs(unit, ctx)
    settings, dp = tune_settings(cfg, len(enc))
    trace = None
    if cfg.canaries is not None and cfg.canaries.kind == GRADIENT:  # a white-box audit's run (one_run_gradient)
        if cfg.canaries.count > init.numel():  # one prompt coordinate each: known only once the model is loaded
            raise UserInputError(problem("suite", "attacks[].canaries", f"{cfg.canaries.count} gradient canaries "
                                         f"need one prompt number each; the prompt has {init.numel()} "
                                         f"({init.shape[0]} tokens x {init.shape[1]})", f"at most {init.numel()}"))
        canaries = make_gradient_canaries(cfg.canaries.count, init.numel(), seed=cfg.seed)
        trace = CanaryTrace(canaries, settings.batch_size / len(enc), seed=cfg.seed)
    prompt, history = tune_prompts(backbone, enc, label_ids, init, settings, seed=cfg.seed, desc=unit.label,
                                   trace=trace)
    if trace is not None:
        trace.save(work / TRACE_FILE)
    meta = {**run_metadata(ctx, unit.config, train.task, backbone.kind), "method": "tune", "role": cfg.role,
            "noise_multiplier": dp["noise_multiplier"] if dp else None}  # ε and data set: the config's, as written
    save_prompt(work / "prompt", prompt, base_model=backbone.name, init_text=train.task.instruction, metadata=meta,
                task_type="SEQ_CLS" if backbone.kind == "mlm" else "CAUSAL_LM")
    return TuneRecord(dp=dp, loss_curve=[round(x, 5) for x in history], n_train=len(enc), model_name=backbone.name)
