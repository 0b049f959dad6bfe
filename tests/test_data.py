"""Data package: offline loaders, splits, path: files, canaries, names."""

from __future__ import annotations

import json

import pytest

from post_bench.data import (
    check_dataset_spec,
    dataset_names,
    load_dataset,
    make_canaries,
    make_splits,
    plant_canaries,
    sample_public,
)
from post_bench.data.canaries import canary_sets, inclusion_mask
from post_bench.data.types import TextDataset
from post_bench.errors import UserInputError
from post_bench.registry import UnknownNameError


@pytest.mark.parametrize(
    ("alias", "rows", "classes"),
    [("election-tweets", 6444, 2), ("bbc-news", 2225, 5), ("20newsgroups", 18821, 20), ("reuters-r8", 7674, 8)],
)
def test_offline_labelled_sets(alias, rows, classes):
    ds = load_dataset(alias)
    assert len(ds) + ds.meta["duplicates_removed"] == rows and len(set(ds.texts)) == len(ds)
    assert ds.task is not None and ds.task.num_classes == classes
    assert set(ds.labels) == set(range(classes))
    assert all(t and t == t.strip() and "  " not in t for t in ds.texts)
    assert load_dataset(alias) is ds  # cached in-process


def test_election_and_bbc_labels_match_content():
    tweets = load_dataset("election-tweets")
    assert tweets.task.class_names == ("HillaryClinton", "realDonaldTrump")
    assert tweets.labels.count(0) == 3224 and tweets.labels.count(1) == 3210  # 3226 / 3218 before 10 duplicates
    assert tweets.texts[1].startswith('Last night, Donald Trump said not paying taxes was "smart." You')
    bbc = load_dataset("bbc-news")
    assert [bbc.labels.count(c) for c in range(5)] == [503, 369, 403, 503, 347]  # 100 duplicates removed
    first = {c: bbc.texts[bbc.labels.index(c)] for c in range(5)}
    assert first[0].startswith("Ad sales boost Time Warner profit")
    assert bbc.task.class_names[3] == "sport"


def test_friends_is_unlabelled_public_text():
    ds = load_dataset("friends")
    assert ds.labels is None and ds.task is None and len(ds) > 50000 and len(set(ds.texts)) == len(ds)
    sample = sample_public(ds, seed=1, size=100)
    assert len(sample) == 100 and sample.labels is None
    assert sample.texts == sample_public(ds, seed=1, size=100).texts != sample_public(ds, seed=2, size=100).texts


def test_splits_disjoint_deterministic_capped():
    ds = load_dataset("election-tweets")
    ids = TextDataset("ids", tuple(str(i) for i in range(len(ds))), ds.labels, ds.task)
    a = make_splits(ids, seed=0, train_size=500, val_size=100, test_size=200)
    assert (len(a.train), len(a.validation), len(a.test)) == (500, 100, 200)
    parts = [set(a.train.texts), set(a.validation.texts), set(a.test.texts)]
    assert sum(map(len, parts)) == len(set().union(*parts)) == 800
    assert make_splits(ids, seed=0, train_size=500, val_size=100, test_size=200) == a
    b = make_splits(ids, seed=1, train_size=500, val_size=100, test_size=200)
    assert b.train.texts != a.train.texts and b.test.texts != a.test.texts
    full = make_splits(ids, seed=0, train_size=None, val_size=100, test_size=200)
    assert len(full.train) == len(ds) - 300 and full.test == a.test  # test does not depend on train_size
    labels = {t: y for t, y in zip(ids.texts, ids.labels)}
    assert all(labels[t] == y for t, y in zip(a.train.texts, a.train.labels))


def test_splits_too_small():
    ds = TextDataset("tiny", ("a", "b", "c"), (0, 1, 0))
    with pytest.raises(ValueError, match="tiny has 3 rows"):
        make_splits(ds, seed=0, train_size=2, val_size=1, test_size=1)
    with pytest.raises(ValueError):
        make_splits(ds, seed=0, train_size=None, val_size=2, test_size=1)


ROWS = [("a good film", "pos"), ("a bad film", "neg"), ("really great", "pos"), ("awful", "neg")]


@pytest.mark.parametrize("ext", ["csv", "tsv", "jsonl"])
def test_path_loader_with_string_labels(tmp_path, ext):
    file = tmp_path / f"reviews.{ext}"
    if ext == "jsonl":
        file.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in ROWS))
    else:
        sep = "," if ext == "csv" else "\t"
        file.write_text(f"text{sep}label\n" + "".join(f"{t}{sep}{y}\n" for t, y in ROWS))
    ds = load_dataset(f"path:{file}")
    assert ds.texts == tuple(t for t, _ in ROWS)
    assert ds.labels == (1, 0, 1, 0)
    assert ds.task.class_names == ("neg", "pos")
    assert ds.task.label_words == ((" neg",), (" pos",))
    assert "{text}" in ds.task.causal_template and "<mask>" in ds.task.mlm_template
    assert check_dataset_spec(f"path:{file}") is None


def test_path_loader_int_labels_and_custom_columns(tmp_path):
    file = tmp_path / "d.csv"
    file.write_text("sentence,y\nhello,1\nworld,0\nagain,1\n")
    ds = load_dataset(f"path:{file}", text_column="sentence", label_column="y")
    assert ds.labels == (1, 0, 1) and ds.task.num_classes == 2


def test_path_loader_errors(tmp_path):
    with pytest.raises(UserInputError, match="file not found"):
        load_dataset(f"path:{tmp_path / 'missing.csv'}")
    bad = tmp_path / "d.txt"
    bad.write_text("text,label\nx,0\n")
    with pytest.raises(UserInputError, match=r"unsupported file extension '\.txt'; allowed: \.csv"):
        load_dataset(f"path:{bad}")
    cols = tmp_path / "d.csv"
    cols.write_text("body,label\nx,0\n")
    with pytest.raises(UserInputError, match="no text column 'text'; allowed: body, label"):
        load_dataset(f"path:{cols}")


def test_canaries_planted_with_labels_and_held_out():
    canaries = make_canaries(3, seed=7)
    assert canaries == make_canaries(3, seed=7) and len({c.secret for c in canaries}) == 3
    assert all(len(c.secret) == 6 and c.secret.isdigit() and c.text.startswith("My secret code is ") for c in canaries)
    train = TextDataset("t", tuple(f"row {i}" for i in range(50)), tuple(i % 2 for i in range(50)),
                        load_dataset("election-tweets").task)
    planted_c, held, labels, held_labels = canary_sets(3, 20, 2, seed=7)
    assert len(held) == len(held_labels) == 20 and not {c.secret for c in planted_c} & {c.secret for c in held}
    assert set(labels + held_labels) == {0, 1}
    planted = plant_canaries(train, planted_c, labels, 4, 0)
    assert len(planted) == 62 and planted == plant_canaries(train, planted_c, labels, 4, 0)
    for c, y in zip(planted_c, labels):
        hits = [lab for t, lab in zip(planted.texts, planted.labels) if t == c.text]
        assert hits == [y] * 4  # the planted label, every time
    assert [t for t in planted.texts if t.startswith("row")] == list(train.texts)  # original order kept
    inc = inclusion_mask(2000, 3)
    assert inc.dtype == bool and abs(inc.mean() - 0.5) < 0.05 and (inc == inclusion_mask(2000, 3)).all()


def test_names_and_did_you_mean():
    assert {"election-tweets", "bbc-news", "20newsgroups", "reuters-r8", "friends"} <= set(dataset_names())
    with pytest.raises(UnknownNameError, match="did you mean 'election-tweets'"):
        load_dataset("elction-tweets")
    assert "did you mean 'election-tweets'" in check_dataset_spec("elction-tweets")
    assert check_dataset_spec("bbc-news") is None and check_dataset_spec("hf:sst2") is None
    assert "file not found" in check_dataset_spec("path:/no/such/file.csv")


def test_mislabeled_and_random_words_canaries():
    from post_bench.data.canaries import plan_canaries, text_canaries

    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()
    pool = TextDataset("pool", tuple(f"article {i} about {words[i % 13]} and {words[(3 * i) % 13]}" for i in range(40)),
                       tuple(i % 4 for i in range(40)), None)
    cans, labels = text_canaries("mislabeled", 30, 4, seed=3, pool=pool)
    truth = {t: y for t, y in zip(pool.texts, pool.labels)}
    assert len({c.text for c in cans}) == 30 and all(c.text in truth for c in cans)
    assert all(labels[i] != truth[c.text] for i, c in enumerate(cans))  # always a wrong label
    assert {int(y) for y in labels} <= {0, 1, 2, 3}
    rand, _ = text_canaries("random-words", 20, 4, seed=3, pool=pool)
    assert len({c.text for c in rand}) == 20 and all(len(c.text.split()) == 12 for c in rand)
    assert all(set(c.text.split()) <= {"article", "about", "and", *words} for c in rand)  # alphabetic words only
    plan = plan_canaries({"count": 24, "repetitions": 1, "held_out": 6, "include": "half", "kind": "mislabeled"},
                         4, seed=1, pool=pool)
    assert len(plan.canaries) == 24 and len(plan.held_out) == 6 and 0 < sum(plan.included) < 24
    assert not {c.text for c in plan.canaries} & {c.text for c in plan.held_out}
    with pytest.raises(ValueError, match="pool has 40"):
        text_canaries("mislabeled", 41, 4, seed=3, pool=pool)
    with pytest.raises(ValueError, match="unknown canary kind"):
        text_canaries("emoji", 4, 4, seed=3, pool=pool)


def test_concat_joins_a_population_under_the_first_name_and_task():
    task = load_dataset("election-tweets").task
    a = TextDataset("private", ("x", "y"), (0, 1), task, {"duplicates_removed": 3})
    b = TextDataset("other", ("z",), (1,), None)
    pool = a.concat(b)
    assert (pool.name, pool.texts, pool.labels, pool.task, pool.meta) == ("private", ("x", "y", "z"), (0, 1, 1), task, {})
    unlabelled = TextDataset("u", ("p",))
    assert unlabelled.concat(TextDataset("v", ("q",))).labels is None
    with pytest.raises(ValueError, match="labelled and unlabelled"):
        a.concat(unlabelled)
