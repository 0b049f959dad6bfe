"""POST's transfer loss and loop, PTfer, and the post / ptfer methods end to end on tiny models."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from post_bench.data import load_dataset, sample_public
from post_bench.models.backbone import Backbone
from post_bench.models.loading import load_pretrained
from post_bench.training.alpha import alpha_choice, auto_alpha
from post_bench.training.post_loss import post_loss
from post_bench.training.ptfer import ptfer_transfer, relative
from post_bench.training.transfer import initial_prompts, loss_columns, transfer_prompt, transfer_prompts

TARGET = "tiny-gpt2:layers=2,hidden=64"
SOURCE = "tiny-gpt2:layers=1,hidden=64,seed=1"


@pytest.fixture(scope="module")
def models():
    def load(name):
        model, tok, kind = load_pretrained(name)
        return Backbone(model, tok, kind, name=name)

    return load(SOURCE), load(TARGET)


@pytest.fixture(scope="module")
def public(models):
    texts = sample_public(load_dataset("friends"), seed=0, size=16).texts
    template = load_dataset("election-tweets").task.template("causal")
    return [m.encode(texts, template, 24) for m in models]


# ------------------------------------------------------------------ the loss
def test_post_loss_zero_for_equal_logits_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    s_p, s_0 = torch.randn(4, 10, generator=g), torch.randn(4, 10, generator=g)
    assert post_loss(s_p, s_0, s_p.clone(), s_0.clone()).item() == 0.0
    assert post_loss(s_p, s_0, s_p + 0.5 * torch.randn(4, 10, generator=g), s_0).item() > 0
    assert post_loss(s_p, s_0, s_p, s_0 + torch.randn(4, 10, generator=g), alpha=1.0).item() > 0


def test_post_loss_matches_hand_computation():
    s_p = torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 2.0]])
    s_0 = torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    t_p = torch.tensor([[2.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    t_0 = torch.tensor([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    alpha, T = 0.3, 2.0

    def kl(p_logits, q_logits):  # T² · mean_b Σ_v p log(p / q)
        total = 0.0
        for pr, qr in zip(p_logits.tolist(), q_logits.tolist()):
            zp = sum(math.exp(x / T) for x in pr)
            zq = sum(math.exp(x / T) for x in qr)
            total += sum(math.exp(a / T) / zp * ((a / T - math.log(zp)) - (b / T - math.log(zq)))
                         for a, b in zip(pr, qr))
        return T * T * total / len(p_logits)

    expected = alpha * kl(s_p - s_0, t_p - t_0) + (1 - alpha) * kl(s_p, t_p)
    assert post_loss(s_p, s_0, t_p, t_0, alpha, T).item() == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------ the loop
def test_same_model_same_prompt_loss_and_grad_zero(models, public):
    _, target = models
    enc = public[1]
    prompt = target.input_embeddings.weight[100:104].detach().clone()
    ids, mask, pos = target.collate(enc)
    with torch.no_grad():
        s_p, s_0 = target.vocab_logits(ids, mask, pos, prompt), target.vocab_logits(ids, mask, pos)
    p = prompt.clone().requires_grad_(True)
    loss = post_loss(s_p, s_0, target.vocab_logits(ids, mask, pos, p), s_0)
    loss.backward()
    assert loss.item() < 1e-6 and p.grad.abs().max().item() < 1e-5
    _, history = transfer_prompt(target, target, prompt, enc, enc, steps=1, batch_size=8, init=prompt)
    assert history[0] < 1e-6


def test_transfer_steps_reduce_loss(models, public):
    source, target = models
    g = torch.Generator().manual_seed(0)
    source_prompt = torch.randn(4, 64, generator=g) * 0.5
    init = target.input_embeddings.weight[200:204].detach().clone()
    prompt, history = transfer_prompt(source, target, source_prompt, *public, steps=8, batch_size=16, lr=0.05,
                                      init=init, seed=0)  # full batch: history is the whole-set loss
    assert prompt.shape == (4, 64) and not torch.equal(prompt, init)
    assert history[-1] < history[0]


def test_transfer_refuses_different_vocabularies(models, public):
    _, target = models
    small = SimpleNamespace(name="small", vocab_size=1000)  # checked before anything runs
    with pytest.raises(ValueError, match="share the vocabulary"):
        transfer_prompt(small, target, torch.zeros(2, 64), *public, steps=1, batch_size=4, init=torch.zeros(2, 64))


# ------------------------------------------------------------------ PTfer
def test_ptfer_recovers_prompt_in_identical_space():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(300, 16, generator=g)
    source_prompt = torch.randn(3, 16, generator=g) * 2
    anchors = list(range(64))
    prompt, history = ptfer_transfer(source_prompt, table, table, anchors, steps=400, lr=0.02, seed=1)
    assert history[-1] < 1e-4 < history[0]
    assert torch.allclose(relative(prompt, table[anchors]), relative(source_prompt, table[anchors]), atol=0.02)
    assert F.cosine_similarity(prompt, source_prompt, dim=-1).min() > 0.99
    assert prompt.norm(dim=-1).mean() == pytest.approx(table.norm(dim=-1).mean().item(), rel=0.1)


def test_ptfer_between_different_tables():
    g = torch.Generator().manual_seed(0)
    src, tgt = torch.randn(300, 16, generator=g), torch.randn(300, 24, generator=g)
    prompt, history = ptfer_transfer(torch.randn(3, 16, generator=g), src, tgt, list(range(100)), steps=300,
                                     lr=0.02, seed=0)
    assert prompt.shape == (3, 24) and torch.isfinite(prompt).all() and history[-1] < history[0]


# ------------------------------------------------------------------ end to end
def test_suite_with_post_and_ptfer(tmp_path, run_suite):
    suite = {
        "name": "transfer-e2e", "seeds": [0], "epsilons": ["inf", 8],
        "models": {"target": TARGET, "source": {"model": SOURCE}},
        "datasets": {"private": ["election-tweets"], "public": "friends"},
        "budget": {"train_size": 32, "test_size": 16, "val_size": 8, "public_size": 16, "max_tokens": 24,
                   "prompt_length": 4},
        "tuning": {"steps": 2, "batch_size": 8, "accountant": "rdp"},
        "methods": [{"name": "post", "steps": 2, "batch_size": 8, "alpha": "auto"},
                    {"name": "ptfer", "steps": 20, "anchors": 64},
                    "direct_transfer"],
    }
    out, results = run_suite(suite, tmp_path)
    rows = results["utility"]
    got = {(r["method"], r["epsilon"]) for r in rows}
    assert got >= {(m, e) for m in ("post", "ptfer", "direct_transfer") for e in (None, 8.0)}
    assert all(r["n_test"] == 16 and 0 <= r["accuracy"] <= 1 for r in rows)
    dp_rows = [r for r in rows if r["epsilon"] == 8.0 and r["method"] in ("post", "ptfer")]
    assert all(r.get("noise_multiplier") for r in dp_rows)  # the source prompt's DP record is passed on
    transfers = list((out / "units").glob("transfer-*"))
    assert len(transfers) == 4 and all((u / "prompt" / "adapter_model.safetensors").is_file() for u in transfers)
    alphas = [json.loads((u / "done.json").read_text()).get("alpha") for u in transfers]
    auto = [a for a in alphas if a]
    assert len(auto) == 2 and all(a["n_val"] == 8 and 0 <= a["alpha"] <= 1 and a["chance"] == 0.5 for a in auto)
    assert all(a["alpha"] == auto_alpha(a["zero_shot_val"], a["compressed_val"], 0.5) for a in auto)


@pytest.mark.parametrize(("zs", "c", "rg", "expected"), [
    (0.5, 0.5, 0.5, 1.0),      # source no better than chance: only the change is transferred
    (0.6, 0.8, 0.5, 1 / 3),    # (0.6 - 0.5) / (0.8 - 0.5)
    (0.9, 0.8, 0.5, 1.0),      # capped at 1
    (0.4, 0.8, 0.5, 0.0),      # target below chance: clipped at 0
    (0.4450, 0.5412, 1 / 3, 0.5372),  # Llama2-7b on tweet (Table 1 ZS / compressed PT): Table 12 uses 0.6
])
def test_auto_alpha_is_eq6(zs, c, rg, expected):
    assert auto_alpha(zs, c, rg) == pytest.approx(expected, abs=1e-4)


def test_auto_alpha_rejects_non_accuracies():
    with pytest.raises(ValueError, match="compressed accuracy must be in"):
        auto_alpha(0.5, 1.5, 0.5)


def test_label_words_loss_uses_only_those_columns():
    torch.manual_seed(0)
    s_p, s_0, t_p, t_0 = (torch.randn(3, 10) for _ in range(4))
    cols = torch.tensor([2, 7])
    full = post_loss(s_p[:, cols], s_0[:, cols], t_p[:, cols], t_0[:, cols], 0.3)
    assert post_loss(s_p, s_0, t_p, t_0, 0.3, columns=cols) == pytest.approx(float(full))
    t_p[:, 0] += 5.0  # a column outside the label words changes the paper's loss only
    assert post_loss(s_p, s_0, t_p, t_0, 0.3, columns=cols) == pytest.approx(float(full))
    assert float(post_loss(s_p, s_0, t_p, t_0, 0.3)) != pytest.approx(float(full))


def test_a_method_twice_under_labels(tmp_path, run_suite):
    """Ablations: `label` runs one method twice with other settings; results and costs carry the label."""
    suite = {
        "name": "ablation", "seeds": [0], "epsilons": ["inf"],
        "models": {"target": TARGET, "source": {"model": SOURCE}},
        "datasets": {"private": ["election-tweets"], "public": "friends"},
        "budget": {"train_size": 16, "test_size": 16, "val_size": 0, "public_size": 16, "max_tokens": 24,
                   "prompt_length": 2},
        "tuning": {"steps": 2, "batch_size": 8, "accountant": "rdp"},
        "methods": [{"name": "post", "steps": 2}, {"name": "post", "label": "post_lw", "steps": 2, "loss": "label_words"}],
    }
    _, results = run_suite(suite, tmp_path)
    assert sorted(r["method"] for r in results["utility"]) == ["post", "post_lw"]
    transfer_costs = sorted(c["method"] for c in results["cost"] if c["kind"] == "transfer")
    assert transfer_costs == ["post", "post_lw"]


def test_stacked_transfers_give_the_same_prompts_as_one_at_a_time(models, public):
    """K = 3 source prompts transferred in one stacked batch == each transferred alone (own seed, own α)."""
    source, target = models
    g = torch.Generator().manual_seed(5)
    sources = torch.randn(3, 4, source.hidden_size, generator=g) * 0.05
    inits = torch.randn(3, 4, target.hidden_size, generator=g) * 0.05
    seeds, alphas = [0, 7, 7], [0.5, 0.2, 1.0]
    kw = {"steps": 3, "batch_size": 5, "lr": 1e-2, "temperature": 2.0}
    stacked, hists = transfer_prompts(source, target, sources, *public, alphas=alphas, init=inits, seeds=seeds, **kw)
    assert stacked.shape == (3, 4, target.hidden_size) and len(hists) == 3 and all(len(h) == 3 for h in hists)
    for k in range(3):
        one, hist = transfer_prompt(source, target, sources[k], *public, alpha=alphas[k], init=inits[k],
                                    seed=seeds[k], **kw)
        assert torch.allclose(stacked[k], one, atol=1e-5), (k, (stacked[k] - one).abs().max())
        assert hist == pytest.approx(hists[k], rel=1e-4)
    assert not torch.allclose(stacked[1], stacked[2])  # same seed, different source prompt and α
    with pytest.raises(ValueError, match="alphas"):
        transfer_prompts(source, target, sources, *public, alphas=[0.5], init=inits, seeds=seeds, **kw)


def test_alpha_choice_records_eq6_with_chance_from_the_number_of_classes():
    alpha, record = alpha_choice(0.6, 0.8, 2, 40)
    assert alpha == auto_alpha(0.6, 0.8, 0.5) == pytest.approx(1 / 3)  # (0.6 - 0.5) / (0.8 - 0.5)
    assert record == {"alpha": alpha, "zero_shot_val": 0.6, "compressed_val": 0.8, "chance": 0.5, "n_val": 40}


def test_initial_prompts_start_from_the_source_only_in_the_same_space(models):
    source, target = models
    sources = torch.randn(2, 4, source.hidden_size, generator=torch.Generator().manual_seed(0))
    assert initial_prompts(target, sources, "source", 4, "Classify.", 0) is sources  # both hidden sizes 64
    text = initial_prompts(target, sources, "text", 3, "Classify the tweet.", 0)
    assert text.shape == (2, 3, target.hidden_size) and torch.equal(text[0], text[1])
    other_space = torch.zeros(2, 4, target.hidden_size // 2)  # across hidden sizes "source" falls back to the text
    assert torch.equal(initial_prompts(target, other_space, "source", 3, "Classify the tweet.", 0), text)


def test_loss_columns_are_every_label_word_token_or_the_full_vocabulary(models):
    _, target = models
    task = load_dataset("election-tweets").task
    assert loss_columns("full", target, task) is None
    assert loss_columns("label_words", target, task) == [i for ids in target.label_token_ids(task) for i in ids]
