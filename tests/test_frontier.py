"""The source frontier: validation twins of evaluations, the choice rule, and `post-bench frontier` end to end."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from post_bench.cli import main
from post_bench.report.frontier import Candidate, Gain, SetResult, choose

SUITE = {
    "name": "frontier-test", "seeds": [0],
    "models": {"target": "tiny-gpt2:layers=4,hidden=64",
               "source": {"distill": {"layers": [0, -1], "steps": 2, "batch_size": 4, "max_tokens": 24,
                                      "template": "private", "teacher_top_k": 8,
                                      "label_words_weight": 1.0}}},
    "datasets": {"private": ["election-tweets"], "public": "friends"},
    "budget": {"train_size": 16, "val_size": 12, "test_size": 16, "public_size": 40, "max_tokens": 16,
               "prompt_length": 2, "evaluate_validation": True},
    "tuning": {"steps": 2, "batch_size": 8, "lr": 0.01, "accountant": "rdp"},
    "methods": ["zero_shot", "source_only"],
    "frontier": {"layers": [[0], [0, -1], [0, 1, -1]], "min_gain": 0.0, "max_compute_share": 0.9},
}


def _cand(label, share, gains):
    sets = tuple(SetResult(f"set{i}", {}, None if g is None else Gain(g, g - 0.05, g + 0.05, 64, 1), None)
                 for i, g in enumerate(gains))
    return Candidate(label, (), share, 60.0, 100, 3.0, 2.5, sets)


def test_the_rule_takes_the_smallest_eligible_candidate_that_gains_on_every_set():
    cands = [_cand("big", 0.5, [0.2, 0.2]), _cand("mid", 0.3, [0.12, 0.11]), _cand("small", 0.2, [0.15, 0.05]),
             _cand("tiny", 0.1, [0.3, None])]
    assert choose(cands, 0.10, 0.35).label == "mid"  # small fails one set, tiny has no gain on one, big is too big
    assert choose(cands, 0.10, 0.6).label == "mid"
    assert choose(cands, 0.04, 0.35).label == "small"
    assert choose(cands, 0.25, 0.35) is None
    assert choose(cands, 0.25, 0.35, fallback="best").label == "mid"  # worst gains: mid 0.11, small 0.05, tiny -inf


def test_validation_twins_leave_the_test_units_as_they_were():
    from post_bench.checks import parse_suite
    from post_bench.commands.run import plan_suite

    with_twins = plan_suite(parse_suite(SUITE, "s"))
    plain = plan_suite(parse_suite({**SUITE, "budget": {**SUITE["budget"], "evaluate_validation": False}}, "s"))
    test_ids = {u.id for u in plain}
    twins = [u for u in with_twins if u.id not in test_ids]
    assert test_ids <= {u.id for u in with_twins} and len(twins) == 2
    assert all(u.kind == "evaluate" and u.config["split"] == "validation" for u in twins)


def test_frontier_runs_every_candidate_and_chooses_by_validation(tmp_path):
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(SUITE))
    res = CliRunner().invoke(main, ["frontier", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "out" / "report" / "frontier.json").read_text())
    shares = [c["compute_share"] for c in report["candidates"]]
    assert [c["label"] for c in report["candidates"]] == ["layers-1", "layers-2", "layers-3"]
    assert 0 < shares[0] < shares[1] < shares[2] < 1
    for c in report["candidates"]:
        (s,) = c["sets"]
        val = s["validation_gain"]
        assert val["n_rows"] == 12 and s["test_gain"]["n_rows"] == 16
        assert val["estimate"] == pytest.approx(s["accuracy"]["source_only@validation"]
                                                - s["accuracy"]["zero_shot@validation"])
        assert c["passes"] == (val["estimate"] >= 0.0 and c["compute_share"] <= 0.9)
    passing = [c for c in report["candidates"] if c["passes"]]
    assert report["chosen"] == (min(passing, key=lambda c: c["compute_share"])["label"] if passing else None)
    run = json.loads((tmp_path / "out" / "layers-2" / "results.json").read_text())
    assert {r["method"] for r in run["validation"]} == {"zero_shot", "source_only"}
    assert all(r["n_test"] == 16 for r in run["utility"]) and run["distill"][0]["teacher_top_k"] == 8
    assert run["distill"][0]["label_words_weight"] == 1.0
    page = (tmp_path / "out" / "report" / "frontier.md").read_text()
    assert "Chosen" in page
    (tmp_path / "out" / "report" / "frontier.md").unlink()
    again = CliRunner().invoke(main, ["frontier", str(path), "--out", str(tmp_path / "out"), "--report-only"])
    assert again.exit_code == 0 and (tmp_path / "out" / "report" / "frontier.md").read_text() == page
    missing = CliRunner().invoke(main, ["frontier", str(path), "--out", str(tmp_path / "none"), "--report-only"])
    assert missing.exit_code == 2 and missing.output.count("results.json: not found") == 3


def test_a_suite_without_a_frontier_is_refused_in_one_line_each(tmp_path):
    path = tmp_path / "suite.yaml"
    bad = {k: v for k, v in SUITE.items() if k != "frontier"}
    path.write_text(yaml.safe_dump({**bad, "budget": {**SUITE["budget"], "evaluate_validation": False}}))
    res = CliRunner().invoke(main, ["frontier", str(path)])
    assert res.exit_code == 2
    assert "frontier: missing" in res.output and "budget.evaluate_validation: must be true" in res.output
