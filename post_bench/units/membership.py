"""``membership`` unit: a registered membership attack (lira, rmia, loss) over a ``shadows`` unit's arrays
(re-analysis never retrains). The logic is in ``post_bench.attacks.membership``."""

from __future__ import annotations

import numpy as np

from post_bench.attacks.membership import membership_rows
from post_bench.unit.schemas import MembershipConfig, MembershipRecord, ShadowsRecord
from post_bench.units import unit_kind


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
    rows = membership_rows(cfg.attack, cfg.variants, scores, keep, delta=delta, base=base, seed=cfg.seed)
    return MembershipRecord(privacy=rows, model_name=record.model_name)
