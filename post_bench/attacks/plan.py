"""Units for the suite's ``attacks`` section."""

from __future__ import annotations


def attack_units(planner) -> list:
    from post_bench.runner.units import UNIT_KINDS, load_unit_kinds

    load_unit_kinds()
    units = []
    for attack in planner.suite.attacks:
        builder = ATTACK_PLANNERS.get(attack.name)
        if builder is None or attack.name not in UNIT_KINDS:
            continue
        units.extend(builder(planner, attack))
    return units


ATTACK_PLANNERS: dict = {}
