"""Units for the suite's ``attacks`` section: attack × method × ε × private data set × seed.

- membership attacks (lira, rmia, loss): one ``shadow_prompts`` unit (the method's private prompt re-tuned K
  times on random halves of a population, same mechanism; shared by every method built on that private
  prompt) → one ``shadows`` unit (transferred like the attacked prompt, all scored; shared by every
  membership attack with the same K and population) → one ``membership`` unit per attack (analysis only);
- extraction / one_run: the method's prompt re-made on the private data with canaries planted (all of them,
  or each with probability ½), then an ``extraction`` / ``one_run`` unit on it. The suite's own prompts
  never hold canaries.
"""

from __future__ import annotations

from post_bench.attacks.base import ATTACKS, load_attacks
from post_bench.attacks.one_run import default_guesses
from post_bench.epsilon import eps_label
from post_bench.methods import METHODS
from post_bench.unit import Unit
from post_bench.unit.schemas import (
    ExtractionConfig,
    MembershipConfig,
    OneRunConfig,
    ShadowPromptsConfig,
    ShadowsConfig,
    TuneConfig,
)

# methods whose private prompt shadows can re-make -> the model it is tuned on; POST and PTfer shadows are tuned
# on the source and then transferred to the target exactly like the attacked prompt
# one_run defaults, chosen by the audit-power sweep (reports/audit-power): canaries per run and their kind
ONE_RUN_CANARIES, ONE_RUN_KIND = 64, "nonsense"
EXTRACTION_CANARIES = 8
LIRA_ROLES = {"source_only": "source", "direct": "target", "post": "source", "ptfer": "source"}


def attack_units(planner) -> list[Unit]:
    load_attacks()
    suite = planner.suite
    units: list[Unit] = []
    for attack in suite.attacks:
        kind = ATTACKS.get(attack.name).kind
        for name in attack.methods:  # a suite method's label (its name unless the entry sets one)
            entry = next(m for m in suite.methods if (m.label or m.name) == name)
            method = METHODS.get(entry.name)(entry.label)
            params = method.Params.model_validate(suite.method_params(name))
            epsilons = attack.epsilons if attack.epsilons is not None else suite.epsilons
            for dataset in attack.datasets or suite.datasets.private:
                for seed in suite.seeds:
                    for eps in dict.fromkeys(epsilons if method.private else [None]):
                        tag = f"{name} {dataset} eps={eps_label(eps)}" + (f" seed={seed}" if len(suite.seeds) > 1 else "")
                        if kind == "membership":
                            units.extend(_membership(planner, attack, method, name, params, dataset, seed, eps, tag))
                        else:
                            units.extend(_canaries(planner, attack, method, name, params, dataset, seed, eps, tag))
    return units


def _membership(planner, attack, method, name, params, dataset, seed, eps, tag) -> list[Unit]:
    """shadow_prompts (K prompts re-tuned exactly like the method's private prompt; shared by every method whose
    private prompt is that same tune unit, e.g. source_only and POST) -> shadows (transferred like the attacked
    prompt for POST/PTfer; the attacked prompt scored beside them) -> one membership analysis unit."""
    prompt = method.plan(planner, dataset, seed, eps, params).deps["prompt"]
    transfer = prompt if prompt.kind == "transfer" else None
    tune = transfer.deps["prompt"] if transfer else prompt
    tuned: TuneConfig = tune.cfg
    train_cfg = {**tune.config, "shadows": attack.shadows, "attack_seed": seed}  # the attacked prompt's recipe
    trained = Unit("shadow_prompts", ShadowPromptsConfig.of(**train_cfg), dict(tune.deps),
                   label=f"shadow prompts {tuned.dataset} eps={eps_label(eps)} K={attack.shadows}")
    cfg = ShadowsConfig.of(**train_cfg, method=name, population=attack.population,
                           eval_batch_size=planner.suite.budget.eval_batch_size,
                           **({"transfer": transfer.config} if transfer is not None else {}))
    shadows = Unit("shadows", cfg, {**tune.deps, "prompt": prompt, "tuned": tune, "shadow_prompts": trained},
                   label=f"shadows {tag} K={attack.shadows}")
    variants = attack.variants or list(ATTACKS.get(attack.name).default_variants)
    mcfg = MembershipConfig.of(attack=attack.name, method=name, role="target" if transfer else tuned.role,
                               model=tuned.model, dataset=dataset, seed=seed, epsilon=eps, variants=list(variants))
    return [trained, shadows, Unit("membership", mcfg, {"shadows": shadows}, label=f"{attack.name} {tag}")]


def _canaries(planner, attack, method, name, params, dataset, seed, eps, tag) -> list[Unit]:
    one_run = attack.name == "one_run"
    count = attack.canaries or (ONE_RUN_CANARIES if one_run else EXTRACTION_CANARIES)
    kind = attack.canary_kind or (ONE_RUN_KIND if one_run else "secret")
    canaries = {"count": count, "repetitions": attack.repetitions or (1 if one_run else 4),
                "held_out": 0 if one_run else attack.candidates - 1, "include": "half" if one_run else "all"}
    if kind != "secret":  # the default stays out of the config, so older units keep their ids
        canaries["kind"] = kind
    evaluate = method.plan(planner.with_canaries(canaries), dataset, seed, eps, params)
    if evaluate.deps.get("prompt") is None:  # e.g. zero_shot: nothing was tuned, nothing to extract
        return []
    ev = evaluate.cfg
    cfg = {"method": name, "role": ev.role, "model": ev.model, **planner.with_canaries(canaries).data_cfg(dataset, seed),
           "epsilon": eps, "eval_batch_size": planner.suite.budget.eval_batch_size}
    if one_run:
        # the δ the prompt's DP claim is made at (tuning.delta; None: 1/N of its training set)
        extra = {}
        if attack.score == "calibrated":
            extra["reference_init"] = planner.suite.tuning.init
        if attack.k_plus is None and attack.k_minus == 0:  # no fixed guesses: the best of a few, corrected
            extra["guesses"] = default_guesses(count)
        one = OneRunConfig.of(**cfg, k_plus=attack.k_plus, k_minus=attack.k_minus, delta=planner.suite.tuning.delta,
                              **extra)
        return [Unit("one_run", one, dict(evaluate.deps), label=f"one_run {tag}")]
    ext = ExtractionConfig.of(**cfg, candidates=attack.candidates, generate_tokens=attack.generate_tokens)
    return [Unit("extraction", ext, dict(evaluate.deps), label=f"extraction {tag}")]
