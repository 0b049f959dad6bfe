"""Canaries: crafted examples planted in training data to measure memorisation (exposure, one-run audits).

Three kinds (``CANARY_KINDS``), each with a uniformly random planted label:

- ``secret``: "My secret code is 123456" (random digit secrets; Carlini et al. 2019);
- ``mislabeled``: real texts of the private distribution, never in any split, with a random *wrong* label
  (Jagielski et al. 2020; the label can only be learnt by memorising the example);
- ``random-words``: strings of words drawn uniformly from the data set's own vocabulary (out-of-distribution
  inputs a classifier sees nowhere else; cf. Panda et al., ICLR 2025).
- ``nonsense``: strings of made-up words (random consonant-vowel syllables), which split into rare sub-word
  tokens: inputs that resemble nothing in the data or in pre-training, so the model has no prior about their
  label and only memorisation moves it (the spirit of Panda et al.'s new-token canaries, without editing the
  tokenizer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .types import TextDataset

PREFIX = "My secret code is"


@dataclass(frozen=True)
class Canary:
    prefix: str
    secret: str

    @property
    def text(self) -> str:
        return " ".join(p for p in (self.prefix, self.secret) if p)


def _secrets(rng: np.random.Generator, count: int, length: int, exclude: set[str] = frozenset()) -> list[str]:
    space = 10**length
    if count + len(exclude) > space:
        raise ValueError(f"cannot draw {count} distinct {length}-digit secrets (only {space} exist)")
    picked = rng.choice(space, size=count + len(exclude), replace=False)
    return [s for s in (f"{int(v):0{length}d}" for v in picked) if s not in exclude][:count]


def make_canaries(count: int, *, seed: int, length: int = 6, prefix: str = PREFIX) -> tuple[Canary, ...]:
    """``count`` canaries with distinct random ``length``-digit secrets."""
    rng = np.random.default_rng([seed, 0xCA7])
    return tuple(Canary(prefix, s) for s in _secrets(rng, count, length))


def canary_sets(count: int, held_out: int, n_classes: int, *, seed: int, length: int = 6,
                prefix: str = PREFIX) -> tuple[tuple[Canary, ...], tuple[Canary, ...], tuple[int, ...], tuple[int, ...]]:
    """``count`` canaries to plant and ``held_out`` of the same construction never planted (distinct secrets),
    each with a uniformly random planted label: (planted, held, planted labels, held labels)."""
    if n_classes < 2:
        raise ValueError(f"canaries need a task with at least 2 classes; got {n_classes}")
    cans = make_canaries(count + held_out, seed=seed, length=length, prefix=prefix)
    labels = tuple(int(v) for v in np.random.default_rng([seed, 0xCAB]).integers(n_classes, size=len(cans)))
    return cans[:count], cans[count:], labels[:count], labels[count:]


def inclusion_mask(count: int, seed: int) -> np.ndarray:
    """[count] bool: each canary included independently with probability 1/2 (one-run auditing)."""
    return np.random.default_rng([seed, 0x1C1]).random(count) < 0.5


def plant_canaries(train: TextDataset, canaries, labels, repetitions: int, seed: int) -> TextDataset:
    """Insert each canary text (with its planted label) ``repetitions`` times at random places."""
    rng = np.random.default_rng([seed, 0xCA9])
    canaries, labels = tuple(canaries), tuple(labels)
    if len(labels) != len(canaries) or train.labels is None:
        raise ValueError("plant_canaries needs a labelled data set and one label per canary")
    planted = [(c.text, labels[i]) for i, c in enumerate(canaries)] * repetitions
    total = len(train) + len(planted)
    spots = set(rng.choice(total, size=len(planted), replace=False).tolist())
    rows, own, extra = [], iter(range(len(train))), iter(planted)
    for pos in range(total):
        if pos in spots:
            rows.append(next(extra))
        else:
            i = next(own)
            rows.append((train.texts[i], train.labels[i]))
    meta = {**train.meta, "canaries": canaries, "canary_labels": labels, "canary_repetitions": repetitions}
    return TextDataset(train.name, tuple(t for t, _ in rows), tuple(y for _, y in rows), train.task, meta)


@dataclass(frozen=True)
class CanaryPlan:
    """The canaries one suite attack asks for: all of them with their planted labels, which are in the
    training set (``included``), and the held-out canaries of the same construction (never planted)."""

    canaries: tuple[Canary, ...]
    labels: tuple[int, ...]
    included: tuple[bool, ...]
    held_out: tuple[Canary, ...]
    held_out_labels: tuple[int, ...]
    repetitions: int


CANARY_KINDS = ("secret", "mislabeled", "random-words", "nonsense")
GRADIENT = "gradient"  # not a text: gradient canaries (``training.gradient_canaries``) plant no row in the data
RANDOM_WORDS = 12  # words per random-words canary
NONSENSE_WORDS = 6  # made-up words per nonsense canary
_CONSONANTS, _VOWELS = "bdfgklmnprstvz", "aeiou"


def nonsense_text(rng: np.random.Generator, words: int = NONSENSE_WORDS) -> str:
    """``words`` made-up words of 2-4 consonant-vowel syllables each (e.g. "zeto kavumi")."""
    out = []
    for _ in range(words):
        syl = rng.integers(2, 5)
        out.append("".join(_CONSONANTS[rng.integers(len(_CONSONANTS))] + _VOWELS[rng.integers(len(_VOWELS))]
                           for _ in range(syl)))
    return " ".join(out)


def text_canaries(kind: str, count: int, n_classes: int, *, seed: int, pool=None) -> tuple[tuple[Canary, ...], tuple[int, ...]]:
    """``count`` distinct canaries of ``kind`` with their planted labels. ``pool``: a labelled TextDataset of
    the private distribution disjoint from every split (``mislabeled`` draws its texts and true labels from
    it; ``random-words`` its vocabulary)."""
    if n_classes < 2:
        raise ValueError(f"canaries need a task with at least 2 classes; got {n_classes}")
    if kind not in CANARY_KINDS:
        raise ValueError(f"unknown canary kind {kind!r}; allowed: {', '.join(CANARY_KINDS)}")
    rng = np.random.default_rng([seed, 0xCA8, CANARY_KINDS.index(kind)])
    if kind == "nonsense":  # needs no pool: nothing of the private distribution is used
        texts: dict[str, None] = {}
        while len(texts) < count:
            texts[nonsense_text(rng)] = None
        labels = tuple(int(v) for v in rng.integers(n_classes, size=count))
        return tuple(Canary(t, "") for t in texts), labels
    if pool is None or not len(pool):
        raise ValueError(f"{kind} canaries need a pool of held-out texts")
    if kind == "mislabeled":
        if pool.labels is None:
            raise ValueError("mislabeled canaries need a labelled pool")
        if len(pool) < count:
            raise ValueError(f"{count} mislabeled canaries need {count} held-out texts; the pool has {len(pool)}")
        pick = rng.permutation(len(pool))[:count]
        wrong = rng.integers(1, n_classes, size=count)  # true + 1..C-1 (mod C): never the true label
        labels = tuple(int((pool.labels[int(i)] + w) % n_classes) for i, w in zip(pick, wrong))
        return tuple(Canary(pool.texts[int(i)], "") for i in pick), labels
    vocab = sorted({w for t in pool.texts for w in t.split() if w.isalpha()})
    if len(vocab) < RANDOM_WORDS:
        raise ValueError(f"random-words canaries need at least {RANDOM_WORDS} distinct words; the pool has {len(vocab)}")
    texts: dict[str, None] = {}
    while len(texts) < count:
        texts[" ".join(vocab[int(i)] for i in rng.integers(len(vocab), size=RANDOM_WORDS))] = None
    labels = tuple(int(v) for v in rng.integers(n_classes, size=count))
    return tuple(Canary(t, "") for t in texts), labels


def plan_canaries(cfg: dict, n_classes: int, seed: int, pool=None) -> CanaryPlan:
    """From a unit's ``canaries`` config ``{"count", "repetitions", "held_out", "include": "all" | "half",
    "kind"}`` (kind default ``secret``; the other kinds need ``pool``, see ``text_canaries``)."""
    kind = cfg.get("kind", "secret")
    if kind == "secret":
        cans, held, labels, held_labels = canary_sets(cfg["count"], cfg.get("held_out", 0), n_classes, seed=seed)
    else:
        n_held = cfg.get("held_out", 0)
        every, all_labels = text_canaries(kind, cfg["count"] + n_held, n_classes, seed=seed, pool=pool)
        cans, held = every[: cfg["count"]], every[cfg["count"]:]
        labels, held_labels = all_labels[: cfg["count"]], all_labels[cfg["count"]:]
    if cfg.get("include", "all") == "half":
        included = tuple(bool(v) for v in inclusion_mask(len(cans), seed))
    else:
        included = (True,) * len(cans)
    return CanaryPlan(cans, labels, included, held, held_labels, cfg["repetitions"])
