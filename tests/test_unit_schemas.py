"""Typed unit configs and records (post_bench.unit.schemas): planning through them changes no unit id.

``tests/data/planned_units.json`` holds every unit (id, kind, config, inputs) that the untyped planner (dict
configs) made for the committed suites, captured before the configs were typed; the typed planner must make
exactly those units, since unit directories, resumed runs and the committed reports are keyed by these ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from post_bench.checks import load_suite
from post_bench.commands.run import plan_suite
from post_bench.methods import Planner
from post_bench.methods.base import TuneOverrides
from post_bench.methods.post import PostParams, SourceTuning, tune_overrides
from post_bench.methods.ptfer import PtferParams
from post_bench.suite import TuningConfig
from post_bench.unit import Unit
from post_bench.unit.schemas import (
    SCHEMAS,
    TransferConfig,
    TuneConfig,
    TuneKnobs,
    TuneRecord,
    UnitConfigError,
)

ROOT = Path(__file__).resolve().parents[1]
BEFORE = json.loads((ROOT / "tests" / "data" / "planned_units.json").read_text())


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_typed_planner_makes_the_same_units_as_the_untyped_one(name):
    plan = plan_suite(load_suite(str(ROOT / "suites" / f"{name}.yaml")))
    now = {u.id: {"kind": u.kind, "config": json.loads(json.dumps(u.config)),
                  "deps": {k: d.id for k, d in sorted(u.deps.items())}} for u in plan}
    assert sorted(now) == sorted(BEFORE[name])  # ids hash kind, config (exact JSON) and inputs
    assert now == BEFORE[name]
    for unit in plan:  # every config reads back through its kind's model to the same dict
        assert unit.cfg.dump() == unit.config
        assert Unit(unit.kind, unit.cfg, unit.deps).id == unit.id


def test_every_unit_kind_has_a_config_and_a_record():
    from post_bench.units import UNIT_KINDS, load_unit_kinds

    load_unit_kinds()
    assert set(SCHEMAS) == set(UNIT_KINDS.names())


def _tune_values(**change):
    values = dict(next(u["config"] for u in BEFORE["smoke"].values() if u["kind"] == "tune"))
    values.update(change)
    return values


def test_a_renamed_or_missing_key_fails_when_planned_with_its_name():
    with pytest.raises(UnitConfigError, match=r"TuneConfig: stepz: Extra inputs are not permitted"):
        TuneConfig.of(**_tune_values(stepz=3))
    values = _tune_values()
    del values["steps"]
    with pytest.raises(UnitConfigError, match=r"TuneConfig: steps: Field required"):
        TuneConfig.of(**values)
    with pytest.raises(UnitConfigError, match="not the config of a 'evaluate' unit"):
        Unit("evaluate", TuneConfig.of(**_tune_values()))


def test_optional_keys_stay_out_unless_set():
    base = {"method": "ptfer", "model": "m", "source_model": "s", "dataset": "d", "seed": 0, "epsilon": None,
            "precision": "fp32", "steps": 3, "lr": 0.1, "anchors": 8}
    assert TransferConfig.of(**base).dump() == base
    assert TransferConfig.of(**base, label="x").dump() == {**base, "label": "x"}
    with pytest.raises(UnitConfigError, match="ptfer transfer needs anchors"):
        TransferConfig.of(**{k: v for k, v in base.items() if k != "anchors"})


def test_records_load_from_done_json_leaving_the_executor_keys_aside():
    done = {"dp": None, "loss_curve": [1.0], "n_train": 8, "model_name": "m", "cost": [{}], "unit": {}, "files": {}}
    record = TuneRecord.load(done)
    assert (record.n_train, record.dp) == (8, None)
    assert record.dump() == {"dp": None, "loss_curve": [1.0], "n_train": 8, "model_name": "m"}


def test_one_override_model_two_spellings():
    assert [f.removeprefix("tune_") for f in SourceTuning.model_fields] == list(TuneOverrides.model_fields)
    assert tune_overrides(PostParams(tune_steps=7, tune_dp_lr=0.5)) == TuneOverrides(steps=7, dp_lr=0.5)
    assert tune_overrides(PtferParams(tune_lr=0.2)) == TuneOverrides(lr=0.2)
    with pytest.raises(ValueError):
        PostParams(tune_steps=0)
    suite = load_suite(str(ROOT / "suites" / "smoke.yaml"))
    tuning = Planner(suite).tuning_cfg(TuneOverrides(steps=7))
    assert tuning == {**suite.tuning.model_dump(exclude={"broken_dp"}), "steps": 7}  # unset: not in unit configs


def test_one_tuning_recipe_from_the_suite_to_a_tune_unit():
    """The suite's tuning block parses exactly the knobs of TuneKnobs (ε comes from the suite's epsilons), and a
    tune unit's config is a TuneKnobs: tune_settings and the mechanism record read the same type everywhere."""
    assert set(TuningConfig.model_fields) == set(TuneKnobs.model_fields) - {"epsilon"}
    knobs = TuningConfig(steps=7).knobs(8.0)
    assert isinstance(knobs, TuneKnobs) and (knobs.steps, knobs.epsilon, knobs.broken_dp) == (7, 8.0, None)
    tune = TuneConfig.of(**_tune_values())
    assert isinstance(tune, TuneKnobs)
    assert TuneKnobs.of(**tune.model_dump(include=set(TuneKnobs.model_fields))).steps == tune.steps
