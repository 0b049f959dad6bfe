"""From a tuning config to the settings of one private training run (shared by tune units and shadows)."""

from __future__ import annotations

from dataclasses import dataclass

from post_bench.errors import UserInputError, problem
from post_bench.training.accounting import calibrate
from post_bench.training.prompt_tuning import TuneSettings
from post_bench.unit.schemas import TuneConfig


@dataclass(frozen=True)
class TuneKnobs:
    """What ``tune_settings`` reads of a tuning config: a unit's ``TuneConfig`` has these, and an audit's shadow
    recipe builds one (it has no data set, model or role)."""

    epsilon: float | None
    steps: int
    batch_size: int
    lr: float
    dp_lr: float | None
    clip: float
    delta: float | None
    accountant: str
    micro_batch: int


def tune_settings(cfg: TuneConfig | TuneKnobs, n: int) -> tuple[TuneSettings, dict | None]:
    """Tuning settings for ``n`` private examples; for finite ε the noise from the accountant (δ = 1/n unless set).

    The returned DP record holds everything that defines the mechanism: n, steps, batch size, sampling rate
    q = batch/n, noise multiplier σ, clip, δ and the accountant."""
    eps = cfg.epsilon
    steps, batch = cfg.steps, min(cfg.batch_size, n)
    if eps is None:
        return TuneSettings(steps, batch, cfg.lr, micro_batch=cfg.micro_batch), None
    delta = cfg.delta or 1.0 / n
    try:
        cal = calibrate(eps, delta, batch / n, steps, cfg.accountant)
    except ValueError as err:  # the budget cannot buy this ε: bad input (exit 2), not a crash
        raise UserInputError(problem("suite", "epsilons", f"{eps:g} cannot be met by DP-SGD ({steps} steps, "
                                     f"batch {batch} of {n}): {err}", "a larger epsilon")) from None
    broken = getattr(cfg, "broken_dp", None)
    if broken:  # a privacy-regression control: the accountant's claim stays, the mechanism is weakened
        settings = TuneSettings(steps, batch, cfg.dp_lr or cfg.lr, clip=cfg.clip,
                                noise_multiplier=cal.noise_multiplier * broken["noise_scale"],
                                micro_batch=cfg.micro_batch, clipping=broken["clipping"])
        return settings, {**cal.to_dict(), "n": n, "batch_size": batch, "clip": cfg.clip,
                          "broken_dp": {**broken, "noise_multiplier_used": settings.noise_multiplier,
                                        "note": "deliberately broken DP-SGD: the claimed epsilon is false"}}
    settings = TuneSettings(steps, batch, cfg.dp_lr or cfg.lr, clip=cfg.clip,
                            noise_multiplier=cal.noise_multiplier, micro_batch=cfg.micro_batch)
    return settings, {**cal.to_dict(), "n": n, "batch_size": batch, "clip": cfg.clip}


def mechanism(cfg: TuneConfig, n: int, dp: dict | None) -> dict:
    """What a results row records about how a prompt was trained (non-private runs: σ = 0)."""
    base = {"n": n, "steps": cfg.steps, "batch_size": min(cfg.batch_size, n),
            "sample_rate": min(cfg.batch_size, n) / n, "epsilon": cfg.epsilon}
    if dp is None:
        return {**base, "noise_multiplier": 0.0, "delta": None}
    out = {**base, "noise_multiplier": dp["noise_multiplier"], "delta": dp["delta"], "accountant": dp["accountant"],
           "clip": dp.get("clip")}
    return {**out, "broken_dp": dp["broken_dp"]} if dp.get("broken_dp") else out
