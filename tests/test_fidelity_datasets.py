"""The fidelity suite's private sets: newsgroups-topics (5 balanced coarse topics, 20NG test split) and
bbc-news-codewords (BBC News under colour code words: the near-chance transfer case)."""

from __future__ import annotations

from collections import Counter

from post_bench.data import load_dataset
from post_bench.data.tasks import NEWSGROUP_TOPICS


def test_newsgroups_topics_is_balanced_and_from_the_test_split_only():
    ds = load_dataset("newsgroups-topics")
    counts = Counter(ds.labels)
    assert len(counts) == 5 and max(counts.values()) - min(counts.values()) <= 1 and min(counts.values()) > 700
    assert ds.task.class_names == tuple(NEWSGROUP_TOPICS)
    assert [w[0] for w in ds.task.label_words] == [" computers", " sports", " science", " politics", " religion"]
    test_texts = set(load_dataset("20newsgroups").texts)
    assert set(ds.texts) <= test_texts and len(ds) == len(set(ds.texts))


def test_codewords_are_bbc_news_with_other_label_words():
    bbc, coded = load_dataset("bbc-news"), load_dataset("bbc-news-codewords")
    assert coded.texts == bbc.texts and coded.labels == bbc.labels
    assert coded.task.class_names == bbc.task.class_names
    assert {w[0] for w in coded.task.label_words}.isdisjoint({w[0] for w in bbc.task.label_words})
    assert "Topic" not in coded.task.template("causal")
