"""Closeness to the machine's limit: matmul rates and achieved FLOP/s fractions (on a tiny model here;
``post-bench bench`` runs them on SmolLM2), and ``precision: auto`` picking bf16 only where it is native."""

import torch

from post_bench.commands.bench_limit import bench_limit, matmul_rate
from post_bench.models.backbone import Backbone, cpu_has_native_bf16


def test_matmul_rate_shrinks_to_fit_the_budget():
    r = matmul_rate(torch.float32, size=512, budget_s=1e-9, repeats=1)
    assert r["size"] == 256 and r["flops_per_s"] > 1e8


def test_fractions_of_the_limit_on_a_tiny_model():
    r = bench_limit("tiny-gpt2:layers=2,hidden=64", precisions=("fp32",), batch=4, tokens=16, prompt_len=2, steps=1,
                    matmul_size=256)
    work = r["precisions"]["fp32"]
    assert set(work) == {"evaluate", "tune", "transfer"}
    for row in work.values():
        assert row["flops"] > 0 and row["wall_s"] > 0
        assert row["fraction"] == row["flops_per_s"] / r["matmul"]["fp32"]["flops_per_s"] > 0
    # one tuning step on half the (equal-length) rows counts 2 passes: the FLOPs of one evaluation of all rows
    assert work["tune"]["flops"] == work["evaluate"]["flops"]
    assert r["matmul"]["fp32"]["size"] == 256


def test_auto_precision_uses_bf16_only_where_native(tiny_backbone):
    bb = tiny_backbone("tiny-gpt2:layers=2,hidden=64")
    auto = Backbone(bb.model, bb.tokenizer, bb.kind, name="x", precision="auto")
    assert auto.autocast == cpu_has_native_bf16()
    assert Backbone(bb.model, bb.tokenizer, bb.kind, name="x", precision="bf16").autocast
