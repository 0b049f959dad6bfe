"""Shadow prompts for membership attacks, by Carlini et al.'s protocol.

A population of 2N examples from the private distribution: the private train split (N, what the attacked
prompt was tuned on) and N held-out rows. Every shadow is tuned on a uniformly random half (exactly N
examples) with the attacked prompt's own mechanism (same steps, batch, q = batch/N, σ, clip, δ), so the
attacked prompt is one more draw of the same experiment. ``population`` examples of the 2N (half members
of the attacked prompt) are scored; the cost is K and that number, never the mechanism.
"""

from __future__ import annotations

import numpy as np

from post_bench.attacks.lira_math import logit_scaled_from_logits


def keep_masks(n_shadows: int, n_population: int, seed: int) -> np.ndarray:
    """[K, 2N] bool in complementary pairs: shadow 2j gets a uniformly random half of the population and
    shadow 2j+1 the other half, so every shadow has exactly N members and every example is IN for exactly
    K/2 shadows. K and the population must be even."""
    if n_shadows < 2 or n_shadows % 2:
        raise ValueError(f"the number of shadows must be even and >= 2; got {n_shadows}")
    if n_population < 2 or n_population % 2:
        raise ValueError(f"the population must be even and >= 2; got {n_population}")
    rng = np.random.default_rng([seed, 0x5AD0])
    keep = np.zeros((n_shadows, n_population), bool)
    for j in range(n_shadows // 2):
        half = rng.permutation(n_population)[: n_population // 2]
        keep[2 * j, half] = True
        keep[2 * j + 1] = ~keep[2 * j]
    return keep


def scored_examples(n_half: int, count: int, seed: int) -> np.ndarray:
    """Indices of ``count`` population examples to score: count/2 of the attacked prompt's members (the first
    N) and count/2 of the held-out rows (the last N), sorted."""
    if count % 2 or not 2 <= count <= 2 * n_half:
        raise ValueError(f"population must be even and in [2, {2 * n_half}]; got {count}")
    rng = np.random.default_rng([seed, 0x5C0])
    ins = rng.permutation(n_half)[: count // 2]
    outs = n_half + rng.permutation(n_half)[: count // 2]
    return np.sort(np.r_[ins, outs])


def scored_keep(keep: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """[1 + K, len(idx)] membership on the scored examples ``idx`` of the attacked prompt (row 0: the first N of
    the population, its train split) and of the K shadows (``keep`` [K, 2N])."""
    n = keep.shape[1] // 2
    attacked = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    return np.vstack([attacked, keep])[:, idx]


def logit_scaled(backbone, enc, label_ids, prompts, batch_size: int = 32) -> np.ndarray:
    """[K, N] ``log p_y − log Σ_{y'≠y} p_y'`` of each prompt (of [K, P, H]) on each example."""
    return np.stack([logit_scaled_from_logits(backbone.score_dataset(enc, label_ids, p, batch_size), enc.labels)
                     for p in prompts])


def train_shadows(backbone, enc, label_ids, init, keep: np.ndarray, settings, seed: int, desc: str = "shadows"):
    """Tune K prompts at once (one stacked batch per step), shadow k on the examples ``keep[k]`` of ``enc``,
    all with one ``TuneSettings`` (the attacked prompt's). Returns the prompts [K, P, H]."""
    from post_bench.training.prompt_tuning import tune_prompts  # deferred: start-up time (torch)

    members = [np.flatnonzero(row) for row in keep]
    sizes = {len(m) for m in members}
    if len(sizes) != 1:
        raise ValueError(f"shadows must train on equally many examples (one mechanism); got sizes {sorted(sizes)}")
    init_k = init.unsqueeze(0).repeat(len(members), 1, 1)
    prompts, _ = tune_prompts(backbone, enc, label_ids, init_k, settings, members=members, seed=seed, desc=desc)
    return prompts
