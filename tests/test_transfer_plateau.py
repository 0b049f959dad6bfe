"""POST's plateau stopping rule: held-out public texts decide when each prompt stops; the best checkpoint is kept."""

from __future__ import annotations

import pytest
import torch

from post_bench.data import load_dataset, sample_public
from post_bench.models.backbone import Backbone
from post_bench.models.loading import load_pretrained
from post_bench.training.plateau import Plateau, hold_out, label_agreement
from post_bench.training.transfer import transfer_prompt, transfer_prompts

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
    texts = sample_public(load_dataset("friends"), seed=0, size=24).texts
    template = load_dataset("election-tweets").task.template("causal")
    train = [m.encode(texts[:16], template, 24) for m in models]
    val = tuple(m.encode(texts[16:], template, 24) for m in models)
    return train, val


def _prompts(models, k=1):
    source, target = models
    g = torch.Generator().manual_seed(3)
    return torch.randn(k, 4, source.hidden_size, generator=g) * 0.5, torch.randn(k, 4, target.hidden_size, generator=g) * 0.05


def test_label_agreement_counts_matching_top_label_words():
    s = torch.tensor([[0.0, 5.0, 1.0, 9.0], [3.0, 0.0, 1.0, 9.0], [0.0, 0.0, 2.0, 9.0]])
    t = torch.tensor([[0.0, 1.0, 0.5, -9.0], [0.0, 4.0, 1.0, -9.0], [1.0, 0.0, 3.0, -9.0]])
    # columns 0..2 only (column 3 is not a label word): rows agree on 1, disagree (0 vs 1), agree on 2
    assert label_agreement(s, t, [0, 1, 2]) == pytest.approx(2 / 3)


def test_plateau_rule_rejects_bad_settings():
    with pytest.raises(ValueError, match="patience"):
        Plateau(every=0)
    with pytest.raises(ValueError, match="min_delta"):
        Plateau(min_delta=1.0)


def test_no_improvement_stops_at_patience_and_returns_the_best_checkpoint(models, public):
    """min_delta 0.99: no check can count as an improvement, so the prompt stops after `patience` checks and
    the initial prompt (the best, checked at step 0) comes back."""
    (src, init), (train, val) = _prompts(models), public
    stops = []
    out, hist = transfer_prompts(*models, src, *train, steps=50, batch_size=4, lr=0.05, init=init,
                                 plateau=Plateau(every=2, patience=2, min_delta=0.99), validation=val,
                                 label_columns=[5, 6, 7], stops=stops)
    (rec,) = stops
    assert rec["stopped_at"] == 4 and rec["best_step"] == 0 and len(hist[0]) == 4
    assert [c[0] for c in rec["checks"]] == [0, 2, 4] and all(0.0 <= c[2] <= 1.0 for c in rec["checks"])
    assert torch.equal(out[0], init[0])


def test_improving_prompt_keeps_training_to_the_ceiling(models, public):
    (src, init), (train, val) = _prompts(models), public
    stops = []
    out, hist = transfer_prompts(*models, src, *train, steps=6, batch_size=4, lr=0.05, init=init,
                                 plateau=Plateau(every=3, patience=5, min_delta=0.0), validation=val, stops=stops)
    (rec,) = stops
    assert rec["stopped_at"] is None and len(hist[0]) == 6 and [c[0] for c in rec["checks"]] == [0, 3, 6]
    losses = [c[1] for c in rec["checks"]]
    assert rec["best_val_loss"] == pytest.approx(min(losses), abs=1e-6)
    assert losses[-1] < losses[0]  # the transfer lowers the held-out loss


def test_stacked_prompts_stop_as_they_would_alone(models, public):
    """Two prompts stacked, each with its own stop: identical to each transferred alone under the same rule."""
    (src, init), (train, val) = _prompts(models, k=2), public
    rule, kw = Plateau(every=2, patience=1, min_delta=0.02), {"steps": 8, "batch_size": 4, "lr": 0.05}
    stops = []
    both, hists = transfer_prompts(*models, src, *train, alphas=[0.0, 1.0], seeds=[0, 1], init=init, plateau=rule,
                                   validation=val, stops=stops, **kw)
    for k in range(2):
        alone_stops = []
        one, hist = transfer_prompt(*models, src[k], *train, alpha=[0.0, 1.0][k], seed=k, init=init[k], plateau=rule,
                                    validation=val, stops=alone_stops, **kw)
        assert torch.allclose(both[k], one, atol=1e-5)
        assert hist == pytest.approx(hists[k], rel=1e-4)
        assert alone_stops[0]["stopped_at"] == stops[k]["stopped_at"]


def test_plateau_needs_validation_and_the_reverse(models, public):
    (src, init), (train, val) = _prompts(models), public
    with pytest.raises(ValueError, match="validation"):
        transfer_prompts(*models, src, *train, steps=1, batch_size=4, init=init, plateau=Plateau())
    with pytest.raises(ValueError, match="validation"):
        transfer_prompts(*models, src, *train, steps=1, batch_size=4, init=init, validation=val)


def test_post_with_the_plateau_rule_end_to_end(tmp_path, run_suite):
    """``stop: plateau`` in a suite: the transfer unit records its checks; configs without it keep their keys."""
    import json

    suite = {
        "name": "plateau", "seeds": [0], "epsilons": ["inf"],
        "models": {"target": TARGET, "source": {"model": SOURCE}},
        "datasets": {"private": ["election-tweets"], "public": "friends"},
        "budget": {"train_size": 16, "test_size": 16, "val_size": 0, "public_size": 16, "max_tokens": 24,
                   "prompt_length": 2},
        "tuning": {"steps": 2, "batch_size": 8, "accountant": "rdp"},
        "methods": [{"name": "post", "steps": 6, "alpha": 0.5, "stop": "plateau", "public_val_size": 8,
                     "check_every": 2, "patience": 1}],
    }
    out, results = run_suite(suite, tmp_path)
    (done,) = [json.loads(p.read_text()) for p in (out / "units").glob("transfer-*/done.json")]
    rec = done["record"]["stop"] if "record" in done else done["stop"]
    assert rec["rule"] == "plateau" and rec["checks"][0][0] == 0 and len(rec["checks"][0]) == 3
    assert [r["method"] for r in results["utility"]] == ["post"]


def test_hold_out_keeps_the_last_drawn_texts_for_the_rule():
    drawn = sample_public(load_dataset("friends"), seed=0, size=12)
    public, held = hold_out(drawn, 9)
    assert public.texts == drawn.texts[:9] and held.texts == drawn.texts[9:] and public.task == drawn.task
