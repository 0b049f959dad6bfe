"""Label-only membership inference (post_bench/attacks/label_only.py): seeded word-level perturbations, the
statistic counted by hand and against the model's predictions one text at a time, labels the prompted model
keeps predicting ranked above the others, its typed parameters in a suite, and a suite run."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

from post_bench.attacks.base import ATTACKS, Examples
from post_bench.attacks.label_only import LabelOnlyParams, label_only_scores, perturb
from post_bench.attacks.metrics import attack_metrics
from post_bench.data import get_task, load_dataset

TINY = "tiny-gpt2:layers=2,hidden=64"
TEXT = "the quick brown fox jumps over the lazy dog near the river bank today"


def test_perturbations_are_seeded_word_drops_and_swaps():
    a = perturb(TEXT, 200, 0.2, seed=3)
    assert a == perturb(TEXT, 200, 0.2, seed=3) and a != perturb(TEXT, 200, 0.2, seed=4)
    assert perturb(TEXT, 5, 0.2, seed=3) == a[:5]  # the k-th perturbation does not depend on how many are drawn
    words = TEXT.split()
    for p in a:  # only drops and swaps of neighbours: a sub-multiset of the words
        assert not set(p.split()) - set(words) and len(p.split()) <= len(words)
    dropped = np.mean([len(words) - len(p.split()) for p in a]) / len(words)
    assert dropped == pytest.approx(0.1, abs=0.02)  # half of the touched words (rate 0.2) are dropped
    assert sum(p != TEXT for p in a) > 150
    assert perturb("alone", 3, 0.9, seed=0) == ["alone"] * 3  # a text keeps at least one word
    with pytest.raises(ValueError):
        perturb(TEXT, 0, 0.1, seed=0)


def test_statistic_by_hand():
    predicted = [0, 0, 1, 1, 1, 1, 1, 0, 2, 2, 2, 2]
    np.testing.assert_array_equal(label_only_scores(predicted, [0, 1, 0], 4), [0.5, 0.75, 0.0])
    with pytest.raises(ValueError, match="predictions per label"):
        label_only_scores(predicted, [0, 1], 4)


def test_scores_match_predictions_one_text_at_a_time(tiny_backbone):
    bb = tiny_backbone(TINY)
    task = get_task("election-tweets")
    texts, labels = ["vote for me in november", "make america great again today", "stronger together"], [0, 1, 0]
    prompts = torch.randn(2, 3, bb.hidden_size, generator=torch.Generator().manual_seed(0))
    attack = ATTACKS.get("label_only")(LabelOnlyParams(perturbations=5, rate=0.3))
    ours = attack.scores(Examples(bb, texts, labels, task, 24, batch_size=4, seed=7), prompts)
    label_ids = bb.label_token_ids(task)
    for k, prompt in enumerate(prompts):
        for i, (text, label) in enumerate(zip(texts, labels)):
            right = [int(bb.score_dataset(bb.encode_task([t], task, 24, [label]), label_ids, prompt).argmax()) == label
                     for t in perturb(text, 5, 0.3, seed=7)]
            assert ours[k, i] == pytest.approx(np.mean(right))
    again = attack.scores(Examples(bb, texts[::-1], labels[::-1], task, 24, seed=7), prompts)
    np.testing.assert_array_equal(again, ours[:, ::-1])  # a text's perturbations depend on it and the seed only


def test_labels_the_prompt_keeps_predicting_score_higher(tiny_backbone):
    """Members labelled with the class the prompted model predicts (a memorised label), non-members with the
    other: the prediction mostly survives 10% word perturbations, so members score near 1 and non-members
    near 0 (AUC 1.0 measured)."""
    from post_bench.models.soft_prompt import init_prompt

    bb = tiny_backbone(TINY)
    ds = load_dataset("election-tweets")
    texts, task = list(ds.texts[:24]), ds.task
    prompt = init_prompt(bb, 4, init="vocab", seed=1)
    favoured = bb.score_dataset(bb.encode_task(texts, task, 24, [0] * 24), bb.label_token_ids(task), prompt).argmax(1)
    member = np.arange(24) < 12
    attack = ATTACKS.get("label_only")()
    stat = attack.scores(Examples(bb, texts, np.where(member, favoured, 1 - favoured), task, 24), prompt[None])[0]
    assert attack_metrics(stat, member).auc >= 0.95
    assert stat[member].mean() > 0.7 > 0.3 > stat[~member].mean()
    assert set(np.unique(stat * 16)) <= set(range(17))  # 16 perturbations by default


def test_registered_with_typed_parameters(tmp_path):
    from post_bench.checks import load_suite
    from post_bench.errors import UserInputError

    cls = ATTACKS.get("label_only")
    assert cls.kind == "membership" and cls.own_scores and not cls.needs_references
    assert cls().params == LabelOnlyParams(perturbations=16, rate=0.1)
    base = textwrap.dedent(f"""
        name: t
        models: {{target: "{TINY}"}}
        datasets: {{private: [election-tweets]}}
        budget: {{train_size: 16}}
        methods: [direct]
    """)
    path = tmp_path / "suite.yaml"
    path.write_text(base + "attacks: [{name: label_only, methods: [direct], shadows: 2, population: 8, rate: 0.2}]\n")
    assert load_suite(path).attacks[0].model_extra == {"rate": 0.2}
    path.write_text(base + "attacks: [{name: label_only, methods: [direct], shadows: 2, population: 8, rate: 2, "
                           "perturbation: 4}]\n")
    with pytest.raises(UserInputError) as err:
        load_suite(path)
    text = "\n".join(err.value.problems)
    assert "attacks[0].perturbation: unknown key (did you mean 'perturbations'?)" in text
    assert "attacks[0].rate: Input should be less than 1" in text


@pytest.mark.slow
def test_runs_in_a_suite_with_its_parameters(tmp_path, run_suite):
    suite = {"name": "label-only", "seeds": [0], "models": {"target": TINY},
             "datasets": {"private": ["election-tweets"]},
             "budget": {"train_size": 16, "test_size": 8, "val_size": 0, "max_tokens": 24, "prompt_length": 4},
             "tuning": {"steps": 2, "batch_size": 8, "accountant": "rdp"}, "methods": ["direct"],
             "attacks": [{"name": "label_only", "methods": ["direct"], "shadows": 2, "population": 8,
                          "perturbations": 4}]}
    run, results = run_suite(suite, tmp_path)
    (row,) = [r for r in results["privacy"] if r["attack"] == "label_only"]
    assert row["n_prompts"] == 3 and row["n_examples"] == 8
    (unit,) = list((run / "units").glob("membership-*"))
    scores = np.load(unit / "scores.npy")
    assert scores.shape == (3, 8) and set(np.unique(scores * 4)) <= {0, 1, 2, 3, 4}
