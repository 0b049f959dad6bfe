"""What a running unit can reach: the suite, its inputs (each one's typed done record and directory:
:meth:`RunContext.inputs`), and in-process caches of loaded models, data splits and tokenised data (several
units of one process share them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from post_bench.data import (
    load_dataset,
    load_entry,
    make_splits,
    plant_canaries,
    population_holdout,
    sample_public,
)
from post_bench.data.canaries import GRADIENT, plan_canaries
from post_bench.errors import UserInputError, problem
from post_bench.models.backbone import Backbone
from post_bench.models.loading import load_pretrained
from post_bench.suite import Suite
from post_bench.unit.schemas import SCHEMAS, Canaries, Record


def pick_device(setting: str, source: str = "suite") -> str:
    import torch  # deferred: start-up time (torch)

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserInputError(problem(source, "device", f"{setting} is asked for but no CUDA device is available",
                                         "auto, cpu"))
        index = int(setting.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise UserInputError(problem(source, "device", f"{setting}: no such device ({torch.cuda.device_count()} "
                                         "CUDA devices)", ", ".join(f"cuda:{i}" for i in range(torch.cuda.device_count()))))
    return setting


@dataclass(frozen=True)
class Input:
    """A finished input of a unit: its typed done record and its directory (for its artifacts)."""

    record: Record
    folder: Path


_BACKBONES: dict[tuple[str, str, str], Backbone] = {}  # per process: units (and audits) share loaded models


def shared_backbone(name: str, device: str, precision: str) -> Backbone:
    """The frozen model ``name`` on ``device`` (``load_pretrained``), loaded once per process and key, so the
    units of one process (or one Ray worker), and a run and an audit in one process, share it."""
    key = (name, device, precision)
    if key not in _BACKBONES:
        model, tok, kind = load_pretrained(name)
        _BACKBONES[key] = Backbone(model, tok, kind, name=name, device=device, precision=precision)
    return _BACKBONES[key]


@dataclass
class RunContext:
    suite: Suite
    root: Path
    _splits: dict = field(default_factory=dict)
    _encoded: dict = field(default_factory=dict)
    _memo: dict = field(default_factory=dict)

    @cached_property
    def device(self) -> str:
        return pick_device(self.suite.device)

    def unit_dir(self, unit) -> Path:
        return self.root / "units" / unit.id

    def inputs(self, unit) -> dict[str, Input]:
        """A unit's inputs by name: each one's done record (typed by its kind) and directory. Units read their
        inputs only through this, never another unit's done.json by path."""
        out = {}
        for name, dep in unit.deps.items():
            folder = self.unit_dir(dep)
            done = json.loads((folder / "done.json").read_text(encoding="utf-8"))
            out[name] = Input(SCHEMAS[dep.kind].record.load(done), folder)
        return out

    # ----------------------------------------------------------------- models
    def model_name(self, unit, key: str = "model") -> str:
        """The model a unit runs on: a name from its config, or ``@dep`` = the model a dep unit wrote."""
        name = unit.config[key]
        if name.startswith("@"):
            return f"path:{self.unit_dir(unit.deps[name[1:]]) / 'model'}"
        return name

    def memo(self, key, compute):
        """A value computed once per context (e.g. prompt-free logits shared by the transfer units)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def model_label(self, unit, key: str = "model") -> str:
        """A readable model name for results: ``@dep`` models read as ``distilled:<target>[layers]``."""
        name = str(unit.config.get(key))
        if name.startswith("@") and name[1:] in unit.deps:
            dep = unit.deps[name[1:]]
            return f"distilled:{dep.config.get('model')}{dep.config.get('layers', '')}".replace(" ", "")
        return name

    def backbone(self, name: str) -> Backbone:
        return shared_backbone(name, self.device, self.suite.precision)

    # ----------------------------------------------------------------- data
    def splits(self, dataset: str, seed: int):
        """Train / validation / test of a private data set; what makes them impossible is bad input."""
        key = (dataset, seed)
        if key not in self._splits:
            b = self.suite.budget
            where = f"datasets.private[{dataset}]"
            try:
                ds = self.load(dataset)
            except ValueError as err:  # the entry's template / label words do not fit the data
                raise UserInputError(problem("suite", where, str(err))) from None
            if ds.labels is None or ds.task is None:
                raise UserInputError(problem("suite", where, f"{dataset!r} has no labels",
                                             "a labelled classification data set"))
            try:
                self._splits[key] = make_splits(ds, seed=seed, train_size=b.train_size, val_size=b.val_size,
                                                test_size=b.test_size)
            except ValueError as err:
                raise UserInputError(problem("suite", where, str(err), "a larger data set or a smaller budget")) from None
        return self._splits[key]

    def load(self, dataset: str):
        """A data set by name, with its ``datasets.private`` entry's options (columns, template, label words)."""
        return load_entry(dataset, self.suite.datasets.options(dataset))

    def private_train(self, dataset: str, seed: int, canaries: Canaries | None):
        """The private training split, with canaries planted only when the unit's config asks for them
        (extraction and one_run attacks plan their own prompts; LiRA populations never hold canaries)."""
        train = self.splits(dataset, seed).train
        if not canaries or canaries.kind == GRADIENT:  # gradient canaries join the DP-SGD steps, not the data
            return train
        canaries = canaries.dump()
        # mislabeled / random-words canaries: drawn from rows of the private distribution outside every split
        pool = self.population(dataset, seed)[1] if canaries.get("kind", "secret") not in ("secret", "nonsense") else None
        plan = plan_canaries(canaries, train.task.num_classes, seed, pool=pool)
        pick = [i for i, inc in enumerate(plan.included) if inc]
        out = plant_canaries(train, [plan.canaries[i] for i in pick], [plan.labels[i] for i in pick],
                             plan.repetitions, seed=seed)
        return type(out)(out.name, out.texts, out.labels, out.task, {**out.meta, "canary_plan": plan})

    def population(self, dataset: str, seed: int):
        """(private train split, as many held-out rows of the same distribution): a LiRA population."""
        b = self.suite.budget
        train = self.splits(dataset, seed).train
        holdout = population_holdout(self.load(dataset), seed=seed, train_size=len(train), val_size=b.val_size,
                                     test_size=b.test_size)
        return train, holdout

    def public(self, dataset: str, seed: int, size: int):
        # content-disjoint: a public text that is also a private text is never drawn (the set is built once)
        private = self.memo("private_texts", lambda: frozenset(
            t for name in self.suite.datasets.private for t in self.load(name).texts))
        return sample_public(load_dataset(dataset), seed=seed, size=size, exclude=private)

    def encoded(self, backbone, data, split: str, max_tokens: int, template: str | None = None):
        """Tokenised data for a backbone (cached by model, data, split and template)."""
        task = data.task
        tmpl = template or (task.template(backbone.kind) if task else "{text}")
        key = (backbone.name, data.name, split, len(data), hash(data.texts), max_tokens, tmpl)
        if key not in self._encoded:
            self._encoded[key] = backbone.encode(data.texts, tmpl, max_tokens, data.labels)
        return self._encoded[key]
