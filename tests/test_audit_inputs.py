"""The audit's inputs without a model: candidate files and labels, the population, the recipe."""

from __future__ import annotations

import json
import math

import pytest

from post_bench.errors import UserInputError


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_candidates_labels_duplicates_and_a_generic_task(tmp_path):
    from post_bench.audit.candidates import build_candidates, class_names_from, read_candidate_files
    from post_bench.data import generic_task

    members = _jsonl(tmp_path / "m.jsonl", [{"text": f"member  {i}", "label": i % 11} for i in range(12)]
                     + [{"text": "member 0", "label": 3}])  # a repeat (whitespace-normalised) is kept once
    nonmembers = tmp_path / "n.csv"
    nonmembers.write_text("text,label\n" + "".join(f"other {i},{i % 3}\n" for i in range(10)))
    read = read_candidate_files(members, nonmembers)
    names = class_names_from([f for f, _ in read])
    assert names == tuple(str(i) for i in range(11))  # numbers in numeric order, not "0", "1", "10", "2"
    cands = build_candidates(read, generic_task("candidates", names))
    assert (cands.n_members, cands.n_nonmembers, cands.duplicates_removed) == (12, 10, 1)
    assert cands.texts[0] == "member 0" and cands.labels[:12] == tuple(i % 11 for i in range(12))
    assert cands.files == {"members": str(members), "nonmembers": str(nonmembers)}


def test_candidate_labels_by_name_or_index_and_the_default_population(tmp_path):
    from post_bench.audit.candidates import (
        build_candidates,
        population_from_dataset,
        population_from_file,
        read_candidate_files,
        read_labelled,
    )
    from post_bench.data import load_dataset

    ds = load_dataset("election-tweets")
    rows = [{"text": t, "label": ["HillaryClinton", "realDonaldTrump"][i % 2], "member": ["1", "false"][i // 10]}
            for i, t in enumerate(ds.texts[:20])]  # class names (indices: the population file below)
    cands = build_candidates(read_candidate_files(candidates=_jsonl(tmp_path / "c.jsonl", rows)), ds.task)
    assert cands.labels[:4] == (0, 1, 0, 1) and cands.n_members == cands.n_nonmembers == 10
    pop = population_from_dataset("election-tweets", cands)
    assert pop.description["excluded"] == 20 and pop.description["rows"] == len(ds) - 20
    assert not set(pop.texts) & set(cands.texts)
    extra = _jsonl(tmp_path / "p.jsonl", [{"text": t, "label": 1} for t in ds.texts[15:30]])
    pop = population_from_file(read_labelled(extra, "--population"), ds.task, cands)
    assert pop.description["rows"] == 10 and pop.description["excluded"] == 5 and set(pop.labels) == {1}


def test_recipe_file_and_options(tmp_path):
    from post_bench.audit.recipe import load_recipe, resolve_recipe

    path = tmp_path / "r.yaml"
    path.write_text("epochs: 12\nbatch_size: 8\nepsilon: 4\naccountant: rdp\n")
    recipe, src = load_recipe(path)
    r = resolve_recipe(recipe, src, prompt_length=16, default_train_size=100, default_from="members")
    assert (r.steps, r.train_size, r.train_size_from) == (150, 100, "members")  # ceil(12 x 100 / 8)
    recipe, _ = load_recipe(path, steps=7, epsilon=float("inf"), lr=0.1)  # the command line wins
    assert (recipe.steps, recipe.epochs, recipe.epsilon, recipe.lr, recipe.batch_size) == (7, None, math.inf, 0.1, 8)
    r = resolve_recipe(recipe, src, prompt_length=16, default_train_size=100, default_from="members")
    assert r.to_dict()["steps_from"] == "steps" and r.knobs().steps == 7 and r.knobs().epsilon == math.inf
    for text, expected in [("steps: 3\nepochs: 2\n", "steps and epochs are both set"),
                           ("tuning:\n  steps: 3\n", f"{path}: tuning: unknown key; allowed: accountant, batch_size"),
                           ("lr: -1\n", f"{path}: lr: "), ("- 1\n", "a recipe must be a YAML mapping"),
                           ("steps: [\n", "invalid YAML")]:
        path.write_text(text)
        with pytest.raises(UserInputError) as err:
            load_recipe(path)
        assert len(err.value.problems) == 1 and expected in err.value.problems[0], err.value.problems
