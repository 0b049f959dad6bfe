"""results.json against its committed JSON Schema (post_bench/schemas/results.schema.json, draft 2020-12):
every committed report (schema 1, or 2 once regenerated), the same files upgraded with aggregates, and the
aggregates against the report's own utility table."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from post_bench.report import READABLE, SCHEMA, load_results, schema_path
from post_bench.report.aggregates import aggregates
from post_bench.report.tables import utility_table
from post_bench.rows import parse_results, results_json_schema

ROOT = Path(__file__).resolve().parents[1]
REPORTS = sorted((ROOT / "reports").glob("*/results.json"))
CANDIDATES = sorted((ROOT / "reports").glob("*/layers-*/results.json"))  # the source frontier's runs


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, data) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)][:5]


def test_the_schema_ships_with_the_package():
    assert schema_path().is_file() and schema_path().parent.name == "schemas"
    text = (ROOT / "pyproject.toml").read_text()
    assert '"schemas/*.json"' in text
    assert json.loads(schema_path().read_text())["properties"]["schema"]["enum"] == list(READABLE)


@pytest.mark.parametrize("path", REPORTS + CANDIDATES,
                         ids=[str(p.parent.relative_to(ROOT / "reports")) for p in REPORTS + CANDIDATES])
def test_committed_reports_validate(validator, path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] in READABLE
    assert not _errors(validator, data), _errors(validator, data)
    load_results(path)  # and the report reads it
    upgraded = {**data, "schema": SCHEMA, "aggregates": aggregates(parse_results(data)).dump()}
    if "claims" not in upgraded:
        from post_bench.report.claims import from_results

        upgraded["claims"] = [c.dump() for c in from_results(parse_results(upgraded))]
    assert not _errors(validator, upgraded), _errors(validator, upgraded)


def test_committed_schema_is_generated_from_the_row_types():
    """The committed file is what ``python -m post_bench.rows`` writes from post_bench/rows.py."""
    committed = json.loads(schema_path().read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(results_json_schema())), (
        "post_bench/schemas/results.schema.json is stale: run `python -m post_bench.rows`")


def test_reports_exist():
    assert REPORTS, "no committed reports/*/results.json"


def test_schema_2_requires_aggregates_and_rejects_bad_rows(validator):
    data = json.loads(REPORTS[0].read_text(encoding="utf-8"))
    data.pop("aggregates", None)  # a schema-1 body (committed reports may already be schema 2)
    assert _errors(validator, {**data, "schema": 2})  # aggregates missing
    good = {**data, "schema": 2, "aggregates": aggregates(parse_results(data)).dump(), "claims": data.get("claims", [])}
    assert not _errors(validator, good)
    bad_row = {**good, "utility": [{**good["utility"][0], "accuracy": "0.5"}]}
    assert any("accuracy" in e for e in _errors(validator, bad_row))
    bad_agg = {**good, "aggregates": {**good["aggregates"], "utility": [{**good["aggregates"]["utility"][0], "ci": [0.1]}]}}
    assert _errors(validator, bad_agg)
    assert _errors(validator, {**good, "schema": 3})


def test_utility_aggregates_are_the_report_table_numbers():
    """The aggregates are computed like the report's utility table (``cell_interval``), cell by cell."""
    fixture = json.loads((ROOT / "tests" / "fixtures" / "results_small.json").read_text())
    for data in [fixture, *(json.loads(p.read_text()) for p in REPORTS)]:
        results = parse_results(data)
        table = utility_table(results.utility)
        agg = aggregates(results).dump()["utility"]
        assert len(table.rows) == len(agg)
        for row, cell in zip(table.rows, agg):
            assert row[:3] == (cell["dataset"], cell["method"], cell["model"])
            assert row[4] == f"{100 * cell['mean']:.1f}" and row[7] == str(len(cell["seeds"]))
            ci = "—" if cell["ci"] is None else f"[{100 * cell['ci'][0]:.1f}, {100 * cell['ci'][1]:.1f}]"
            assert row[5] == ci


def test_privacy_aggregates_use_t_over_seeds_or_the_row_bootstrap():
    rows = [{"dataset": "d", "method": "post", "epsilon": 8, "attack": "lira-online", "seed": s, "auc": a,
             "ci": {"auc": [a - 0.05, a + 0.05]}, "n_examples": 64} for s, a in enumerate([0.52, 0.56, 0.54])]
    multi = aggregates(parse_results({"schema": 2, "privacy": rows})).dump()["privacy"]
    assert multi[0]["ci_method"] == "t over seeds" and multi[0]["mean_auc"] == pytest.approx(0.54)
    assert multi[0]["seeds"] == [0, 1, 2] and multi[0]["epsilon"] == 8.0
    one = aggregates(parse_results({"schema": 2, "privacy": rows[:1]})).dump()["privacy"][0]
    assert one["ci_method"] == "percentile bootstrap over examples" and one["ci"] == pytest.approx([0.47, 0.57])


def test_load_results_reads_schema_1_and_2_only(tmp_path):
    for version in READABLE:
        p = tmp_path / f"r{version}.json"
        p.write_text(json.dumps({"schema": version, "utility": []}))
        assert load_results(p).schema_ == version
    p = tmp_path / "r3.json"
    p.write_text(json.dumps({"schema": 3}))
    with pytest.raises(ValueError, match="allowed: 1, 2"):
        load_results(p)
