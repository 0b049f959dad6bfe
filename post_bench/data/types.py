"""Typed containers for classification tasks and text data sets."""

from __future__ import annotations

from dataclasses import dataclass, field

MASK = "<mask>"  # placeholder in MLM templates; replaced by the tokenizer's own mask token


@dataclass(frozen=True)
class Task:
    """How a data set is posed to a language model.

    ``label_words[c]`` holds one or more words for class ``c``; a class score is the mean logit of the
    words' first sub-tokens at the verbalizer position (causal: the last real token; MLM: the mask).
    ``instruction`` is a short task text used to initialise soft prompts and as DP-OPT's seed.
    """

    name: str
    class_names: tuple[str, ...]
    label_words: tuple[tuple[str, ...], ...]
    causal_template: str = "{text} It was"
    mlm_template: str = "{text} It was <mask>."
    instruction: str = "Classify the text."

    def __post_init__(self) -> None:
        if len(self.class_names) != len(self.label_words):
            raise ValueError(f"task {self.name}: {len(self.class_names)} classes but {len(self.label_words)} label-word sets")
        if any(len(words) == 0 for words in self.label_words):
            raise ValueError(f"task {self.name}: every class needs at least one label word")
        if "{text}" not in self.causal_template or "{text}" not in self.mlm_template:
            raise ValueError(f"task {self.name}: templates must contain {{text}}")
        if MASK not in self.mlm_template:
            raise ValueError(f"task {self.name}: the MLM template must contain {MASK}")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def template(self, kind: str) -> str:
        if kind == "causal":
            return self.causal_template
        if kind == "mlm":
            return self.mlm_template
        raise ValueError(f"model kind must be 'causal' or 'mlm', got {kind!r}")


@dataclass(frozen=True)
class TextDataset:
    """Texts with optional integer labels (``None`` for unlabelled public text)."""

    name: str
    texts: tuple[str, ...]
    labels: tuple[int, ...] | None = None
    task: Task | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.labels is not None and len(self.labels) != len(self.texts):
            raise ValueError(f"data set {self.name}: {len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> TextDataset:
        idx = [int(i) for i in indices]
        return TextDataset(
            name=self.name,
            texts=tuple(self.texts[i] for i in idx),
            labels=None if self.labels is None else tuple(self.labels[i] for i in idx),
            task=self.task,
            meta=dict(self.meta),
        )

    def concat(self, other: TextDataset) -> TextDataset:
        """This data set's rows followed by ``other``'s, under this one's name and task (no ``meta``): e.g. a
        membership population, the private train split then as many held-out rows."""
        if (self.labels is None) != (other.labels is None):
            raise ValueError(f"data set {self.name}: cannot join labelled and unlabelled rows")
        labels = None if self.labels is None else self.labels + other.labels
        return TextDataset(self.name, self.texts + other.texts, labels, self.task)


@dataclass(frozen=True)
class Splits:
    """Disjoint train / validation / test parts of one data set."""

    train: TextDataset
    validation: TextDataset
    test: TextDataset
