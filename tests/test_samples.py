"""Per-example outputs: the samples file format, its hash check, and what is re-derived from it."""

import gzip
import json
import math

import numpy as np
import pytest

from post_bench.report.claims import from_results
from post_bench.report.evidence import evidence_section, load_evidence, rescore
from post_bench.rows import parse_results
from post_bench.samples import SamplesError, read_samples, row_id, write_samples
from post_bench.units.evaluate import prediction_rows
from post_bench.units.membership import membership_samples


def test_round_trip_is_deterministic_and_hash_checked(tmp_path):
    rows = [{"row_id": row_id("a"), "label": 1, "pred": 0, "scores": [0.5, 0.25], "logprobs": [-0.5, -0.75]}]
    (tmp_path / "x").mkdir()
    ref = write_samples(tmp_path, rows, "predictions")
    ref2 = write_samples(tmp_path / "x", rows, "predictions")
    assert ref["sha256"] == ref2["sha256"] and ref["rows"] == 1 and ref["kind"] == "predictions"
    assert read_samples(tmp_path, ref) == rows
    (tmp_path / ref["file"]).write_bytes(gzip.compress(b'{"row_id":"b"}\n', mtime=0))
    with pytest.raises(SamplesError, match="differs from"):
        read_samples(tmp_path, ref)
    with pytest.raises(SamplesError, match="not found"):
        read_samples(tmp_path / "nowhere", ref)
    with pytest.raises(ValueError, match="allowed"):
        write_samples(tmp_path, rows, "logits")


def test_row_id_is_stable_and_content_based():
    assert row_id("Some article.") == row_id("Some article.") != row_id("Some article!")
    assert len(row_id("x")) == 16


def test_prediction_rows_hold_argmax_and_normalised_logprobs():
    scores = np.array([[1.0, 3.0, 2.0], [0.0, -1.0, -2.0]], dtype=np.float32)
    rows = prediction_rows(["t1", "t2"], np.array([1, 2]), scores)
    assert [r["pred"] for r in rows] == [1, 0] and [r["label"] for r in rows] == [1, 2]
    for r in rows:
        assert np.exp(r["logprobs"]).sum() == pytest.approx(1.0, abs=1e-4)
    assert rows[0]["logprobs"][1] == pytest.approx(float(np.log(np.exp(3) / (np.exp(1) + np.exp(3) + np.exp(2)))),
                                                   abs=1e-4)


def _utility(tmp_path, method, seed, correct, ids, eps=None):
    """A utility row of ``method`` with a samples file where row i is correct when correct[i]."""
    folder = tmp_path / f"samples/{method}-{seed}-{eps}"
    folder.mkdir(parents=True)
    rows = [{"row_id": i, "label": 1, "pred": int(c), "scores": [0.0, 0.0], "logprobs": [0.0, 0.0]}
            for i, c in zip(ids, correct)]
    ref = write_samples(folder, rows, "predictions")
    ref["file"] = f"samples/{method}-{seed}-{eps}/{ref['file']}"
    return {"dataset": "d", "method": method, "model": "m", "epsilon": eps, "seed": seed,
            "accuracy": 0.123, "n_test": len(ids), "num_classes": 2, "samples": ref}


def test_rescore_and_claims_decided_per_row(tmp_path):
    """Three seeds of 400 rows where POST is right on 8% more rows than zero-shot: the stored accuracies are wrong
    on purpose, the re-derived ones come from the rows, and claim 2's first check holds with a per-row CI."""
    rng = np.random.default_rng(0)
    utility = []
    for seed in range(3):
        ids = [row_id(f"{seed}-{i}") for i in range(400)]
        zs = rng.random(400) < 0.5
        post = zs | (rng.random(400) < 0.16)
        utility += [_utility(tmp_path, "zero_shot", seed, zs, ids), _utility(tmp_path, "post", seed, post, ids, 8.0)]
    results = parse_results({"schema": 2, "utility": utility, "privacy": [], "cost": []})
    fresh, problems = rescore(results, tmp_path)
    assert not problems
    assert [r.accuracy for r in fresh.utility] == [
        float(np.mean([r["pred"] == r["label"] for r in read_samples(tmp_path, u["samples"])])) for u in utility]
    assert [r.accuracy for r in results.utility] == [0.123] * len(utility)  # a new Results; the old one is kept
    ev = load_evidence(fresh, tmp_path)
    assert ev.complete and set(ev.rows(("d", "post", 8.0))) == {0, 1, 2}
    claims = {c.claim: c for c in from_results(fresh, tmp_path)}
    check = claims[2].cells[0].checks[0]
    assert check.check == "post − zero_shot > 0" and check.paired_by == "rows within seeds"
    assert check.n_rows == 1200 and check.verdict == "holds" and 0.0 < check.ci_low < check.mean
    diffs = [np.mean([a - b for a, b in zip(ev.rows(("d", "post", 8.0))[s].values(),
                                              ev.rows(("d", "zero_shot", math.inf))[s].values())]) for s in range(3)]
    assert check.mean == pytest.approx(np.mean(diffs))
    # without the samples folder the same rows pair by seed only
    by_seed = {c.claim: c for c in from_results(fresh, None)}[2].cells[0].checks[0].dump()
    assert by_seed["paired_by"] == "seeds" and "n_rows" not in by_seed
    assert evidence_section(fresh, None).claims_paired_by == "seeds"


def test_damaged_samples_keep_stored_numbers(tmp_path):
    row = _utility(tmp_path, "zero_shot", 0, [1, 0, 1, 1], ["a", "b", "c", "d"])
    (tmp_path / row["samples"]["file"]).write_bytes(b"garbage")
    results = parse_results({"schema": 2, "utility": [row]})
    fresh, problems = rescore(results, tmp_path)
    assert fresh.utility[0].accuracy == 0.123 and len(problems) == 1 and "sha256" in problems[0]
    assert load_evidence(results, tmp_path).problems


def test_membership_samples_rederive_the_row(tmp_path):
    from post_bench.attacks.membership import statistics_row

    rng = np.random.default_rng(1)
    member = rng.random((3, 40)) < 0.5
    stats = rng.normal(size=(3, 40)) + member
    base = {"dataset": "d", "method": "post", "epsilon": None, "seed": 0}
    row = statistics_row("lira-offline", stats, member, delta=1e-3, base=base)
    ref = write_samples(tmp_path, membership_samples(stats, member), "membership")
    stored = {**row, "auc": 0.0, "samples": ref, "n_boot": 1000}
    fresh, problems = rescore(parse_results({"schema": 2, "privacy": [stored]}), tmp_path)
    assert not problems
    got = fresh.privacy[0]
    assert got.auc == row["auc"] and got.eps_lower_bound == row["eps_lower_bound"]
    assert got.dump()["ci"] == json.loads(json.dumps(row["ci"])) and got.extra("n_boot") == 1000
    assert json.dumps(got.dump()["tpr_at_fpr"]) == json.dumps(row["tpr_at_fpr"])
