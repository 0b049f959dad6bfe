"""Label-only membership inference (Choquette-Choo, Tramèr, Carlini, Papernot, "Label-Only Membership Inference
Attacks", ICML 2021), adapted to text classification with a soft prompt. Reference-free.

The attacker sees only the predicted label. A model is more robust around its training examples, so the
statistic is how often the prediction stays right under small changes of the input: the fraction of
``perturbations`` random word-level perturbations of the text for which the predicted class (the verbalizer's
argmax) still equals the true label. A perturbation touches each word with probability ``rate``; a touched
word is dropped or swapped with its right neighbour (even odds; a text keeps at least one word). The
perturbations of a text depend only on the seed and the text itself, so they are the same for every prompt
scored and in every run. Higher = more likely a member.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from post_bench.attacks.base import ATTACKS, ReferenceFreeAttack


class LabelOnlyParams(BaseModel):
    """label_only's own keys in a suite's ``attacks[]`` entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    perturbations: Annotated[int, Field(ge=1, le=1024)] = Field(16, description=(
        "Perturbed copies of each text the prediction is checked on (the statistic is the fraction still right)."))
    rate: Annotated[float, Field(gt=0, lt=1)] = Field(0.1, description=(
        "Chance that a perturbation touches a word (dropping it or swapping it with its right neighbour)."))


def _text_seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def perturb(text: str, count: int, rate: float, seed: int) -> list[str]:
    """``count`` word-level perturbations of ``text`` (see the module docstring), deterministic in ``seed`` and
    the text."""
    if count < 1 or not 0 < rate < 1:
        raise ValueError(f"need count >= 1 and rate in (0, 1); got {count}, {rate}")
    words = text.split()
    rng = np.random.default_rng([seed, 0x1AB, _text_seed(text)])
    out = []
    for _ in range(count):
        touched = rng.random(len(words)) < rate
        drop = touched & (rng.random(len(words)) < 0.5)
        items = list(zip(words, drop))  # a word keeps its own draw when swapped
        for i in np.flatnonzero(touched & ~drop):
            if i + 1 < len(items):
                items[i], items[i + 1] = items[i + 1], items[i]
        kept = [x for x, dropped in items if not dropped]
        out.append(" ".join(kept or [x for x, _ in items[:1]]))
    return out


def label_only_scores(predicted, labels, count: int) -> np.ndarray:
    """``[N]``: the fraction of each example's ``count`` perturbations (``predicted`` [N * count], example by
    example) whose predicted class is its true label (``labels`` [N])."""
    pred = np.asarray(predicted).reshape(-1, count)
    y = np.asarray(labels)
    if pred.shape[0] != y.size:
        raise ValueError(f"need {count} predictions per label; got {np.asarray(predicted).size} for {y.size}")
    return (pred == y[:, None]).mean(axis=1)


@ATTACKS.register("label_only")
class LabelOnly(ReferenceFreeAttack):
    description = ("label-only attack (Choquette-Choo et al. 2021): the fraction of random word-level perturbations "
                   "(drop / swap) of a text whose predicted label is still the true one; sees labels only, needs no "
                   "shadow prompts")
    Params = LabelOnlyParams
    own_scores = True

    def scores(self, examples, prompts) -> np.ndarray:
        k, rate = self.params.perturbations, self.params.rate
        texts = [t for text in examples.texts for t in perturb(text, k, rate, examples.seed)]
        labels = np.repeat(examples.labels, k)
        backbone = examples.backbone
        enc = backbone.encode_task(texts, examples.task, examples.max_tokens, labels)
        label_ids = examples.label_ids
        return np.stack([label_only_scores(backbone.score_dataset(enc, label_ids, p, examples.batch_size).argmax(1),
                                           examples.labels, k) for p in prompts])
