"""Data sets by name: offline aliases, ``hf:<name>[:<config>]`` (network), ``path:<file>`` and
``synthetic:<hub name>`` (a few rows shaped like a hub data set, for dry runs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache

from ..registry import Registry, UnknownNameError
from . import offline
from .canaries import Canary, canary_sets, inclusion_mask, make_canaries, plant_canaries
from .files import file_problem, load_path
from .hub import KNOWN, load_hub
from .splits import drop_duplicates, make_splits, population_holdout, sample_public
from .synthetic import load_synthetic
from .tasks import TASKS, custom_task, generic_task, get_task
from .types import Splits, Task, TextDataset

DATASETS: Registry[Callable[[], TextDataset]] = Registry("dataset")
for _alias, _loader in offline.LOADERS.items():
    DATASETS.add(_alias, _loader)

__all__ = [
    "DATASETS", "TASKS", "Canary", "Splits", "Task", "TextDataset", "canary_sets", "inclusion_mask", "check_dataset_spec",
    "dataset_names", "drop_duplicates", "load_entry", "generic_task", "get_task", "load_dataset", "load_path", "make_canaries", "make_splits", "population_holdout",
    "plant_canaries", "sample_public",
]


def dataset_names() -> list[str]:
    """The offline aliases (``hf:`` and ``path:`` names are open-ended)."""
    return DATASETS.names()


@cache
def _load_alias(alias: str) -> TextDataset:
    return drop_duplicates(DATASETS.get(alias)())


def load_dataset(spec: str, **path_options) -> TextDataset:
    """Load ``hf:<name>[:<config>]``, ``path:<file>`` (options: text_column, label_column, label_words)
    or an offline alias (unknown alias -> UnknownNameError with a did-you-mean hint), without exact-duplicate
    texts (first occurrence kept; ``meta["duplicates_removed"]`` counts them), so no text is in two splits."""
    if spec.startswith("hf:"):
        name, _, config = spec[3:].partition(":")
        return drop_duplicates(load_hub(name, config or None))
    if spec.startswith("path:"):
        return drop_duplicates(load_path(spec[5:], **path_options))
    if spec.startswith("synthetic:"):
        return drop_duplicates(load_synthetic(spec[len("synthetic:"):]))
    return _load_alias(spec)


ENTRY_COLUMNS = ("text_column", "label_column")


def load_entry(spec: str, options: dict | None = None) -> TextDataset:
    """A data set with a suite entry's options (``datasets.private[]`` as a mapping): ``text_column`` /
    ``label_column`` for ``path:`` files; ``template``, ``label_words``, ``instruction`` replace its task's.
    Without options it is ``load_dataset(spec)``. Raises ValueError when the options do not fit the data."""
    options = dict(options or {})
    columns = {k: options.pop(k) for k in ENTRY_COLUMNS if k in options}
    if columns and not spec.startswith("path:"):
        raise ValueError(f"{', '.join(columns)} only apply to path: files")
    ds = load_dataset(spec, **columns)
    if not options:
        return ds
    if ds.task is None:
        raise ValueError(f"{spec!r} has no labels; template and label words need a labelled data set")
    return dataclasses.replace(ds, task=custom_task(ds.task, **options))


def check_dataset_spec(spec: str) -> str | None:
    """What is wrong with a data set name, checked without loading it; ``None`` when it looks fine."""
    if spec.startswith("hf:"):
        return None if spec[3:].partition(":")[0] else "empty hub data set name after 'hf:'"
    if spec.startswith("path:"):
        return file_problem(spec[5:]) if spec[5:] else "empty file name after 'path:'"
    if spec.startswith("synthetic:"):
        known = [k for k in KNOWN if get_task(k)]
        return None if spec[len("synthetic:"):] in known else f"no synthetic stand-in for {spec!r}; allowed: " + \
            ", ".join(f"synthetic:{k}" for k in known)
    try:
        DATASETS.get(spec)
    except UnknownNameError as exc:
        return f"{exc}; allowed: {', '.join(dataset_names())}, hf:<name>, path:<file>"
    return offline.missing_package(spec)
