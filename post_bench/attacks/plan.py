"""Units for the suite's ``attacks`` section: attack × method × ε × private data set × seed.

- lira: ``shadows`` (the method's tune config + K, population, attack seed) → ``lira`` (analysis only);
- extraction: ``extraction`` on the prompt the method evaluates (its tune, transfer or dp_opt unit).
"""

from __future__ import annotations

from post_bench.methods import METHODS
from post_bench.methods.base import eps_label
from post_bench.runner.plan import Unit

# methods LiRA can attack -> the model their private prompt is tuned on; POST and PTfer shadows are tuned on
# the source and then transferred to the target exactly like the attacked prompt
LIRA_ROLES = {"source_only": "source", "direct": "target", "post": "source", "ptfer": "source"}


def attack_units(planner) -> list[Unit]:
    suite = planner.suite
    units: list[Unit] = []
    for attack in suite.attacks:
        for name in attack.methods:
            method = METHODS.get(name)()
            params = method.Params.model_validate(suite.method_params(name))
            epsilons = attack.epsilons if attack.epsilons is not None else suite.epsilons
            for dataset in attack.datasets or suite.datasets.private:
                for seed in suite.seeds:
                    for eps in dict.fromkeys(epsilons if method.private else [None]):
                        tag = f"{name} {dataset} eps={eps_label(eps)}" + (f" seed={seed}" if len(suite.seeds) > 1 else "")
                        if attack.name == "lira":
                            units.extend(_lira(planner, attack, name, params, dataset, seed, eps, tag))
                        elif attack.name == "extraction":
                            units.extend(_extraction(planner, attack, method, name, params, dataset, seed, eps, tag))
    return units


def _lira(planner, attack, name, params, dataset, seed, eps, tag) -> list[Unit]:
    """shadows (re-tuned exactly like the method's private prompt, and transferred like it for POST/PTfer)
    -> lira. The method's own plan says how its prompt is made."""
    prompt = METHODS.get(name)().plan(planner, dataset, seed, eps, params).deps["prompt"]
    transfer = prompt if prompt.kind == "transfer" else None
    tune = transfer.deps["prompt"] if transfer else prompt
    cfg = {**tune.config, "method": name, "shadows": attack.shadows, "population": attack.population,
           "attack_seed": seed, "eval_batch_size": planner.suite.budget.eval_batch_size}
    if transfer is not None:
        cfg["transfer"] = transfer.config
    shadows = Unit("shadows", cfg, dict(tune.deps), label=f"shadows {tag} K={attack.shadows}")
    lira_cfg = {"method": name, "role": "target" if transfer else tune.config["role"], "model": cfg["model"],
                "dataset": dataset, "seed": seed, "epsilon": eps, "variants": list(attack.variants),
                "delta": cfg.get("delta")}
    return [shadows, Unit("lira", lira_cfg, {"shadows": shadows}, label=f"lira {tag}")]


def _extraction(planner, attack, method, name, params, dataset, seed, eps, tag) -> list[Unit]:
    evaluate = method.plan(planner, dataset, seed, eps, params)
    prompt = evaluate.deps.get("prompt")
    if prompt is None:  # e.g. zero_shot: nothing was tuned, nothing to extract
        return []
    ev = evaluate.config
    cfg = {"method": name, "role": ev["role"], "model": ev["model"], **planner.data_cfg(dataset, seed), "epsilon": eps,
           "candidates": attack.candidates, "generate_tokens": attack.generate_tokens,
           "eval_batch_size": planner.suite.budget.eval_batch_size}
    return [Unit("extraction", cfg, dict(evaluate.deps), label=f"extraction {tag}")]
