"""Run gates: the always-on DP check (an empirical ε lower bound above the claimed ε), user gates from the
suite and --gate (schema, names, evaluation), the JUnit file, the GitHub step summary, and exit code 3."""

from __future__ import annotations

import json
import math
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from post_bench.checks import load_suite
from post_bench.cli import main
from post_bench.errors import UserInputError
from post_bench.gates import dp_violations, evaluate, junit_xml, parse_gate_option, step_summary
from post_bench.report import load_results
from post_bench.rows import parse_results
from post_bench.suite import Gate


def _row(claimed, bound, attack="one_run"):
    return {"dataset": "d", "method": "source_only", "epsilon": claimed, "attack": attack, "auc": None, "seed": 0,
            "claimed_epsilon": claimed, "eps_lower_bound": bound, "eps_lower_bound_confidence": 0.95}


def _privacy(rows: list) -> object:
    return parse_results({"schema": 2, "privacy": rows})


def test_a_bound_above_the_claim_is_a_violation_and_nothing_else_is():
    rows = [_row(8.0, 1.2), _row(1.0, 1.0), _row(None, 3.5), _row(1.0, None), _row(1.0, 1.31, "lira-online")]
    lines = dp_violations(_privacy(rows))
    assert len(lines) == 1 and "lira-online" in lines[0] and "1.31" in lines[0] and "claimed eps 1" in lines[0]
    assert dp_violations(_privacy([])) == [] and dp_violations(_privacy(rows[:4])) == []


# ---- user gates: schema, evaluation, JUnit, step summary, and an end-to-end tiny run ----------------------

FIXTURE = Path(__file__).parent / "fixtures" / "results_small.json"
TINY = """
name: gates-tiny
seeds: [0]
threads: 1
epsilons: [inf, 8]
models: {target: "tiny-gpt2:layers=2,hidden=64"}
datasets: {private: [election-tweets]}
budget: {train_size: 16, val_size: 0, test_size: 16, max_tokens: 16, prompt_length: 2, eval_batch_size: 16}
tuning: {steps: 2, batch_size: 8, lr: 0.01, accountant: rdp}
methods: [zero_shot, direct]
"""


def _gate(**kw) -> Gate:
    return Gate.model_validate(kw)


def _suite_with(tmp_path, gates: str):
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(TINY) + gates)
    return path


def test_gate_shape_errors_are_one_line_each(tmp_path):
    path = _suite_with(tmp_path, textwrap.dedent("""
        gates:
          - {metric: acc, method: direct, min: 0.6}
          - {metric: accuracy, method: direct}
          - {metric: accuracy, method: direct, min: 60}
          - {metric: tpr, max: 0.1}
          - {claim: 1, min: 0.5}
          - {metric: auc, max: 0.6, colour: red}
          - {claim: 1, metric: auc, max: 0.5}
          - {difference: [direct], min: 0}
          - {difference: [direct, zero_shot], method: direct, min: 5}
    """))
    with pytest.raises(UserInputError) as err:
        load_suite(path)
    lines = err.value.problems
    assert len(lines) == 9 and all(line.startswith(f"{path}: gates[") for line in lines)
    text = "\n".join(lines)
    assert "gates[0].metric: 'acc' is not allowed; allowed: accuracy, auc, tpr, eps_lb" in text
    assert "gates[1]: min and max both missing" in text
    assert "gates[2]: min 60 is not in [0, 1]" in text
    assert "gates[3]: a tpr gate needs fpr" in text
    assert "gates[4]: a claim gate takes no min" in text
    assert "gates[5].colour: unknown key" in text
    assert "gates[6]: give one of claim, metric or difference, not claim and metric" in text
    assert "gates[7]: difference: 1 name(s); give two methods [a, b]" in text
    assert "gates[8]: a difference gate takes no method (its methods are in difference); min 5 is not in [-1, 1]" in text
    res = CliRunner().invoke(main, ["validate", str(path)])
    assert res.exit_code == 2 and res.output.splitlines() == lines and "Traceback" not in res.output


def test_gate_names_are_checked_against_the_suite(tmp_path):
    path = _suite_with(tmp_path, textwrap.dedent("""
        gates:
          - {metric: accuracy, method: drect, min: 0.5}
          - {metric: accuracy, dataset: bbc-news, epsilon: 3, min: 0.5}
          - {metric: auc, max: 0.6}
          - {claim: 5}
          - {claim: 1}
          - {difference: [drect, zero_shot], min: 0}
          - {difference: [zero_shot, source_zero_shot], epsilon: 8, min: 0}
    """))
    with pytest.raises(UserInputError) as err:
        load_suite(path)
    text = "\n".join(err.value.problems)
    assert "gates[5].difference: 'drect' is not among the suite's methods (did you mean 'direct'?)" in text
    assert "gates[6].epsilon: zero_shot and source_zero_shot read no private data: their only cell is ε=inf" in text
    assert "gates[6].difference: 'source_zero_shot' is not among the suite's methods" in text
    assert "gates[0].method: 'drect' is not among the suite's methods (did you mean 'direct'?)" in text
    assert "gates[1].dataset: 'bbc-news' is not among datasets.private; allowed: election-tweets" in text
    assert "gates[1].epsilon: 3 is not among the suite's epsilons; allowed: inf, 8" in text
    assert "gates[2].metric: auc: the suite has no membership or one_run attack" in text
    assert "gates[3].claim: no claim 5; allowed: 1, 2, 3, 4, 6" in text
    assert "gates[4].claim: claim 1 (POST ≫ direct transfer) compares direct_transfer, post; the suite does not run " \
           "direct_transfer, post" in text
    assert "gates[4].claim: claim 1: with one seed every claim is inconclusive" in text


def test_gate_option_parses_a_one_line_mapping():
    g = parse_gate_option("{metric: auc, attack: lira-online, method: post, epsilon: inf, max: 0.60}")
    assert g.metric == "auc" and g.epsilon == math.inf and g.epsilon_given and g.max == 0.6
    assert not parse_gate_option("{metric: accuracy, min: 0.5}").epsilon_given
    for bad, why in (("accuracy:0.6", "not a YAML mapping"), ("{metric: accuracy, min: [", "invalid YAML"),
                     ("{metric: accuracy}", "min and max both missing")):
        with pytest.raises(UserInputError) as err:
            parse_gate_option(bad)
        assert len(err.value.problems) == 1 and err.value.problems[0].startswith("--gate ") and why in err.value.problems[0]
    # the difference short form; a hyphen in a name needs spaces around the minus
    for text, dumped in (("difference:post-zero_shot>=0", {"difference": ["post", "zero_shot"], "min": 0.0}),
                         ("difference: my-post - zero_shot <= 0.1", {"difference": ["my-post", "zero_shot"], "max": 0.1}),
                         ("difference:post-direct>=-0.05", {"difference": ["post", "direct"], "min": -0.05}),
                         ("{difference: [post, zero_shot], epsilon: 8, min: 0}",
                          {"difference": ["post", "zero_shot"], "epsilon": 8.0, "min": 0.0})):
        assert parse_gate_option(text).model_dump(mode="json") == dumped
    for bad, why in (("difference:my-post-zero_shot>=0", "cannot tell the two methods apart"),
                     ("difference:post-zero_shot>=high", "bound 'high' is not a number"),
                     ("difference:post-zero_shot>=5", "min 5 is not in [-1, 1]"),
                     ("difference:post>=0", "expected two methods A-B")):
        with pytest.raises(UserInputError) as err:
            parse_gate_option(bad)
        assert len(err.value.problems) == 1 and why in err.value.problems[0], err.value.problems
    # a dumped gate keeps only its keys: epsilon null then means inf, never "any epsilon"
    assert g.model_dump(mode="json") == {"metric": "auc", "attack": "lira-online", "method": "post", "epsilon": None,
                                         "max": 0.6}


def test_gates_compare_cell_means_for_accuracy_and_every_row_for_privacy():
    results = load_results(FIXTURE)
    # post at eps=8 on election: seeds 0.84 and 0.82 -> the cell mean 0.83 is compared, not a single seed
    acc = [r.accuracy for r in results.utility if r.method == "post" and r.epsilon == 8 and r.dataset == "election"]
    mean = sum(acc) / len(acc)
    between = (min(acc) + mean) / 2
    gates = [_gate(metric="accuracy", method="post", dataset="election", epsilon=8, min=between),
             _gate(metric="accuracy", method="post", dataset="election", epsilon=8, min=mean + 0.001),
             _gate(metric="auc", attack="lira", method="post", max=0.99),
             _gate(metric="auc", attack="lira-online", max=0.5),
             _gate(metric="accuracy", method="post", epsilon=3, min=0.1),
             _gate(metric="tpr", fpr=0.001, attack="lira-online", max=1.0),
             _gate(metric="eps_lb", max=100)]
    out = evaluate(gates, results)
    assert out[0].passed and out[0].name.startswith("eps lower bound")  # the always-on DP gate
    assert [o.passed for o in out[1:]] == [True, False, True, False, False, True, True]
    assert f"mean {mean:.3f} over 2 seed(s) < min" in out[2].line
    worst = max(r.auc for r in results.privacy if r.attack == "lira-online")
    assert f"auc {worst:.3f} > max 0.5" in out[4].line and "more row(s)" in out[4].line
    assert "no accuracy cell matches" in out[5].line  # a typo never passes silently
    assert all(o.line.startswith("gate failed: ") and "\n" not in o.line for o in out if not o.passed)


def test_claim_gates_read_the_claim_verdicts():
    from post_bench.report.claims import from_results

    results = load_results(FIXTURE)
    claims = from_results(results)
    verdict = {c.claim: c.verdict for c in claims}
    out = evaluate([_gate(claim=2), _gate(claim=2, must="not-fail"), _gate(claim=2, dataset="nope")], results)
    assert out[1].passed == (verdict[2] == "holds")
    assert "no (dataset, ε) cell" in out[3].line
    assert out[1].line.startswith("gate failed: claim 2 must hold") or out[1].passed


def _write_run(folder: Path, cells: dict) -> dict:
    """A run directory: results.json with one utility row per (method, ε, seed) of ``cells`` ({(method, ε):
    {seed: [0/1 per row]}}, rows r000…) and its samples files, written as post-bench run collects them."""
    from post_bench.samples import collected_name, write_samples

    utility = []
    for (method, eps), seeds in cells.items():
        for seed, correct in seeds.items():
            unit = f"evaluate-{method}-{eps}-{seed}"
            (folder / "samples" / unit).mkdir(parents=True)
            ref = write_samples(folder / "samples" / unit, [
                {"row_id": f"s{seed}-r{i:03d}", "label": 1, "pred": int(c), "scores": [0.0, 1.0], "logprobs": None}
                for i, c in enumerate(correct)], "predictions")
            utility.append({"dataset": "election-tweets", "method": method, "model": "m", "epsilon": eps, "seed": seed,
                            "accuracy": sum(correct) / len(correct), "n_test": len(correct), "num_classes": 2,
                            "samples": {**ref, "file": collected_name(unit, ref["file"])}})
    results = {"schema": 2, "suite": {"name": "diff"}, "utility": utility, "privacy": []}
    (folder / "results.json").write_text(json.dumps(results))
    return results


def _changed(base: list, gained: int, lost: int) -> list:
    """``base`` with its first ``gained`` wrong rows right and its first ``lost`` right rows wrong."""
    out = list(base)
    wrong = [i for i, c in enumerate(base) if not c][:gained]
    right = [i for i, c in enumerate(base) if c][:lost]
    for i in wrong:
        out[i] = 1
    for i in right:
        out[i] = 0
    return out


def test_difference_gate_pairs_rows_within_seeds_and_falls_back_to_seeds(tmp_path):
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(0)
    zs = {s: (rng.random(50) < 0.6).astype(int).tolist() for s in (0, 1)}
    post8 = {0: _changed(zs[0], 9, 1), 1: _changed(zs[1], 7, 2)}  # clearly better than zero-shot
    post_inf = {0: _changed(zs[0], 2, 3), 1: _changed(zs[1], 3, 2)}  # the same, up to noise
    raw = _write_run(tmp_path, {("zero_shot", None): zs, ("post", 8.0): post8, ("post", None): post_inf})
    results = parse_results(raw)

    def by_hand(post):  # rows paired within each seed, seeds with equal weight, variance max(rows, seeds)
        d = [np.array(post[s]) - np.array(zs[s]) for s in (0, 1)]
        m, w = np.array([x.mean() for x in d]), np.array([x.var(ddof=1) / x.size for x in d])
        half = stats.norm.ppf(0.975) * np.sqrt(max(w.sum() / 4, m.var(ddof=1) / 2))
        return m.mean(), m.mean() - half, m.mean() + half

    est8, lo8, hi8 = by_hand(post8)
    assert est8 == pytest.approx(13 / 100) and lo8 > 0
    gates = [_gate(difference=["post", "zero_shot"], min=0),  # fails at ε=inf (zero-shot serves both ε)
             _gate(difference=["post", "zero_shot"], epsilon=8, min=0),
             _gate(difference=["post", "zero_shot"], epsilon=8, max=0.15),
             _gate(difference=["post", "zero_shot"], dataset="nope", min=0),
             _gate(difference=["post", "direct"], min=0)]
    out = evaluate(gates, results, tmp_path)[1:]
    assert [o.passed for o in out] == [False, True, False, False, False]
    assert out[0].name == "post - zero_shot >= 0 at 95%"
    assert out[0].line.startswith("gate failed: post - zero_shot >= 0 at 95%: election-tweets ε=inf: post - zero_shot ")
    assert "(rows paired within 2 seed(s), 100 rows) lower end < min 0" in out[0].line
    assert out[1].value == f"[{lo8:+.3f}, {hi8:+.3f}]" and out[1].detail.startswith("1 cell(s); worst election-tweets ε=8")
    assert f"95% CI [{lo8:+.3f}, {hi8:+.3f}] (rows paired within 2 seed(s), 100 rows) upper end > max 0.15" in out[2].line
    assert out[3].line == ("gate failed: post - zero_shot >= 0 at 95% (dataset=nope): no (dataset, ε) cell has post "
                           "or zero_shot accuracy (check the methods, dataset and epsilon against the run's results)")
    assert out[4].line.endswith(": election-tweets ε=8: no direct results at ε=8 [+1 more cell(s)]")

    # without the run directory (or without samples files): the t-interval over the paired seeds, said so
    fallback = evaluate([gates[1]], results)[1]
    per_seed = [np.mean(post8[s]) - np.mean(zs[s]) for s in (0, 1)]
    t = stats.ttest_1samp(per_seed, 0.0).confidence_interval(0.95)
    assert fallback.value == f"[{t.low:+.3f}, {t.high:+.3f}]"
    assert "(t over 2 paired seeds, not per row: no run directory to read per-row samples from)" in fallback.detail
    old = {**raw, "utility": [{k: v for k, v in r.items() if k != "samples"} for r in raw["utility"]]}
    assert "not per row: the run has no per-row samples" in evaluate([gates[1]], parse_results(old), tmp_path)[1].detail
    one_seed = parse_results({**old, "utility": [r for r in old["utility"] if r["seed"] == 0]})
    assert "1 paired seed(s) and the run has no per-row samples: no interval" in \
        evaluate([gates[1]], one_seed, tmp_path)[1].line

    root = ET.fromstring(junit_xml(evaluate(gates[:2], results, tmp_path), results))
    cases = root.find("testsuite").findall("testcase")
    assert [c.get("name") for c in cases[1:]] == ["post - zero_shot >= 0 at 95%", "post - zero_shot >= 0 at 95% "
                                                  "(epsilon=8)"]
    assert cases[1].find("failure") is not None and cases[2].find("failure") is None


def test_junit_and_step_summary_list_every_gate_and_claim():
    results = load_results(FIXTURE)
    out = evaluate([_gate(metric="accuracy", method="post", min=0.99, name="post is near perfect"),
                    _gate(metric="accuracy", method="post", min=0.1)], results)
    root = ET.fromstring(junit_xml(out, results))
    gates, claims = root.findall("testsuite")
    cases = gates.findall("testcase")
    assert [c.get("name") for c in cases][1:] == ["post is near perfect", "accuracy >= 0.1 (method=post)"]
    assert [c.find("failure") is not None for c in cases] == [False, True, False]
    assert gates.get("failures") == "1" and root.get("failures") == "1"
    assert len(claims.findall("testcase")) == 5 and all(c.get("name").startswith("claim ") for c in claims)
    md = step_summary(out, results)
    assert "1 of 3 gates failed" in md and "| post is near perfect | **FAIL** |" in md and "### Claims" in md


def test_a_run_with_a_gate_that_cannot_hold_exits_3_after_writing_everything(tmp_path):
    """End to end on a tiny model: exit 3, one stderr line per failed gate, the report, results (schema 2,
    aggregates), JUnit and the GitHub step summary are written; gate errors on the command line exit 2."""
    path = _suite_with(tmp_path, textwrap.dedent("""
        gates:
          - {metric: accuracy, method: zero_shot, min: 0.0}      # holds
          - {metric: accuracy, method: direct, max: 1.0}         # holds
          - {metric: accuracy, method: zero_shot, epsilon: 8, min: 0.0}  # zero-shot has no eps=8 cell
    """))
    out = tmp_path / "run"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    runner = CliRunner()
    bad = runner.invoke(main, ["run", str(path), "--out", str(out), "--gate", "{metric: accuracy, method: post, min: 0.5}",
                               "--gate", "{metric: accuracy}", "--baseline-gate", "accuracy:0.05"])
    assert bad.exit_code == 2 and not out.exists(), bad.output
    lines = bad.output.strip().splitlines()
    assert len(lines) == 3 and "'post' is not among the suite's methods" in lines[0]
    assert "min and max both missing" in lines[1] and "--baseline-gate: needs --baseline" in lines[2]

    res = runner.invoke(main, ["run", str(path), "--out", str(out), "--gate", "{metric: accuracy, method: direct, min: 1.0}"],
                        env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.exit_code == 3, res.output
    failed = [line for line in res.output.splitlines() if line.startswith("gate failed: ")]
    assert len(failed) == 2, res.output
    assert "gate failed: accuracy >= 0 (method=zero_shot, epsilon=8): no accuracy cell matches" in res.output
    assert any(line.startswith("gate failed: accuracy >= 1 (method=direct): ") for line in failed)
    assert "gates: 3 passed, 2 failed" in res.output
    assert (out / "report" / "report.md").is_file()
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == 2 and results["aggregates"]["utility"]
    assert results["suite"]["gates"][2] == {"metric": "accuracy", "method": "zero_shot", "epsilon": 8.0, "min": 0.0}
    root = ET.parse(out / "gates.junit.xml").getroot()
    assert root.get("failures") == "2" and len(root.find("testsuite").findall("testcase")) == 5
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "2 of 5 gates failed" in text and "### Claims" in text

    # the same run again, no gates, against itself as the baseline: resumes, compares, nothing moved
    plain = tmp_path / "plain.yaml"
    plain.write_text(textwrap.dedent(TINY))
    again = runner.invoke(main, ["run", str(plain), "--out", str(out), "--baseline", str(out),
                                 "--baseline-gate", "accuracy:0.05"])
    assert again.exit_code == 0, again.output
    assert "# post-bench compare" in again.output and "0 of 3 cells moved" in again.output
    assert "(3 of 3 cells paired by row)" in again.output  # the same rows, read from the run directory

    # a difference gate on the command line: per-row pairing from the run's samples; failing it exits 3
    diff = runner.invoke(main, ["run", str(plain), "--out", str(out), "--no-report",
                                "--gate", "difference:direct-zero_shot>=0.9", "--gate", "{difference: [direct, zero_shot], min: -1}"])
    assert diff.exit_code == 3, diff.output
    assert "gates: 2 passed, 1 failed" in diff.output
    (line,) = [x for x in diff.output.splitlines() if x.startswith("gate failed: ")]
    assert line.startswith("gate failed: direct - zero_shot >= 0.9 at 95%: election-tweets ε=")
    assert "(rows paired within 1 seed(s), " in line and "lower end < min 0.9" in line
    cases = ET.parse(out / "gates.junit.xml").getroot().find("testsuite").findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["direct - zero_shot >= 0.9 at 95%"]
    assert failed[0].find("failure").get("message") == line


# ---- the example GitHub Actions workflow ------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "gpu-example.yml"


def _workflow_commands() -> list[list[str]]:
    import shlex

    import yaml

    steps = [s for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values() for s in job["steps"]]
    out = []
    for step in steps:
        for line in str(step.get("run", "")).replace("\\\n", " ").splitlines():
            if line.strip().startswith("post-bench "):
                out.append(shlex.split(line)[1:])
    return out


def test_the_example_gpu_workflow_commands_parse_and_their_suites_validate():
    """Every ``post-bench`` command of .github/workflows/gpu-example.yml parses (options exist, values have their
    types), its suites validate, its gates parse and name what the suite has, and its baseline is readable."""
    from post_bench.commands.compare import load_run, parse_threshold
    from post_bench.gates import cli_gates

    text = WORKFLOW.read_text()
    assert text.index("pip install torch==2.13.0 --index-url") < text.index("pip install -e .")
    commands = _workflow_commands()
    assert {c[0] for c in commands} == {"validate", "run", "compare"}
    validated = set()
    for args in commands:
        ctx = main.commands[args[0]].make_context(args[0], list(args[1:]))  # unknown options raise here
        p = ctx.params
        suite_file = p.get("suite_file")
        if suite_file and suite_file not in validated:
            res = CliRunner().invoke(main, ["validate", str(ROOT / suite_file)])
            assert res.exit_code == 0, res.output
            validated.add(suite_file)
        if args[0] == "run":
            assert len(cli_gates(p["gate_texts"], load_suite(ROOT / suite_file))) == len(p["gate_texts"]) >= 1
            load_run(ROOT / p["baseline"])
            assert [parse_threshold(t, "--baseline-gate") for t in p["baseline_gates"]]
        if args[0] == "compare":
            load_run(ROOT / p["run_a"])
            for t in p["gate_texts"]:
                parse_threshold(t)
    assert validated == {"suites/quickstart.yaml"}
