"""Deterministic, disjoint train / validation / test splits and public-text samples."""

from __future__ import annotations

import numpy as np

from .types import Splits, TextDataset


def drop_duplicates(ds: TextDataset) -> TextDataset:
    """The data set without repeated texts (the first occurrence is kept, whatever its label), so no text
    can be in two splits; ``meta["duplicates_removed"]`` says how many were dropped."""
    first: dict[str, int] = {}
    for i, text in enumerate(ds.texts):
        first.setdefault(text, i)
    removed = len(ds) - len(first)
    out = ds.subset(sorted(first.values())) if removed else ds
    return TextDataset(out.name, out.texts, out.labels, out.task, {**ds.meta, "duplicates_removed": removed})


def _classes_problem(part: TextDataset, split: str) -> str | None:
    if part.labels is None or len(part) == 0:
        return None
    present = len(set(part.labels))
    return None if present >= 2 else f"{split} split has examples of {present} class only; train and test need at least 2"


def make_splits(ds: TextDataset, *, seed: int, train_size: int | None, val_size: int, test_size: int) -> Splits:
    """Shuffle with ``seed``; test takes the first rows, then validation, then (at most ``train_size``) train.

    Test and validation do not depend on ``train_size``, so runs with different training budgets share them.
    """
    if min(val_size, test_size, 1 if train_size is None else train_size) < 0:
        raise ValueError(f"data set {ds.name}: split sizes must not be negative")
    need = val_size + test_size + (1 if train_size is None else train_size)
    if len(ds) < need or (train_size is None and len(ds) <= val_size + test_size):
        raise ValueError(
            f"data set {ds.name} has {len(ds)} rows, too few for validation {val_size} + test {test_size}"
            f" + train {train_size if train_size is not None else 'at least 1'}"
        )
    order = np.random.default_rng(seed).permutation(len(ds))  # population_holdout relies on this order
    test, val = order[:test_size], order[test_size : test_size + val_size]
    rest = order[test_size + val_size :]
    train = rest if train_size is None else rest[:train_size]
    splits = Splits(ds.subset(train), ds.subset(val), ds.subset(test))
    for split in ("train", "test"):  # validation (often a handful of rows) only steers choices such as alpha
        if msg := _classes_problem(getattr(splits, split), split):
            raise ValueError(f"data set {ds.name}: {msg} (seed {seed})")
    return splits


def population_holdout(ds: TextDataset, *, seed: int, train_size: int, val_size: int, test_size: int) -> TextDataset:
    """``train_size`` rows of the same distribution as ``make_splits``' train split and disjoint from all its
    splits (the rows right after train in the same shuffle): with the train split, a population of which
    the private prompt trained on a uniformly random half (Carlini et al.'s protocol)."""
    need = val_size + test_size + 2 * train_size
    if len(ds) < need:
        raise ValueError(f"data set {ds.name} has {len(ds)} rows, too few for a membership population: "
                         f"validation {val_size} + test {test_size} + 2 x train {train_size} = {need}")
    order = np.random.default_rng(seed).permutation(len(ds))
    start = test_size + val_size + train_size
    return ds.subset(order[start : start + train_size])


def sample_public(ds: TextDataset, *, seed: int, size: int | None, exclude=frozenset()) -> TextDataset:
    """Up to ``size`` texts drawn without replacement, labels dropped (all texts when ``size`` is None);
    texts in ``exclude`` (the private sets' texts) are never drawn, so public and private stay disjoint."""
    if exclude:
        ds = ds.subset([i for i, t in enumerate(ds.texts) if t not in exclude])
    order = np.random.default_rng(seed).permutation(len(ds))
    picked = order if size is None else order[:size]
    return TextDataset(ds.name, tuple(ds.texts[int(i)] for i in picked), None, None,
                       {**ds.meta, "public_sample": {"seed": seed, "size": len(picked)}})
