"""``shadow_prompts`` unit: K shadow prompts tuned like the attacked private prompt on random halves of a
population (``keep.npy`` [K, 2N], ``shadow_prompts.safetensors``); one such unit serves every method built on
that private prompt (source_only and POST share it). ``shadows`` unit: those prompts (POST/PTfer: transferred
like the attacked prompt) and the attacked prompt scored on the population.

Artifacts of ``shadows``: ``scores.npy`` [1 + K, n] logit-scaled confidences (row 0: the attacked prompt),
``keep.npy`` [1 + K, n] membership, ``shadow_prompts.safetensors`` (tensor ``prompts`` [K, P, H]). Membership units
only read the arrays. The logic is in ``post_bench.attacks.shadows``; this file adapts a unit config to it.
"""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from post_bench.attacks.shadows import keep_masks, logit_scaled, scored_examples, scored_keep, train_shadows
from post_bench.models.soft_prompt import init_prompt, load_prompt
from post_bench.training.settings import mechanism, tune_settings
from post_bench.unit.schemas import (
    ShadowPromptsConfig,
    ShadowPromptsRecord,
    ShadowsConfig,
    ShadowsRecord,
    TuneRecord,
)
from post_bench.units import unit_kind
from post_bench.units.transfer import transfer_many

SHADOW_FILE = "shadow_prompts.safetensors"


def _transfer_all(unit, ctx, source, prompts):
    """Every source shadow prompt moved to the target exactly like the attacked prompt (POST: all K stacked in
    one batch through the target; PTfer: in turn)."""
    tcfg = unit.cfg.transfer
    target = ctx.backbone(tcfg.model)
    moved, _, _ = transfer_many(tcfg, ctx, source, target, prompts, f"{unit.label} transfer x{len(prompts)}")
    return moved, target


@unit_kind("shadow_prompts")
def run_shadow_prompts(unit, ctx, work, deps) -> ShadowPromptsRecord:
    """K shadow prompts tuned like the attacked private prompt, each on a random half of the population."""
    cfg: ShadowPromptsConfig = unit.cfg
    backbone = ctx.backbone(ctx.model_name(unit))
    train, holdout = ctx.population(cfg.dataset, cfg.seed)
    pool = train.concat(holdout)
    n = len(train)
    enc = ctx.encoded(backbone, pool, f"population-{cfg.seed}", cfg.max_tokens)
    init = init_prompt(backbone, cfg.prompt_length, init=cfg.init, text=train.task.instruction, seed=cfg.seed)
    settings, dp = tune_settings(cfg, n)  # exactly the attacked prompt's mechanism (its tune unit's function)
    keep = keep_masks(cfg.shadows, 2 * n, cfg.attack_seed)
    prompts = train_shadows(backbone, enc, backbone.label_token_ids(train.task), init, keep, settings,
                            cfg.attack_seed, desc=unit.label)
    np.save(work / "keep.npy", keep)
    save_file({"prompts": prompts.contiguous()}, str(work / SHADOW_FILE), metadata={"model": backbone.name})
    return ShadowPromptsRecord(n_shadows=int(keep.shape[0]), population=int(2 * n), n=n, dp=dp,
                               model_name=backbone.name)


@unit_kind("shadows")
def run_shadows(unit, ctx, work, deps) -> ShadowsRecord:
    cfg: ShadowsConfig = unit.cfg
    trained_dir = deps["shadow_prompts"].folder
    trained: ShadowPromptsRecord = deps["shadow_prompts"].record
    keep = np.load(trained_dir / "keep.npy", allow_pickle=False)
    prompts = load_file(str(trained_dir / SHADOW_FILE))["prompts"]
    train, holdout = ctx.population(cfg.dataset, cfg.seed)
    pool = train.concat(holdout)
    n = len(train)
    scorer = ctx.backbone(ctx.model_name(unit))
    if cfg.transfer is not None:
        prompts, scorer = _transfer_all(unit, ctx, scorer, prompts)
    attacked, _ = load_prompt(deps["prompt"].folder / "prompt")
    idx = scored_examples(n, cfg.population, cfg.attack_seed)
    enc_s = ctx.encoded(scorer, pool, f"population-{cfg.seed}", cfg.max_tokens).subset(idx)
    all_prompts = torch.cat([attacked.unsqueeze(0).to(prompts), prompts])
    scores = logit_scaled(scorer, enc_s, scorer.label_token_ids(train.task), all_prompts, cfg.eval_batch_size)
    np.save(work / "scores.npy", scores)
    np.save(work / "keep.npy", scored_keep(keep, idx))
    save_file({"prompts": prompts.contiguous()}, str(work / SHADOW_FILE), metadata={"model": scorer.name})
    tuned: TuneRecord = deps["tuned"].record
    return ShadowsRecord(n_shadows=int(keep.shape[0]), population=int(2 * n), scored=int(idx.size),
                         mechanism={"attacked": mechanism(cfg, tuned.n_train, tuned.dp),
                                    "shadows": mechanism(cfg, n, trained.dp)},
                         transfer=cfg.transfer.method if cfg.transfer is not None else None, model_name=scorer.name)
