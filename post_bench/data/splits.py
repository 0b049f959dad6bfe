"""Deterministic, disjoint train / validation / test splits and public-text samples."""

from __future__ import annotations

import numpy as np

from .types import Splits, TextDataset


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
    return Splits(ds.subset(train), ds.subset(val), ds.subset(test))


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


def sample_public(ds: TextDataset, *, seed: int, size: int | None) -> TextDataset:
    """Up to ``size`` texts drawn without replacement, labels dropped (all texts when ``size`` is None)."""
    order = np.random.default_rng(seed).permutation(len(ds))
    picked = order if size is None else order[:size]
    return TextDataset(ds.name, tuple(ds.texts[int(i)] for i in picked), None, None,
                       {**ds.meta, "public_sample": {"seed": seed, "size": len(picked)}})
