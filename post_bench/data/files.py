"""``path:<file>`` data sets: csv / tsv / jsonl / json files read with the ``datasets`` library."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserInputError, problem
from .tasks import generic_task
from .types import TextDataset

FORMATS = {".csv": ("csv", {}), ".tsv": ("csv", {"delimiter": "\t"}), ".jsonl": ("json", {}), ".json": ("json", {})}


def file_problem(path: str | Path) -> str | None:
    """What is wrong with a data file name before reading it (``None`` when it looks usable)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        return problem("data", str(path), f"unsupported file extension {path.suffix or '(none)'!r}",
                       ", ".join(FORMATS))
    if not path.is_file():
        return problem("data", str(path), "file not found")
    return None


def encode_labels(values: list) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Map raw labels to 0..k-1 by sorted unique value; class names are the values as text."""
    classes = sorted(set(values))
    index = {v: i for i, v in enumerate(classes)}
    return tuple(index[v] for v in values), tuple(str(c) for c in classes)


def load_path(path: str | Path, *, text_column: str = "text", label_column: str = "label",
              label_words=None) -> TextDataset:
    """Read a local file; without a label column the set is unlabelled (public text)."""
    if err := file_problem(path):
        raise UserInputError(err)
    import datasets

    builder, kwargs = FORMATS[Path(path).suffix.lower()]
    try:
        table = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # parse errors surface as many different types
        raise UserInputError(problem("data", str(path), f"cannot read file: {exc}")) from exc
    columns = table.column_names
    if text_column not in columns:
        raise UserInputError(problem("data", str(path), f"no text column {text_column!r}", ", ".join(columns)))
    texts = tuple(" ".join(str(t).split()) for t in table[text_column])
    name = Path(path).stem
    if label_column not in columns:
        return TextDataset(name, texts, None, None, {"source": str(path)})
    raw = table[label_column]
    if any(v is None for v in raw):
        raise UserInputError(problem("data", str(path), f"label column {label_column!r} has missing values"))
    labels, classes = encode_labels(raw)
    task = generic_task(name, classes, label_words)
    return TextDataset(name, texts, labels, task, {"source": str(path)})
