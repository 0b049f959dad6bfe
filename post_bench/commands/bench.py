"""``post-bench bench``: performance ratios measured within one run (so machine speed cancels out).

(a) DP-SGD prompt step / non-DP step (goal <= 1.10); (b) K prompts stacked in one batch vs K one at a
time, tokens/s; (c) our prompt-tuning tokens/s vs the bare frozen model's forward+backward (goal >= 0.9);
(d) class scores from the label words only vs the full-vocabulary head; (e) K POST transfers stacked in one
batch through the target vs K one at a time (what makes LiRA on POST prompts affordable).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from post_bench.atomic import writable_dir, write_text_atomic
from post_bench.commands.bench_limit import TEXTS, bench_limit, print_limit
from post_bench.data import get_task
from post_bench.models.backbone import Backbone
from post_bench.models.loading import load_pretrained
from post_bench.training.prompt_tuning import TuneSettings, tune_prompts
from post_bench.training.transfer import transfer_prompt, transfer_prompts


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _setup(name: str, batch: int, tokens: int):
    model, tok, kind = load_pretrained(name)
    bb = Backbone(model, tok, kind, name=name)
    task = get_task("election-tweets")
    texts = [(TEXTS[i % len(TEXTS)] + " ") * 8 for i in range(batch)]
    enc = bb.encode_task(texts, task, tokens, labels=np.arange(batch) % 2)
    return bb, enc, bb.label_token_ids(task)


def bench_model(name: str, batch: int = 16, tokens: int = 48, prompt_len: int = 8, repeats: int = 3,
                ks=(1, 4, 16)) -> dict:
    bb, enc, label_ids = _setup(name, batch, tokens)
    init = torch.randn(prompt_len, bb.hidden_size) * 0.02
    n_tok = enc.n_tokens + prompt_len * batch
    step = TuneSettings(steps=1, batch_size=batch, lr=1e-3, micro_batch=batch)
    dp = TuneSettings(steps=1, batch_size=batch, lr=1e-3, noise_multiplier=1.0, micro_batch=batch)
    members = [np.arange(batch)]
    # Poisson sampling makes DP batch sizes vary; fix the batch (q=1) so only the step itself is compared
    t_nondp = _time(lambda: tune_prompts(bb, enc, label_ids, init, step, members=members), repeats)
    t_dp = _time(lambda: tune_prompts(bb, enc, label_ids, init, dp, members=members), repeats)

    ids, mask, pos = bb.collate(enc)

    def bare():
        emb = torch.cat([init.unsqueeze(0).expand(batch, -1, -1), bb.embed(ids)], 1).requires_grad_(True)
        full_mask = torch.cat([mask.new_ones((batch, prompt_len)), mask], 1)
        hidden = bb.base(inputs_embeds=emb, attention_mask=full_mask).last_hidden_state
        hidden[:, -1].sum().backward()

    t_bare = _time(bare, repeats)

    stacked = {}
    for k in ks:
        inits = init.unsqueeze(0).repeat(k, 1, 1)
        settings = TuneSettings(steps=1, batch_size=batch, lr=1e-3, micro_batch=batch * k)
        t_stack = _time(lambda i=inits, s=settings, k=k: tune_prompts(bb, enc, label_ids, i, s, members=members * k), 1)
        t_one = _time(lambda: tune_prompts(bb, enc, label_ids, init, step, members=members), 1) * k
        stacked[str(k)] = {"stacked_tokens_per_s": k * n_tok / t_stack, "sequential_tokens_per_s": k * n_tok / t_one,
                           "speedup": t_one / t_stack}

    with torch.inference_mode():
        t_label = _time(lambda: bb.class_scores(ids, mask, pos, label_ids, init), repeats)
        t_full = _time(lambda: bb.model(input_ids=ids, attention_mask=mask).logits, repeats)

    return {
        "model": name, "batch": batch, "tokens_per_batch": n_tok, "threads": torch.get_num_threads(),
        "dp_step_s": t_dp, "nondp_step_s": t_nondp, "dp_over_nondp": t_dp / t_nondp,
        "tune_tokens_per_s": n_tok / t_nondp, "bare_fwd_bwd_tokens_per_s": n_tok / t_bare,
        "tune_over_bare": t_bare / t_nondp, "stacked": stacked,
        "label_head_s": t_label, "full_head_s": t_full, "full_head_over_label_head": t_full / t_label,
    }


def bench_stacked_transfer(name: str, ks=(1, 4, 16), batch: int = 8, tokens: int = 32, prompt_len: int = 8,
                           steps: int = 2) -> dict:
    """(e) Wall time of K POST transfers stacked in one batch vs K one at a time, ``steps`` steps each. The model
    is its own source (one vocabulary); the prompt-free logits are cached once, as the transfer unit does."""
    bb, enc, _ = _setup(name, batch, tokens)
    s_0 = bb.vocab_logits_dataset(enc)
    kw = {"steps": steps, "batch_size": batch, "lr": 1e-3, "s_0": s_0, "t_0": s_0}
    out = {"model": name, "batch": batch, "steps": steps, "threads": torch.get_num_threads()}
    for k in ks:
        g = torch.Generator().manual_seed(k)
        src = torch.randn(k, prompt_len, bb.hidden_size, generator=g) * 0.02
        init = torch.randn(k, prompt_len, bb.hidden_size, generator=g) * 0.02
        t_stack = _time(lambda s=src, i=init, k=k: transfer_prompts(bb, bb, s, enc, enc, alphas=[0.5] * k, init=i,
                                                                     seeds=[0] * k, **kw), 1)
        t_one = _time(lambda s=src, i=init: [transfer_prompt(bb, bb, p, enc, enc, init=q, **kw) for p, q in zip(s, i)], 1)
        out[str(k)] = {"stacked_s": t_stack, "sequential_s": t_one, "speedup": t_one / t_stack}
    return out


def run_bench(out_file: str | None, quick: bool = False, echo=print) -> dict:
    if out_file:  # checked before any work
        writable_dir(Path(out_file).parent, "--out")
    models = ["tiny-gpt2:layers=2,hidden=128"] + ([] if quick else ["smollm2-135m"])
    results = {"device": "cuda" if torch.cuda.is_available() else "cpu", "torch": torch.__version__,
               "results": [bench_model(m, ks=(1, 4) if quick else (1, 4, 16),
                                       batch=8 if m.startswith("smollm2") else 16) for m in models]}
    results["stacked_transfer"] = [bench_stacked_transfer(m, ks=(1, 4) if quick else (1, 4, 16)) for m in models]
    for r in results["results"]:
        echo(f"{r['model']}  (batch {r['batch']}, {r['tokens_per_batch']} tokens, {r['threads']} threads)")
        echo(f"  (a) DP step / non-DP step            {r['dp_over_nondp']:.3f}   (goal <= 1.10)")
        for k, s in r["stacked"].items():
            echo(f"  (b) K={k:<3} stacked vs one-at-a-time  {s['speedup']:.2f}x  ({s['stacked_tokens_per_s']:.0f} tok/s)")
        echo(f"  (c) tuning / bare fwd+bwd tokens/s   {r['tune_over_bare']:.3f}   (goal >= 0.9)")
        echo(f"  (d) full head / label-word scores    {r['full_head_over_label_head']:.2f}x slower")
    for r in results["stacked_transfer"]:
        for k in (k for k in r if k.isdigit()):
            echo(f"  (e) {r['model']} K={k:<3} POST transfers stacked vs one at a time  {r[k]['speedup']:.2f}x")
    if not quick:
        results["limit"] = bench_limit("smollm2-135m")
        print_limit(results["limit"], echo)
    if out_file:
        write_text_atomic(out_file, json.dumps(results, indent=2))
        echo(f"wrote {out_file}")
    return results


