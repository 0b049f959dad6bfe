"""Canaries: secret digit strings planted in training data to measure memorisation (exposure)."""

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
        return f"{self.prefix} {self.secret}"


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


def plan_canaries(cfg: dict, n_classes: int, seed: int) -> CanaryPlan:
    """From a unit's ``canaries`` config ``{"count", "repetitions", "held_out", "include": "all" | "half"}``."""
    cans, held, labels, held_labels = canary_sets(cfg["count"], cfg.get("held_out", 0), n_classes, seed=seed)
    if cfg.get("include", "all") == "half":
        included = tuple(bool(v) for v in inclusion_mask(len(cans), seed))
    else:
        included = (True,) * len(cans)
    return CanaryPlan(cans, labels, included, held, held_labels, cfg["repetitions"])
