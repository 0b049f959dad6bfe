"""``post-bench audit``: audit a soft prompt someone else tuned, without a suite or a run directory.

Shape check against the model, utility on the data set's test split, LiRA with K shadow prompts tuned on
balanced halves of a population from the train split (how much a prompt tuned this way leaks, by
leave-one-out over the shadows), per-example LiRA statistics of the given prompt (its membership is
unknown: the top suspected members), and nearest-token decoding. Writes ``audit.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from post_bench.errors import UserInputError

POPULATION, TEST_SIZE, MAX_TOKENS, TOP = 64, 100, 64, 10
VARIANTS = ("online", "offline", "fixed_variance")


def _backbone(model: str, precision: str = "auto"):
    from post_bench.models.backbone import Backbone
    from post_bench.models.loading import check_model_spec, load_pretrained

    msg = check_model_spec(model)
    if msg:
        raise UserInputError(f"--model: {msg}")
    net, tok, kind = load_pretrained(model)
    from post_bench.runner.context import pick_device

    return Backbone(net, tok, kind, name=model, device=pick_device("auto"), precision=precision)


def _splits(dataset: str, seed: int, population: int, test_size: int):
    from post_bench.data import check_dataset_spec, load_dataset, make_splits

    msg = check_dataset_spec(dataset)
    if msg:
        raise UserInputError(f"--dataset: {msg}")
    ds = load_dataset(dataset)
    if ds.labels is None or ds.task is None:
        raise UserInputError(f"--dataset: {dataset!r} has no labels; allowed: a labelled classification data set")
    try:
        return make_splits(ds, seed=seed, train_size=population, val_size=0, test_size=test_size)
    except ValueError as err:
        raise UserInputError(f"--dataset: {err}") from None


def run_audit(prompt_path, *, model: str, dataset: str, shadows: int = 8, out_dir=None, steps: int = 30,
              epsilon: float | None = None, seed: int = 0, echo=print, population: int = POPULATION,
              test_size: int = TEST_SIZE, precision: str = "auto") -> dict:
    """Audit the prompt at ``prompt_path``; returns the audit dict also written to ``out_dir/audit.json``."""
    from post_bench.attacks.extraction import nearest_tokens
    from post_bench.attacks.lira_math import lira_scores
    from post_bench.attacks.membership import membership_rows
    from post_bench.attacks.shadows import keep_masks, logit_scaled, train_shadows
    from post_bench.models.backbone import accuracy
    from post_bench.models.soft_prompt import init_prompt, load_prompt
    from post_bench.suite import TuningConfig
    from post_bench.training.settings import tune_settings

    prompt, info = load_prompt(prompt_path)  # refuses pickle files before opening them
    if epsilon is not None and not epsilon > 0:
        raise UserInputError(f"--epsilon: must be > 0, got {epsilon}")
    backbone = _backbone(model, precision)
    if prompt.shape[1] != backbone.hidden_size:
        raise UserInputError(f"{prompt_path}: prompt shape {tuple(prompt.shape)} does not fit model {model!r}: "
                             f"hidden size {prompt.shape[1]} != model hidden size {backbone.hidden_size}")
    splits = _splits(dataset, seed, population, test_size)
    task = splits.train.task
    label_ids = backbone.label_token_ids(task)
    test = backbone.encode_task(splits.test.texts, task, MAX_TOKENS, splits.test.labels)
    pop = backbone.encode_task(splits.train.texts, task, MAX_TOKENS, splits.train.labels)
    utility = {"accuracy": accuracy(backbone.score_dataset(test, label_ids, prompt), test.labels),
               "zero_shot_accuracy": accuracy(backbone.score_dataset(test, label_ids), test.labels),
               "n_test": len(test)}
    echo(f"prompt {tuple(prompt.shape)} on {model}: accuracy {utility['accuracy']:.3f} "
         f"(zero-shot {utility['zero_shot_accuracy']:.3f}, n={len(test)})")

    cfg = {**TuningConfig().model_dump(), "epsilon": epsilon, "steps": steps}
    keep = keep_masks(shadows, len(pop), seed)
    init = init_prompt(backbone, prompt.shape[0], init="text", text=task.instruction, seed=seed)
    settings, dp = tune_settings(cfg, len(pop) // 2)  # every shadow: one half of the population
    prompts = train_shadows(backbone, pop, label_ids, init, keep, settings, seed, desc="audit shadows")
    scores = logit_scaled(backbone, pop, label_ids, prompts)
    delta = (dp or {}).get("delta") or 2.0 / len(pop)
    base = {"dataset": dataset, "method": "audit", "epsilon": epsilon}
    privacy = [row for name, variants in (("lira", VARIANTS), ("rmia", ("online",)), ("loss", ("default",)))
               for row in membership_rows(name, variants, scores, keep, delta=delta, base=base, seed=seed,
                                          bound_on="shadow 0 (the audited prompt's membership is unknown)")]

    target = logit_scaled(backbone, pop, label_ids, prompt.unsqueeze(0))[0]
    stat = lira_scores(target, scores, keep, "online")
    top = [{"index": int(i), "statistic": float(stat[i]), "score": float(target[i]), "label": int(pop.labels[i]),
            "text": splits.train.texts[i][:120]} for i in np.argsort(-stat)[:TOP]]
    result = {
        "prompt": {"path": str(prompt_path), "shape": list(prompt.shape), "base_model": info.get("base_model_name_or_path"),
                   "metadata": info.get("metadata", {})},
        "model": model, "dataset": dataset, "seed": seed, "utility": utility,
        "shadows": {"k": shadows, "population": len(pop), "steps": steps, "epsilon": epsilon, "dp": dp},
        "privacy": privacy,
        "target": {"variant": "online", "statistics": stat.tolist(), "scores": target.tolist(),
                   "top_suspected_members": top},
        "nearest_tokens": nearest_tokens(backbone, prompt),
    }
    name = Path(prompt_path).name.removesuffix(".safetensors") or "prompt"
    out = Path(out_dir or f"audit-{name}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps(result, indent=2))
    for row in privacy:
        tpr = row["tpr_at_fpr"]["0.1"]
        echo(f"{row['attack']:<20} AUC {row['auc']:.3f} [{row['ci']['auc'][0]:.3f}, {row['ci']['auc'][1]:.3f}]  "
             f"TPR@10%FPR {'n/a' if tpr is None else f'{tpr:.3f}'}  eps_lb {row['eps_lower_bound']:.2f} (95%)  "
             f"({shadows} shadows x {len(pop)} examples)")
    echo(f"nearest tokens: {result['nearest_tokens']['text']!r} (mean cosine {result['nearest_tokens']['mean_cosine']:.3f})")
    echo(f"wrote {out / 'audit.json'}")
    return result
