"""Resume trusts no artifact blindly: a finished unit whose files changed since commit is redone with its
dependents (one notice line), and the rerun's results equal the first run's."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from post_bench.cli import main
from post_bench.runner.store import RunStore
from post_bench.runner.verify import damage

ROOT = Path(__file__).resolve().parents[1]


def _suite() -> dict:
    suite = yaml.safe_load((ROOT / "suites/smoke.yaml").read_text())
    suite.update(name="verify", epsilons=["inf"], attacks=[], methods=["direct"])
    return suite


def _run(path: Path, out: Path):
    res = CliRunner().invoke(main, ["run", str(path), "--out", str(out), "--no-report"])
    assert res.exit_code == 0, res.output
    return res.output, json.loads((out / "results.json").read_text())


def _done(out: Path) -> dict:
    return {p.parent.name: p.stat().st_mtime_ns for p in (out / "units").glob("*/done.json")}


def _deps(out: Path) -> dict:
    return {p.parent.name: set(json.loads(p.read_text())["unit"]["deps"].values())
            for p in (out / "units").glob("*/done.json")}


def _dependents(out: Path, unit_id: str) -> set:
    deps, hit = _deps(out), {unit_id}
    while True:
        more = {u for u, ds in deps.items() if ds & hit} - hit
        if not more:
            return hit - {unit_id}
        hit |= more


def _nan_prompt(folder: Path) -> str:
    path = next(folder.rglob("*.safetensors"))
    tensors = {k: torch.full_like(v, float("nan")) for k, v in load_file(path).items()}
    save_file(tensors, str(path))
    return path.relative_to(folder).as_posix()


def _flip_byte(folder: Path) -> str:
    path = next(p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "done.json")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    return path.relative_to(folder).as_posix()


def _utility(results: dict) -> list:
    return [(r["method"], r["epsilon"], r["accuracy"]) for r in results["utility"]]


@pytest.mark.parametrize("damage_kind", ["nan", "byte", "legacy-nan"])
def test_changed_artifact_is_redone_with_its_dependents(tmp_path, damage_kind):
    path, out = tmp_path / "suite.yaml", tmp_path / "run"
    path.write_text(yaml.safe_dump(_suite()))
    _, first = _run(path, out)
    tune = next(p for p in (out / "units").iterdir() if p.name.startswith("tune-"))
    below = _dependents(out, tune.name)
    assert below, "the tune unit should have dependents (its evaluation)"
    if damage_kind == "legacy-nan":  # committed before checksums: only the finiteness check can tell
        record = json.loads((tune / "done.json").read_text())
        del record["files"]
        (tune / "done.json").write_text(json.dumps(record))
    before = _done(out)
    name = _flip_byte(tune) if damage_kind == "byte" else _nan_prompt(tune)
    output, again = _run(path, out)
    notices = [line for line in output.splitlines() if line.startswith(f"unit {tune.name}:")]
    assert len(notices) == 1, output
    assert name in notices[0] and "redoing it" in notices[0]
    assert ("does not match its checksum" in notices[0]) == (damage_kind != "legacy-nan")
    after = _done(out)
    redone = {u for u in before if after[u] != before[u]}
    assert redone == {tune.name} | below, output
    assert damage(tune) is None and not [p for p in (out / "units").iterdir() if p.name.startswith(".work-")]
    accs = [a for *_, a in _utility(again)]
    assert accs and np.isfinite(accs).all() and _utility(again) == _utility(first)


def test_nonfinite_arrays_without_checksums_are_damage(tmp_path):
    folder = tmp_path / "units" / "u-old"
    folder.mkdir(parents=True)
    (folder / "done.json").write_text(json.dumps({"utility": []}))
    np.save(folder / "scores.npy", np.array([1.0, 2.0]))
    np.save(folder / "keep.npy", np.array([True, False]))
    assert RunStore(tmp_path).is_done("u-old")
    np.save(folder / "scores.npy", np.array([1.0, np.inf]))
    assert damage(folder) == "artifact scores.npy holds NaN/inf"
    np.save(folder / "scores.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "does not load" in damage(folder)
