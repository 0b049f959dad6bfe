"""``post-bench audit`` end to end on a tiny model: the given prompt attacked on known candidates (planted
leakage found, every reported field present), shadows, the recipe, the output folder, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from post_bench.audit.statistics import audit_row_names
from post_bench.cli import main
from post_bench.rows import PrivacyRow

TINY = "tiny-gpt2:layers=2,hidden=64"
MAX_TOKENS = 24
N_SIDE = 12
FILES = {"audit.json", "report.md", "roc.png", "roc.pdf"}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A prompt and candidate files with planted leakage: each member is labelled with the class the prompt
    favours (low loss), each non-member with the other one (high loss)."""
    from post_bench.attacks.lira_math import logit_scaled_from_logits
    from post_bench.audit.scoring import load_backbone
    from post_bench.data import load_dataset
    from post_bench.models.soft_prompt import init_prompt, save_prompt

    tmp = tmp_path_factory.mktemp("audit")
    backbone = load_backbone(TINY, "fp32")  # the instance the CLI gets (the runner's cache)
    prompt = init_prompt(backbone, 4, init="vocab", seed=1)
    save_prompt(tmp / "p", prompt, base_model=TINY)
    ds = load_dataset("election-tweets")
    texts = list(ds.texts[: 2 * N_SIDE])
    task = ds.task
    enc = backbone.encode_task(texts, task, MAX_TOKENS, np.zeros(len(texts), dtype=np.int64))
    favoured = backbone.score_dataset(enc, backbone.label_token_ids(task), prompt).argmax(axis=1)
    labels = [int(f) if i < N_SIDE else 1 - int(f) for i, f in enumerate(favoured)]
    names = task.class_names
    members = _write(tmp / "members.jsonl", [{"text": t, "label": names[lab]}
                                             for t, lab in zip(texts[:N_SIDE], labels[:N_SIDE])])
    nonmembers = _write(tmp / "nonmembers.jsonl", [{"text": t, "label": names[lab]}
                                                   for t, lab in zip(texts[N_SIDE:], labels[N_SIDE:])])
    pop = _write(tmp / "population.jsonl", [{"text": t, "label": names[lab]}
                                            for t, lab in zip(ds.texts[100:140], ds.labels[100:140])])
    scores = logit_scaled_from_logits(backbone.score_dataset(enc, backbone.label_token_ids(task), prompt),
                                      np.asarray(labels))
    assert (scores[:N_SIDE] > 0).all() and (scores[N_SIDE:] < 0).all()  # the planted gap
    return {"dir": tmp, "prompt": tmp / "p", "members": members, "nonmembers": nonmembers, "population": pop,
            "texts": texts, "labels": labels}


def _audit(planted, out, *args, candidates=True):
    base = ["audit", str(planted["prompt"]), "--precision", "fp32", "--max-tokens", str(MAX_TOKENS), "--out", str(out)]
    if candidates:
        base += ["--members", str(planted["members"]), "--nonmembers", str(planted["nonmembers"])]
    return CliRunner().invoke(main, [*base, *args])


def _no_leftovers(folder):
    return not [p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def test_audit_detects_planted_leakage_in_the_given_prompt(planted, tmp_path):
    out = tmp_path / "out"
    res = _audit(planted, out, "--dataset", "election-tweets")
    assert res.exit_code == 0, res.output
    result = json.loads((out / "audit.json").read_text())
    samples = {f"samples-{r['attack']}.jsonl.gz" for r in result["attacks"]}
    assert {p.name for p in out.iterdir()} == FILES | samples and _no_leftovers(tmp_path)
    assert result["attacked"] == "the given prompt" and result["model"] == TINY  # model from adapter_config.json
    from post_bench.attacks.metrics import attack_metrics
    from post_bench.samples import read_samples

    for row in result["attacks"]:  # per-candidate outputs: the AUC is recomputed from them alone
        typed = PrivacyRow.model_validate(row)  # the rows are results.json's privacy rows, dumped as read
        assert typed.dump() == row and (typed.dataset, typed.method, typed.attacked) == (
            "election-tweets", "the given prompt", "the given prompt") and math.isinf(typed.epsilon)
        cands = read_samples(out, row["samples"])
        assert len(cands) == 2 * N_SIDE and sum(c["member"] for c in cands) == N_SIDE
        again = attack_metrics(np.array([c["statistic"] for c in cands]), np.array([c["member"] for c in cands]))
        assert again.auc == pytest.approx(row["auc"], abs=1e-12)
    assert result["candidates"]["n_members"] == result["candidates"]["n_nonmembers"] == N_SIDE
    assert result["candidates"]["files"] == {"members": str(planted["members"]), "nonmembers": str(planted["nonmembers"])}
    assert result["population"]["source"] == "dataset" and result["population"]["excluded"] == 2 * N_SIDE
    names = [r["attack"] for r in result["attacks"]]  # every registered attack without references, in order
    assert names[:2] == ["loss", "loss-calibrated"] and names == audit_row_names(shadows=False)
    loss = result["attacks"][0]
    assert loss["auc"] == 1.0 and loss["ci"]["auc"] == [1.0, 1.0] and loss["ci"]["unit"].startswith("candidates")
    assert loss["n_attacks"] == len(result["attacks"])
    assert loss["ci_familywise"]["confidence"] == pytest.approx(1 - 0.05 / len(result["attacks"]))
    p10, p1, p01 = loss["operating_points"]
    assert (p10["tpr"], p10["fp"], p10["tp"], p10["n_members"], p10["n_nonmembers"]) == (1.0, 0, N_SIDE, N_SIDE, N_SIDE)
    assert p10["threshold"] is not None and p1["tpr"] is None and "needs >= 100 non-members" in p1["reason"]
    assert loss["eps_lower_bound"] >= 0 and loss["eps_lower_bound_threshold"] == "bonferroni"
    assert loss["eps_lower_bound_confidence"] == 0.95 and loss["delta"] == pytest.approx(1 / N_SIDE)
    assert result["utility"]["members"]["accuracy"] == 1.0 and result["utility"]["non-members"]["accuracy"] == 0.0
    verdict = result["verdict"]["line"]
    assert verdict.startswith("Leakage detected: loss AUC 1.00 [1.00, 1.00] > 0.5 on 24 candidates")
    report = (out / "report.md").read_text().splitlines()
    assert report[0] == verdict and any(line.startswith("| loss | 1.000 [1.000, 1.000] |") for line in report)
    assert "## What was not measured" in report and any("--shadows 0" in line for line in report)
    assert res.output.splitlines()[1] == verdict and "loss-calibrated" in res.output.splitlines()[3]


def test_audit_one_candidates_file_with_a_member_column(planted, tmp_path):
    rows = [{"text": t, "label": lab, "member": i < N_SIDE} for i, (t, lab) in
            enumerate(zip(planted["texts"], planted["labels"]))]  # numeric labels, JSON booleans
    cands = _write(tmp_path / "c.jsonl", rows)
    out = tmp_path / "out"
    res = _audit(planted, out, "--candidates", str(cands), "--dataset", "election-tweets", candidates=False)
    assert res.exit_code == 0, res.output
    result = json.loads((out / "audit.json").read_text())
    assert result["candidates"]["files"] == {"candidates": str(cands)}
    assert result["candidates"]["n_members"] == N_SIDE and result["attacks"][0]["auc"] == 1.0  # 0/1: class indices


def _recipe(tmp_path, text, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_audit_with_shadows_and_a_recipe_file(planted, tmp_path):
    recipe = _recipe(tmp_path, "epochs: 2\nbatch_size: 4\nlr: 0.02\ninit: vocab\naccountant: rdp\nclip: 0.5\n"
                               "train_size: 20\nepsilon: 8\ndelta: 1.0e-3\nmicro_batch: 32\n")
    out = tmp_path / "out"
    res = _audit(planted, out, "--dataset", "election-tweets", "--population", str(planted["population"]), "--shadows",
                 "2", "--recipe", str(recipe), "--lr", "0.03")
    assert res.exit_code == 0, res.output
    result = json.loads((out / "audit.json").read_text())
    names = [r["attack"] for r in result["attacks"]]
    assert names[:7] == ["loss", "loss-calibrated", "lira-online", "lira-offline", "lira-fixed_variance",
                         "rmia-online", "rmia-offline"] and names == audit_row_names(shadows=True)
    for r in result["attacks"]:
        assert 0.0 <= r["ci"]["auc"][0] <= r["auc"] <= r["ci"]["auc"][1] <= 1.0 and len(r["operating_points"]) == 3
        assert r["epsilon"] == 8.0 and r["delta"] == 1e-3  # the recipe's
    assert result["recipe"]["resolved"] == {
        "steps": 10, "batch_size": 4, "lr": 0.03, "dp_lr": None, "clip": 0.5, "delta": 1e-3, "accountant": "rdp",
        "init": "vocab", "micro_batch": 32, "epochs": 2.0, "max_tokens": MAX_TOKENS, "train_size": 20, "epsilon": 8.0,
        "steps_from": "epochs: ceil(2 x 20 / 4)", "train_size_from": "recipe", "prompt_length": 4, "file": str(recipe)}
    dp = result["recipe"]["dp"]
    assert dp["accountant"] == "rdp" and dp["noise_multiplier"] > 0 and dp["n"] == 20 and dp["delta"] == 1e-3
    assert result["recipe"]["settings"]["steps"] == 10 and result["epsilon_lower_bound"]["delta"] == 1e-3
    s = result["shadows"]  # shadows train on halves of 2 x train_size: the 24 candidates + 16 population rows
    assert s["k"] == 2 and s["universe"] == 40 and s["population_rows_used"] == 16
    assert result["population"] == {"source": "file", "path": str(planted["population"]), "rows": 40, "excluded": 0,
                                    "used": 16, "note": "rows of --population whose text is not a candidate "
                                                        "(repeats kept once)"}
    assert "shadows_s" in result["timing"] and result["verdict"]["line"].startswith("Leakage detected: loss AUC 1.00")
    assert sum("eps_lb" in line for line in res.output.splitlines()) == len(names)  # one summary line per attack


def test_audit_canary_control_in_the_shadows(planted, tmp_path):
    out = tmp_path / "out"
    res = _audit(planted, out, "--dataset", "election-tweets", "--population", str(planted["population"]), "--shadows",
                 "2", "--canaries", "8", "--steps", "6", "--batch-size", "4", "--lr", "0.05")
    assert res.exit_code == 0, res.output
    control = json.loads((out / "audit.json").read_text())["canary_control"]
    assert control["m"] == 8 and control["shadows"] == 2 and control["kind"] == "nonsense"
    lo, hi = control["ci"]["auc"]
    assert 0.0 <= lo <= control["auc"] <= hi <= 1.0 and control["detected"] == (lo > 0.5)
    assert "canaries" in control["ci"]["unit"] and "canary control:" in res.output
    assert "## Positive control (canaries in the shadows)" in (out / "report.md").read_text()
    bad = _audit(planted, tmp_path / "bad", "--canaries", "8")  # no shadows to plant them in
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "--canaries" in bad.output


def test_audit_output_is_replaced_on_rerun_and_kept_whole(planted, tmp_path):
    out = tmp_path / "out"
    assert _audit(planted, out, "--seed", "1").exit_code == 0
    assert json.loads((out / "audit.json").read_text())["seed"] == 1
    task = _recipe(tmp_path, 'template: "Tweet: {text} Author:"\ninstruction: Who wrote it?\n', "task.yaml")
    res = _audit(planted, out, "--seed", "2", "--dataset", "election-tweets", "--task-file", str(task),
                 "--label-words", "Hillary|Clinton,Trump")  # a rerun replaces the previous audit's folder
    assert res.exit_code == 0, res.output
    result = json.loads((out / "audit.json").read_text())
    assert result["seed"] == 2 and {p.name for p in out.iterdir()} - FILES == {
        f"samples-{r['attack']}.jsonl.gz" for r in result["attacks"]}
    assert result["task"] == {"name": "election-tweets", "template": "Tweet: {text} Author:",
                              "class_names": ["HillaryClinton", "realDonaldTrump"],
                              "label_words": [[" Hillary", " Clinton"], [" Trump"]], "instruction": "Who wrote it?"}
    res = _audit(planted, out, "--shadows", "3")  # a failed rerun leaves the previous output as it was
    assert res.exit_code == 2 and json.loads((out / "audit.json").read_text())["seed"] == 2
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    res = _audit(planted, other)
    assert res.exit_code == 2 and "holds files but no audit.json" in res.output and (other / "notes.txt").exists()
    assert _no_leftovers(tmp_path)


def test_interrupted_audit_leaves_no_folder(tmp_path):
    from post_bench.audit.output import staged

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), staged(out) as stage:
        (stage / "audit.json").write_text("{}")
        raise KeyboardInterrupt
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_audit_recipe_mode_is_labelled_as_such(planted, tmp_path):
    out = tmp_path / "recipe"
    res = _audit(planted, out, "--dataset", "election-tweets", "--shadows", "4", "--steps", "1", "--recipe",
                 str(_recipe(tmp_path, "train_size: 8\n", "small.yaml")), candidates=False)
    assert res.exit_code == 0, res.output
    result = json.loads((out / "audit.json").read_text())
    assert result["attacked"] == "a recipe's shadows" and "not of the given prompt" in result["attacked_long"]
    assert result["verdict"]["line"].startswith("Recipe leakage, not the given prompt's: ")
    assert result["shadows"]["universe"] == 16 and len(result["attacks"]) == len(audit_row_names(shadows=True))
    assert all(r["ci"]["unit"].startswith("examples (each example's 4 outcomes") for r in result["attacks"])
    rows = [PrivacyRow.model_validate(r) for r in result["attacks"]]  # pooled over 4 shadows
    assert {(r.dataset, r.method, r.attacked, r.n_examples) for r in rows} == {
        ("election-tweets", "recipe shadows", "a recipe's shadows", 16)}
    assert (out / "report.md").read_text().splitlines()[0] == result["verdict"]["line"]


# ---- bad input: exit 2, one line, no output folder -----------------------------------------------------
def _bad_cases(p, tmp):
    both = _write(tmp / "both.jsonl", [json.loads(x) for x in p["members"].read_text().splitlines()[:1]]
                  + [json.loads(x) for x in p["nonmembers"].read_text().splitlines()])
    (tmp / "empty.jsonl").write_text("")
    few = _write(tmp / "few.jsonl", [json.loads(x) for x in p["members"].read_text().splitlines()[:5]])
    obama = _write(tmp / "obama.jsonl", [{"text": "hello there", "label": "BarackObama"}]
                   + [json.loads(x) for x in p["members"].read_text().splitlines()])
    nolabel = _write(tmp / "nolabel.jsonl", [{"text": f"text {i}"} for i in range(12)])
    notext = _write(tmp / "notext.jsonl", [{"sentence": f"text {i}", "label": 0} for i in range(12)])
    cands = _write(tmp / "c.jsonl", [{"text": t, "label": lab, "member": "maybe"} for t, lab in
                                     zip(p["texts"], p["labels"])])
    (tmp / "p.pt").write_bytes(b"\x80\x04not to be unpickled")
    unknown = _recipe(tmp, "steps: 3\nlearning_rate: 0.1\n", "unknown.yaml")
    m, n = ["--members", str(p["members"])], ["--nonmembers", str(p["nonmembers"])]
    return {
        "both sides": ([*m, "--nonmembers", str(both)], "1 text(s) are both member and non-member"),
        "empty file": ([*m, "--nonmembers", str(tmp / "empty.jsonl")], "the file is empty"),
        "no text column": ([*m, "--nonmembers", str(notext)], "no text column 'text'; allowed: sentence, label"),
        "no label column": ([*m, "--nonmembers", str(nolabel)], "no 'label' column"),
        "unknown label": (["--members", str(obama), *n, "--dataset", "election-tweets"],
                          "label: row 1: 'BarackObama' is not a class of the task 'election-tweets'"),
        "too few": (["--members", str(few), *n], "5 members and 12 non-members; allowed: at least 10 of each"),
        "recipe unknown key": ([*m, *n, "--recipe", str(unknown)],
                               f"{unknown}: learning_rate: unknown key; allowed: accountant, batch_size"),
        "odd shadows": ([*m, *n, "--shadows", "3"], "audit: --shadows: 3; allowed: 0 or an even number >= 2"),
        "shadows without population": ([*m, *n, "--shadows", "2"], "2 shadows need a population"),
        "pickle prompt": (["--prompt", str(tmp / "p.pt"), *m, *n], "pickle"),
        "bad member value": (["--candidates", str(cands)], "member: row 1: 'maybe' is not a membership"),
        "candidates and members": ([*m, *n, "--candidates", str(cands)], "--candidates: given with --members"),
        "members alone": (m, "--nonmembers: missing (--members is given)"),
        "steps and epochs": ([*m, *n, "--steps", "3", "--epochs", "2"], "--steps/--epochs: both given"),
        "label words": ([*m, *n, "--dataset", "election-tweets", "--label-words", "a,b,c"],
                        "label_words: 3 given but the data set has 2 classes"),
        "nothing to audit": ([], "candidates: none given"),
        "recipe mode shadows": (["--dataset", "election-tweets", "--shadows", "2"], "allowed: an even number >= 4"),
        "train size below candidates": ([*m, *n, "--dataset", "election-tweets", "--shadows", "2", "--recipe",
                                         str(_recipe(tmp, "train_size: 5\n", "t5.yaml"))],
                                        "fewer than the 24 candidates; allowed: train_size >= 12"),
        "nan epsilon": ([*m, *n, "--epsilon", "nan"], "epsilon"),
    }


CASES = ["both sides", "empty file", "no text column", "no label column", "unknown label", "too few",
         "recipe unknown key", "odd shadows", "shadows without population", "pickle prompt", "bad member value",
         "candidates and members", "members alone", "steps and epochs", "label words", "nothing to audit",
         "recipe mode shadows", "train size below candidates", "nan epsilon"]


@pytest.mark.parametrize("case", CASES)
def test_audit_bad_input_is_one_line_and_leaves_no_folder(planted, tmp_path, case):
    args, expected = _bad_cases(planted, tmp_path)[case]
    prompt = str(planted["prompt"])
    if args[:1] == ["--prompt"]:
        prompt, args = args[1], args[2:]
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", prompt, "--out", str(out), "--max-tokens", str(MAX_TOKENS), *args])
    assert res.exit_code == 2, res.output
    assert len(res.output.strip().splitlines()) == 1 and expected in res.output, res.output
    assert "Traceback" not in res.output and not out.exists() and _no_leftovers(tmp_path)


def test_audit_prompt_file_problems(tmp_path):
    from post_bench.models.soft_prompt import save_prompt

    bad = tmp_path / "p.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    res = CliRunner().invoke(main, ["audit", str(bad), "--model", TINY, "--dataset", "election-tweets"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    save_prompt(tmp_path / "narrow", torch.randn(4, 32), base_model=TINY)
    res = CliRunner().invoke(main, ["audit", str(tmp_path / "narrow"), "--dataset", "election-tweets"])
    assert res.exit_code == 2 and "(4, 32)" in res.output and "64" in res.output
    save_prompt(tmp_path / "two", torch.randn(4, 64), base_model=TINY)
    cfg = json.loads((tmp_path / "two" / "adapter_config.json").read_text())
    (tmp_path / "two" / "adapter_config.json").write_text(json.dumps({**cfg, "num_transformer_submodules": 2}))
    res = CliRunner().invoke(main, ["audit", str(tmp_path / "two"), "--dataset", "election-tweets"])
    assert res.exit_code == 2 and "num_transformer_submodules: 2" in res.output and "allowed: 1" in res.output
    res = CliRunner().invoke(main, ["audit", "hf:no-owner", "--dataset", "election-tweets"])
    assert res.exit_code == 2 and "expected hf:<owner>/<repo>[@revision]" in res.output
