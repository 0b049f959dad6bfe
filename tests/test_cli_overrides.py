"""``--set``, ``--limit``, ``--device cuda:N`` and ``--precision fp16`` on ``run`` and ``validate``."""

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from post_bench.checks import load_suite
from post_bench.cli import main
from post_bench.errors import UserInputError

SMOKE = Path(__file__).resolve().parents[1] / "suites/smoke.yaml"


def test_set_and_limit_change_the_resolved_suite():
    suite = load_suite(SMOKE, sets=("tuning.steps=2", "seeds=[0, 1]", "methods[4].steps=7", "description=x y"),
                       limit=20)
    assert suite.tuning.steps == 2 and suite.seeds == [0, 1] and suite.description == "x y"
    assert suite.method_params("post")["steps"] == 7
    b = suite.budget
    assert (b.train_size, b.val_size, b.test_size, b.public_size) == (20, 8, 20, 20)
    assert load_suite(SMOKE) == load_suite(SMOKE, sets=(), limit=None)


@pytest.mark.parametrize("args, expected", [
    (["--set", "budget.trainsize=1"], "budget.trainsize: unknown key (did you mean 'train_size'?)"),
    (["--set", "budget"], "--set budget: expected key.path=value"),
    (["--set", "methods[9].steps=1"], "methods is a list of 7"),
    (["--set", "budget.train_size.x=1"], "budget.train_size is 48, not a mapping"),
    (["--device", "cuda:x"], "device: 'cuda:x' is not a device; allowed: auto, cpu, cuda, cuda:N"),
])
def test_bad_overrides_exit_2_with_one_line(args, expected):
    res = CliRunner().invoke(main, ["validate", str(SMOKE), *args])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if "note:" not in line and line.strip()]
    assert len(lines) == 1 and expected in lines[0], res.output


def test_limit_below_a_minimum_names_the_keys():
    res = CliRunner().invoke(main, ["validate", str(SMOKE), "--limit", "4"])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 2 and lines and all("budget." in line for line in lines), res.output


def test_suite_device_and_precision_values():
    suite = load_suite(SMOKE, device="cuda:3", precision="fp16")
    assert suite.device == "cuda:3" and suite.precision == "fp16"
    with pytest.raises(UserInputError, match="not a device"):
        load_suite(SMOKE, device="gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusals")
def test_cuda_n_and_fp16_on_a_cpu_machine():
    from post_bench.checks import _device_problems

    res = CliRunner().invoke(main, ["validate", str(SMOKE), "--device", "cuda:1"])
    assert res.exit_code == 0 and "device: cuda:1 is asked for but no CUDA device is available" in res.output
    problems = _device_problems(load_suite(SMOKE, precision="fp16", device="cpu"), "s", [])
    assert problems == ["s: precision: fp16 needs a CUDA device (device cpu is cpu here); allowed: auto, fp32, bf16 on CPU"]
    res = CliRunner().invoke(main, ["validate", str(SMOKE), "--precision", "fp16"])
    assert res.exit_code == 0 and "fp16 needs a CUDA device" in res.output and "run would refuse" in res.output
