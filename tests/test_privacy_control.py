"""The privacy-regression control at a small scale (suites/controls/ at full scale): a deliberately broken DP-SGD
(noise multiplier x 0.0001, no clipping) whose accountant still claims ε = 0.25 must be caught by the default
one-run audit — `post-bench run` exits 3, results.json has ε_lb > claimed ε and the JUnit file's DP test fails
naming the attacked prompt — while the correct mechanism at the same claimed ε exits 0 with ε_lb <= claimed ε.

The model: a 2-layer, 64-wide random Llama with the tiny models' GPT-2 tokenizer, written once per module as a
``path:`` folder. It is the ``tiny-llama:layers=2,hidden=64`` shape with initializer_range 0.2 instead of HF's
default 0.02 (the only difference): at 0.02 attention is almost uniform and the label logits tiny, so a soft prompt
cannot fit per-example labels at all (tiny-gpt2 and tiny-llama: loss stays at 0.68-0.70 over 300 steps on 32 binary
canaries, AUC ~0.5), while at 0.2 it fits them (loss -> 0.002). The source is the target itself (``source.model``).

The recipe (bbc-news, 5 classes; 8 private rows + 128 nonsense canaries, each in with probability 1/2; 400 steps of
batch 8 at lr 0.1, an 8-token prompt) was checked over data seeds 0-9, broken: ε_lb 1.59 1.76 2.08 1.76 2.08 1.41
1.12 1.12 1.80 1.76 (the audit's best-of guesses, 26 in / 26 out: 46-51 of 52 correct; ε_lb > 0.25 needs 38); correct:
ε_lb 0 for every seed (canary AUC 0.44-0.53). Broken, data seeds 10-14: 1.26-1.76; with the model built from torch
seeds 1 and 2 (data seeds 0-4 each): 0.78-1.76; correct (model seed 1, data seeds 0-2): 0. The test runs data seed 0 with the model of seed 0.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from post_bench.cli import main

pytestmark = pytest.mark.slow  # end-to-end: two runs through the CLI, ~10 s together

CLAIMED = 0.25


@pytest.fixture(scope="module")
def steerable_model(tmp_path_factory) -> str:
    """``path:`` to a tiny random Llama whose weights are large enough for a soft prompt to memorise canaries."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from post_bench.models.loading import tiny_tokenizer

    folder = tmp_path_factory.mktemp("steerable-llama")
    tok = tiny_tokenizer("tiny-llama")
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=True, initializer_range=0.2, bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = LlamaForCausalLM(cfg)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return f"path:{folder}"


def _suite(model: str, broken: bool, seed: int = 0) -> dict:
    tuning = {"steps": 400, "batch_size": 8, "lr": 0.1, "delta": 1e-5, "accountant": "rdp"}
    if broken:
        tuning["broken_dp"] = {"noise_scale": 0.0001, "clipping": False}
    return {"name": "control", "seeds": [seed], "epsilons": [CLAIMED], "threads": 1, "precision": "fp32",
            "models": {"target": model, "source": {"model": model}},
            "datasets": {"private": ["bbc-news"]},
            "budget": {"train_size": 8, "val_size": 0, "test_size": 8, "public_size": 8, "max_tokens": 16,
                       "prompt_length": 8, "eval_batch_size": 64},
            "tuning": tuning, "methods": ["source_only"],
            "attacks": [{"name": "one_run", "methods": ["source_only"], "canaries": 128}]}


def _run(tmp_path: Path, model: str, broken: bool):
    folder = tmp_path / ("broken" if broken else "correct")
    folder.mkdir()
    (folder / "suite.yaml").write_text(yaml.safe_dump(_suite(model, broken)))
    res = CliRunner().invoke(main, ["run", str(folder / "suite.yaml"), "--out", str(folder / "run"), "--no-report"])
    return res, folder / "run"


def _privacy_row(run: Path) -> dict:
    (row,) = json.loads((run / "results.json").read_text())["privacy"]
    assert row["attack"] == "one_run" and row["method"] == "source_only" and row["claimed_epsilon"] == CLAIMED
    return row


def _gate_failures(run: Path) -> list:
    gates = next(s for s in ET.parse(run / "gates.junit.xml").getroot().iter("testsuite")
                 if s.get("name", "").startswith("post-bench gates"))
    return [tc for tc in gates.iter("testcase") if tc.find("failure") is not None]


def test_broken_dp_is_caught(tmp_path, steerable_model):
    res, run = _run(tmp_path, steerable_model, broken=True)
    assert res.exit_code == 3, res.output
    row = _privacy_row(run)
    assert row["eps_lower_bound"] > 2 * CLAIMED, row["one_run"]  # seeds 0-9 gave 1.12-2.08
    (failure,) = _gate_failures(run)
    assert "claimed eps" in failure.get("name")
    message = failure.find("failure").get("message")
    assert "bbc-news source_only one_run seed=0" in message and f"claimed eps {CLAIMED}" in message, message


def test_correct_dp_passes(tmp_path, steerable_model):
    res, run = _run(tmp_path, steerable_model, broken=False)
    assert res.exit_code == 0, res.output
    row = _privacy_row(run)
    assert row["eps_lower_bound"] <= CLAIMED, row["one_run"]
    assert _gate_failures(run) == []


def _gradient_suite(model: str, broken: bool) -> dict:
    """The white-box control: 100 DP-SGD steps at a claimed ε = 1 audited with 500 gradient canaries (of the
    8-token prompt's 512 numbers); the bug: a tenth of the noise, clipping kept (subtler than the black-box
    control's, which at this scale the black-box audit misses). Data seed 0: broken ε_lb 3.02, correct 0.16."""
    suite = _suite(model, broken=False)
    suite["epsilons"] = [1]
    suite["tuning"]["steps"] = 100
    if broken:
        suite["tuning"]["broken_dp"] = {"noise_scale": 0.1, "clipping": True}
    suite["attacks"] = [{"name": "one_run_gradient", "methods": ["source_only"], "canaries": 500}]
    return suite


@pytest.mark.parametrize("broken", [True, False])
def test_white_box_audit_catches_a_tenth_of_the_noise(tmp_path, steerable_model, broken):
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(_gradient_suite(steerable_model, broken)))
    res = CliRunner().invoke(main, ["run", str(tmp_path / "suite.yaml"), "--out", str(tmp_path / "run"), "--no-report"])
    (row,) = json.loads((tmp_path / "run" / "results.json").read_text())["privacy"]
    assert row["attack"] == "one_run_gradient" and row["one_run"]["m"] == 500 and "white-box" in row["attacked"]
    if broken:
        assert res.exit_code == 3, res.output
        assert row["eps_lower_bound"] > 2.0 and row["eps_lower_bound_fdp"] > 2.0, row["guess_choices"]
        (failure,) = _gate_failures(tmp_path / "run")
        assert "source_only one_run_gradient seed=0" in failure.find("failure").get("message")
    else:
        assert res.exit_code == 0, res.output
        assert row["eps_lower_bound"] <= 1.0 and _gate_failures(tmp_path / "run") == []
