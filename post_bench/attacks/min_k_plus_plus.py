"""Min-K%++ (Zhang et al., "Min-K%++: Improved Baseline for Detecting Pre-Training Data from Large Language
Models", 2024), adapted to the label-token objective. Reference-free.

Min-K%++ standardises a token's log-probability by the model's own next-token distribution at that position,
``(log p(y) − μ) / σ`` with ``μ = E_{z∼p}[log p(z)]`` and ``σ² = Var_{z∼p}[log p(z)]`` over the whole
vocabulary, and averages the lowest k% of these over a sequence. A prompt here is trained on one position per
example, the verbalizer (causal: after the text; MLM: the mask), so the statistic is that single z-score, no
k: the full-vocabulary logits there (``Backbone.vocab_logits_dataset``) give μ and σ, and ``log p(y)`` follows
the verbalizer's convention for the true class (``Backbone.class_scores``: the mean over the class's label
words, each by its first sub-token), i.e. the mean of those words' log-probabilities. A member's label sits
higher in its own distribution than a non-member's: higher = more likely a member.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from post_bench.attacks.base import ATTACKS, ReferenceFreeAttack

CHUNK = 64  # examples whose [n, V] logits are held at once
FLAT = 1e-9  # a spread of log p below this is none (rounding of a uniform distribution)


def min_k_plus_plus_scores(logits, label_ids: list[list[int]], labels) -> np.ndarray:
    """``[N]`` z-scores of the true labels' log-probabilities from full-vocabulary logits ``[N, V]``
    (``label_ids[c]``: the token ids of class c's label words; ``labels`` [N]: the true classes)."""
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"need logits [N, V] and labels [N]; got {x.shape}, {y.shape}")
    if y.size and not (0 <= y.min() and y.max() < len(label_ids)):
        raise ValueError(f"labels must be class indices in [0, {len(label_ids) - 1}]")
    log_p = x - logsumexp(x, axis=1, keepdims=True)
    p = np.exp(log_p)
    mu = (p * log_p).sum(axis=1)
    sigma = np.sqrt((p * (log_p - mu[:, None]) ** 2).sum(axis=1))
    label = np.array([log_p[i, label_ids[c]].mean() for i, c in enumerate(y)], dtype=np.float64)
    flat = sigma < FLAT  # no spread (a uniform distribution): every token is as likely as the mean, z = 0
    return np.where(flat, 0.0, (label - mu) / np.where(flat, 1.0, sigma))


@ATTACKS.register("min_k_plus_plus")
class MinKPlusPlus(ReferenceFreeAttack):
    description = ("Min-K%++ (Zhang et al. 2024) at the verbalizer: the true label's log-probability standardised "
                   "by the mean and spread of log p over the model's whole next-token distribution there; needs no "
                   "shadow prompts")
    own_scores = True

    def scores(self, examples, prompts) -> np.ndarray:
        enc, label_ids, n = examples.encode(), examples.label_ids, len(examples)
        out = np.empty((len(prompts), n), dtype=np.float64)
        for k, prompt in enumerate(prompts):
            for start in range(0, n, CHUNK):
                idx = np.arange(start, min(start + CHUNK, n))
                logits = examples.backbone.vocab_logits_dataset(enc.subset(idx), prompt, examples.batch_size)
                out[k, idx] = min_k_plus_plus_scores(logits.numpy(), label_ids, examples.labels[idx])
        return out
