"""Cross-field checks of a suite that need the registries (names known, parameters valid, files exist)."""

from __future__ import annotations

from pydantic import ValidationError

from post_bench.errors import problem
from post_bench.registry import did_you_mean
from post_bench.suite import Suite, _pydantic_problems

ATTACKS = ("lira", "extraction")
ATTACKABLE = ("source_only", "direct")  # methods whose prompt comes from one tune unit (shadows re-tune it)


def cross_check(suite: Suite, source: str) -> list[str]:
    from post_bench.data import check_dataset_spec
    from post_bench.methods import METHODS
    from post_bench.models.loading import check_model_spec, model_names

    out: list[str] = []
    models = [("models.target", suite.models.target)]
    src = suite.models.source
    if src is not None and src.model is not None:
        if src.distill is not None:
            out.append(problem(source, "models.source", "give either model or distill, not both"))
        models.append(("models.source.model", src.model))
    for key, name in models:
        msg = check_model_spec(name)
        if msg:
            out.append(problem(source, key, msg, ", ".join(model_names())))
    for i, ds in enumerate(suite.datasets.private):
        msg = check_dataset_spec(ds)
        if msg:
            out.append(problem(source, f"datasets.private[{i}]", msg))
    publics = [("datasets.public", suite.datasets.public)]
    if src is not None and src.distill is not None and src.distill.public:
        publics.append(("models.source.distill.public", src.distill.public))
    for key, ds in publics:
        if ds:
            msg = check_dataset_spec(ds)
            if msg:
                out.append(problem(source, key, msg))
    if src is not None and src.distill is not None:
        n_layers = None  # checked against the model when it loads
        if len(set(src.distill.layers)) != len(src.distill.layers):
            out.append(problem(source, "models.source.distill.layers", "layers repeat", n_layers))
    names = METHODS.names()
    for i, entry in enumerate(suite.methods):
        if entry.name not in METHODS:
            out.append(problem(source, f"methods[{i}].name", f"unknown method {entry.name!r}{did_you_mean(entry.name, names)}",
                               ", ".join(names)))
            continue
        method = METHODS.get(entry.name)
        try:
            method.Params.model_validate(entry.model_extra or {})
        except ValidationError as err:
            out.extend(_pydantic_problems(source, err, prefix=f"methods[{i}].", model=method.Params))
        if method.needs_source and src is None:
            out.append(problem(source, f"methods[{i}].name", f"method {entry.name!r} needs models.source (a model or distill)"))
        if method.needs_public and not suite.datasets.public:
            out.append(problem(source, f"methods[{i}].name", f"method {entry.name!r} needs datasets.public"))
    if len(set(suite.method_names)) != len(suite.method_names):
        out.append(problem(source, "methods", "a method is listed twice"))
    for i, attack in enumerate(suite.attacks):
        if attack.name not in ATTACKS:
            out.append(problem(source, f"attacks[{i}].name", f"unknown attack {attack.name!r}{did_you_mean(attack.name, list(ATTACKS))}",
                               ", ".join(ATTACKS)))
        for j, m in enumerate(attack.methods):
            if m not in suite.method_names:
                out.append(problem(source, f"attacks[{i}].methods[{j}]", f"{m!r} is not among the suite's methods{did_you_mean(m, suite.method_names)}",
                                   ", ".join(suite.method_names)))
            elif attack.name == "lira" and m not in ATTACKABLE:
                out.append(problem(source, f"attacks[{i}].methods[{j}]", f"LiRA shadows cannot re-tune {m!r}", ", ".join(ATTACKABLE)))
        for j, eps in enumerate(attack.epsilons or []):
            if eps not in suite.epsilons:
                out.append(problem(source, f"attacks[{i}].epsilons[{j}]", f"{eps if eps is not None else 'inf'} is not among the suite's epsilons",
                                   ", ".join("inf" if e is None else f"{e:g}" for e in suite.epsilons)))
        if attack.name == "lira" and attack.population > suite.budget.train_size:
            out.append(problem(source, f"attacks[{i}].population", f"{attack.population} exceeds budget.train_size={suite.budget.train_size}"))
    return out
