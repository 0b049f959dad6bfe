"""Prompt tuning: exact per-example gradients, DP noise scale, stacked prompts equal separate runs."""

import numpy as np
import pytest
import torch

from post_bench.data import get_task
from post_bench.training.accounting import calibrate, spent_epsilon
from post_bench.training.prompt_tuning import per_example_grads, per_example_losses, tune_prompts
from post_bench.training.settings import TuneSettings

TEXTS = ["vote for me", "make it great", "stronger together", "big news today", "we will win", "thank you ohio"]


def _setup(tiny_backbone):
    bb = tiny_backbone("tiny-gpt2:layers=2,hidden=64")
    task = get_task("election-tweets")
    enc = bb.encode_task(TEXTS, task, 32, labels=[0, 1, 0, 1, 1, 0])
    return bb, enc, bb.label_token_ids(task)


def test_per_example_grads_match_a_loop(tiny_backbone):
    bb, enc, label_ids = _setup(tiny_backbone)
    prompt = torch.randn(3, bb.hidden_size) * 0.1
    batched = per_example_grads(bb, enc, [0, 1, 2, 3], label_ids, prompt)
    for i in range(4):
        p = prompt.clone().requires_grad_(True)
        loss = per_example_losses(bb, enc, [i], label_ids, p).sum()
        (g,) = torch.autograd.grad(loss, p)
        torch.testing.assert_close(batched[i], g, rtol=1e-5, atol=1e-7)


def test_stacked_prompts_train_like_separate_ones(tiny_backbone):
    bb, enc, label_ids = _setup(tiny_backbone)
    init = torch.randn(2, 3, bb.hidden_size) * 0.1
    settings = TuneSettings(steps=3, batch_size=6, lr=0.05)
    members = [np.arange(6), np.arange(6)]
    stacked, _ = tune_prompts(bb, enc, label_ids, init, settings, members=members, seed=0)
    alone, _ = tune_prompts(bb, enc, label_ids, init[1], settings, seed=0)
    assert not torch.allclose(stacked[1], init[1])
    # same data each step (full batch), so the two runs of prompt 1 must agree
    torch.testing.assert_close(stacked[1], alone, rtol=1e-4, atol=1e-5)


def test_dp_noise_matches_accountant(tiny_backbone):
    bb, enc, label_ids = _setup(tiny_backbone)
    cal = calibrate(epsilon=1.0, delta=1e-3, sample_rate=0.5, steps=20, accountant="rdp")
    assert abs(spent_epsilon(cal.noise_multiplier, 0.5, 20, 1e-3, "rdp") - cal.epsilon_spent) < 1e-9
    assert cal.epsilon_spent <= 1.0 and cal.epsilon_spent > 0.9
    # with lr tiny and zero-signal clip, one Adam-free SGD-like check: update std ~ sigma*C/B
    settings = TuneSettings(steps=1, batch_size=3, lr=1.0, clip=1e-12, noise_multiplier=cal.noise_multiplier)
    init = torch.zeros(4, bb.hidden_size)
    g = torch.Generator().manual_seed(1)
    expected_grad = torch.randn(1, 4, bb.hidden_size, generator=g) * cal.noise_multiplier * 1e-12 / 3
    out, _ = tune_prompts(bb, enc, label_ids, init, settings, seed=0)
    # Adam's first step moves every coordinate by ~lr*sign(grad): signs follow the noise draw
    agree = (torch.sign(-out) == torch.sign(expected_grad[0])).float().mean()
    assert agree > 0.99


def test_more_noise_for_smaller_epsilon():
    a = calibrate(8.0, 1e-3, 0.1, 50, "rdp").noise_multiplier
    b = calibrate(1.0, 1e-3, 0.1, 50, "rdp").noise_multiplier
    assert b > a > 0


def test_fp16_loss_scale_only_under_fp16_autocast_and_overflow_is_one_line():
    import types

    from post_bench.training.prompt_tuning import FP16_LOSS_SCALE, check_finite, loss_scale

    assert loss_scale(types.SimpleNamespace(autocast=True, autocast_dtype=torch.float16)) == FP16_LOSS_SCALE
    assert loss_scale(types.SimpleNamespace(autocast=True, autocast_dtype=torch.bfloat16)) == 1.0
    assert loss_scale(types.SimpleNamespace(autocast=False, autocast_dtype=torch.float16)) == 1.0
    check_finite(torch.tensor([float("inf")]), 1.0)  # unscaled (fp32/bf16) runs are not checked here
    with pytest.raises(RuntimeError, match="fp16 gradient overflow"):
        check_finite(torch.tensor([1.0, float("inf")]), FP16_LOSS_SCALE)
