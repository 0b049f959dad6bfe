"""Verbalizer position with and without a soft prompt; label-word scores vs the full head."""

import pytest
import torch

from post_bench.data import get_task


@torch.no_grad()
def reference_logits(bb, ids, mask, prompt):
    """The HF model's own logits at every position of [prompt ⊕ input] (the full head, for comparison)."""
    B, P = ids.shape[0], prompt.shape[0]
    emb = torch.cat([prompt.unsqueeze(0).expand(B, -1, -1), bb.embed(ids)], 1)
    full_mask = torch.cat([torch.ones(B, P, dtype=mask.dtype), mask], 1)
    return bb.model(inputs_embeds=emb, attention_mask=full_mask).logits


def test_causal_position_is_last_real_token_and_prompt_shifts_it(tiny_backbone):
    bb = tiny_backbone("tiny-gpt2:layers=2,hidden=64")
    task = get_task("election-tweets")
    enc = bb.encode_task(["short", "a much longer tweet about many things indeed"], task, max_tokens=32, labels=[0, 1])
    ids, mask, pos = bb.collate(enc)
    assert pos.tolist() == [len(x) - 1 for x in enc.ids]
    assert ids[0, pos[0]].item() == bb.tokenizer(":")["input_ids"][-1]  # "...Author:" ends the template
    prompt = torch.randn(5, bb.hidden_size)
    logits = reference_logits(bb, ids, mask, prompt)  # read P positions later than without a prompt
    with torch.no_grad():
        ours = bb.vocab_logits(ids, mask, pos, prompt)
    expected = logits[torch.arange(2), pos + 5]
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)
    wrong = logits[torch.arange(2), pos]  # the bug other harnesses have: forgetting the shift
    assert not torch.allclose(ours, wrong, atol=1e-3)


def test_label_scores_equal_full_head_columns(tiny_backbone):
    bb = tiny_backbone("tiny-gpt2:layers=2,hidden=64")
    task = get_task("bbc-news")
    enc = bb.encode_task(["markets fell", "the match ended"], task, max_tokens=32, labels=[0, 3])
    ids, mask, pos = bb.collate(enc)
    label_ids = bb.label_token_ids(task)
    with torch.no_grad():
        scores = bb.class_scores(ids, mask, pos, label_ids)
        full = bb.vocab_logits(ids, mask, pos)
    first = torch.tensor([ids_[0] for ids_ in label_ids])
    torch.testing.assert_close(scores, full[:, first])


def test_mlm_position_is_mask_token_with_prompt(tiny_backbone):
    bb = tiny_backbone("tiny-roberta:layers=2,hidden=64")
    task = get_task("election-tweets")
    enc = bb.encode_task(["hello there", "vote today"], task, max_tokens=32, labels=[0, 1])
    ids, mask, pos = bb.collate(enc)
    assert all(ids[i, p].item() == bb.tokenizer.mask_token_id for i, p in enumerate(pos.tolist()))
    prompt = torch.randn(3, bb.hidden_size)
    logits = reference_logits(bb, ids, mask, prompt)
    with torch.no_grad():
        ours = bb.vocab_logits(ids, mask, pos, prompt)
    torch.testing.assert_close(ours, logits[torch.arange(2), pos + 3], rtol=1e-4, atol=1e-4)


def test_truncation_keeps_template(tiny_backbone):
    bb = tiny_backbone("tiny-llama:layers=1,hidden=64")
    task = get_task("election-tweets")
    long_text = " ".join(["word"] * 200)
    enc = bb.encode_task([long_text], task, max_tokens=24)
    assert len(enc.ids[0]) <= 26
    assert bb.tokenizer.decode(enc.ids[0]).rstrip().endswith("Author:")


def test_bf16_autocast_scores_close_to_fp32():
    from post_bench.models.backbone import Backbone
    from post_bench.models.loading import load_pretrained

    model, tok, kind = load_pretrained("tiny-llama:layers=2,hidden=64")
    fp32 = Backbone(model, tok, kind, name="x", precision="fp32")
    bf16 = Backbone(model, tok, kind, name="x", precision="bf16")
    task = get_task("election-tweets")
    enc = fp32.encode_task(["a tweet", "another tweet here"], task, 32, labels=[0, 1])
    label_ids = fp32.label_token_ids(task)
    a, b = fp32.score_dataset(enc, label_ids), bf16.score_dataset(enc, label_ids)
    assert bf16.autocast and not fp32.autocast
    assert abs(a - b).max() < 0.05 * max(1.0, abs(a).max()) and (a != b).any()


def test_precision_resolves_per_machine_and_is_recorded_in_the_report(tmp_path):
    """auto means bf16 autocast only where bf16 is native; results.json and the report header say which."""
    from post_bench.commands.results import environment
    from post_bench.models.backbone import cpu_has_native_bf16, uses_bf16_autocast
    from post_bench.report import render_report
    from post_bench.rows import parse_results

    assert uses_bf16_autocast("bf16", "cpu") and not uses_bf16_autocast("fp32", "cpu")
    assert uses_bf16_autocast("auto", "cpu") == cpu_has_native_bf16()
    assert not uses_bf16_autocast("fp16", "cpu")  # fp16 is fp16 autocast (CUDA only), never bf16
    with pytest.raises(ValueError, match="precision must be auto, fp32, bf16 or fp16"):
        uses_bf16_autocast("fp8", "cpu")
    env = environment("cpu", 1, "fp32")
    assert env.precision == "fp32: fp32"
    assert environment("cpu", 1, "auto").precision == "auto: " + ("bf16 autocast" if cpu_has_native_bf16() else "fp32")
    render_report(parse_results({"schema": 1, "suite": {"name": "x", "epsilons": [None]}, "env": env}), tmp_path)
    assert "- **precision:** fp32: fp32" in (tmp_path / "report.md").read_text()
