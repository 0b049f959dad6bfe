"""Suite validation: every problem reported, one line each, FILE: key.path: ...; allowed: ..."""

import math
import textwrap

import pytest
from click.testing import CliRunner

from post_bench.checks import load_suite
from post_bench.cli import main
from post_bench.errors import UserInputError

GOOD = """
name: t
epsilons: [inf, 8]
models: {target: "tiny-gpt2:layers=2,hidden=64"}
datasets: {private: [election-tweets], public: friends}
methods: [zero_shot, direct]
"""


def write(tmp_path, text):
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(UserInputError) as err:
        load_suite(path)
    return err.value.problems, str(path)


def test_good_suite_parses_and_normalises_epsilons(tmp_path):
    suite = load_suite(write(tmp_path, GOOD))
    assert suite.epsilons == [math.inf, 8.0]  # non-private is inf inside the package, null in files
    assert suite.model_dump(mode="json")["epsilons"] == [None, 8.0]
    assert suite.method_names == ["zero_shot", "direct"]
    assert suite.budget.prompt_length == 10


def test_every_problem_is_reported_with_file_key_and_allowed(tmp_path):
    lines, path = problems(tmp_path, """
        name: t
        epsilons: [inf, -1]
        modles: {}
        datasets: {private: [elction-tweets]}
        budget: {train_size: 2, prompt_lenght: 4}
        tuning: {accountant: moments}
        methods: [zero_shot, drect]
    """)
    text = "\n".join(lines)
    assert all(line.startswith(path + ": ") for line in lines)
    assert "epsilons[1]" in text and "epsilon must be > 0" in text
    assert "modles: unknown key" in text and "did you mean 'models'" in text
    assert "models: required key missing" in text
    assert "budget.train_size" in text
    assert "budget.prompt_lenght: unknown key (did you mean 'prompt_length'?)" in text
    assert "tuning.accountant: 'moments' is not allowed; allowed: prv, rdp" in text
    assert len(lines) >= 6


def test_cross_field_problems(tmp_path):
    lines, path = problems(tmp_path, """
        name: t
        models: {target: "tiny-gtp2"}
        datasets: {private: [elction-tweets, "path:/nonexistent/x.csv"]}
        methods: [zero_shot, {name: direct, stepz: 3}, drect, source_only]
        attacks: [{name: lira, methods: [zero_shot]}, {name: lirra}]
    """)
    text = "\n".join(lines)
    assert "models.target: unknown model 'tiny-gtp2' (did you mean 'tiny-gpt2'?)" in text
    assert "datasets.private[0]: unknown dataset 'elction-tweets' (did you mean 'election-tweets'?)" in text
    assert "datasets.private[1]:" in text and "not found" in text
    assert "methods[1].stepz: unknown key (did you mean 'steps'?)" in text
    assert "methods[2].name: unknown method 'drect' (did you mean 'direct'?)" in text
    assert "methods[3].name: method 'source_only' needs models.source" in text
    assert "attacks[0].methods[0]: shadow prompts cannot re-make 'zero_shot''s prompt" in text
    assert "attacks[1].name: unknown attack 'lirra' (did you mean 'lira'?)" in text


def test_cli_validate_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(write(tmp_path, GOOD))])
    assert ok.exit_code == 0, ok.output
    assert "ok" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nmodels: [\n")
    res = runner.invoke(main, ["validate", str(bad)])
    assert res.exit_code == 2
    assert "invalid YAML" in res.output and "Traceback" not in res.output
    missing = runner.invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "suite file not found" in missing.output


def test_shipped_suites_validate():
    runner = CliRunner()
    for suite in ("suites/smoke.yaml", "suites/quickstart.yaml"):
        res = runner.invoke(main, ["validate", suite])
        assert res.exit_code == 0, res.output


@pytest.mark.parametrize(("attack", "bad"), [
    ("{name: lira, methods: [direct], shadows: 2}", True),  # default variants include online
    ("{name: rmia, methods: [direct], shadows: 2, variants: [online]}", True),
    ("{name: lira, methods: [direct], shadows: 2, variants: [offline, offline_fixed_variance]}", False),
    ("{name: rmia, methods: [direct], shadows: 4, variants: [online]}", False),
])
def test_in_reference_variants_need_four_shadows(tmp_path, attack, bad):
    text = GOOD + f"attacks:\n  - {attack}\n"
    if bad:
        (line,), _ = problems(tmp_path, text)
        assert "attacks[0].shadows:" in line and "allowed: shadows >= 4, or offline variants only" in line
    else:
        load_suite(write(tmp_path, text))
