"""Who is a member: the audit's candidate files and the population its shadows are drawn from.

Files are csv / tsv / jsonl with ``text`` and ``label`` columns, read by ``data.files.load_path`` (the
rules and one-line errors of ``path:`` data sets). ``--members`` + ``--nonmembers``, or one
``--candidates`` file with a ``member`` column (0/1 or true/false). Labels must be classes the task knows
(a class name, or its index). A text in both sets is refused; a repeated text within one set is kept once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import datasets
import numpy as np

from post_bench.data import load_dataset
from post_bench.data.files import FORMATS, load_path
from post_bench.errors import UserInputError, problem, short_repr

SOURCE = "audit"
MIN_PER_SIDE = 10  # fewer members or non-members give no meaningful confidence interval
MEMBER_COLUMN = "member"
_TRUE, _FALSE = {"1", "true"}, {"0", "false"}


@dataclasses.dataclass(frozen=True)
class LabelledFile:
    """A file's texts with their labels as written (class names as text)."""

    path: str
    option: str
    texts: tuple[str, ...]
    raw_labels: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Candidates:
    texts: tuple[str, ...]
    labels: tuple[int, ...]  # class indices of the task
    is_member: tuple[bool, ...]
    files: dict
    duplicates_removed: int

    @property
    def member_mask(self) -> np.ndarray:
        return np.asarray(self.is_member, dtype=bool)

    @property
    def n_members(self) -> int:
        return int(sum(self.is_member))

    @property
    def n_nonmembers(self) -> int:
        return len(self.texts) - self.n_members

    def __len__(self) -> int:
        return len(self.texts)


@dataclasses.dataclass(frozen=True)
class Population:
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    description: dict


def read_labelled(path: str | Path, option: str) -> LabelledFile:
    """Texts and raw labels of one file (``load_path``'s checks; a missing label column is refused here)."""
    try:
        ds = load_path(path)
    except UserInputError as err:
        raise UserInputError([f"{option}: {p}" for p in err.problems]) from None
    if ds.labels is None:
        raise UserInputError(problem(f"{option}: {path}", "", "no 'label' column",
                                     "a text and a label column (attacks score the true label's confidence)"))
    raw = tuple(ds.task.class_names[i] for i in ds.labels)
    return LabelledFile(str(path), option, ds.texts, raw)


def _member_column(path: str | Path) -> list:
    """The ``member`` column of a file ``load_path`` has just read (same reader, same parse)."""
    builder, kwargs = FORMATS[Path(path).suffix.lower()]
    table = datasets.load_dataset(builder, data_files=str(path), split="train", **kwargs)
    if MEMBER_COLUMN not in table.column_names:
        raise UserInputError(problem(f"--candidates: {path}", "", f"no {MEMBER_COLUMN!r} column",
                                     f"a {MEMBER_COLUMN} column of 0/1 or true/false (or --members and --nonmembers)"))
    return table[MEMBER_COLUMN]


def _as_member(value, row: int, path) -> bool:
    text = str(value).strip().lower() if isinstance(value, (str, bool, int, float)) else None
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UserInputError(problem(f"--candidates: {path}", f"{MEMBER_COLUMN}: row {row}",
                                 f"{short_repr(value)} is not a membership", "0, 1, true, false"))


def read_candidate_files(members=None, nonmembers=None, candidates=None) -> list[tuple[LabelledFile, list[bool]]]:
    """The candidate files with each row's membership."""
    if candidates is not None:
        if members is not None or nonmembers is not None:
            raise UserInputError(problem(SOURCE, "--candidates", "given with --members/--nonmembers",
                                         "either --candidates FILE (with a member column) or --members and --nonmembers"))
        f = read_labelled(candidates, "--candidates")
        flags = [_as_member(v, row, candidates) for row, v in enumerate(_member_column(candidates), start=1)]
        return [(f, flags)]
    if (members is None) != (nonmembers is None):
        given, missing = ("--members", "--nonmembers") if nonmembers is None else ("--nonmembers", "--members")
        raise UserInputError(problem(SOURCE, missing, f"missing ({given} is given)",
                                     "--members FILE --nonmembers FILE, or --candidates FILE"))
    m, n = read_labelled(members, "--members"), read_labelled(nonmembers, "--nonmembers")
    return [(m, [True] * len(m.texts)), (n, [False] * len(n.texts))]


def class_names_from(files: list[LabelledFile]) -> tuple[str, ...]:
    """Classes for files read without a data set: their labels, numbers in numeric order."""
    values = {v for f in files for v in f.raw_labels}
    if all(v.lstrip("-").isdigit() for v in values):
        return tuple(sorted(values, key=int))
    return tuple(sorted(values))


def label_indices(f: LabelledFile, task) -> tuple[int, ...]:
    """Each raw label as a class index of ``task``: a class name, or an index 0..C-1."""
    names = {name: i for i, name in enumerate(task.class_names)}
    out = []
    for row, raw in enumerate(f.raw_labels, start=1):
        if raw in names:
            out.append(names[raw])
        elif raw.lstrip("-").isdigit() and 0 <= int(raw) < task.num_classes:
            out.append(int(raw))
        else:
            raise UserInputError(problem(f"{f.option}: {f.path}", f"label: row {row}",
                                         f"{short_repr(raw)} is not a class of the task {task.name!r}",
                                         f"{', '.join(task.class_names)} (or 0..{task.num_classes - 1})"))
    return tuple(out)


def build_candidates(read: list[tuple[LabelledFile, list[bool]]], task) -> Candidates:
    """Candidates with task labels; a text that is both member and non-member is refused, a repeat within
    one side is kept once; at least ``MIN_PER_SIDE`` of each."""
    seen: dict[str, bool] = {}
    texts, labels, flags, dupes = [], [], [], 0
    conflicts: list[str] = []
    for f, member in read:
        for text, label, is_m in zip(f.texts, label_indices(f, task), member):
            if text in seen:
                if seen[text] != is_m:
                    conflicts.append(text)
                dupes += 1
                continue
            seen[text] = is_m
            texts.append(text)
            labels.append(label)
            flags.append(is_m)
    if conflicts:
        where = " and ".join(dict.fromkeys(f.option for f, _ in read))
        raise UserInputError(problem(SOURCE, where, f"{len(conflicts)} text(s) are both member and non-member "
                                     f"(first: {short_repr(conflicts[0])})", "each candidate on one side only"))
    n_m = sum(flags)
    n_n = len(flags) - n_m
    if n_m < MIN_PER_SIDE or n_n < MIN_PER_SIDE:
        raise UserInputError(problem(SOURCE, "candidates", f"{n_m} members and {n_n} non-members",
                                     f"at least {MIN_PER_SIDE} of each (fewer give no meaningful confidence interval)"))
    files = {f.option.lstrip("-"): f.path for f, _ in read}
    return Candidates(tuple(texts), tuple(labels), tuple(flags), files, dupes)


def population_from_file(f: LabelledFile, task, candidates: Candidates) -> Population:
    exclude, seen, rows = set(candidates.texts), set(), []
    for text, label in zip(f.texts, label_indices(f, task)):
        if text not in exclude and text not in seen:
            seen.add(text)
            rows.append((text, label))
    return Population(tuple(t for t, _ in rows), tuple(lab for _, lab in rows),
                      {"source": "file", "path": f.path, "rows": len(rows), "excluded": len(f.texts) - len(rows),
                       "note": "rows of --population whose text is not a candidate (repeats kept once)"})


def population_from_dataset(dataset: str, candidates: Candidates) -> Population:
    ds = load_dataset(dataset)
    texts = set(candidates.texts)
    rows = [(t, lab) for t, lab in zip(ds.texts, ds.labels) if t not in texts]
    return Population(tuple(t for t, _ in rows), tuple(int(lab) for _, lab in rows),
                      {"source": "dataset", "dataset": dataset, "rows": len(rows), "excluded": len(ds) - len(rows),
                       "note": f"rows of {dataset} whose text is not a candidate"})
