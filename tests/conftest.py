import os
from functools import lru_cache

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

# Tiny models gain nothing from intra-op threads, and OpenMP spin-waits make them 100x slower when
# another process holds the second core (seen: 0.5 s vs 3 ms for one forward).
torch.set_num_threads(1)


@lru_cache(maxsize=8)
def _backbone(name: str):
    from post_bench.models.backbone import Backbone
    from post_bench.models.loading import load_pretrained

    model, tok, kind = load_pretrained(name)
    # fp32 on every machine: "auto" means bf16 autocast on AVX512-BF16/AMX CPUs, and these tests compare
    # against fp32 references to 1e-4 (bf16 is tested on its own in test_backbone.py)
    return Backbone(model, tok, kind, name=name, precision="fp32")


@pytest.fixture
def tiny_backbone():
    """Factory for cached tiny backbones (built once per test session)."""
    return _backbone


def _run_suite(suite, directory):
    """Write ``suite`` (YAML text or a dict) into ``directory``, run it through the CLI without a report,
    assert it succeeded; returns (run dir, results.json as a dict)."""
    import json

    import yaml
    from click.testing import CliRunner

    from post_bench.cli import main

    path, out = directory / "suite.yaml", directory / "run"
    path.write_text(suite if isinstance(suite, str) else yaml.safe_dump(suite))
    res = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--no-report"])
    assert res.exit_code == 0, res.output
    return out, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="session")
def run_suite():
    """``run_suite(suite, directory) -> (run dir, results)``: an end-to-end ``post-bench run``."""
    return _run_suite
