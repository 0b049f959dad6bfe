"""PEFT prompt-tuning files: our writer, peft's reader, and refusal of pickle files."""

import json

import pytest
import torch

from post_bench.errors import UserInputError
from post_bench.models.soft_prompt import init_prompt, load_prompt, save_prompt


def test_round_trip_and_peft_loads_it(tmp_path, tiny_backbone):
    from peft import PeftModel

    bb = tiny_backbone("tiny-gpt2:layers=2,hidden=64")
    prompt = torch.randn(6, bb.hidden_size)
    save_prompt(tmp_path / "p", prompt, base_model=bb.name, init_text="hi", metadata={"epsilon": 8})
    loaded, info = load_prompt(tmp_path / "p")
    torch.testing.assert_close(loaded, prompt)
    assert info["num_virtual_tokens"] == 6 and info["metadata"]["epsilon"] == "8"
    peft_model = PeftModel.from_pretrained(bb.model, tmp_path / "p")
    weights = peft_model.prompt_encoder["default"].embedding.weight
    torch.testing.assert_close(weights.detach(), prompt)
    peft_model.unload() if hasattr(peft_model, "unload") else None


def test_bare_safetensors_and_init(tmp_path, tiny_backbone):
    from safetensors.torch import save_file

    bb = tiny_backbone("tiny-gpt2:layers=2,hidden=64")
    p = init_prompt(bb, 4, init="text", text="Who wrote this?")
    ids = bb.tokenizer("Who wrote this?", add_special_tokens=False)["input_ids"]
    torch.testing.assert_close(p[0], bb.input_embeddings.weight[ids[0]].detach())
    save_file({"whatever": p}, str(tmp_path / "x.safetensors"))
    loaded, _ = load_prompt(tmp_path / "x.safetensors")
    torch.testing.assert_close(loaded, p)


@pytest.mark.parametrize("name", ["prompt.pt", "prompt.bin", "prompt.pkl", "prompt.pth"])
def test_pickle_files_are_refused_unopened(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x80\x04this would be a pickle")
    with pytest.raises(UserInputError, match="pickle-based files"):
        load_prompt(path)


def test_malformed_inputs_give_one_line(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(UserInputError) as err:
        load_prompt(bad)
    assert len(err.value.problems) == 1 and "not a readable safetensors file" in err.value.problems[0]
    d = tmp_path / "dir"
    d.mkdir()
    (d / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    with pytest.raises(UserInputError, match="adapter_model.safetensors missing"):
        load_prompt(d)
