"""``hf:<name>[:<config>]`` data sets from the Hugging Face hub (needs a network; never used in tests)."""

from __future__ import annotations

from .tasks import generic_task, get_task
from .types import TextDataset

# short name -> (hub path, config, text columns, label column)
KNOWN = {
    "sst2": ("glue", "sst2", ("sentence",), "label"),
    "imdb": ("imdb", None, ("text",), "label"),
    "ag_news": ("ag_news", None, ("text",), "label"),
    "tweet_eval": ("tweet_eval", "sentiment", ("text",), "label"),
    "boolq": ("google/boolq", None, ("passage", "question"), "answer"),
    "mpqa": ("mpqa", None, ("text",), "label"),
    "arisetv": ("arisetv", None, ("text",), "label"),
}
# labelled rows load_hub reads (train + validation splits; test splits are never read), for dry-run checks
ROWS = {"sst2": 67349 + 872, "imdb": 25000, "ag_news": 120000, "tweet_eval": 45615 + 2000, "boolq": 9427 + 3270}


def load_hub(name: str, config: str | None = None) -> TextDataset:
    """Load the labelled train + validation splits of a hub data set."""
    import datasets  # deferred: start-up time (datasets)

    path, default_config, _, _ = KNOWN.get(name, (name, None, ("text",), "label"))
    return from_parts(name, datasets.load_dataset(path, config or default_config), spec=f"hf:{name}",
                      source=f"hub {path}")


def from_parts(name: str, parts, spec: str, source: str) -> TextDataset:
    """A TextDataset from a hub data set's splits (``parts["train"]`` etc.): ``name``'s text columns
    joined by newlines, labels from its label column (rows labelled -1 dropped), its task when the label
    feature has the task's number of classes, else a generic task over the feature's names."""
    _, _, text_cols, label_col = KNOWN.get(name, (name, None, ("text",), "label"))
    texts, labels = [], []
    for split in ("train", "validation"):
        for row in parts[split] if split in parts else []:
            label = int(row[label_col])
            if label >= 0:  # glue test splits carry label -1
                texts.append("\n".join(" ".join(str(row[c]).split()) for c in text_cols))
                labels.append(label)
    task = get_task(name)
    feature = parts["train"].features[label_col]
    if task is None or (hasattr(feature, "names") and len(feature.names) != task.num_classes):
        task = generic_task(name, getattr(feature, "names", None) or [str(c) for c in sorted(set(labels))])
    return TextDataset(spec, tuple(texts), tuple(labels), task, {"source": source})
