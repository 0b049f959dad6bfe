"""``post-bench bench``, closeness to the machine's limit: the machine's own matmul rate (bf16 and fp32,
measured in the same run) and the FLOP/s that evaluation, prompt tuning and POST transfer achieve on a
model, as a fraction of it. FLOPs are counted as everywhere else (README): 2·params·tokens per pass,
params without the input embeddings, passes 1 (forward) or 2 (+ backward to the prompt).

Goals: >= 0.7 for evaluation, >= 0.5 for tuning and transfer. Runs are short (a few steps): on a shared
machine the fractions are noisy; compare them within one run.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from post_bench import cost
from post_bench.data import get_task
from post_bench.models.backbone import Backbone, cpu_has_native_bf16
from post_bench.models.loading import load_pretrained
from post_bench.training.prompt_tuning import TuneSettings, tune_prompts
from post_bench.training.transfer import transfer_prompt

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# sample texts of both benchmarks (election-tweets style), repeated to the token budget
TEXTS = [
    "Our campaign is about jobs and families across this great country",
    "Tonight we debate the future of healthcare and the economy",
    "Thank you Ohio! Together we will make history this November",
    "The media is rigged and everyone knows it, sad",
]


def matmul_rate(dtype: torch.dtype, size: int = 2048, budget_s: float = 1.0, repeats: int = 3) -> dict:
    """FLOP/s of a square linear layer (``F.linear``: the call a model makes) in ``dtype``: median of
    ``repeats``; the size halves from ``size`` until one call fits in ``budget_s`` (emulated bf16 is ~100x
    slower than native). Returns {"size", "flops_per_s"}."""
    while True:
        x, w = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        start = time.perf_counter()
        F.linear(x, w)  # warm-up and size probe
        if time.perf_counter() - start <= budget_s or size <= 256:
            break
        size //= 2
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        F.linear(x, w)
        times.append(time.perf_counter() - start)
    return {"size": size, "flops_per_s": 2.0 * size**3 / statistics.median(times)}


def achieved(fn) -> dict:
    """Run ``fn`` once under the cost meter: counted FLOPs per second of wall time."""
    with cost.measure() as meter:
        fn()
    return {"flops": meter.flops, "wall_s": round(meter.wall_s, 3), "flops_per_s": meter.flops / meter.wall_s}


def _workloads(name: str, precision: str, batch: int, tokens: int, prompt_len: int, steps: int) -> dict:
    """Short evaluation / tuning / transfer runs on ``name`` at one precision; their achieved FLOP/s."""
    model, tok, kind = load_pretrained(name)
    bb = Backbone(model, tok, kind, name=name, precision=precision)
    task = get_task("election-tweets")
    texts = [(TEXTS[i % len(TEXTS)] + " ") * 8 for i in range(batch)]
    enc = bb.encode_task(texts, task, tokens, labels=np.arange(len(texts)) % 2)
    label_ids = bb.label_token_ids(task)
    prompt = torch.randn(prompt_len, bb.hidden_size) * 0.02
    bb.score_dataset(enc.subset(range(2)), label_ids, prompt)  # warm-up (first-call allocations)
    tune = TuneSettings(steps=steps, batch_size=batch // 2, lr=1e-3, micro_batch=batch)
    public = enc.subset(range(batch // 2))
    s_0 = bb.vocab_logits_dataset(public, batch_size=batch)  # the transfer's prompt-free caches, as in a suite
    return {
        "evaluate": achieved(lambda: bb.score_dataset(enc, label_ids, prompt, batch_size=batch)),
        "tune": achieved(lambda: tune_prompts(bb, enc, label_ids, prompt, tune)),
        "transfer": achieved(lambda: transfer_prompt(bb, bb, prompt, public, public, steps=steps, init=prompt,
                                                     batch_size=batch // 2, s_0=s_0, t_0=s_0, cache_batch_size=batch)),
    }


def bench_limit(name: str = "smollm2-135m", precisions=("bf16", "fp32"), batch: int = 16, tokens: int = 32,
                prompt_len: int = 8, steps: int = 2, matmul_size: int = 2048) -> dict:
    """The machine's matmul rates and each workload's achieved fraction of the rate of its precision.

    Short runs shaped like the quickstart's (32 tokens, 8 virtual tokens): one evaluation batch of 16,
    2 tuning steps on 8 examples, 2 transfer steps on 8 public rows (source = target here: the same cost
    per step) including its s_p cache pass over them, as a transfer unit does. bf16 workloads run only where bf16
    matmuls are native (elsewhere ``precision: auto`` never picks bf16)."""
    rates = {p: matmul_rate(DTYPES[p], matmul_size) for p in ("bf16", "fp32")}
    out = {"model": name, "threads": torch.get_num_threads(), "batch": batch, "tokens": tokens, "steps": steps,
           "native_bf16": cpu_has_native_bf16(), "matmul": rates, "precisions": {}}
    for p in precisions:
        if p == "bf16" and not out["native_bf16"]:
            out["precisions"][p] = None
            continue
        work = _workloads(name, p, batch, tokens, prompt_len, steps)
        for row in work.values():
            row["fraction"] = row["flops_per_s"] / rates[p]["flops_per_s"]
        out["precisions"][p] = work
    return out


def print_limit(r: dict, echo=print) -> None:
    rates = r["matmul"]
    echo(f"{r['model']}: closeness to the machine's limit ({r['threads']} threads; linear layer "
         + ", ".join(f"{p} {v['flops_per_s'] / 1e12:.3f} TFLOP/s at {v['size']}²" for p, v in rates.items()) + ")")
    goals = {"evaluate": 0.7, "tune": 0.5, "transfer": 0.5}
    for p, work in r["precisions"].items():
        if work is None:
            echo(f"  {p:<4} skipped: no native {p} matmul on this CPU (precision auto uses fp32 here)")
            continue
        for kind, row in work.items():
            echo(f"  {p:<4} {kind:<9} {row['flops_per_s'] / 1e12:.3f} TFLOP/s = {row['fraction']:.2f} of the {p} "
                 f"matmul rate   (goal >= {goals[kind]})")
