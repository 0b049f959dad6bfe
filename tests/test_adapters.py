"""Prompts post-bench writes are PEFT adapters others load: base model peft resolves, task in the metadata."""

import json

import pytest
import torch

from post_bench.data.tasks import TASKS, generic_task
from post_bench.models.soft_prompt import adapter_task_options, load_prompt, save_prompt, task_metadata


@pytest.fixture(scope="module")
def local_model(tmp_path_factory):
    """A tiny GPT-2 saved as an HF folder (what ``path:`` names)."""
    from post_bench.models.loading import build_tiny, parse_model_spec

    folder = tmp_path_factory.mktemp("tiny-local")
    model, tok = build_tiny(parse_model_spec("tiny-gpt2:layers=2,hidden=64"))
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder


def test_base_model_names_peft_resolves():
    from post_bench.models.loading import model_from_base, peft_base_model

    assert peft_base_model("smollm2-135m") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert peft_base_model("hf:roberta-base") == "roberta-base"
    assert peft_base_model("tiny-gpt2:layers=2,hidden=64") == "tiny-gpt2:layers=2,hidden=64"
    assert model_from_base("tiny-gpt2:layers=2,hidden=64") == "tiny-gpt2:layers=2,hidden=64"
    assert model_from_base("gpt2-xl") == "hf:gpt2-xl"
    from post_bench.models.loading import check_model_spec

    expected = "smollm2-135m" if check_model_spec("smollm2-135m") is None else "hf:HuggingFaceTB/SmolLM2-135M-Instruct"
    assert model_from_base("HuggingFaceTB/SmolLM2-135M-Instruct") == expected


def test_peft_loads_the_adapter_and_scores_like_backbone(tmp_path, local_model):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from post_bench.audit.inputs import apply_task_options, model_from_adapter
    from post_bench.models.backbone import Backbone
    from post_bench.models.loading import load_pretrained

    name = f"path:{local_model}"
    net, tok, kind = load_pretrained(name)
    bb = Backbone(net, tok, kind, name=name, precision="fp32")
    task = TASKS["election-tweets"]
    torch.manual_seed(0)
    prompt = torch.randn(5, bb.hidden_size) * 0.1
    save_prompt(tmp_path / "p", prompt, base_model=name, init_text=task.instruction,
                metadata={**task_metadata(task, bb.kind), "method": "tune", "epsilon": 8.0, "seed": 3})

    config = json.loads((tmp_path / "p" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(local_model.resolve())
    _, info = load_prompt(tmp_path / "p")
    meta = info["metadata"]
    assert meta["template"] == task.causal_template and json.loads(meta["label_words"]) == [[" Hillary"], [" Trump"]]
    assert meta["model"] == name and meta["method"] == "tune" and meta["seed"] == "3" and meta["post_bench_version"]
    assert model_from_adapter(info, tmp_path / "p") == name
    # the audit's task defaults to the metadata's; options given on the command line win
    generic = apply_task_options(generic_task("c", ["HillaryClinton", "realDonaldTrump"]), None, info)
    assert generic.causal_template == task.causal_template and generic.label_words == task.label_words
    assert apply_task_options(task, {"template": "{text} =>"}, info).causal_template == "{text} =>"
    assert adapter_task_options(info)["instruction"] == task.instruction

    texts = ["I will make America great again", "Stronger together, vote on Tuesday"]
    enc = bb.encode_task(texts, task, 32)
    label_ids = bb.label_token_ids(task)
    ours = bb.score_dataset(enc, label_ids, prompt)

    base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"])
    peft_model = PeftModel.from_pretrained(base, tmp_path / "p").eval()
    rows = [i[0] for i in label_ids]
    for k, ids in enumerate(enc.ids):
        with torch.no_grad():
            logits = peft_model(input_ids=torch.tensor([ids])).logits[0, -1]
        torch.testing.assert_close(logits[rows], torch.as_tensor(ours[k]), atol=1e-4, rtol=1e-4)


def test_offline_alias_is_written_as_its_hub_id(tmp_path):
    save_prompt(tmp_path / "p", torch.zeros(2, 576), base_model="smollm2-135m")
    config = json.loads((tmp_path / "p" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert load_prompt(tmp_path / "p")[1]["metadata"]["model"] == "smollm2-135m"
