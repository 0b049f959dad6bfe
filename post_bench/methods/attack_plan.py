"""Units for the suite's ``attacks`` section: attack × method × ε × private data set × seed, as each attack
class and method class says (``attacks.base``, ``methods.base``):

- an attack that ``needs_shadows`` (lira, rmia, loss, ...): one ``shadow_prompts`` unit (the method's private
  prompt re-tuned K times on random halves of a population, same mechanism, on the method's ``shadow_role``;
  shared by every method built on that private prompt) → one ``shadows`` unit (transferred like the attacked
  prompt, all scored; shared by every membership attack with the same K and population) → one ``membership``
  unit per attack (analysis only; an attack with ``own_scores`` also scores the prompts itself there);
- an attack that ``needs_canaries`` (extraction, one_run): the method's prompt re-made on the private data with
  the attack's canaries planted, then a unit of the attack's ``unit_kind`` on it. The suite's own prompts never
  hold canaries.
"""

from __future__ import annotations

import math

from post_bench.attacks.base import ATTACKS
from post_bench.epsilon import eps_label
from post_bench.methods import METHODS
from post_bench.unit import Unit
from post_bench.unit.schemas import SCHEMAS, MembershipConfig, ShadowPromptsConfig, ShadowsConfig, TuneConfig


def attack_units(planner) -> list[Unit]:
    suite = planner.suite
    units: list[Unit] = []
    for entry in suite.attacks:
        attack = ATTACKS.get(entry.name)
        for name in entry.methods:  # a suite method's label (its name unless the entry sets one)
            m = next(m for m in suite.methods if (m.label or m.name) == name)
            method = METHODS.get(m.name)(m.label)
            params = method.Params.model_validate(suite.method_params(name))
            epsilons = entry.epsilons if entry.epsilons is not None else suite.epsilons
            for dataset in entry.datasets or suite.datasets.private:
                for seed in suite.seeds:
                    for eps in dict.fromkeys(epsilons if method.private else [math.inf]):
                        tag = f"{name} {dataset} eps={eps_label(eps)}" + (f" seed={seed}" if len(suite.seeds) > 1 else "")
                        plan = _membership if attack.needs_shadows else _canaries if attack.needs_canaries else None
                        if plan is None:
                            raise ValueError(f"attack {entry.name!r} needs neither shadows nor canaries: nothing to plan")
                        units.extend(plan(planner, attack, entry, method, name, params, dataset, seed, eps, tag))
    return units


def _membership(planner, attack, entry, method, name, params, dataset, seed, eps, tag) -> list[Unit]:
    """shadow_prompts (K prompts re-tuned exactly like the method's private prompt; shared by every method whose
    private prompt is that same tune unit, e.g. source_only and POST) -> shadows (transferred like the attacked
    prompt for POST/PTfer; the attacked prompt scored beside them) -> one membership analysis unit."""
    prompt = method.plan(planner, dataset, seed, eps, params).deps["prompt"]
    transfer = prompt if prompt.kind == "transfer" else None
    tune = transfer.deps["prompt"] if transfer else prompt
    tuned: TuneConfig = tune.cfg
    train_cfg = {**tune.config, "shadows": entry.shadows, "attack_seed": seed}  # the attacked prompt's recipe
    trained = Unit("shadow_prompts", ShadowPromptsConfig.of(**train_cfg), dict(tune.deps),
                   label=f"shadow prompts {tuned.dataset} eps={eps_label(eps)} K={entry.shadows}")
    cfg = ShadowsConfig.of(**train_cfg, method=name, population=entry.population,
                           eval_batch_size=planner.suite.budget.eval_batch_size,
                           **({"transfer": transfer.config} if transfer is not None else {}))
    shadows = Unit("shadows", cfg, {**tune.deps, "prompt": prompt, "tuned": tune, "shadow_prompts": trained},
                   label=f"shadows {tag} K={entry.shadows}")
    variants = entry.variants or list(attack.default_variants)
    extra, deps = {}, {"shadows": shadows}
    if attack.own_scores:  # it scores the attacked prompt and the shadows itself, on the model they are used on
        extra["scorer"] = transfer.cfg.model if transfer else tuned.model
        deps.update({"prompt": prompt, **({} if transfer else tune.deps)})  # '@model': the distilled source
    if attack.Params.model_fields:  # attacks without parameters keep their configs (and unit ids)
        extra["params"] = attack.Params.model_validate(entry.model_extra or {}).model_dump()
    mcfg = MembershipConfig.of(attack=entry.name, method=name, role=method.role, model=tuned.model, dataset=dataset,
                               seed=seed, epsilon=eps, variants=list(variants), **extra)
    return [trained, shadows, Unit("membership", mcfg, deps, label=f"{entry.name} {tag}")]


def _canaries(planner, attack, entry, method, name, params, dataset, seed, eps, tag) -> list[Unit]:
    if not method.trains:  # e.g. zero_shot: nothing was tuned, nothing to extract
        return []
    canaries = attack.canaries(entry)
    with_canaries = planner.with_canaries(canaries)
    evaluate = method.plan(with_canaries, dataset, seed, eps, params)
    ev = evaluate.cfg
    common = {"method": name, "role": ev.role, "model": ev.model, **with_canaries.data_cfg(dataset, seed),
              "epsilon": eps, "eval_batch_size": planner.suite.budget.eval_batch_size}
    cfg = SCHEMAS[attack.unit_kind].config.of(**common, **attack.unit_settings(entry, planner.suite, canaries["count"]))
    deps = dict(evaluate.deps)
    if attack.audits_training:  # a white-box audit reads the DP-SGD run that holds its canaries: the tune unit
        tune = _tune_of(deps.get("prompt"))
        if tune is None:  # e.g. dp_opt: no DP-SGD run to audit
            return []
        deps = {"prompt": tune}
    return [Unit(attack.unit_kind, cfg, deps, label=f"{entry.name} {tag}")]


def _tune_of(prompt: Unit | None) -> Unit | None:
    """The tune unit behind an attacked prompt (itself, or the source prompt a transfer moved); None: none."""
    if prompt is not None and prompt.kind == "transfer":
        prompt = prompt.deps.get("prompt")
    return prompt if prompt is not None and prompt.kind == "tune" else None
