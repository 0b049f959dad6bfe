"""Min-K%++ at the verbalizer (post_bench/attacks/min_k_plus_plus.py): hand-computed z-scores, the HF model's own
head as the reference, labels the prompted model favours ranked above the others, and a suite run."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from post_bench.attacks.base import ATTACKS, Examples
from post_bench.attacks.metrics import attack_metrics
from post_bench.attacks.min_k_plus_plus import min_k_plus_plus_scores
from post_bench.data import get_task, load_dataset

TINY = "tiny-gpt2:layers=2,hidden=64"


def test_hand_computed_z_scores():
    """p = (1/4, 1/4, 1/2): log p = (-2, -2, -1) log 2, mean -1.5 log 2, spread 0.5 log 2, so the z-score of
    token 2 is +1, of token 0 is -1, and of the class whose label words are tokens 0 and 2 (their mean log p,
    as class scores average label words) is 0; logits shifted by a constant give the same; uniform: 0."""
    row = np.log([1.0, 1.0, 2.0])
    logits = np.stack([row, row + 3.0, row - 7.0, np.full(3, 5.0)])
    z = min_k_plus_plus_scores(logits, [[2], [0], [0, 2]], [0, 1, 2, 0])
    np.testing.assert_allclose(z, [1.0, -1.0, 0.0, 0.0], atol=1e-12)
    p = np.array([0.1, 0.2, 0.3, 0.4])  # a second distribution, computed term by term
    mu = sum(q * math.log(q) for q in p)
    sd = math.sqrt(sum(q * (math.log(q) - mu) ** 2 for q in p))
    got = min_k_plus_plus_scores(np.log(p)[None], [[3], [1]], [1])
    assert got[0] == pytest.approx((math.log(0.2) - mu) / sd, abs=1e-12)
    with pytest.raises(ValueError, match="class indices"):
        min_k_plus_plus_scores(logits, [[2], [0]], [0, 1, 2, 0])


@torch.no_grad()
def test_scores_match_the_models_own_head(tiny_backbone):
    """Against the full HF model's logits at the verbalizer position of [prompt ⊕ text], two label words for one
    class: z = (mean of its words' log p − E[log p]) / sd[log p], for each of two prompts."""
    bb = tiny_backbone(TINY)
    task = dataclasses.replace(get_task("election-tweets"), label_words=((" Hillary", " Clinton"), (" Trump",)))
    texts = ["vote for me", "make america great again", "stronger together", "we will win big in ohio"]
    labels = [0, 1, 0, 1]
    prompts = torch.randn(2, 3, bb.hidden_size, generator=torch.Generator().manual_seed(0))
    ours = ATTACKS.get("min_k_plus_plus")().scores(Examples(bb, texts, labels, task, 24, batch_size=3), prompts)
    assert ours.shape == (2, 4)
    ids, mask, pos = bb.collate(bb.encode_task(texts, task, 24, labels))
    label_ids = bb.label_token_ids(task)
    assert len(label_ids[0]) == 2
    for k, prompt in enumerate(prompts):
        emb = torch.cat([prompt.expand(len(texts), -1, -1), bb.embed(ids)], 1)
        full = torch.cat([torch.ones(len(texts), 3, dtype=mask.dtype), mask], 1)
        logits = bb.model(inputs_embeds=emb, attention_mask=full).logits[torch.arange(len(texts)), pos + 3]
        log_p = torch.log_softmax(logits.double(), -1)
        mu = (log_p.exp() * log_p).sum(-1)
        sd = (log_p.exp() * (log_p - mu[:, None]) ** 2).sum(-1).sqrt()
        label = torch.stack([log_p[i, label_ids[c]].mean() for i, c in enumerate(labels)])
        np.testing.assert_allclose(ours[k], ((label - mu) / sd).numpy(), rtol=1e-4, atol=1e-4)


def test_labels_the_prompt_favours_score_higher(tiny_backbone):
    """Members labelled with the class the prompted model favours (a memorised label), non-members with the other:
    on the same text the member's z-score is the higher one (same distribution, larger label log p), and over
    different texts the attack separates them (AUC measured 0.94; LOSS: 1.0)."""
    from post_bench.models.soft_prompt import init_prompt

    bb = tiny_backbone(TINY)
    ds = load_dataset("election-tweets")
    texts, task = list(ds.texts[:24]), ds.task
    prompt = init_prompt(bb, 4, init="vocab", seed=1)
    favoured = bb.score_dataset(bb.encode_task(texts, task, 24, [0] * 24), bb.label_token_ids(task), prompt).argmax(1)
    attack = ATTACKS.get("min_k_plus_plus")()
    same = [attack.scores(Examples(bb, texts, labels, task, 24), prompt[None])[0] for labels in (favoured, 1 - favoured)]
    assert (same[0] > same[1]).all()
    member = np.arange(24) < 12
    labels = np.where(member, favoured, 1 - favoured)
    z = attack.scores(Examples(bb, texts, labels, task, 24), prompt[None])[0]
    assert attack_metrics(z, member).auc >= 0.9
    np.testing.assert_array_equal(attack.statistic(z, np.zeros((0, 24)), np.zeros((0, 24), bool), "default"), z)


def test_registered_without_shadows_and_scoring_itself():
    cls = ATTACKS.get("min_k_plus_plus")
    assert cls.kind == "membership" and cls.own_scores and not cls.needs_references and cls.needs_shadows
    assert cls.variants == cls.default_variants == ("default",) and not cls.Params.model_fields


@pytest.mark.slow
def test_runs_in_a_suite(tmp_path, run_suite):
    """Planned on the shadows like loss (every prompt attacked in turn) and scored by its membership unit."""
    suite = {"name": "min-k", "seeds": [0], "models": {"target": TINY}, "datasets": {"private": ["election-tweets"]},
             "budget": {"train_size": 16, "test_size": 8, "val_size": 0, "max_tokens": 24, "prompt_length": 4},
             "tuning": {"steps": 2, "batch_size": 8, "accountant": "rdp"}, "methods": ["direct"],
             "attacks": [{"name": "min_k_plus_plus", "methods": ["direct"], "shadows": 2, "population": 8}]}
    run, results = run_suite(suite, tmp_path)
    (row,) = [r for r in results["privacy"] if r["attack"] == "min_k_plus_plus"]
    assert row["n_prompts"] == 3 and row["n_examples"] == 8 and 0.0 <= row["auc"] <= 1.0
    (unit,) = list((run / "units").glob("membership-*"))
    assert np.load(unit / "scores.npy").shape == (3, 8)
