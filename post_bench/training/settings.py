"""From a tuning recipe (:class:`post_bench.unit.schemas.TuneKnobs`) to the settings of one training run (shared by
tune units, shadows and the audit's shadows). Imports no torch: the audit reads it before loading a model."""

from __future__ import annotations

from dataclasses import dataclass

from post_bench.epsilon import is_private
from post_bench.errors import UserInputError, problem
from post_bench.training.accounting import calibrate
from post_bench.unit.schemas import TuneKnobs


@dataclass(frozen=True)
class TuneSettings:
    """One training run's settings, resolved from a recipe: the batch capped at the data size, the learning rate
    of a private or non-private run, and the noise multiplier the accountant solved for (None: non-private)."""

    steps: int
    batch_size: int
    lr: float
    clip: float = 1.0
    noise_multiplier: float | None = None  # None: non-private
    micro_batch: int = 64
    clipping: bool = True  # False only in a deliberately broken mechanism (privacy-regression controls)

    @property
    def private(self) -> bool:
        return self.noise_multiplier is not None


def tune_settings(knobs: TuneKnobs, n: int) -> tuple[TuneSettings, dict | None]:
    """Tuning settings for ``n`` private examples; for finite ε the noise from the accountant (δ = 1/n unless set).

    The returned DP record holds everything that defines the mechanism: n, steps, batch size, sampling rate
    q = batch/n, noise multiplier σ, clip, δ and the accountant."""
    eps = knobs.epsilon
    steps, batch = knobs.steps, min(knobs.batch_size, n)
    if not is_private(eps):
        return TuneSettings(steps, batch, knobs.lr, micro_batch=knobs.micro_batch), None
    delta = knobs.delta or 1.0 / n
    try:
        cal = calibrate(eps, delta, batch / n, steps, knobs.accountant)
    except ValueError as err:  # the budget cannot buy this ε: bad input (exit 2), not a crash
        raise UserInputError(problem("suite", "epsilons", f"{eps:g} cannot be met by DP-SGD ({steps} steps, "
                                     f"batch {batch} of {n}): {err}", "a larger epsilon")) from None
    broken = knobs.broken_dp
    if broken:  # a privacy-regression control: the accountant's claim stays, the mechanism is weakened
        settings = TuneSettings(steps, batch, knobs.dp_lr or knobs.lr, clip=knobs.clip,
                                noise_multiplier=cal.noise_multiplier * broken["noise_scale"],
                                micro_batch=knobs.micro_batch, clipping=broken["clipping"])
        return settings, {**cal.to_dict(), "n": n, "batch_size": batch, "clip": knobs.clip,
                          "broken_dp": {**broken, "noise_multiplier_used": settings.noise_multiplier,
                                        "note": "deliberately broken DP-SGD: the claimed epsilon is false"}}
    settings = TuneSettings(steps, batch, knobs.dp_lr or knobs.lr, clip=knobs.clip,
                            noise_multiplier=cal.noise_multiplier, micro_batch=knobs.micro_batch)
    return settings, {**cal.to_dict(), "n": n, "batch_size": batch, "clip": knobs.clip}


def mechanism(knobs: TuneKnobs, n: int, dp: dict | None) -> dict:
    """What a results row records about how a prompt was trained (non-private runs: σ = 0)."""
    base = {"n": n, "steps": knobs.steps, "batch_size": min(knobs.batch_size, n),
            "sample_rate": min(knobs.batch_size, n) / n, "epsilon": knobs.epsilon}
    if dp is None:
        return {**base, "noise_multiplier": 0.0, "delta": None}
    out = {**base, "noise_multiplier": dp["noise_multiplier"], "delta": dp["delta"], "accountant": dp["accountant"],
           "clip": dp.get("clip")}
    return {**out, "broken_dp": dp["broken_dp"]} if dp.get("broken_dp") else out
