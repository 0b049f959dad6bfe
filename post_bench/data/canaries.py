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


def candidate_secrets(canary: Canary, n_candidates: int, seed: int) -> tuple[str, ...]:
    """``n_candidates`` distinct secrets of the canary's format, the true one among them at a random place."""
    if n_candidates < 1:
        raise ValueError("n_candidates must be at least 1")
    rng = np.random.default_rng([seed, 0xCA8])
    others = _secrets(rng, n_candidates - 1, len(canary.secret), {canary.secret})
    spot = int(rng.integers(n_candidates))
    return tuple(others[:spot] + [canary.secret] + others[spot:])


def plant_canaries(train: TextDataset, canaries, repetitions: int, seed: int) -> TextDataset:
    """Insert each canary text ``repetitions`` times at random places, with one random class label each."""
    rng = np.random.default_rng([seed, 0xCA9])
    canaries = tuple(canaries)
    n_classes = train.task.num_classes if train.task else (max(train.labels, default=0) + 1 if train.labels else 0)
    labels = [int(rng.integers(n_classes)) for _ in canaries] if train.labels is not None else None
    planted = [(c.text, None if labels is None else labels[i]) for i, c in enumerate(canaries)] * repetitions
    total = len(train) + len(planted)
    spots = set(rng.choice(total, size=len(planted), replace=False).tolist())
    rows, own, extra = [], iter(range(len(train))), iter(planted)
    for pos in range(total):
        if pos in spots:
            rows.append(next(extra))
        else:
            i = next(own)
            rows.append((train.texts[i], None if train.labels is None else train.labels[i]))
    meta = {**train.meta, "canaries": canaries, "canary_labels": labels, "canary_repetitions": repetitions}
    return TextDataset(train.name, tuple(t for t, _ in rows),
                       None if labels is None else tuple(y for _, y in rows), train.task, meta)
