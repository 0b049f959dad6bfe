"""POST step 1: layer truncation, knowledge distillation, and the ``distill`` unit through the runner."""

from __future__ import annotations

import functools

import pytest
import torch

from post_bench.models.distill import distill, lm_loss, n_layers, resolve_layers, truncate_model
from post_bench.models.loading import load_pretrained, tiny_tokenizer

TEXTS = [f"Joey says {w} to Monica and Ross at the coffee house number {i}." for i, w in
         enumerate(["hi", "how you doin", "pivot", "we were on a break", "oh my god", "smelly cat"] * 8)]
SETTINGS = dict(steps=3, batch_size=4, max_tokens=16, lr=1e-3, warmup=1, grad_clip=1.0, temperature=2.0,
                kd_weight=0.5, seed=0)


def tiny_roberta(layers: int = 4):
    """A tiny random RoBERTa MLM. Built here because ``tiny-roberta`` in loading.py puts its pad id (50260)
    outside max_position_embeddings (520) and fails to build."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    tok = tiny_tokenizer("tiny-roberta")
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=layers,
                        num_attention_heads=2, max_position_embeddings=520, pad_token_id=1)
    model = RobertaForMaskedLM(cfg).eval()
    model.config.architectures = ["RobertaForMaskedLM"]
    return model, tok, "mlm"


@functools.cache
def model_of(name: str):
    return tiny_roberta() if name == "tiny-roberta" else load_pretrained(name)


@pytest.fixture(scope="module")
def gpt2():
    return model_of("tiny-gpt2:layers=4,hidden=64")


def test_truncation_keeps_chosen_layers(gpt2):
    teacher = gpt2[0]
    student = truncate_model(teacher, [0, -1])
    assert n_layers(student) == 2 and student.config.n_layer == 2 and n_layers(teacher) == 4
    assert torch.equal(student.transformer.h[1].mlp.c_fc.weight, teacher.transformer.h[3].mlp.c_fc.weight)
    assert torch.equal(student.transformer.h[0].attn.c_attn.weight, teacher.transformer.h[0].attn.c_attn.weight)
    assert student.transformer.h[1].mlp.c_fc.weight is not teacher.transformer.h[3].mlp.c_fc.weight  # a copy
    assert student.get_input_embeddings().weight.shape == teacher.get_input_embeddings().weight.shape
    assert student.config.n_embd == teacher.config.n_embd and student.config.vocab_size == teacher.config.vocab_size
    assert [getattr(h.attn, "layer_idx", i) for i, h in enumerate(student.transformer.h)] == [0, 1]


def test_layer_indices():
    assert resolve_layers([0, 1, -2, -1], 30) == [0, 1, 28, 29]
    with pytest.raises(ValueError, match=r"valid: -4\.\.3"):
        resolve_layers([0, 4], 4)
    with pytest.raises(ValueError, match="distinct"):
        resolve_layers([0, -4], 4)


@pytest.mark.parametrize("name", ["tiny-llama:layers=4,hidden=64", "tiny-roberta"])
def test_truncate_llama_and_roberta(name):
    teacher, _, _ = model_of(name)
    student = truncate_model(teacher, [1, -1])
    assert student.config.num_hidden_layers == n_layers(student) == 2
    base_t, base_s = teacher.base_model, student.base_model
    if name == "tiny-roberta":
        kept, orig = base_s.encoder.layer[0], base_t.encoder.layer[1]
        assert torch.equal(kept.attention.self.query.weight, orig.attention.self.query.weight)
    else:
        kept, orig = base_s.layers[1], base_t.layers[3]
        assert torch.equal(kept.self_attn.q_proj.weight, orig.self_attn.q_proj.weight)
        assert [layer.self_attn.layer_idx for layer in base_s.layers] == [0, 1]
    with pytest.raises(ValueError, match="out of range"):
        truncate_model(teacher, [0, 7])


@pytest.mark.parametrize("name", ["tiny-gpt2:layers=4,hidden=64", "tiny-llama:layers=4,hidden=64", "tiny-roberta"])
def test_distill_saves_and_reloads(name, tmp_path):
    teacher, tok, kind = model_of(name)
    student = truncate_model(teacher, [0, -1])
    out = distill(teacher, student, tok, TEXTS, kind=kind, **SETTINGS)
    assert len(out["kd_curve"]) == 3 and all(x == x for x in out["kd_curve"])  # no NaN
    assert not any(p.requires_grad for p in student.parameters())
    assert lm_loss(student, tok, TEXTS[:8], kind, 16) > 0
    student.save_pretrained(tmp_path, safe_serialization=True)
    tok.save_pretrained(tmp_path)
    loaded, tok2, kind2 = load_pretrained(f"path:{tmp_path}")
    assert kind2 == kind and type(loaded) is type(student) and n_layers(loaded) == 2
    ids = tok(["how you doin"], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(loaded(**ids).logits, student(**ids).logits)


def test_distillation_reduces_kd_loss(gpt2):
    teacher, tok, kind = gpt2
    student = truncate_model(teacher, [0, -1])
    settings = {**SETTINGS, "steps": 12, "lr": 3e-3, "kd_weight": 1.0, "max_tokens": 8}
    curve = distill(teacher, student, tok, TEXTS, kind=kind, **settings)["kd_curve"]
    assert sum(curve[-3:]) < 0.8 * sum(curve[:3])


def test_frozen_embeddings_stay_the_teachers(gpt2):
    teacher, tok, kind = gpt2
    student = truncate_model(teacher, [0, -1])
    before = student.get_input_embeddings().weight.detach().clone()
    block_before = next(student.transformer.h[0].parameters()).detach().clone()
    distill(teacher, student, tok, TEXTS, kind=kind, **{**SETTINGS, "lr": 1e-2}, freeze_embeddings=True)
    assert torch.equal(student.get_input_embeddings().weight, before)
    assert torch.equal(student.get_input_embeddings().weight, teacher.get_input_embeddings().weight)
    assert not torch.equal(next(student.transformer.h[0].parameters()), block_before)


SUITE = """
name: distill-test
seeds: [0]
models:
  target: tiny-gpt2:layers=4,hidden=64
  source: {distill: {layers: [0, -1], steps: 3, batch_size: 4, max_tokens: 32}}
datasets: {private: [election-tweets], public: friends}
budget: {train_size: 16, val_size: 0, test_size: 16, public_size: 40, max_tokens: 24, prompt_length: 2}
tuning: {steps: 2, batch_size: 8, lr: 0.01, accountant: rdp}
methods: [source_only]
"""


def test_distill_unit_end_to_end(tmp_path, run_suite):
    out, res = run_suite(SUITE, tmp_path)
    (row,) = res["distill"]
    assert row["layers"] == [0, 3] and len(row["kd_curve"]) == row["steps"] == 3
    assert row["truncated_loss"] > 0 and row["student_loss"] > 0 and row["teacher_loss"] > 0
    assert [(u["method"], u["model_role"]) for u in res["utility"]] == [("source_only", "source")]
    (folder,) = (out / "units").glob("distill-*/model")
    assert load_pretrained(f"path:{folder}")[0].config.n_layer == 2


def test_distill_corpus_is_its_own_and_evenly_drawn(tmp_path, run_suite):
    """The corpus option: several text sets, independent of datasets.public and budget.public_size."""
    suite = SUITE.replace("max_tokens: 32}", "max_tokens: 32, corpus: [friends, reuters-r8], corpus_size: 40}")
    _, res = run_suite(suite, tmp_path)
    (row,) = res["distill"]
    assert row["corpus"] == ["friends", "reuters-r8"] and row["freeze_embeddings"] is True
    assert row["n_train_texts"] + row["n_heldout_texts"] == 40


def test_distill_corpus_must_not_be_private(tmp_path):
    from post_bench.checks import load_suite
    from post_bench.errors import UserInputError

    path = tmp_path / "s.yaml"
    path.write_text(SUITE.replace("max_tokens: 32}", "max_tokens: 32, corpus: [election-tweets]}"))
    with pytest.raises(UserInputError, match=r"distill\.corpus\[0\]: 'election-tweets' is a private data set"):
        load_suite(path)


def test_distilled_source_is_cached_by_config(tmp_path, run_suite, monkeypatch):
    """A second run with the same distill config copies the cached student (same weights, the original one-off
    cost kept); another config distils anew."""
    from safetensors.torch import load_file

    monkeypatch.setenv("POST_BENCH_CACHE", str(tmp_path / "cache"))
    for sub in "abc":
        (tmp_path / sub).mkdir()
    out1, res1 = run_suite(SUITE, tmp_path / "a")
    out2, res2 = run_suite(SUITE, tmp_path / "b")
    (first,), (second,) = res1["distill"], res2["distill"]
    assert first["cached"] is False and second["cached"] is True and first["cache_key"] == second["cache_key"]
    assert second["one_off"] == first["one_off"] and first["one_off"]["wall_s"] > 0 and first["one_off"]["flops"] > 0
    weights = [load_file(next((o / "units").glob("distill-*/model")) / "model.safetensors") for o in (out1, out2)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert res1["utility"][0]["accuracy"] == res2["utility"][0]["accuracy"]
    _, res3 = run_suite(SUITE.replace("steps: 3,", "steps: 2,"), tmp_path / "c")
    assert res3["distill"][0]["cached"] is False and res3["distill"][0]["cache_key"] != first["cache_key"]
    assert len(list((tmp_path / "cache" / "distilled").iterdir())) == 2
