"""Extraction attacks on a soft prompt: canary exposure, nearest-token decoding, generations.

Canaries for a classification prompt are texts with a planted label ("My secret code is 123456" → a
random class), so the training objective can memorise them. Exposure (Carlini et al. 2019) ranks each
planted canary's logit-scaled confidence of its planted label among held-out canaries of the same
construction (other secrets, their own random labels), never trained on.
"""

from __future__ import annotations

import numpy as np

from post_bench import cost
from post_bench.attacks.base import ATTACKS, CanaryAttack
from post_bench.attacks.exposure import exposure_rows, max_shared_substring  # noqa: F401 (exposure_rows: re-exported)
from post_bench.attacks.lira_math import logit_scaled_from_logits


def canary_scores(backbone, prompt, canaries, labels, task, max_tokens: int,
                  batch_size: int = 64) -> np.ndarray:
    """Logit-scaled confidence of each canary's planted label under the prompt (as the classifier sees it)."""
    enc = backbone.encode_task([c.text for c in canaries], task, max_tokens, list(labels))
    logits = backbone.score_dataset(enc, backbone.label_token_ids(task), prompt, batch_size)
    return logit_scaled_from_logits(logits, enc.labels)


def nearest_tokens(backbone, prompt) -> dict:
    """Nearest vocabulary embedding (cosine) of every virtual token: tokens, decoded text, mean cosine."""
    import torch.nn.functional as F  # deferred: start-up time (torch)

    table = F.normalize(backbone.input_embeddings.weight.detach().float().cpu(), dim=1)
    sims = F.normalize(prompt.detach().float().cpu(), dim=1) @ table.T
    best, ids = sims.max(dim=1)
    tok = backbone.tokenizer
    return {"text": tok.decode(ids.tolist()), "tokens": tok.convert_ids_to_tokens(ids.tolist()),
            "mean_cosine": float(best.mean()), "min_cosine": float(best.min())}


def _forward(backbone, emb, mask):
    """Last-layer hidden states [B, T, H] for input embeddings (all positions)."""
    import torch  # deferred: start-up time (torch)

    cost.record(backbone.name, int(mask.sum()), backbone.n_params, 1)
    with torch.autocast(backbone.device.type, dtype=torch.bfloat16, enabled=backbone.autocast):
        out = backbone.base(inputs_embeds=emb, attention_mask=mask)
    return (out[0] if isinstance(out, tuple) else out.last_hidden_state).float()


def generate(backbone, prompt, n_tokens: int) -> str:
    """Greedy continuation of the soft prompt alone (after BOS when the tokenizer has one)."""
    import torch  # deferred: start-up time (torch)

    start = [backbone.tokenizer.bos_token_id] if backbone.tokenizer.bos_token_id is not None else []
    out = []
    with torch.inference_mode():
        emb = prompt.to(backbone.device).float().unsqueeze(0)
        if start:
            emb = torch.cat([emb, backbone.embed(torch.tensor([start], device=backbone.device)).float()], 1)
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


@ATTACKS.register("extraction")
class Extraction(CanaryAttack):
    description = ("what a prompt gives away: exposure of planted-label canaries (vs held-out canaries), "
                   "nearest-token decoding, greedy generations checked for training-set substrings")
    kind = "prompt"
    unit_kind = "extraction"
    default_canaries, default_canary_kind, default_repetitions, include = 8, "secret", 4, "all"

    @classmethod
    def held_out(cls, entry) -> int:
        return entry.candidates - 1  # each planted canary's exposure is ranked among candidates - 1 held out

    @classmethod
    def unit_settings(cls, entry, suite, count: int) -> dict:
        return {"candidates": entry.candidates, "generate_tokens": entry.generate_tokens}

