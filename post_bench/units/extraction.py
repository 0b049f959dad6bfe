"""``extraction`` unit: what a tuned prompt gives away about its private training data.

- canary exposure: the secret of each planted canary ranked among ``candidates`` random secrets by the
  model's loss of "prefix secret" under the soft prompt (causal: mean NLL of the secret tokens; MLM: mean
  pseudo-NLL, each secret token masked in turn); exposure = log2(candidates) − log2(rank);
- nearest-token decoding of the soft prompt (cosine similarity to the input embedding table);
- optionally ``generate_tokens`` greedy tokens under the prompt (causal), checked against the training set.
A discrete prompt (dp_opt's prompt.txt) gets the shared-substring check of its text.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from post_bench.attacks.exposure import exposure_from_scores, max_shared_substring
from post_bench.data import candidate_secrets
from post_bench.runner import cost
from post_bench.runner.units import UNIT_KINDS
from post_bench.units.evaluate import prompt_of


def _forward(backbone, emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Last-layer hidden states [B, T, H] for input embeddings (all positions)."""
    cost.record(backbone.name, int(mask.sum()), backbone.n_params, 1)
    with torch.autocast(backbone.device.type, dtype=torch.bfloat16, enabled=backbone.autocast):
        out = backbone.base(inputs_embeds=emb, attention_mask=mask)
    return (out[0] if isinstance(out, tuple) else out.last_hidden_state).float()


def _with_prompt(backbone, ids: torch.Tensor, mask: torch.Tensor, prompt: torch.Tensor):
    emb = backbone.embed(ids)
    p = prompt.to(backbone.device, emb.dtype).unsqueeze(0).expand(len(ids), -1, -1)
    return torch.cat([p, emb], 1), torch.cat([mask.new_ones(p.shape[:2]), mask], 1)


def _pad(backbone, seqs: list[list[int]]):
    length = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), length), backbone.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)], mask[i, : len(s)] = torch.tensor(s), 1
    return ids.to(backbone.device), mask.to(backbone.device)


@torch.inference_mode()
def secret_nll(backbone, prompt: torch.Tensor, prefix: str, secrets, batch_size: int = 64) -> np.ndarray:
    """Mean negative log-likelihood of each secret's tokens in "prefix secret" under the soft prompt."""
    tok = backbone.tokenizer
    head = tok(prefix, add_special_tokens=False)["input_ids"]
    full = tok(prefix)["input_ids"]  # with the special tokens the tokenizer adds around a text
    lead = next(i for i in range(len(full) - len(head) + 1) if full[i: i + len(head)] == head)
    before, after = full[:lead], full[lead + len(head):]
    start = lead + len(head)
    seqs, spans = [], []  # spans: (row, position, target token, candidate)
    for c, secret in enumerate(secrets):
        tail = tok(" " + secret, add_special_tokens=False)["input_ids"]
        ids = before + head + tail + after
        if backbone.kind == "causal":
            seqs.append(ids)
            spans += [(len(seqs) - 1, start + j - 1, t, c) for j, t in enumerate(tail)]
        else:  # pseudo-likelihood: one row per masked secret token
            for j, t in enumerate(tail):
                seqs.append(ids[: start + j] + [tok.mask_token_id] + ids[start + j + 1:])
                spans.append((len(seqs) - 1, start + j, t, c))
    P = prompt.shape[0]
    total, count = np.zeros(len(secrets)), np.zeros(len(secrets))
    span_arr = np.array(spans, dtype=np.int64)
    for s0 in range(0, len(seqs), batch_size):
        ids, mask = _pad(backbone, seqs[s0: s0 + batch_size])
        hidden = _forward(backbone, *_with_prompt(backbone, ids, mask, prompt))
        sel = span_arr[(span_arr[:, 0] >= s0) & (span_arr[:, 0] < s0 + batch_size)]
        h = hidden[torch.as_tensor(sel[:, 0] - s0), torch.as_tensor(sel[:, 1] + P)]
        logp = F.log_softmax(backbone.vocab_logits_from_hidden(h), -1)
        nll = -logp[torch.arange(len(sel)), torch.as_tensor(sel[:, 2], device=logp.device)].cpu().numpy()
        np.add.at(total, sel[:, 3], nll)
        np.add.at(count, sel[:, 3], 1)
    return total / np.maximum(count, 1)


def canary_exposure(backbone, prompt, canaries, n_candidates: int, seed: int, batch_size: int = 64) -> dict:
    """Exposure of each canary's secret among ``n_candidates`` (secret included) under the prompt."""
    exposures, ranks = [], []
    for i, canary in enumerate(canaries):
        cands = candidate_secrets(canary, n_candidates, seed=seed * 1009 + i)
        nll = secret_nll(backbone, prompt, canary.prefix, cands, batch_size)
        spot = cands.index(canary.secret)
        others = np.delete(nll, spot)
        exposures.append(exposure_from_scores(float(nll[spot]), others))
        ranks.append(1 + int((others < nll[spot]).sum()))
    return {"mean_exposure": float(np.mean(exposures)), "max_exposure": float(np.max(exposures)),
            "max_possible": math.log2(n_candidates), "n_canaries": len(canaries), "n_candidates": n_candidates,
            "exposures": [round(e, 3) for e in exposures], "ranks": ranks,
            "scoring": "mean NLL of the secret" if backbone.kind == "causal" else "mean pseudo-NLL (MLM)"}


def nearest_tokens(backbone, prompt: torch.Tensor) -> dict:
    """Nearest vocabulary embedding (cosine) of every virtual token: tokens, decoded text, mean cosine."""
    table = F.normalize(backbone.input_embeddings.weight.detach().float().cpu(), dim=1)
    sims = F.normalize(prompt.detach().float().cpu(), dim=1) @ table.T
    best, ids = sims.max(dim=1)
    tok = backbone.tokenizer
    return {"text": tok.decode(ids.tolist()), "tokens": tok.convert_ids_to_tokens(ids.tolist()),
            "mean_cosine": float(best.mean()), "min_cosine": float(best.min())}


@torch.inference_mode()
def generate(backbone, prompt: torch.Tensor, n_tokens: int) -> str:
    """Greedy continuation of the soft prompt alone (after BOS when the tokenizer has one)."""
    start = [backbone.tokenizer.bos_token_id] if backbone.tokenizer.bos_token_id is not None else []
    emb = prompt.to(backbone.device).float().unsqueeze(0)
    if start:
        emb = torch.cat([emb, backbone.embed(torch.tensor([start], device=backbone.device)).float()], 1)
    out = []
    for _ in range(n_tokens):
        h = _forward(backbone, emb.to(backbone.input_embeddings.weight.dtype),
                     torch.ones(emb.shape[:2], dtype=torch.long, device=backbone.device))[:, -1]
        nxt = int(backbone.vocab_logits_from_hidden(h).argmax(-1))
        out.append(nxt)
        emb = torch.cat([emb, backbone.embed(torch.tensor([[nxt]], device=backbone.device)).float()], 1)
    return backbone.tokenizer.decode(out, skip_special_tokens=True)


def shared_substring(text: str, corpus: list[str], source: str) -> dict:
    length, index, sub = max_shared_substring(text, corpus)
    return {"source": source, "text": text, "longest_shared": length, "shared_substring": sub,
            "example_index": index}


@UNIT_KINDS.register("extraction")
def run_extraction(unit, ctx, work):
    cfg = unit.config
    train = ctx.private_train(cfg["dataset"], cfg["seed"], cfg["canaries"])
    corpus = list(train.texts)
    base = {"dataset": cfg["dataset"], "method": cfg["method"], "epsilon": cfg["epsilon"], "seed": cfg["seed"]}
    soft, text = prompt_of(ctx, unit)
    if soft is None:  # a discrete instruction (dp_opt)
        row = shared_substring(text or "", corpus, "instruction")
        return {"extraction": [{**base, "attack": "shared-substring", **row}]}
    backbone = ctx.backbone(ctx.model_name(unit))
    rows = [{**base, "attack": "nearest-tokens", **nearest_tokens(backbone, soft)}]
    canaries = train.meta.get("canaries") or ()
    if canaries:
        exp = canary_exposure(backbone, soft, canaries, cfg["candidates"], cfg["seed"], cfg["eval_batch_size"])
        rows.insert(0, {**base, "attack": "canary-exposure", "repetitions": train.meta["canary_repetitions"], **exp})
    if cfg["generate_tokens"] and backbone.kind == "causal":
        gen = generate(backbone, soft, cfg["generate_tokens"])
        rows.append({**base, "attack": "shared-substring", **shared_substring(gen, corpus, "generation")})
    return {"extraction": rows, "model_name": backbone.name}
