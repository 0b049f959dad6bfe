"""The part of ``post-bench audit`` that needs the model (torch): loading the backbone, scoring candidates with
and without the prompt, tuning shadow prompts. ``pipeline`` imports this module only once every input is
checked, so a bad input is refused without loading torch's model code."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import logsumexp

from post_bench.attacks.extraction import nearest_tokens
from post_bench.attacks.lira_math import logit_scaled_from_logits
from post_bench.attacks.shadows import keep_masks, logit_scaled, train_shadows
from post_bench.audit.inputs import Inputs, hidden_problem
from post_bench.errors import UserInputError, problem
from post_bench.models.backbone import Backbone, accuracy
from post_bench.models.soft_prompt import init_prompt
from post_bench.runner.context import pick_device, shared_backbone

SOURCE = "audit"
__all__ = ["Scored", "RecipeShadows", "load", "load_backbone", "score_candidates", "shadows", "recipe_shadows",
           "nearest_tokens"]


def load_backbone(model: str, precision: str = "auto", device: str = "auto") -> Backbone:
    """The frozen model as the suite runner loads it (``RunContext.backbone``: ``shared_backbone`` on
    ``pick_device``, cached per process under the same key), so a run and an audit in one process share it."""
    return shared_backbone(model, pick_device(device, SOURCE), precision)


def load(inp: Inputs, task):
    """(backbone, label token ids) for the audited prompt's model; the prompt must fit its hidden size."""
    backbone = load_backbone(inp.model, inp.precision)
    if inp.prompt.shape[1] != backbone.hidden_size:
        raise UserInputError(hidden_problem(inp.source, inp.prompt, inp.model, backbone.hidden_size))
    try:
        return backbone, backbone.label_token_ids(task)
    except ValueError as err:
        raise UserInputError(problem(SOURCE, "label words", str(err))) from None


def _sides(scores: np.ndarray, labels: np.ndarray, member: np.ndarray) -> tuple[dict, dict]:
    """(accuracy, mean cross-entropy) of class scores [N, C] on members and on non-members."""
    ce = logsumexp(scores, axis=1) - scores[np.arange(len(labels)), labels]
    right = scores.argmax(axis=1) == labels
    return ({"accuracy": float(right[member].mean()), "loss": float(ce[member].mean())},
            {"accuracy": float(right[~member].mean()), "loss": float(ce[~member].mean())})


@dataclasses.dataclass(frozen=True)
class Scored:
    """The candidates as the model sees them: their encoding, the logit-scaled confidence of the true label
    with the prompt (``target``) and without any prompt (``zero_shot``), and accuracy / loss of both on
    members and non-members (``utility``)."""

    enc: object
    target: np.ndarray
    zero_shot: np.ndarray
    utility: dict


def score_candidates(backbone, label_ids, inp: Inputs, texts, labels: np.ndarray, member: np.ndarray,
                     task) -> Scored:
    enc = backbone.encode_task(texts, task, inp.recipe.max_tokens, labels)
    with_prompt = backbone.score_dataset(enc, label_ids, inp.prompt)
    zero = backbone.score_dataset(enc, label_ids)
    (m_p, n_p), (m_z, n_z) = _sides(with_prompt, enc.labels, member), _sides(zero, enc.labels, member)
    utility = {side: {**p, "zero_shot_accuracy": z["accuracy"], "zero_shot_loss": z["loss"]}
               for side, p, z in (("members", m_p, m_z), ("non-members", n_p, n_z))}
    return Scored(enc, logit_scaled_from_logits(with_prompt, enc.labels), logit_scaled_from_logits(zero, enc.labels),
                  utility)


def shadows(backbone, label_ids, inp: Inputs, task, texts, labels: np.ndarray, candidates_enc, settings,
            n_canaries: int = 0):
    """K = ``inp.shadows`` shadow prompts tuned at once on balanced halves of the universe ``texts`` (the last
    ``n_canaries`` of them: canaries, split into balanced halves of their own); their scores on the candidates
    [K, N], the keep masks [K, universe + canaries], their scores on the canaries [K, n_canaries] (or None) and
    the prompts [K, P, H]."""
    universe_enc = backbone.encode_task(texts, task, inp.recipe.max_tokens, labels)
    k, n_universe = inp.shadows, len(universe_enc) - n_canaries
    keep = keep_masks(k, n_universe, inp.seed)
    if n_canaries:
        keep = np.hstack([keep, keep_masks(k, n_canaries, inp.seed + 1)])
    init = init_prompt(backbone, int(inp.prompt.shape[0]), init=inp.recipe.init, text=task.instruction, seed=inp.seed)
    prompts = train_shadows(backbone, universe_enc, label_ids, init, keep, settings, inp.seed, desc="audit shadows")
    canary_scores = None
    if n_canaries:
        canary_scores = logit_scaled(backbone, universe_enc.subset(np.arange(n_universe, len(universe_enc))),
                                     label_ids, prompts)
    return logit_scaled(backbone, candidates_enc, label_ids, prompts), keep, canary_scores, prompts


@dataclasses.dataclass(frozen=True)
class RecipeShadows:
    """A recipe audit's measurements: the given prompt's test accuracy (``utility``); the N population rows
    (``pop``, encoded), K shadow ``prompts`` [K, P, H] tuned on halves of them (``keep`` [K, N]), the shadows'
    scores [K, N] and the rows' zero-shot scores [N]."""

    utility: dict
    pop: object
    prompts: object
    keep: np.ndarray
    scores: np.ndarray
    zero_shot: np.ndarray


def recipe_shadows(backbone, label_ids, inp: Inputs, task, splits, settings, resolved, dataset: str,
                   echo) -> RecipeShadows:
    """The given prompt on the test split, then ``inp.shadows`` shadows tuned by the recipe on balanced halves of
    the train split (the population), each scored on every population row."""
    test = backbone.encode_task(splits.test.texts, task, inp.recipe.max_tokens, splits.test.labels)
    pop = backbone.encode_task(splits.train.texts, task, inp.recipe.max_tokens, splits.train.labels)
    utility = {"test": {"accuracy": accuracy(backbone.score_dataset(test, label_ids, inp.prompt), test.labels),
                        "zero_shot_accuracy": accuracy(backbone.score_dataset(test, label_ids), test.labels),
                        "n_test": len(test)}}
    echo(f"the prompt {tuple(inp.prompt.shape)} on {inp.model}: accuracy {utility['test']['accuracy']:.3f} "
         f"(zero-shot {utility['test']['zero_shot_accuracy']:.3f}, n={len(test)})")
    k = inp.shadows
    keep = keep_masks(k, len(pop), inp.seed)
    init = init_prompt(backbone, int(inp.prompt.shape[0]), init=inp.recipe.init, text=task.instruction, seed=inp.seed)
    echo(f"tuning {k} shadow prompts at once: {resolved.steps} steps on {resolved.train_size} of {len(pop)} "
         f"{dataset} rows each (the leakage of a recipe, not of the given prompt)")
    prompts = train_shadows(backbone, pop, label_ids, init, keep, settings, inp.seed, desc="audit shadows")
    return RecipeShadows(utility, pop, prompts, keep, logit_scaled(backbone, pop, label_ids, prompts),
                         logit_scaled_from_logits(backbone.score_dataset(pop, label_ids), pop.labels))
