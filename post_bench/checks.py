"""Cross-field checks of a suite that need the registries (names known, parameters valid, files exist)."""

from __future__ import annotations

from pydantic import ValidationError

from post_bench.errors import problem
from post_bench.registry import did_you_mean
from post_bench.suite import Suite, _pydantic_problems


def _get(raw, *keys):
    for key in keys:
        if not isinstance(raw, dict) or key not in raw:
            return None
        raw = raw[key]
    return raw


def name_problems(raw: dict, source: str) -> list[str]:
    """Unknown model, data set and method names, checked on the raw YAML (so they are reported even
    when other keys fail type validation)."""
    from post_bench.data import check_dataset_spec
    from post_bench.methods import METHODS
    from post_bench.models.loading import check_model_spec, model_names

    out: list[str] = []
    for key, name in (("models.target", _get(raw, "models", "target")),
                      ("models.source.model", _get(raw, "models", "source", "model"))):
        if isinstance(name, str):
            msg = check_model_spec(name)
            if msg:
                out.append(problem(source, key, msg, ", ".join(model_names())))
    private = _get(raw, "datasets", "private")
    for i, ds in enumerate(private if isinstance(private, list) else []):
        if isinstance(ds, str) and (msg := check_dataset_spec(ds)):
            out.append(problem(source, f"datasets.private[{i}]", msg))
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


def cross_check(suite: Suite, source: str) -> list[str]:
    """Checks across keys of a type-valid suite (names are checked by name_problems)."""
    # LIRA_ROLES: the methods whose private prompt shadows can re-make (tune, and transfer for POST/PTfer)
    from post_bench.attacks.base import ATTACKS, load_attacks
    from post_bench.attacks.plan import LIRA_ROLES
    from post_bench.methods import METHODS

    load_attacks()

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
    for i, entry in enumerate(suite.methods):
        if entry.name not in METHODS:
            continue
        method = METHODS.get(entry.name)
        try:
            params = method.Params.model_validate(entry.model_extra or {})
        except ValidationError as err:
            out.extend(_pydantic_problems(source, err, prefix=f"methods[{i}].", model=method.Params))
        else:
            for key, msg in getattr(params, "check", lambda _: [])(suite):
                out.append(problem(source, f"methods[{i}].{key}", msg))
        if method.needs_source and src is None:
            out.append(problem(source, f"methods[{i}].name", f"method {entry.name!r} needs models.source (a model or distill)"))
        if method.needs_public and not suite.datasets.public:
            out.append(problem(source, f"methods[{i}].name", f"method {entry.name!r} needs datasets.public"))
    if len(set(suite.method_names)) != len(suite.method_names):
        out.append(problem(source, "methods", "a method is listed twice"))
    for i, attack in enumerate(suite.attacks):
        if attack.name not in ATTACKS:
            out.append(problem(source, f"attacks[{i}].name", f"unknown attack {attack.name!r}{did_you_mean(attack.name, ATTACKS.names())}",
                               ", ".join(ATTACKS.names())))
            continue
        cls = ATTACKS.get(attack.name)
        membership = cls.kind == "membership"
        for j, v in enumerate(attack.variants or []):
            if v not in cls.variants:
                out.append(problem(source, f"attacks[{i}].variants[{j}]", f"{attack.name} has no variant {v!r}",
                                   ", ".join(cls.variants)))
        for j, m in enumerate(attack.methods):
            if m not in suite.method_names:
                out.append(problem(source, f"attacks[{i}].methods[{j}]", f"{m!r} is not among the suite's methods{did_you_mean(m, suite.method_names)}",
                                   ", ".join(suite.method_names)))
            elif membership and next(e.name for e in suite.methods if (e.label or e.name) == m) not in LIRA_ROLES:
                out.append(problem(source, f"attacks[{i}].methods[{j}]", f"shadow prompts cannot re-make {m!r}'s prompt",
                                   ", ".join(LIRA_ROLES)))
        for j, eps in enumerate(attack.epsilons or []):
            if eps not in suite.epsilons:
                out.append(problem(source, f"attacks[{i}].epsilons[{j}]", f"{eps if eps is not None else 'inf'} is not among the suite's epsilons",
                                   ", ".join("inf" if e is None else f"{e:g}" for e in suite.epsilons)))
        for j, ds in enumerate(attack.datasets or []):
            if ds not in suite.datasets.private:
                out.append(problem(source, f"attacks[{i}].datasets[{j}]", f"{ds!r} is not among datasets.private"
                                   f"{did_you_mean(ds, suite.datasets.private)}", ", ".join(suite.datasets.private)))
        train = suite.budget.train_size
        if membership and train is None:
            out.append(problem(source, "budget.train_size", f"attacks[{i}] ({attack.name}) needs a train_size: the "
                               "population is the train split plus as many held-out rows"))
        elif membership and attack.population > 2 * train:
            out.append(problem(source, f"attacks[{i}].population", f"{attack.population} scored examples exceed the "
                               f"population of 2 x budget.train_size = {2 * train}"))
        if attack.name == "one_run" and (attack.k_plus or attack.canaries // 4) + attack.k_minus > attack.canaries:
            out.append(problem(source, f"attacks[{i}].k_plus", "k_plus + k_minus exceed the number of canaries"))
    return out
