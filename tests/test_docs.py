"""The documentation stays true: the suite reference matches the schema, the results page is rendered from the
committed results.json files, links resolve, and the README keeps its set-up contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
REGENERATE_REFERENCE = "python -m post_bench.report.suite_reference --out docs/suite-reference.md"
REGENERATE_RESULTS = "python -m post_bench.report.results_page --out docs/results.md"


def test_every_schema_field_has_a_description():
    """What a key means lives in the schema: each field of the suite models and the methods' Params models."""
    from post_bench.report.suite_reference import meaning, schema_fields

    missing = [f"{model.__name__}.{name}" for model, name in schema_fields() if not meaning(model, name)]
    assert not missing, f"give these schema fields a Field(description=...) (what the key means): {missing}"


def test_every_suite_model_has_a_section():
    """Every pydantic model of post_bench/suite.py with fields is documented (found from Suite down)."""
    import pydantic

    from post_bench import suite
    from post_bench.report.suite_reference import sections

    defined = {m for m in vars(suite).values() if isinstance(m, type) and issubclass(m, pydantic.BaseModel)
               and m.__module__ == suite.__name__ and m.model_fields}
    documented = {model for _, _, model in sections()}
    assert defined <= documented, f"not reachable from Suite: {sorted(m.__name__ for m in defined - documented)}"


def test_meanings_come_from_the_schema_descriptions():
    """The page shows each field's description; a field without one is marked undocumented (and fails above)."""
    from pydantic import BaseModel

    from post_bench.report import suite_reference
    from post_bench.report.suite_reference import UNDOCUMENTED, _table, meaning, render, schema_fields

    assert not hasattr(suite_reference, "MEANINGS")
    page = render()
    for model, name in schema_fields():
        assert meaning(model, name).replace("|", "\\|") in page, f"{model.__name__}.{name}"

    class Bare(BaseModel):
        x: int = 1

    assert meaning(Bare, "x") is None
    assert UNDOCUMENTED in "\n".join(_table(Bare, ""))


def test_suite_reference_page_matches_the_schema():
    from post_bench.report.suite_reference import render

    page = (DOCS / "suite-reference.md").read_text(encoding="utf-8")
    assert page == render(), f"docs/suite-reference.md is out of date with the schema; run: {REGENERATE_REFERENCE}"


def test_suite_reference_lists_every_key_with_its_default():
    from post_bench.report.suite_reference import render
    from post_bench.suite import Budget, Suite, TuningConfig

    page = render()
    for name in Suite.model_fields:
        assert f"| `{name}` |" in page
    assert "| `budget.prompt_length` | int (≥ 1, ≤ 512) | `10` |" in page
    assert f"| `tuning.accountant` | `prv` \\| `rdp` | `{TuningConfig().accountant}` |" in page
    assert f"`budget.train_size` | int (≥ 8) | `{Budget().train_size}`" in page
    assert "### Parameters of `post`" in page and "| `methods[].alpha` |" in page
    assert "no meaning documented" not in page


def test_results_page_renders_from_the_committed_reports(tmp_path):
    """One command; every committed report appears, with numbers taken from its results.json."""
    from post_bench.report.results_page import main, report_folders

    out = tmp_path / "results.md"
    assert main(["--reports", str(ROOT / "reports"), "--suites", str(ROOT / "suites"), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    folders = report_folders(ROOT / "reports")
    assert folders
    for folder in folders:
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        assert f"(`reports/{folder.name}/`)" in page
        membership = [r for r in results.get("privacy", []) if r.get("attack") != "one_run" and r.get("auc") is not None]
        if membership:
            assert f"{max(r['auc'] for r in membership):.3f}" in page
        zero_shot = [r["accuracy"] for r in results.get("utility", []) if r.get("method") == "zero_shot"]
        if zero_shot:
            by_ds = {}
            for r in results["utility"]:
                if r.get("method") == "zero_shot":
                    by_ds.setdefault(r["dataset"], []).append(r["accuracy"])
            for values in by_ds.values():
                assert f"| zero_shot | (no private data: as ε=∞) | {100 * sum(values) / len(values):.1f}" in page


def test_committed_results_page_is_up_to_date():
    from post_bench.report.results_page import render

    page = (DOCS / "results.md").read_text(encoding="utf-8")
    assert page == render(ROOT / "reports", ROOT / "suites"), (
        f"docs/results.md does not match reports/*/results.json; run: {REGENERATE_RESULTS}")


def _markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: p.name)
def test_relative_links_resolve(path):
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#", 1)[0]
        assert (path.parent / file).exists(), f"{path.name}: link to {target} does not resolve"


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: p.name)
def test_docs_do_not_cite_files_outside_the_repository(path):
    assert "PAPER.md" not in path.read_text(encoding="utf-8"), f"{path.name} cites PAPER.md, which is not in the repo"


def test_readme_is_short_and_keeps_its_set_up_contract():
    text = README.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 150
    commands = [line for line in lines if line.startswith("python3 -m venv .venv && ")]
    assert len(commands) == 2, "the README has exactly two set-up commands"
    assert all("pip install torch==2.13.0 && " in c for c in commands)
    assert commands[0].endswith("&& .venv/bin/post-bench run suites/quickstart.yaml --jobs 2")
    marker = lines.index("<!-- test-command -->")
    assert lines[marker + 1] == "```bash" and lines[marker + 2] == commands[1]  # what .ci/run extracts
    assert commands[1].endswith("&& .venv/bin/ruff check post_bench tests && .venv/bin/python -m pytest")
    assert commands[0].split(" && ")[:4] == commands[1].split(" && ")[:4]  # the same install
    assert "QUICKSTART_TIME" in text or re.search(r"\d+ min", text), "the quickstart time line is missing"


def test_license_and_citation():
    license_text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert 'license = { text = "Apache-2.0" }' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["license"] == "Apache-2.0" and cff["type"] == "software"
    (paper,) = cff["references"]
    assert paper["title"] == "Efficient and Privacy-Preserving Soft Prompt Transfer for LLMs" and paper["year"] == 2025
    assert [a["family-names"] for a in paper["authors"]] == [
        "Wang", "Xu", "Boenisch", "Backes", "Choquette-Choo", "Dziedzic"]
    assert "2506.16196" in json.dumps(paper)
