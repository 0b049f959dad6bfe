"""``shadows`` unit: K shadow prompts tuned at once on balanced halves of a population (LiRA).

Artifacts: ``scores.npy`` [K, N] logit-scaled confidences, ``keep.npy`` [K, N] membership, and
``shadow_prompts.safetensors`` (tensor ``prompts`` [K, P, H]). The ``lira`` unit only reads the arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import save_file

from post_bench.attacks.lira_math import logit_scaled_from_logits
from post_bench.runner.units import UNIT_KINDS
from post_bench.training.prompt_tuning import tune_prompts
from post_bench.units.tune import dp_settings, private_tuning_inputs

SHADOW_FILE = "shadow_prompts.safetensors"


def keep_masks(n_shadows: int, n: int, seed: int) -> np.ndarray:
    """[K, N] bool: each example is IN for exactly K//2 shadows (a seeded random permutation of the
    shadows per example); redrawn until every shadow has at least one member."""
    rng = np.random.default_rng([seed, 0x5AD0])
    while True:
        ranks = rng.random((n, n_shadows)).argsort(axis=1).argsort(axis=1)  # per-example permutation
        keep = (ranks < n_shadows // 2).T
        if keep.any(axis=1).all():
            return keep


def shadow_dp_settings(cfg: dict, sizes) -> tuple:
    """One TuneSettings for all shadows (one noise multiplier). DP: calibrated once at the worst case over
    the shadows' member counts N_k — sampling rate B/min N_k, δ = 1/max N_k unless set — so every shadow
    meets (ε, δ) and hence its own (ε, 1/N_k). Returns (settings, dp record or None)."""
    lo, hi = int(min(sizes)), int(max(sizes))
    cfg = {**cfg, "batch_size": min(cfg["batch_size"], lo), "delta": cfg.get("delta") or 1.0 / hi}
    settings, dp = dp_settings(cfg, lo)
    return settings, dp and {**dp, "members_min": lo, "members_max": hi}


def logit_scaled(backbone, enc, label_ids, prompts: torch.Tensor, batch_size: int = 32) -> np.ndarray:
    """[K, N] ``log p_y − log Σ_{y'≠y} p_y'`` of each prompt (of [K, P, H]) on each example."""
    return np.stack([logit_scaled_from_logits(backbone.score_dataset(enc, label_ids, p, batch_size), enc.labels)
                     for p in prompts])


def train_shadows(backbone, enc, label_ids, init: torch.Tensor, keep: np.ndarray, cfg: dict, seed: int,
                  desc: str = "shadows", batch_size: int = 32):
    """Tune K prompts at once (one stacked batch per step), then score them: (prompts, scores, dp)."""
    members = [np.flatnonzero(row) for row in keep]
    settings, dp = shadow_dp_settings(cfg, [len(m) for m in members])
    init_k = init.unsqueeze(0).repeat(len(members), 1, 1)
    prompts, _ = tune_prompts(backbone, enc, label_ids, init_k, settings, members=members, seed=seed, desc=desc)
    return prompts, logit_scaled(backbone, enc, label_ids, prompts, batch_size), dp


def _transfer_shadows(unit, ctx, source, prompts, train, n: int):
    """Transfer each source shadow prompt to the target exactly like the attacked prompt (POST or PTfer),
    then score the transferred prompts on the target: (target prompts [K, P, H], scores [K, N], target)."""
    from post_bench.units.transfer import transfer_one

    cfg, tcfg = unit.config, unit.config["transfer"]
    target = ctx.backbone(tcfg["model"])
    moved = torch.stack([transfer_one(tcfg, ctx, source, target, p, f"{unit.label} transfer {k + 1}/{len(prompts)}")[0]
                         for k, p in enumerate(prompts)])
    enc = ctx.encoded(target, train, f"train-{cfg['seed']}", cfg["max_tokens"]).subset(range(n))
    scores = logit_scaled(target, enc, target.label_token_ids(train.task), moved, cfg.get("eval_batch_size", 32))
    return moved, scores, target


@UNIT_KINDS.register("shadows")
def run_shadows(unit, ctx, work):
    cfg = unit.config
    backbone, train, enc, label_ids, init = private_tuning_inputs(unit, ctx)
    n = min(cfg["population"], len(enc))
    enc = enc.subset(range(n))
    keep = keep_masks(cfg["shadows"], n, cfg["attack_seed"])
    prompts, scores, dp = train_shadows(backbone, enc, label_ids, init, keep, cfg, cfg["attack_seed"],
                                        desc=unit.label, batch_size=cfg.get("eval_batch_size", 32))
    if cfg.get("transfer"):  # the attacked prompt is a transferred one: move every shadow the same way
        prompts, scores, backbone = _transfer_shadows(unit, ctx, backbone, prompts, train, n)
    np.save(work / "scores.npy", scores)
    np.save(work / "keep.npy", keep)
    save_file({"prompts": prompts.contiguous()}, str(work / SHADOW_FILE), metadata={"model": backbone.name})
    return {"n_shadows": int(keep.shape[0]), "population": n, "dp": dp, "model_name": backbone.name}
