"""Operating points of a membership attack: the TPR at a target FPR, with everything that number rests on
(realized FPR, threshold, counts), or the reason it cannot be stated. Pure numpy.

Convention (as in ``metrics``): a higher statistic means "more likely a member"; the attack predicts
"member" when ``statistic >= threshold``. The point for a target FPR f is the threshold with the highest
TPR among those whose realized FPR ``FP / n_nonmembers`` is at most f (the same number as
``metrics.attack_metrics``' ``tpr_at_fpr``), and of those the one with the fewest false positives. With fewer than 1/f non-members the only FPR <= f is 0, and
"TPR at 0.1% FPR" would silently mean "TPR at no false positive": such a point is n/a, with the reason.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from post_bench.attacks.metrics import check_outcomes

FPR_TARGETS: tuple[float, ...] = (0.1, 0.01, 0.001)


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
    """One point of the ROC. ``threshold`` is ``inf`` when the point flags no candidate (every threshold
    that flags one exceeds the target FPR). For an n/a point ``tpr``, ``fpr``, ``threshold``, ``tp`` and
    ``fp`` are None and ``reason`` says why."""

    target_fpr: float
    tpr: float | None
    fpr: float | None
    threshold: float | None
    tp: int | None
    fp: int | None
    n_members: int
    n_nonmembers: int
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.tpr is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (an infinite threshold is written as null with ``flags_nobody``)."""
        d = dataclasses.asdict(self)
        d["flags_nobody"] = self.threshold is not None and math.isinf(self.threshold)
        if d["flags_nobody"]:
            d["threshold"] = None
        return d


def operating_points(statistics, is_member, targets=FPR_TARGETS) -> tuple[OperatingPoint, ...]:
    """One ``OperatingPoint`` per target FPR (each in (0, 1)), in the order given."""
    s, y = check_outcomes(statistics, is_member)
    targets = tuple(float(t) for t in targets)
    for t in targets:
        if not 0.0 < t < 1.0:
            raise ValueError(f"a target FPR must lie in (0, 1); got {t}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), s.size - 1]  # last index of each distinct value
    tp = np.r_[0, np.cumsum(y_sorted)[last]]
    fp = np.r_[0, last + 1 - np.cumsum(y_sorted)[last]]
    thresholds = np.r_[np.inf, s_sorted[last]]
    points = []
    for t in targets:
        if n_neg * t < 1.0:
            need = math.ceil(1.0 / t - 1e-9)
            points.append(OperatingPoint(t, None, None, None, None, None, n_pos, n_neg,
                                         f"{n_neg} non-members: FPR <= {t:g} allows no false positive "
                                         f"(needs >= {need} non-members)"))
            continue
        allowed = math.floor(t * n_neg + 1e-9)  # false positives the target FPR allows
        best = tp[fp <= allowed].max()  # tp and fp are non-decreasing along the thresholds
        i = int(np.flatnonzero(tp == best)[0])  # the highest TPR at the fewest false positives
        points.append(OperatingPoint(t, float(tp[i] / n_pos), float(fp[i] / n_neg), float(thresholds[i]),
                                     int(tp[i]), int(fp[i]), n_pos, n_neg))
    return tuple(points)
