"""``post-bench run SUITE --dry-run``: the suite's whole plan on stand-ins, in minutes on a CPU, so that a
wiring error in a hub suite shows before GPU hours are paid for.

- every hub model becomes a randomly initialised tiny model of the same architecture class and
  tokenizer family (RoBERTa -> ``tiny-roberta`` masked LM, GPT-2 -> ``tiny-gpt2``, Llama -> ``tiny-llama``)
  with the real model's number of layers, so kept-layer indices mean what they mean on the real model;
  the source is distilled from the stand-in, so target and source share a vocabulary as they would;
- every hub data set becomes ``synthetic:<name>``: a few rows with the hub set's columns and label feature
  and our task's label set, turned into text by the same code as ``hf:<name>``;
- every unit runs 2 steps on a few examples with the RDP accountant; prompt length, max_tokens, layers,
  methods, attacks and data sets stay as written; seeds are cut to the first, ε to ∞ and the smallest;
- the suite's split sizes are checked against the real hub sets' row counts (where known).
"""

from __future__ import annotations

import math

from post_bench.attacks.base import ATTACKS
from post_bench.checks import parse_suite
from post_bench.data import check_dataset_spec
from post_bench.data.hub import ROWS
from post_bench.epsilon import eps_label, is_private, parse_epsilon
from post_bench.errors import UserInputError, problem
from post_bench.methods import METHODS
from post_bench.models.loading import parse_model_spec
from post_bench.suite import Suite

# hub id -> (tiny family, real number of layers)
HUB_STANDINS = {
    "roberta-base": ("tiny-roberta", 12), "roberta-large": ("tiny-roberta", 24),
    "gpt2": ("tiny-gpt2", 12), "gpt2-medium": ("tiny-gpt2", 24), "gpt2-large": ("tiny-gpt2", 36),
    "gpt2-xl": ("tiny-gpt2", 48),
    "meta-llama/Llama-2-7b-hf": ("tiny-llama", 32), "meta-llama/Llama-2-13b-hf": ("tiny-llama", 40),
    "smollm2-135m": ("tiny-llama", 30),  # the offline alias: a quick check of the quickstart's wiring
}
ORG_PREFIXES = ("FacebookAI/", "openai-community/")
HIDDEN, HEADS, STEPS = 32, 2, 2

# caps on sizes, so every unit runs a couple of steps on a handful of examples
BUDGET_CAPS = {"train_size": 24, "val_size": 8, "test_size": 8, "public_size": 16, "eval_batch_size": 8}
TUNING_CAPS = {"steps": STEPS, "batch_size": 4, "micro_batch": 8}
DISTILL_CAPS = {"steps": STEPS, "batch_size": 2, "warmup": 0}
METHOD_CAPS = {"steps": STEPS, "tune_steps": STEPS, "batch_size": 4, "tune_batch_size": 4, "public_size": 16,
               "anchors": 32, "n_members": 2, "demos_per_member": 1, "max_new_tokens": 2, "n_candidates": 2}
ATTACK_CAPS = {"shadows": 4, "candidates": 16, "canaries": 2, "repetitions": 2, "generate_tokens": 2}


def standin_model(name: str) -> str:
    """The tiny stand-in for a model name (local models, i.e. ``path:`` and tiny ones, stay)."""
    spec = parse_model_spec(name)
    if spec.source in ("path", "tiny"):
        return name
    ref = spec.ref
    for prefix in ORG_PREFIXES:
        ref = ref.removeprefix(prefix)
    if ref not in HUB_STANDINS:
        raise ValueError(f"no dry-run stand-in for model {name!r}; allowed: "
                         + ", ".join(f"hf:{k}" if "/" in k or k != "smollm2-135m" else k for k in HUB_STANDINS))
    family, layers = HUB_STANDINS[ref]
    return f"{family}:layers={layers},hidden={HIDDEN},heads={HEADS}"


def standin_data(name: str | None) -> str | None:
    """``hf:<name>[:<config>]`` -> ``synthetic:<name>``; offline aliases and ``path:`` files stay."""
    if name is None or not name.startswith("hf:"):
        return name

    synthetic = "synthetic:" + name[3:].partition(":")[0]
    why = check_dataset_spec(synthetic)
    if why:
        raise ValueError(f"no dry-run stand-in for data set {name!r} ({why})")
    return synthetic


def size_problems(suite: Suite, source: str) -> list[str]:
    """Split sizes a hub data set cannot supply (the real row counts, where known)."""
    b, out = suite.budget, []
    need = b.train_size + b.val_size + b.test_size
    for i, name in enumerate(suite.datasets.private):
        rows = ROWS.get(name[3:].partition(":")[0]) if name.startswith("hf:") else None
        if rows is not None and rows < need:
            out.append(problem(source, f"datasets.private[{i}]", f"{name} has {rows} labelled rows, fewer than "
                               f"budget train_size + val_size + test_size = {need}", f"train_size <= {rows - b.val_size - b.test_size}"))
    return out


def _cap(section: dict, caps: dict, defaults: dict | None = None) -> dict:
    """``section`` with each capped key (present, or with a non-null default) at most its cap."""
    out = dict(section)
    for key, cap in caps.items():
        value = out.get(key, (defaults or {}).get(key))
        if value is not None:
            out[key] = min(value, cap)
    return out


class _Standins:
    """The stand-ins a dry run makes, remembered for its notes (and for renaming ``alpha_by_dataset`` keys)."""

    def __init__(self) -> None:
        self.models: dict[str, str] = {}
        self.datasets: dict[str, str] = {}

    def model(self, name: str) -> str:
        self.models[name] = standin_model(name)
        return self.models[name]

    def data(self, name: str | None) -> str | None:
        new = standin_data(name)
        if name is not None:
            self.datasets[name] = new
        return new


def _standin_inputs(suite: Suite, d: dict) -> _Standins:
    """Replace the models and data sets of ``d`` (the suite dumped) by their stand-ins; ValueError when one has
    none."""
    stand = _Standins()
    d["models"]["target"] = stand.model(suite.models.target)
    source = suite.models.source
    if source is not None and source.model:
        d["models"]["source"]["model"] = stand.model(source.model)
    if source is not None and source.distill is not None:
        distill = _cap(d["models"]["source"]["distill"], DISTILL_CAPS)
        if source.distill.corpus:
            distill["corpus"] = [stand.data(x) for x in source.distill.corpus]
        distill["corpus_size"] = min(source.distill.corpus_size, 64)
        d["models"]["source"]["distill"] = distill
    private = []
    for name in suite.datasets.private:
        new, options = stand.data(str(name)), suite.datasets.options(name)
        private.append({"name": new, **options} if options else new)
    d["datasets"] = {"private": private, "public": stand.data(suite.datasets.public)}
    for i, attack in enumerate(suite.attacks):
        if attack.datasets:
            d["attacks"][i]["datasets"] = [stand.data(x) for x in attack.datasets]
        if attack.name in ATTACKS:  # e.g. one_run: the fixed guesses must fit the capped canaries
            d["attacks"][i] = ATTACKS.get(attack.name).fit_to_caps(d["attacks"][i], ATTACK_CAPS)
    return stand


def _shrink(suite: Suite, d: dict, cuda: bool) -> None:
    """Cut ``d``'s seeds, ε values, sizes, steps and attack sizes to a dry run's."""
    d["name"] = f"{suite.name}-dry-run"
    d["description"] = f"dry run of {suite.name}: tiny stand-in models, synthetic data, {STEPS} steps per unit"
    d["seeds"] = suite.seeds[:1]
    finite = [e for e in suite.epsilons if is_private(e)]
    d["epsilons"] = ([math.inf] if len(finite) < len(suite.epsilons) else []) + ([min(finite)] if finite else [])
    d["tuning"]["accountant"] = "rdp"  # PRV's noise search takes seconds per unit; both are tested elsewhere
    d["threads"] = 1  # tiny models: one thread is fastest
    if suite.device == "cuda" and not cuda:
        d["device"] = "cpu"
    d["budget"] = _cap(d["budget"], BUDGET_CAPS)
    d["tuning"] = _cap(d["tuning"], TUNING_CAPS)
    for entry in d["methods"] + d["attacks"]:  # per-entry ε lists: to the ε values the dry run keeps
        if isinstance(entry, dict) and entry.get("epsilons") is not None:
            asked = [parse_epsilon(e) for e in entry["epsilons"]]
            entry["epsilons"] = [e for e in d["epsilons"] if e in asked] or d["epsilons"][-1:]
    for i, attack in enumerate(d["attacks"]):
        attack = _cap(attack, ATTACK_CAPS)
        attack["population"] = min(attack["population"], d["budget"]["train_size"])
        d["attacks"][i] = attack


def _cap_methods(d: dict, datasets: dict[str, str]) -> None:
    """Each method entry of ``d`` with its step and size parameters capped (its defaults too), and its
    ``alpha_by_dataset`` keys renamed to the stand-in data sets."""
    methods = []
    for entry in d["methods"]:
        fields = METHODS.get(entry["name"]).Params.model_fields if entry["name"] in METHODS else {}
        defaults = {k: f.default for k, f in fields.items()}
        entry = _cap(entry, {k: v for k, v in METHOD_CAPS.items() if k in fields}, defaults)
        if entry.get("alpha_by_dataset"):
            entry["alpha_by_dataset"] = {datasets.get(k, k): v for k, v in entry["alpha_by_dataset"].items()}
        methods.append(entry)
    d["methods"] = methods


def _notes(suite: Suite, d: dict, stand: _Standins) -> list[str]:
    notes = [f"model {k} -> {v}" for k, v in stand.models.items() if k != v]
    notes += [f"data {k} -> {v}" for k, v in stand.datasets.items() if k != v]
    if len(suite.seeds) > 1:
        notes.append(f"seeds {suite.seeds} -> {d['seeds']}")
    if len(d["epsilons"]) < len(suite.epsilons):
        notes.append("epsilons " + ", ".join(map(eps_label, suite.epsilons)) + " -> "
                     + ", ".join(map(eps_label, d["epsilons"])))
    notes.append(f"every unit: at most {STEPS} steps, {d['budget']['train_size']} training examples, "
                 f"{d['budget']['test_size']} test examples; prompt length, max_tokens and layers as written")
    return notes


def dry_suite(suite: Suite, source: str, cuda: bool = False) -> tuple[Suite, list[str]]:
    """(the dry-run suite, one line per replacement made)."""
    problems = size_problems(suite, source)
    if problems:
        raise UserInputError(problems)
    d = suite.model_dump(mode="json")
    try:
        stand = _standin_inputs(suite, d)
    except ValueError as err:
        raise UserInputError(problem(source, "", f"dry run: {err}")) from None
    _shrink(suite, d, cuda)
    _cap_methods(d, stand.datasets)
    return parse_suite(d, f"{source} (dry run)"), _notes(suite, d, stand)
