"""DP-SGD calibration with opacus accountants: the noise multiplier that meets a target (ε, δ)."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

ACCOUNTANTS = ("prv", "rdp")


@dataclass(frozen=True)
class DPCalibration:
    epsilon: float  # target
    delta: float
    sample_rate: float
    steps: int
    noise_multiplier: float
    accountant: str  # the accountant that produced noise_multiplier
    epsilon_spent: float  # what that accountant reports for noise_multiplier (<= epsilon)

    def to_dict(self) -> dict:
        return asdict(self)


def spent_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float, accountant: str = "rdp") -> float:
    from opacus.accountants import create_accountant  # deferred: start-up time (opacus)

    acc = create_accountant(mechanism=accountant)
    acc.history = [(noise_multiplier, sample_rate, steps)]
    return float(acc.get_epsilon(delta=delta))


def calibrate(epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str = "prv") -> DPCalibration:
    """Solve the noise multiplier for (ε, δ) after ``steps`` Poisson-sampled steps at ``sample_rate``.

    Tries ``accountant`` first (PRV by default) and falls back to RDP if it fails; records which one ran.
    """
    from opacus.accountants.utils import get_noise_multiplier  # deferred: start-up time (opacus)

    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be a positive finite number, got {epsilon}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")
    if not 0 < sample_rate <= 1:
        raise ValueError(f"sample rate must be in (0, 1], got {sample_rate}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {ACCOUNTANTS}, got {accountant!r}")
    order = [accountant] + [a for a in ACCOUNTANTS if a != accountant]
    errors = []
    for name in order:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sigma = get_noise_multiplier(target_epsilon=epsilon, target_delta=delta, sample_rate=sample_rate,
                                             steps=steps, accountant=name, epsilon_tolerance=0.01)
                spent = spent_epsilon(sigma, sample_rate, steps, delta, name)
            if not (spent > 0 and math.isfinite(spent)):  # an accountant's numerical failure, never a result
                raise ValueError(f"the accountant reports epsilon spent {spent:g} for target {epsilon:g}")
            return DPCalibration(epsilon, delta, sample_rate, steps, float(sigma), name, spent)
        except Exception as err:  # PRV can fail for extreme settings: fall back
            errors.append(f"{name}: {err}")
    raise ValueError("no accountant could calibrate the noise: " + "; ".join(errors))
