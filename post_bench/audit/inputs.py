"""``post-bench audit``'s prompt, model and task inputs, checked before any model is loaded or shadow
trained (:class:`Inputs`); and the backbone, loaded as the suite runner loads it (one cache per process)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from post_bench.atomic import writable_dir
from post_bench.audit.output import prepare
from post_bench.audit.recipe import ShadowRecipe, load_recipe, read_yaml
from post_bench.data import check_dataset_spec
from post_bench.data.tasks import custom_task, parse_label_words
from post_bench.epsilon import parse_epsilon
from post_bench.errors import UserInputError, problem
from post_bench.models.loading import check_model_spec, model_from_base, model_shape
from post_bench.suite import _pydantic_problems

SOURCE = "audit"


@dataclasses.dataclass
class Inputs:
    """Everything read and checked before the model is loaded."""

    source: str
    name: str
    prompt: object
    info: dict
    model: str
    recipe: ShadowRecipe
    recipe_file: str | None
    out: Path
    shadows: int
    seed: int
    precision: str


def read_inputs(prompt_source, *, model, recipe_file, recipe_options: dict, out_dir, shadows: int, seed: int,
                precision: str) -> Inputs:
    """The prompt (pickle files refused before they are opened), its model, the recipe and a usable output
    folder, or a UserInputError naming the bad input."""
    prompt, info, path = read_prompt(prompt_source)
    model = model or model_from_adapter(info, path)
    recipe, recipe_src = load_recipe(recipe_file, **recipe_options)
    check_prompt_fits(path, prompt, model, recipe.max_tokens)
    name = prompt_name(prompt_source)
    out = prepare(out_dir or f"audit-{name}")
    return Inputs(str(prompt_source), name, prompt, info, model, recipe, recipe_src, out, shadows, seed, precision)


def audit_epsilon(epsilon: float | None) -> float:
    """``--epsilon``: a positive number; inf (or left out) means non-private (like a suite's ``inf``)."""
    try:
        return parse_epsilon(epsilon)
    except ValueError:  # <= 0, NaN
        raise UserInputError(problem(SOURCE, "--epsilon", f"{epsilon} is not a privacy budget",
                                     "a number > 0, or inf")) from None


def model_from_adapter(info: dict, prompt_path) -> str:
    """The model a prompt was tuned for: the post-bench name in its metadata (``model``) when it resolves here,
    else adapter_config.json's base_model_name_or_path: a post-bench name as is, the hub id of an installed
    offline alias as the alias (no network), a local HF folder as ``path:<dir>``, another hub id as ``hf:<id>``."""
    named = (info.get("metadata") or {}).get("model")
    if named and check_model_spec(named) is None:
        return named
    name = info.get("base_model_name_or_path")
    if not name:
        raise UserInputError(f"{prompt_path}: no base_model_name_or_path in adapter_config.json; allowed: pass --model")
    return model_from_base(name)


def check_prompt_fits(prompt_path, prompt, model: str, max_tokens: int) -> None:
    """The model name is known and, when its config tells the shape without loading weights, the prompt
    fits its hidden size and positions (with ``max_tokens`` text tokens)."""
    if msg := check_model_spec(model):
        raise UserInputError(problem(SOURCE, "--model", msg))
    shape = model_shape(model)
    if shape is None:
        return
    if prompt.shape[1] != shape.hidden:
        raise UserInputError(hidden_problem(prompt_path, prompt, model, shape.hidden))
    if prompt.shape[0] + max_tokens > shape.positions:
        raise UserInputError(f"{prompt_path}: {prompt.shape[0]} virtual tokens + {max_tokens} text tokens exceed "
                             f"the {shape.positions} positions of {model!r}; allowed: at most "
                             f"{shape.positions - max_tokens} virtual tokens")


def hidden_problem(prompt_path, prompt, model: str, hidden: int) -> str:
    return (f"{prompt_path}: prompt shape {tuple(prompt.shape)} does not fit model {model!r}: "
            f"hidden size {prompt.shape[1]} != model hidden size {hidden}")


def read_prompt(source: str):
    """(prompt [P, H], adapter info, local path) from a PEFT folder, a .safetensors file or
    ``hf:<repo>[@revision]``; pickle files are refused unopened (``load_prompt``)."""
    from post_bench.models.soft_prompt import fetch_hub_prompt, load_prompt  # deferred: start-up time (torch)

    path = fetch_hub_prompt(str(source))
    prompt, info = load_prompt(path)
    return prompt, info, path


def prompt_name(source: str) -> str:
    """A short name for the prompt (the default output folder is ``audit-<name>``)."""
    text = str(source).rstrip("/")
    if text.startswith("hf:"):
        text = text[3:].partition("@")[0]
    return Path(text).name.removesuffix(".safetensors") or "prompt"


class TaskFile(BaseModel):
    """``--task-file``: a custom task's templates, label words (one entry per class: a word or a list of
    alternatives) and instruction; other keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    template: str | None = None
    mlm_template: str | None = None
    label_words: list[str | list[str]] | None = None
    instruction: str | None = None

    def options(self) -> dict:
        """The keys the file sets, label words as lists of alternatives."""
        opts = self.model_dump(exclude_none=True)
        if self.label_words is not None:
            opts["label_words"] = [[w] if isinstance(w, str) else list(w) for w in self.label_words]
        return opts


def read_task_file(path) -> dict:
    """The options a ``--task-file`` sets, or one line per problem (an unknown key names the allowed ones)."""
    raw = read_yaml(path)
    try:
        return TaskFile.model_validate({} if raw is None else raw).options()
    except ValidationError as err:
        raise UserInputError(_pydantic_problems(str(path), err, model=TaskFile)) from None


def task_options(template: str | None = None, label_words: str | None = None, task_file=None) -> dict:
    """A custom task's template/label words/instruction from CLI strings and/or a small YAML file
    (:class:`TaskFile`); the CLI wins over the file."""
    opts = read_task_file(task_file) if task_file is not None else {}
    if template is not None:
        opts["template"] = template
    if label_words is not None:
        opts["label_words"] = parse_label_words(label_words)
    return opts


def adapter_defaults(task, info: dict | None) -> dict:
    """The template / label words / instruction the prompt was tuned with (its metadata), label words put in
    ``task``'s class order when the metadata names the same classes."""
    from post_bench.models.soft_prompt import adapter_task_options  # deferred: start-up time (torch)

    opts = adapter_task_options(info or {})
    words = opts.get("label_words")
    try:
        names = json.loads((info or {}).get("metadata", {}).get("class_names") or "null")
    except ValueError:
        names = None
    if (words and isinstance(names, list) and len(names) == len(words) and task is not None
            and sorted(map(str, names)) == sorted(task.class_names)):
        by_name = dict(zip(map(str, names), words, strict=True))
        opts["label_words"] = [by_name[c] for c in task.class_names]
    return opts


def apply_task_options(task, options: dict | None, info: dict | None = None):
    """``task`` with the user's template / label words (a mismatch is one line, exit 2); what the user leaves
    out comes from the prompt's metadata (``info`` from :func:`read_prompt`), when it has any."""
    defaults = adapter_defaults(task, info)
    if not options and not defaults:
        return task
    merged = {**defaults, **(options or {})}
    try:
        return custom_task(task, **merged)
    except (ValueError, TypeError) as err:
        where = " (label words from the prompt's metadata; pass --label-words)" if (
            "label_words" in defaults and "label_words" not in (options or {}) and "label_words" in str(err)) else ""
        raise UserInputError(f"task: {err}{where}") from None


def check_audit_inputs(prompt_path, prompt, *, model: str, dataset: str, epsilon: float | None, out_dir,
                       max_tokens: int) -> tuple[float, Path]:
    """(epsilon, a writable output folder) or a UserInputError naming the bad input, before any work (the
    audit itself stages its folder and never leaves a half-written one)."""
    epsilon = audit_epsilon(epsilon)
    check_prompt_fits(prompt_path, prompt, model, max_tokens)
    if not dataset.startswith("synthetic:") and (msg := check_dataset_spec(dataset)):
        raise UserInputError(problem("audit", "--dataset", msg))
    name = Path(prompt_path).name.removesuffix(".safetensors") or "prompt"
    return epsilon, writable_dir(Path(out_dir or f"audit-{name}"), "--out")
