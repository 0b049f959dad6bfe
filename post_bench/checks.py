"""Loading a suite with every check: the schema (:mod:`post_bench.suite`), then the cross-field checks that
need the registries (names known, parameters valid, files exist), and the preflight of ``run`` and ``validate``
(data, model shapes, the machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from post_bench.attacks.base import ATTACKS
from post_bench.data import check_dataset_spec, load_entry, make_splits
from post_bench.epsilon import eps_label
from post_bench.errors import UserInputError, problem
from post_bench.gates import gate_problems
from post_bench.methods import METHODS
from post_bench.models.distill import resolve_layers
from post_bench.models.loading import check_model_spec, model_names, model_shape, model_vocab
from post_bench.registry import did_you_mean
from post_bench.runner.context import pick_device
from post_bench.suite import Suite, _pydantic_problems, read_suite


def load_suite(path: str | Path, *, sets=(), limit: int | None = None, device: str | None = None,
               precision: str | None = None) -> Suite:
    """The suite in ``path`` with command-line overrides (:func:`post_bench.suite.read_suite`), validated and
    checked: a :class:`Suite` or one UserInputError listing every problem."""
    return parse_suite(read_suite(path, sets=sets, limit=limit, device=device, precision=precision), str(path))


def parse_suite(data: Any, source: str) -> Suite:
    """Validate a loaded YAML mapping; collect every problem into one UserInputError."""
    if not isinstance(data, dict):
        raise UserInputError(problem(source, "", "a suite must be a YAML mapping at the top level"))
    names = name_problems(data, source)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as err:
        raise UserInputError(_pydantic_problems(source, err, model=Suite) + names) from None
    problems = names + cross_check(suite, source)
    if problems:
        raise UserInputError(problems)
    return suite


def _get(raw, *keys):
    for key in keys:
        if not isinstance(raw, dict) or key not in raw:
            return None
        raw = raw[key]
    return raw


def name_problems(raw: dict, source: str) -> list[str]:
    """Unknown model, data set and method names, checked on the raw YAML (so they are reported even
    when other keys fail type validation)."""

    out: list[str] = []
    for key, name in (("models.target", _get(raw, "models", "target")),
                      ("models.source.model", _get(raw, "models", "source", "model"))):
        if isinstance(name, str):
            msg = check_model_spec(name)
            if msg:
                out.append(problem(source, key, msg, ", ".join(model_names())))
    private = _get(raw, "datasets", "private")
    for i, ds in enumerate(private if isinstance(private, list) else []):
        key = f"datasets.private[{i}]"
        if isinstance(ds, dict):  # a mapping entry: {name: ..., template: ..., ...}
            ds, key = ds.get("name"), f"{key}.name"
        if isinstance(ds, str) and (msg := check_dataset_spec(ds)):
            out.append(problem(source, key, msg))
    corpus = _get(raw, "models", "source", "distill", "corpus")
    corpus = [corpus] if isinstance(corpus, str) else corpus if isinstance(corpus, list) else []
    for key, ds in [("datasets.public", _get(raw, "datasets", "public")),
                    *((f"models.source.distill.corpus[{i}]", c) for i, c in enumerate(corpus))]:
        if isinstance(ds, str) and (msg := check_dataset_spec(ds)):
            out.append(problem(source, key, msg))
    methods = raw.get("methods") if isinstance(raw, dict) else None
    names = METHODS.names()
    for i, entry in enumerate(methods if isinstance(methods, list) else []):
        name = entry if isinstance(entry, str) else entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name not in METHODS:
            out.append(problem(source, f"methods[{i}].name", f"unknown method {name!r}{did_you_mean(name, names)}",
                               ", ".join(names)))
    return out


def _attack_params(cls, attack, source: str, i: int) -> list[str]:
    """Problems of an ``attacks[i]`` entry's own keys (those beside the common ones): the attack's Params."""
    extra = dict(attack.model_extra or {})
    own = cls.Params.model_fields
    allowed = sorted({*type(attack).model_fields, *own})
    out = [problem(source, f"attacks[{i}].{key}", f"unknown key{did_you_mean(key, allowed)}", ", ".join(allowed))
           for key in extra if key not in own]
    try:
        cls.Params.model_validate({k: v for k, v in extra.items() if k in own})
    except ValidationError as err:
        out.extend(_pydantic_problems(source, err, prefix=f"attacks[{i}].", model=cls.Params))
    return out


def _shadowable(suite: Suite, label: str) -> bool:
    """Whether shadow prompts can re-make the private prompt of the suite's method entry ``label``."""
    name = next(e.name for e in suite.methods if (e.label or e.name) == label)
    return name in METHODS and METHODS.get(name).shadow_role is not None


def cross_check(suite: Suite, source: str) -> list[str]:
    """Checks across keys of a type-valid suite (names are checked by name_problems)."""
    out = _source_problems(suite, source) + _method_problems(suite, source)
    for i, attack in enumerate(suite.attacks):
        out += _attack_problems(suite, source, i, attack)
    if suite.gates:
        out += gate_problems(suite.gates, suite, [(source, f"gates[{i}].") for i in range(len(suite.gates))])
    return out


def _source_problems(suite: Suite, source: str) -> list[str]:
    """``models.source``: a model or a distillation (on public text only), not both."""
    out: list[str] = []
    src = suite.models.source
    if src is not None and src.model is not None and src.distill is not None:
        out.append(problem(source, "models.source", "give either model or distill, not both"))
    if src is not None and src.distill is not None and len(set(src.distill.layers)) != len(src.distill.layers):
        out.append(problem(source, "models.source.distill.layers", "layers repeat"))
    for i, name in enumerate((src.distill.corpus or []) if src is not None and src.distill is not None else []):
        if name in suite.datasets.private:
            out.append(problem(source, f"models.source.distill.corpus[{i}]", f"{name!r} is a private data set: the "
                               "source is distilled on public text only", "data sets not in datasets.private"))
    return out


def _method_problems(suite: Suite, source: str) -> list[str]:
    """Each method entry's parameters and what it needs (a source model, public data); no entry twice."""
    out: list[str] = []
    for i, entry in enumerate(suite.methods):
        if entry.name not in METHODS:
            continue
        method = METHODS.get(entry.name)
        for eps in entry.epsilons or []:
            if eps not in suite.epsilons:
                out.append(problem(source, f"methods[{i}].epsilons", f"{eps} is not one of the suite's epsilons",
                                   ", ".join(map(str, suite.epsilons))))
        try:
            params = method.Params.model_validate(entry.model_extra or {})
        except ValidationError as err:
            out.extend(_pydantic_problems(source, err, prefix=f"methods[{i}].", model=method.Params))
        else:
            for key, msg in getattr(params, "check", lambda _: [])(suite):
                out.append(problem(source, f"methods[{i}].{key}", msg))
        if method.needs_source and suite.models.source is None:
            out.append(problem(source, f"methods[{i}].name", f"method {entry.name!r} needs models.source (a model or distill)"))
        if method.needs_public and not suite.datasets.public:
            out.append(problem(source, f"methods[{i}].name", f"method {entry.name!r} needs datasets.public"))
    if len(set(suite.method_names)) != len(suite.method_names):
        out.append(problem(source, "methods", "a method is listed twice"))
    return out


def _attack_problems(suite: Suite, source: str, i: int, attack) -> list[str]:
    """``attacks[i]``: a known attack, its parameters and variants, what it attacks, its shadows' population."""
    if attack.name not in ATTACKS:
        return [problem(source, f"attacks[{i}].name", f"unknown attack {attack.name!r}{did_you_mean(attack.name, ATTACKS.names())}",
                        ", ".join(ATTACKS.names()))]
    cls = ATTACKS.get(attack.name)
    out = _attack_params(cls, attack, source, i)
    for j, v in enumerate(attack.variants or []):
        if v not in cls.variants:
            out.append(problem(source, f"attacks[{i}].variants[{j}]", f"{attack.name} has no variant {v!r}",
                               ", ".join(cls.variants)))
    in_variants = cls.in_variants(attack.variants)
    if cls.needs_shadows and attack.shadows < 4 and in_variants:
        out.append(problem(source, f"attacks[{i}].shadows", f"{attack.name} {', '.join(in_variants)} with 2 shadows: "
                           "a shadow attacked in turn has one reference left once its complement is excluded, "
                           "too few for in-model statistics",
                           "shadows >= 4, or offline variants only"))
    out += _attacked_problems(suite, source, i, attack, cls.needs_shadows)
    train = suite.budget.train_size
    if cls.needs_shadows and train is None:
        out.append(problem(source, "budget.train_size", f"attacks[{i}] ({attack.name}) needs a train_size: the "
                           "population is the train split plus as many held-out rows"))
    elif cls.needs_shadows and attack.population > 2 * train:
        out.append(problem(source, f"attacks[{i}].population", f"{attack.population} scored examples exceed the "
                           f"population of 2 x budget.train_size = {2 * train}"))
    return out + [problem(source, f"attacks[{i}].{key}", msg) for key, msg in cls.problems(attack, suite)]


def _attacked_problems(suite: Suite, source: str, i: int, attack, shadowed: bool) -> list[str]:
    """What ``attacks[i]`` attacks: methods, ε values and data sets of the suite (methods shadows can re-make)."""
    out: list[str] = []
    for j, m in enumerate(attack.methods):
        if m not in suite.method_names:
            out.append(problem(source, f"attacks[{i}].methods[{j}]", f"{m!r} is not among the suite's methods{did_you_mean(m, suite.method_names)}",
                               ", ".join(suite.method_names)))
        elif shadowed and not _shadowable(suite, m):
            out.append(problem(source, f"attacks[{i}].methods[{j}]", f"shadow prompts cannot re-make {m!r}'s prompt",
                               ", ".join(n for n in METHODS.names() if METHODS.get(n).shadow_role is not None)))
    for j, eps in enumerate(attack.epsilons or []):
        if eps not in suite.epsilons:
            out.append(problem(source, f"attacks[{i}].epsilons[{j}]", f"{eps_label(eps)} is not among the suite's epsilons",
                               ", ".join(map(eps_label, suite.epsilons))))
    for j, ds in enumerate(attack.datasets or []):
        if ds not in suite.datasets.private:
            out.append(problem(source, f"attacks[{i}].datasets[{j}]", f"{ds!r} is not among datasets.private"
                               f"{did_you_mean(ds, suite.datasets.private)}", ", ".join(suite.datasets.private)))
    return out


def preflight(suite: Suite, source: str, here: bool = True) -> tuple[list[str], list[str]]:
    """(problems, notes) that need the data files, the models' configs or the machine, without training:
    ``run`` (before its first unit) and ``validate`` call it; ``here=False`` (validate: the suite may be
    meant for another machine) turns what this machine lacks (CUDA) into a note."""
    problems: list[str] = []
    notes: list[str] = []
    for check in (_data_problems, _model_problems):
        problems.extend(check(suite, source, notes))
    machine = _device_problems(suite, source, notes)
    if here:
        problems.extend(machine)
    else:
        notes.extend(f"{line} (on this machine; run would refuse)" for line in machine)
    return problems, notes


def _device_problems(suite: Suite, source: str, notes: list[str]) -> list[str]:

    try:
        device = pick_device(suite.device, source)
    except UserInputError as err:
        return err.problems
    if suite.precision == "fp16" and not device.startswith("cuda"):
        return [problem(source, "precision", f"fp16 needs a CUDA device (device {suite.device} is {device} here)",
                        "auto, fp32, bf16 on CPU")]
    return []


def _load(spec: str, key: str, source: str, out: list[str], notes: list[str], options: dict | None = None):

    if spec.startswith("hf:"):  # needs a network: checked when the run loads it
        return None
    try:
        ds = load_entry(spec, options)
    except UserInputError as err:
        out.extend(problem(source, key, p) for p in err.problems)
        return None
    except ValueError as err:  # the entry's template / label words do not fit the data
        out.append(problem(source, key, str(err)))
        return None
    if n := ds.meta.get("duplicates_removed"):
        notes.append(f"{source}: {key}: {spec}: note: {n} exact-duplicate texts removed before splitting")
    return ds


def _data_problems(suite: Suite, source: str, notes: list[str]) -> list[str]:

    out: list[str] = []
    b = suite.budget
    private = suite.datasets.private
    src = suite.models.source
    publics = [("datasets.public", suite.datasets.public)]
    if src is not None and src.distill is not None:
        publics += [(f"models.source.distill.corpus[{k}]", name) for k, name in enumerate(src.distill.corpus or [])]
    for key, name in publics:
        if name in private:
            out.append(problem(source, key, f"{name!r} is also a private data set; its public sample would hold "
                               "private (test) texts", "a data set not in datasets.private"))
        elif name is not None and (ds := _load(name, key, source, out, notes)) is not None and len(ds) == 0:
            out.append(problem(source, key, f"{name!r} has no texts"))
    if len(set(private)) != len(private):
        out.append(problem(source, "datasets.private", "a data set is listed twice"))
    for i, name in enumerate(private):
        key = f"datasets.private[{i}]"
        ds = _load(name, key, source, out, notes, suite.datasets.options(name))
        if ds is None:
            continue
        if ds.labels is None or ds.task is None:
            out.append(problem(source, key, f"{name!r} has no labels", "a labelled classification data set"))
            continue
        for seed in suite.seeds:
            try:
                make_splits(ds, seed=seed, train_size=b.train_size, val_size=b.val_size, test_size=b.test_size)
            except ValueError as err:
                out.append(problem(source, key, str(err), "a larger data set or smaller budget sizes"))
                break
    return out


def _model_problems(suite: Suite, source: str, notes: list[str]) -> list[str]:

    out: list[str] = []
    b = suite.budget
    src = suite.models.source
    named = [("models.target", suite.models.target)]
    if src is not None and src.model is not None:
        named.append(("models.source.model", src.model))
    shapes = {}
    for key, name in named:
        try:
            shapes[key] = model_shape(name)
        except Exception as err:  # a config transformers cannot read
            out.append(problem(source, key, f"cannot read the model config of {name!r} ({type(err).__name__}: {err})"))
            continue
        shape = shapes[key]
        if shape is not None and b.prompt_length + b.max_tokens > shape.positions:
            out.append(problem(source, "budget.max_tokens", f"prompt_length {b.prompt_length} + max_tokens "
                               f"{b.max_tokens} exceeds the {shape.positions} positions of {key} {name!r}",
                               f"prompt_length + max_tokens <= {shape.positions}"))
    target = shapes.get("models.target")
    if target is not None and src is not None and src.model is None:
        d = src.distill or type(src).model_fields["distill"].annotation.__args__[0]()
        try:
            resolve_layers(d.layers, target.layers)
        except ValueError as err:
            out.append(problem(source, "models.source.distill.layers", str(err)))
        if d.max_tokens > target.positions:
            out.append(problem(source, "models.source.distill.max_tokens", f"{d.max_tokens} exceeds the model's "
                               f"{target.positions} positions", f"<= {target.positions}"))
    if "models.target" in shapes and "models.source.model" in shapes:
        vocab_t, vocab_s = model_vocab(suite.models.target), model_vocab(src.model)
        if vocab_t is not None and vocab_s is not None and vocab_t != vocab_s:
            out.append(problem(source, "models.source.model", f"{src.model!r} does not share the target's "
                               f"vocabulary ({len(vocab_s)} vs {len(vocab_t)} tokens)",
                               "a source model with the target's tokenizer"))
    return out
