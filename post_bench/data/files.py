"""``path:<file>`` data sets: csv / tsv / jsonl / json files read with the ``datasets`` library."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserInputError, problem, short_repr
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


def label_problem(values: list) -> str | None:
    """What is wrong with a label column (``None``: usable): missing, NaN, unhashable or mixed types."""
    kinds = set()
    for row, v in enumerate(values, start=1):
        if v is None or (isinstance(v, float) and v != v):
            return f"row {row}: label is missing"
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            return f"row {row}: label {short_repr(v)} is a {type(v).__name__}"
        if isinstance(v, float) and not v.is_integer():
            return f"row {row}: label {v} is not a class (a fractional number)"
        kinds.add(str if isinstance(v, str) else int)
    if len(kinds) > 1:
        return "labels mix text and numbers"
    return None


def encode_labels(values: list) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Map raw labels to 0..k-1 by sorted unique value; class names are the values as text."""
    values = [int(v) if isinstance(v, float) else v for v in values]
    classes = sorted(set(values))
    index = {v: i for i, v in enumerate(classes)}
    return tuple(index[v] for v in values), tuple(str(c) for c in classes)


def load_path(path: str | Path, *, text_column: str = "text", label_column: str = "label",
              label_words=None) -> TextDataset:
    """Read a local file; without a label column the set is unlabelled (public text)."""
    if err := file_problem(path):
        raise UserInputError(err)
    import datasets  # deferred: start-up time (datasets)

    if Path(path).stat().st_size == 0:
        raise UserInputError(problem("data", str(path), "the file is empty", "a file with a header and rows"))

    builder, kwargs = FORMATS[Path(path).suffix.lower()]
    datasets.disable_progress_bars()  # one line per problem: no progress bars or parse logs on the terminal
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        table = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # parse errors surface as many different types, wrapped by datasets
        cause = exc.__cause__ or exc.__context__ or exc
        raise UserInputError(problem("data", str(path), f"cannot read file: {type(cause).__name__}: {cause}",
                                     "UTF-8 csv / tsv with a header row, or JSON lines")) from None
    columns = table.column_names
    if text_column not in columns:
        raise UserInputError(problem("data", str(path), f"no text column {text_column!r}", ", ".join(columns)))
    if len(table) == 0:
        raise UserInputError(problem("data", str(path), "the file has no rows", "a file with a header and rows"))
    raw_texts = table[text_column]
    for row, t in enumerate(raw_texts, start=1):
        if not isinstance(t, str) or not t.strip():
            what = "missing" if t is None else "empty" if isinstance(t, str) else f"a {type(t).__name__}, not text"
            raise UserInputError(problem("data", str(path), f"{text_column}: row {row}: text is {what}",
                                         "a non-empty text in every row"))
    texts = tuple(" ".join(t.split()) for t in raw_texts)
    name = Path(path).stem
    if label_column not in columns:
        return TextDataset(name, texts, None, None, {"source": str(path)})
    raw = table[label_column]
    if msg := label_problem(raw):
        raise UserInputError(problem("data", str(path), f"{label_column}: {msg}",
                                     "one text or integer class per row"))
    labels, classes = encode_labels(raw)
    task = generic_task(name, classes, label_words)
    return TextDataset(name, texts, labels, task, {"source": str(path)})
