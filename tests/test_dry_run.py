"""Dry runs: every paper suite's whole plan on tiny stand-ins (same architecture class, tokenizer family and
layer count as the hub model) and synthetic rows shaped like the hub data, 2 steps per unit."""

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from post_bench.checks import load_suite, parse_suite
from post_bench.cli import main
from post_bench.commands.dry_run import dry_suite, standin_model
from post_bench.data import load_dataset
from post_bench.errors import UserInputError

ROOT = Path(__file__).resolve().parents[1]
PAPER = sorted((ROOT / "suites/paper").glob("*.yaml"))


def test_standins_keep_class_and_depth():
    assert standin_model("hf:roberta-base") == "tiny-roberta:layers=12,hidden=32,heads=2"
    assert standin_model("hf:openai-community/gpt2-xl").startswith("tiny-gpt2:layers=48,")
    assert standin_model("hf:meta-llama/Llama-2-7b-hf").startswith("tiny-llama:layers=32,")
    assert standin_model("tiny-gpt2:layers=2") == "tiny-gpt2:layers=2"
    with pytest.raises(ValueError, match="no dry-run stand-in"):
        standin_model("hf:someone/unknown-model")


def test_synthetic_rows_have_the_task_label_set():
    for name, classes in (("sst2", 2), ("tweet_eval", 3), ("ag_news", 4), ("boolq", 2)):
        ds = load_dataset(f"synthetic:{name}")
        assert ds.task.name == name and ds.task.num_classes == classes
        assert sorted(set(ds.labels)) == list(range(classes)) and len(set(ds.texts)) == len(ds)
    assert "\n" in load_dataset("synthetic:boolq").texts[0]  # passage and question columns joined as on the hub


def test_dry_suite_keeps_what_matters_and_checks_sizes():
    suite = load_suite(ROOT / "suites/paper/gpt2-xl.yaml")
    dry, notes = dry_suite(suite, "gpt2-xl.yaml")
    assert dry.models.source.distill.layers == suite.models.source.distill.layers
    assert dry.budget.prompt_length == suite.budget.prompt_length == 100
    assert dry.tuning.steps == 2 and dry.seeds == [0] and dry.datasets.private[0] == "synthetic:sst2"
    post = dry.method_params("post")
    assert post["steps"] == 2 and post["alpha_by_dataset"]["synthetic:tweet_eval"] == 0.0
    assert any("hf:gpt2-xl -> tiny-gpt2:layers=48" in n for n in notes)
    raw = yaml.safe_load((ROOT / "suites/paper/gpt2-xl.yaml").read_text())
    raw["budget"]["train_size"] = 30000  # imdb has 25,000 labelled rows
    with pytest.raises(UserInputError, match="imdb has 25000 labelled rows"):
        dry_suite(parse_suite(raw, "big.yaml"), "big.yaml")


@pytest.mark.slow
@pytest.mark.parametrize("suite", PAPER, ids=[p.stem for p in PAPER])
def test_paper_suite_dry_run(suite, tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(suite), "--dry-run", "--out", str(out), "--no-report"])
    assert res.exit_code == 0, res.output[-3000:]
    assert "dry run: model hf:" in res.output
    import json

    results = json.loads((out / "results.json").read_text())
    methods = {m.name for m in load_suite(suite).methods}
    assert {r["method"] for r in results["utility"]} == methods
    assert len(results["cost"]) == len(list((out / "units").iterdir()))


def test_every_suite_has_a_valid_dry_form():
    """Caps never break a suite's own cross-checks (e.g. alpha: auto needs a validation split of 8)."""
    for path in sorted((ROOT / "suites").rglob("*.yaml")):  # paper/, sources/, ablations/ and the top-level suites
        dry, _ = dry_suite(load_suite(path), path.name)
        assert dry.name.endswith("-dry-run") and dry.budget.val_size <= 8 and dry.tuning.steps <= 2
