"""Attack base classes and the ``ATTACKS`` registry (one file per attack; ``post-bench ls attacks``).

A *membership* attack turns the scores of M prompts on a population (each prompt tuned on a random half,
``keep`` [M, N]) into one statistic per (target prompt, example), each prompt attacked in turn with the
others as its reference (shadow) prompts. Other attacks (extraction, one_run) plan their own units.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from post_bench.registry import Registry


class Attack:
    name: ClassVar[str]
    description: ClassVar[str] = ""
    kind: ClassVar[str] = "membership"  # membership | canaries | prompt
    variants: ClassVar[tuple[str, ...]] = ()
    default_variants: ClassVar[tuple[str, ...]] = ()  # what a suite gets without ``variants``


class MembershipAttack(Attack):
    """``statistic(target, refs, refs_in, variant)``: ``[N]``, higher = more likely a member of ``target``'s set."""

    needs_references: ClassVar[bool] = True

    def statistic(self, target: np.ndarray, refs: np.ndarray, refs_in: np.ndarray, variant: str) -> np.ndarray:
        raise NotImplementedError

    def row_name(self, variant: str) -> str:
        return self.name if variant == "default" else f"{self.name}-{variant}"


ATTACKS: Registry[type[Attack]] = Registry("attack")


def load_attacks() -> None:
    """Import the modules that register attacks."""
    from post_bench.attacks import (  # noqa: F401  # deferred: registry loop; start-up time (scipy, torch)
        extraction,
        lira,
        loss,
        one_run,
        rmia,
    )
