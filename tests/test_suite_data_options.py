"""``datasets.private[]`` entries as mappings: template, label words, instruction and columns per data set."""

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from post_bench.checks import load_suite
from post_bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = "Review: {text}\nVerdict:"


def _csv(path: Path, n: int = 40) -> Path:
    good = ["a lovely film", "great acting", "wonderful story", "superb music", "a joy to watch"]
    bad = ["a dull film", "awful acting", "boring story", "terrible music", "a pain to watch"]
    rows = ["review,sentiment"]
    for i in range(n):
        words = good if i % 2 else bad
        rows.append(f"{words[i % 5]} number {i},{'pos' if i % 2 else 'neg'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def _suite(entry) -> dict:
    return {"name": "data-options", "seeds": [0], "threads": 1, "precision": "fp32",
            "models": {"target": "tiny-gpt2:layers=2,hidden=64"},
            "datasets": {"private": [entry]},
            "budget": {"train_size": 16, "val_size": 0, "test_size": 16, "public_size": 8, "max_tokens": 24,
                       "prompt_length": 2, "eval_batch_size": 16},
            "tuning": {"steps": 2, "batch_size": 4},
            "methods": ["zero_shot", "direct"]}


def test_plain_names_plan_as_before():
    from post_bench.methods.base import Planner

    suite = load_suite(ROOT / "suites/smoke.yaml")
    assert suite.model_dump(mode="json")["datasets"]["private"] == ["election-tweets"]
    cfg = Planner(suite).data_cfg(suite.datasets.private[0], 0)
    assert "data_options" not in cfg and type(cfg["dataset"]) is str


def test_csv_with_custom_columns_and_template_runs(tmp_path, run_suite):
    from post_bench.models.soft_prompt import load_prompt

    data = _csv(tmp_path / "reviews.csv")
    entry = {"name": f"path:{data}", "template": TEMPLATE, "label_words": [" bad", [" good", " great"]],
             "instruction": "Is the review good or bad?", "text_column": "review", "label_column": "sentiment"}
    out, results = run_suite(_suite(entry), tmp_path)
    assert {r["method"] for r in results["utility"]} == {"zero_shot", "direct"}
    assert all(r["n_test"] == 16 for r in results["utility"])
    assert results["suite"]["datasets"]["private"][0]["template"] == TEMPLATE
    (prompt_dir,) = [p for p in (out / "units").glob("tune-*/prompt")]
    meta = load_prompt(prompt_dir)[1]["metadata"]
    assert meta["template"] == TEMPLATE and json.loads(meta["label_words"]) == [[" bad"], [" good", " great"]]
    assert meta["instruction"] == "Is the review good or bad?" and meta["suite"] == "data-options"
    # the options are part of the units' identity: another template plans other units
    from post_bench.checks import parse_suite
    from post_bench.methods.base import Planner

    a = parse_suite(_suite(entry), "s")
    b = parse_suite(_suite({**entry, "template": "{text} =>"}), "s")
    assert Planner(a).data_cfg(a.datasets.private[0], 0) != Planner(b).data_cfg(b.datasets.private[0], 0)


@pytest.mark.parametrize("entry, expected", [
    ({"name": "election-tweets", "templte": "{text}"}, "datasets.private[0]: templte: unknown key (did you mean "
                                                       "'template'?)"),
    ({"name": "election-tweets", "template": "no slot"}, "datasets.private[0]: template: has no {text}"),
    ({"name": "election-tweets", "text_column": "t"}, "text_column: only for path: files"),
    ({"template": "{text}"}, "datasets.private[0]: name: required key missing"),
    ({"name": "election-tweets", "label_words": [" a", " b", " c"]}, "label_words: 3 given but the data set has 2"),
    ({"name": "path:REVIEWS", "text_column": "body"}, "no text column 'body'"),
])
def test_bad_entries_exit_2_with_one_line(tmp_path, entry, expected):
    data = _csv(tmp_path / "reviews.csv")
    if entry.get("name") == "path:REVIEWS":
        entry = {**entry, "name": f"path:{data}"}
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(_suite(entry)))
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    problems = [line for line in res.output.splitlines() if str(path) in line]
    assert len(problems) == 1 and expected in problems[0], res.output
