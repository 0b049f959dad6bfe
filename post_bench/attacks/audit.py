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


def model_from_adapter(info: dict, prompt_path) -> str:
    """The model named by adapter_config.json's base_model_name_or_path: a post-bench model spec as is, a
    hub id as ``hf:<id>``."""
    from post_bench.models.loading import check_model_spec

    name = info.get("base_model_name_or_path")
    if not name:
        raise UserInputError(f"{prompt_path}: no base_model_name_or_path in adapter_config.json; allowed: pass --model")
    return name if check_model_spec(name) is None else f"hf:{name}"


def task_options(template: str | None = None, label_words: str | None = None, task_file=None) -> dict:
    """A custom task's template/label words/instruction from CLI strings and/or a small YAML file
    (keys: template, mlm_template, label_words, instruction); the CLI wins over the file."""
    import yaml

    from post_bench.data.tasks import TASK_FILE_KEYS, parse_label_words

    opts: dict = {}
    if task_file is not None:
        try:
            raw = yaml.safe_load(Path(task_file).read_text())
        except (OSError, yaml.YAMLError) as err:
            raise UserInputError(f"{task_file}: cannot read the task file ({type(err).__name__})") from None
        if not isinstance(raw, dict) or set(raw) - set(TASK_FILE_KEYS):
            extra = sorted(set(raw) - set(TASK_FILE_KEYS)) if isinstance(raw, dict) else "not a mapping"
            raise UserInputError(f"{task_file}: unknown keys {extra}; allowed: {', '.join(TASK_FILE_KEYS)}")
        opts.update(raw)
        if isinstance(opts.get("label_words"), list):
            opts["label_words"] = [[w] if isinstance(w, str) else list(w) for w in opts["label_words"]]
    if template is not None:
        opts["template"] = template
    if label_words is not None:
        opts["label_words"] = parse_label_words(label_words)
    return opts


def _splits(dataset: str, seed: int, population: int, test_size: int, task: dict | None = None):
    import dataclasses

    from post_bench.data import check_dataset_spec, load_dataset, make_splits
    from post_bench.data.tasks import custom_task

    msg = check_dataset_spec(dataset)
    if msg:
        raise UserInputError(f"--dataset: {msg}")
    ds = load_dataset(dataset)
    if ds.labels is None or ds.task is None:
        raise UserInputError(f"--dataset: {dataset!r} has no labels; allowed: a labelled classification data set")
    if task:
        try:
            ds = dataclasses.replace(ds, task=custom_task(ds.task, **task))
        except (ValueError, TypeError) as err:
            raise UserInputError(f"task: {err}") from None
    try:
        return make_splits(ds, seed=seed, train_size=population, val_size=0, test_size=test_size)
    except ValueError as err:
        raise UserInputError(f"--dataset: {err}") from None


def run_audit(prompt_path, *, model: str | None, dataset: str, shadows: int = 8, out_dir=None, steps: int = 30,
              epsilon: float | None = None, seed: int = 0, echo=print, population: int = POPULATION,
              test_size: int = TEST_SIZE, precision: str = "auto", task: dict | None = None) -> dict:
    """Audit the prompt at ``prompt_path`` (a PEFT folder, a .safetensors file or ``hf:<repo>[@revision]``);
    ``model`` None: the adapter's base model. ``task``: custom template/label words (``task_options``).
    Returns the audit dict also written to ``out_dir/audit.json``."""
    from post_bench.atomic import write_text_atomic
    from post_bench.attacks.audit_inputs import check_audit_inputs
    from post_bench.attacks.extraction import nearest_tokens
    from post_bench.attacks.lira_math import lira_scores
    from post_bench.attacks.membership import membership_rows
    from post_bench.attacks.shadows import keep_masks, logit_scaled, train_shadows
    from post_bench.models.backbone import accuracy
    from post_bench.models.soft_prompt import fetch_hub_prompt, init_prompt, load_prompt
    from post_bench.suite import TuningConfig
    from post_bench.training.settings import tune_settings

    if shadows < 4 or shadows % 2:
        raise UserInputError(f"--shadows: {shadows}; allowed: an even number >= 4 (shadows come in complementary "
                             "halves, and a shadow's complement is never its reference)")
    source = str(prompt_path)
    prompt_path = fetch_hub_prompt(source)
    prompt, info = load_prompt(prompt_path)  # refuses pickle files before opening them
    model = model or model_from_adapter(info, prompt_path)
    epsilon, out = check_audit_inputs(prompt_path, prompt, model=model, dataset=dataset, epsilon=epsilon,
                                      out_dir=out_dir, max_tokens=MAX_TOKENS)
    backbone = _backbone(model, precision)
    if prompt.shape[1] != backbone.hidden_size:
        raise UserInputError(f"{prompt_path}: prompt shape {tuple(prompt.shape)} does not fit model {model!r}: "
                             f"hidden size {prompt.shape[1]} != model hidden size {backbone.hidden_size}")
    splits = _splits(dataset, seed, population, test_size, task)
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
        "prompt": {"path": source, "shape": list(prompt.shape), "base_model": info.get("base_model_name_or_path"),
                   "metadata": info.get("metadata", {})},
        "model": model, "dataset": dataset, "seed": seed, "utility": utility,
        "task": {"template": task.template(backbone.kind), "label_words": [list(w) for w in task.label_words],
                 "instruction": task.instruction},
        "shadows": {"k": shadows, "population": len(pop), "steps": steps, "epsilon": epsilon, "dp": dp},
        "privacy": privacy,
        "target": {"variant": "online", "statistics": stat.tolist(), "scores": target.tolist(),
                   "top_suspected_members": top},
        "nearest_tokens": nearest_tokens(backbone, prompt),
    }
    write_text_atomic(out / "audit.json", json.dumps(result, indent=2))
    for row in privacy:
        tpr = row["tpr_at_fpr"]["0.1"]
        echo(f"{row['attack']:<20} AUC {row['auc']:.3f} [{row['ci']['auc'][0]:.3f}, {row['ci']['auc'][1]:.3f}]  "
             f"TPR@10%FPR {'n/a' if tpr is None else f'{tpr:.3f}'}  eps_lb {row['eps_lower_bound']:.2f} (95%)  "
             f"({shadows} shadows x {len(pop)} examples)")
    echo(f"nearest tokens: {result['nearest_tokens']['text']!r} (mean cosine {result['nearest_tokens']['mean_cosine']:.3f})")
    echo(f"wrote {out / 'audit.json'}")
    return result
