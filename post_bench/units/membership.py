"""``membership`` unit: a registered membership attack (lira, rmia, loss) over a ``shadows`` unit's arrays
(re-analysis never retrains). The logic is in ``post_bench.attacks.membership``."""

from __future__ import annotations

import numpy as np

from post_bench.attacks.membership import statistics_row, variant_statistics
from post_bench.samples import write_samples
from post_bench.unit.schemas import MembershipConfig, MembershipRecord, ShadowsRecord
from post_bench.units import unit_kind


def membership_samples(stats: np.ndarray, member: np.ndarray) -> list[dict]:
    """One samples row per (prompt, example): the attack's statistic and the true membership."""
    return [{"prompt": int(p), "example": int(e), "statistic": float(stats[p, e]), "member": bool(member[p, e])}
            for p in range(stats.shape[0]) for e in range(stats.shape[1])]


@unit_kind("membership")
def run_membership(unit, ctx, work, deps) -> MembershipRecord:
    cfg: MembershipConfig = unit.cfg
    folder = deps["shadows"].folder
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
        name, stats, member = variant_statistics(cfg.attack, variant, scores, keep)
        row = statistics_row(name, stats, member, delta=delta, base=base, seed=cfg.seed)
        row["n_boot"] = 1000
        row["samples"] = write_samples(work, membership_samples(stats, member), "membership",
                                       f"samples-{variant}.jsonl.gz")
        rows.append(row)
    return MembershipRecord(privacy=rows, model_name=record.model_name)
