"""``membership`` unit: a registered membership attack (lira, rmia, loss, ...) over a ``shadows`` unit's arrays
(re-analysis never retrains). The logic is in ``post_bench.attacks.membership``.

Most attacks read the shadows unit's logit-scaled confidences (``scores.npy``). An attack with ``own_scores``
scores the same prompts (the attacked one and the shadows, as the shadows unit moved them) on the same scored
population itself, on the model its config names (``scorer``), and keeps what it computed (``scores.npy``)."""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import load_file

from post_bench.attacks.base import ATTACKS, Examples
from post_bench.attacks.membership import statistics_row, variant_statistics
from post_bench.attacks.shadows import scored_examples
from post_bench.models.soft_prompt import load_prompt
from post_bench.samples import write_samples
from post_bench.unit.schemas import MembershipConfig, MembershipRecord, ShadowsConfig, ShadowsRecord
from post_bench.units import unit_kind
from post_bench.units.shadows import SHADOW_FILE


def membership_samples(stats: np.ndarray, member: np.ndarray) -> list[dict]:
    """One samples row per (prompt, example): the attack's statistic and the true membership."""
    return [{"prompt": int(p), "example": int(e), "statistic": float(stats[p, e]), "member": bool(member[p, e])}
            for p in range(stats.shape[0]) for e in range(stats.shape[1])]


def own_scores(attack, unit, ctx, deps) -> np.ndarray:
    """[1 + K, n]: the attack's own signal of the attacked prompt (row 0) and the K shadows on the population the
    shadows unit scored (its config says which examples: ``population`` of them, drawn with ``attack_seed``)."""
    shadows: ShadowsConfig = unit.deps["shadows"].cfg
    train, holdout = ctx.population(shadows.dataset, shadows.seed)
    pool = train.concat(holdout)
    idx = scored_examples(len(train), shadows.population, shadows.attack_seed)
    scorer = ctx.backbone(ctx.model_name(unit, "scorer"))
    enc = ctx.encoded(scorer, pool, f"population-{shadows.seed}", shadows.max_tokens).subset(idx)
    examples = Examples(scorer, tuple(pool.texts[i] for i in idx), enc.labels, train.task, shadows.max_tokens,
                        batch_size=shadows.eval_batch_size, seed=shadows.attack_seed, encoded=enc)
    moved = load_file(str(deps["shadows"].folder / SHADOW_FILE))["prompts"]
    attacked, _ = load_prompt(deps["prompt"].folder / "prompt")
    return attack.scores(examples, torch.cat([attacked.unsqueeze(0).to(moved), moved]))


@unit_kind("membership")
def run_membership(unit, ctx, work, deps) -> MembershipRecord:
    cfg: MembershipConfig = unit.cfg
    folder = deps["shadows"].folder
    cls = ATTACKS.get(cfg.attack)
    attack = cls(cls.Params.model_validate(cfg.params or {}))
    if attack.own_scores:
        scores = own_scores(attack, unit, ctx, deps)
        np.save(work / "scores.npy", scores)
    else:
        scores = np.load(folder / "scores.npy", allow_pickle=False)
    keep = np.load(folder / "keep.npy", allow_pickle=False)
    record: ShadowsRecord = deps["shadows"].record
    mech = record.mechanism
    # δ of the attacked prompt's guarantee; non-private: 1/N of its training set
    delta = mech["attacked"]["delta"] or 1.0 / mech["attacked"]["n"]
    base = {"dataset": cfg.dataset, "method": cfg.method, "epsilon": cfg.epsilon, "seed": cfg.seed,
            "claimed_epsilon": cfg.epsilon,
            "mechanism": mech}
    rows = []
    for variant in cfg.variants:
        name, stats, member = variant_statistics(cfg.attack, variant, scores, keep, attack=attack)
        row = statistics_row(name, stats, member, delta=delta, base=base, seed=cfg.seed)
        row["n_boot"] = 1000
        row["samples"] = write_samples(work, membership_samples(stats, member), "membership",
                                       f"samples-{variant}.jsonl.gz")
        rows.append(row)
    return MembershipRecord(privacy=rows, model_name=record.model_name)
