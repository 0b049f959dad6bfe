"""``synthetic:<name>``: a few rows shaped like the hub data set ``<name>`` (its columns, label feature and
label set from our task definitions), converted to text by the same code as ``hf:<name>``. Used by dry runs
(``post-bench run SUITE --dry-run``) to check hub suites without a network; the texts mean nothing."""

from __future__ import annotations

import zlib

import numpy as np

from .hub import KNOWN, from_parts
from .tasks import get_task
from .types import TextDataset

WORDS = ("river stone market window signal garden engine paper silver orange quiet rapid morning "
         "harbor canvas ladder pocket thunder velvet basket anchor meadow copper lantern").split()


def synthetic_parts(name: str, rows: int = 64, seed: int = 0) -> dict:
    """{"train", "validation"} ``datasets.Dataset`` objects with ``name``'s hub columns and label feature;
    labels cycle through the task's classes (balanced), texts are unique random word strings."""
    import datasets  # deferred: start-up time (datasets)

    task = get_task(name)
    if task is None or name not in KNOWN:
        raise ValueError(f"no synthetic stand-in for {name!r}; allowed: {', '.join(k for k in KNOWN if get_task(k))}")
    _, _, text_cols, label_col = KNOWN[name]
    is_bool = name == "boolq"  # boolq's answer column is a bool, not a ClassLabel
    label_feature = datasets.Value("bool") if is_bool else datasets.ClassLabel(names=list(task.class_names))
    features = datasets.Features({**{c: datasets.Value("string") for c in text_cols}, label_col: label_feature})
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    parts = {}
    for split, n in (("train", rows - rows // 4), ("validation", rows // 4)):
        columns: dict = {c: [] for c in text_cols}
        labels = [i % task.num_classes for i in range(n)]
        for i in range(n):
            for c in text_cols:
                words = rng.choice(WORDS, size=int(rng.integers(4, 12))).tolist()
                columns[c].append(f"{name} {split} {i} {c} " + " ".join(words))
        columns[label_col] = [bool(y) for y in labels] if is_bool else labels
        parts[split] = datasets.Dataset.from_dict(columns, features=features)
    return parts


def load_synthetic(name: str, rows: int = 64) -> TextDataset:
    return from_parts(name, synthetic_parts(name, rows), spec=f"synthetic:{name}", source="synthetic rows")
