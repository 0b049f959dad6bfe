"""Cost against the private tuning length (report/cost.py: tuning_cost_model, break_even, plot_cost_vs_tuning)
and the one-off distillation in the cost report, on synthetic cost rows with known answers."""

from __future__ import annotations

import math

import pytest

from post_bench.report import render_report
from post_bench.report.cost import (
    DISTILL_CACHED_LABEL,
    break_even,
    cost_vs_tuning_caption,
    distillation_one_off,
    plot_cost,
    plot_cost_vs_tuning,
    suite_costs,
    tuning_cost_model,
    tuning_steps,
)
from post_bench.report.stats import t_interval
from post_bench.report.tables import build_tables
from post_bench.rows import CostRow, DistillRow, parse_results

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(seeds=(0, 1, 2), epsilons=(None,), direct_flops=1e10, source_flops=2e9, transfer_flops=4e9):
    """Cost rows as results.json holds them (``_typed`` reads them). Per seed: direct = tune/target (direct_flops, 10 s + seed); POST = distill → tune/source (source_flops, 2 s)
    → transfer (transfer_flops, 4 s); each evaluated (evaluation excluded from the model)."""
    rows = [{"unit": "d", "kind": "distill", "model_role": "distill", "wall_s": 50.0, "flops": 1e13, "deps": []}]
    for eps in epsilons:
        for s in seeds:
            tag = f"{eps}-{s}"
            rows += [
                {"unit": f"tt{tag}", "kind": "tune", "model_role": "target", "wall_s": 10.0 + s,
                 "flops": direct_flops + 1e8 * s, "deps": []},
                {"unit": f"ed{tag}", "kind": "evaluate", "method": "direct", "dataset": "x", "epsilon": eps, "seed": s,
                 "model_role": "target", "wall_s": 1.0, "flops": 1e9, "deps": [f"tt{tag}"]},
                {"unit": f"ts{tag}", "kind": "tune", "model_role": "source", "wall_s": 2.0, "flops": source_flops,
                 "deps": ["d"]},
                {"unit": f"tr{tag}", "kind": "transfer", "method": "post", "model_role": "target", "wall_s": 4.0,
                 "flops": transfer_flops, "deps": [f"ts{tag}", "d"]},
                {"unit": f"ep{tag}", "kind": "evaluate", "method": "post", "dataset": "x", "epsilon": eps, "seed": s,
                 "model_role": "target", "wall_s": 1.0, "flops": 1e9, "deps": [f"tr{tag}"]},
            ]
    return rows


def _typed(rows):
    return [CostRow.model_validate(r) for r in rows]


SUITE = {"tuning": {"steps": 10}, "methods": [{"name": "direct", "label": None}, {"name": "post", "label": None}]}


def test_break_even_from_synthetic_cost_rows():
    model = tuning_cost_model(_typed(_rows()), SUITE)
    assert model["steps"] == {"direct": 10, "post": 10}
    f = model["epsilons"][math.inf]["flops"]
    # c_d = mean(1e10, 1.01e10, 1.02e10) / 10 = 1.01e9; c_s = 2e9 / 10 = 2e8; T = 4e9 -> n* = 4e9 / 8.1e8
    assert f["per_step_direct"] == pytest.approx(1.01e9) and f["per_step_source"] == pytest.approx(2e8)
    assert f["transfer"] == pytest.approx(4e9) and f["break_even"] == pytest.approx(4e9 / 8.1e8)
    w = model["epsilons"][math.inf]["wall_s"]
    # wall: c_d = 11 / 10, c_s = 2 / 10, T = 4 -> n* = 4 / 0.9
    assert w["break_even"] == pytest.approx(4 / 0.9)
    # the measured points: tuning + transfer per seed, no distillation or evaluation, t-interval over seeds
    ref = t_interval([1e10, 1.01e10, 1.02e10])
    d = f["measured"]["direct"]
    assert (d["steps"], d["mean"], d["ci_low"], d["ci_high"], d["n"]) == pytest.approx((10, ref.mean, ref.low, ref.high, 3))
    assert f["measured"]["post"]["mean"] == pytest.approx(6e9) and f["measured"]["post"]["ci_low"] == pytest.approx(6e9)
    caption = cost_vs_tuning_caption(model)
    assert "n* = T / (c_d − c_s)" in caption and f"n* = {4e9 / 8.1e8:.1f} steps" in caption
    assert f"n* = {4 / 0.9:.1f} steps" in caption and "direct n = 10, POST n = 10" in caption


def test_steps_come_from_the_method_overrides():
    suite = {"tuning": {"steps": 10}, "methods": ["zero_shot", {"name": "direct", "steps": 40},
                                                   {"name": "post", "label": None, "tune_steps": 20, "steps": 300},
                                                   {"name": "post", "label": "post_long", "tune_steps": 80}]}
    assert tuning_steps(suite, "direct") == 40 and tuning_steps(suite, "post") == 20  # `steps` of post: transfer
    assert tuning_steps(suite, "post_long") == 80 and tuning_steps({"tuning": {"steps": 10}}, "direct") == 10
    assert tuning_steps({}, "direct") is None and tuning_steps(None, "post") is None
    model = tuning_cost_model(_typed(_rows()), suite)
    f = model["epsilons"][math.inf]["flops"]
    # c_d = 1.01e10 / 40, c_s = 2e9 / 20
    assert f["per_step_direct"] == pytest.approx(1.01e10 / 40) and f["per_step_source"] == pytest.approx(1e8)
    assert f["break_even"] == pytest.approx(4e9 / (1.01e10 / 40 - 1e8))
    assert f["measured"]["direct"]["steps"] == 40 and f["measured"]["post"]["steps"] == 20


def test_no_break_even_and_no_model():
    assert break_even(1.0, 1.0, 5.0) is None and break_even(1.0, 2.0, 5.0) is None  # never cross for n > 0
    assert break_even(3.0, 1.0, 5.0) == 2.5 and break_even(3.0, 1.0, 0.0) == 0.0
    for bad in ((-1.0, 0.0, 1.0), (1.0, float("nan"), 1.0), (1.0, 0.0, float("inf"))):
        with pytest.raises(ValueError, match="finite cost"):
            break_even(*bad)
    dear = tuning_cost_model(_typed(_rows(source_flops=2e10)), SUITE)  # a source step dearer than a target step
    assert dear["epsilons"][math.inf]["flops"]["break_even"] is None
    assert "no break-even" in cost_vs_tuning_caption(dear)
    assert tuning_cost_model(_typed(_rows()), {"methods": []}) is None  # no step count: no figure
    only_direct = [r for r in _typed(_rows()) if r.method != "post"]
    assert tuning_cost_model(only_direct, SUITE) is None
    assert tuning_cost_model([], SUITE) is None


def test_model_per_epsilon_and_figure(tmp_path):
    rows = _typed(_rows(epsilons=(None, 8.0)))
    model = tuning_cost_model(rows, SUITE)
    assert list(model["epsilons"]) == [8.0, math.inf]
    png = plot_cost_vs_tuning(model, tmp_path / "cost_vs_tuning.png", pdf=True)
    assert png.read_bytes()[:8] == PNG_MAGIC and (tmp_path / "cost_vs_tuning.pdf").stat().st_size > 0
    assert "ε=8, FLOPs" in cost_vs_tuning_caption(model) and "ε=∞, wall time" in cost_vs_tuning_caption(model)


def test_report_draws_the_figure_only_with_post_and_direct(tmp_path):
    utility = [{"dataset": "x", "method": m, "model": "t", "epsilon": None, "seed": s, "accuracy": 0.5 + 0.1 * s,
                "n_test": 10, "num_classes": 2} for m in ("post", "direct", "zero_shot") for s in (0, 1, 2)]
    results = {"schema": 1, "suite": SUITE, "utility": utility, "cost": _rows()}
    names = {p.name for p in render_report(parse_results(results), tmp_path / "a")}
    assert {"cost.png", "cost_vs_tuning.png", "cost_vs_tuning.pdf"} <= names
    md = (tmp_path / "a" / "report.md").read_text()
    assert "](cost_vs_tuning.png)" in md and f"n* = {4e9 / 8.1e8:.1f} steps" in md
    assert md.index("](cost.png)") < md.index("](cost_vs_tuning.png)")
    only_direct = {**results, "cost": [r for r in _rows() if r.get("method") != "post"]}
    assert "cost_vs_tuning.png" not in {p.name for p in render_report(parse_results(only_direct), tmp_path / "b")}


# ---- the one-off distillation ------------------------------------------------------------------------------


def test_one_off_distillation_from_the_cache_record(tmp_path):
    raw = _rows()
    raw[0]["wall_s"], raw[0]["flops"] = 0.4, 0.0  # this run copied the cached student
    rows = _typed(raw)
    record = {"model": "t", "layers": [0, 1], "cached": True,
              "one_off": {"wall_s": 1203.0, "flops": 2.1e15, "device": "cuda"}}
    cached = [DistillRow.model_validate(record)]
    (e,) = distillation_one_off(cached, rows)
    assert e == {"wall_s": 1203.0, "flops": 2.1e15, "device": "cuda", "cached": True, "source": "one_off",
                 "run_wall_s": 0.4}
    (old,) = distillation_one_off([DistillRow(model="t", layers=[0, 1])], rows)  # before the cache: the unit's own
    assert (old["wall_s"], old["cached"], old["source"]) == (0.4, None, "unit")
    assert distillation_one_off(None, []) == []
    c = suite_costs(rows, cached)
    assert c["distill"] == {"wall_s": 0.4, "flops": 0.0, "units": 1} and c["one_off"] == [e]
    assert plot_cost(rows, tmp_path / "cost.png", distill_rows=cached).read_bytes()[:8] == PNG_MAGIC
    results = parse_results({"schema": 2, "cost": raw, "distill": [record]})
    table = next(t for t in build_tables(results)["cost"] if "one-off" in t.title.lower())
    assert table.rows == (("cache (an earlier run)", "1203.0", "2.10e+15", "cuda", "0.4", "one_off record"),)
    assert "one-off, from the cache" in DISTILL_CACHED_LABEL
