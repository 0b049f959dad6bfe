"""The shadow recipe of an audit: how the shadow prompts are tuned, set to match how the audited prompt was.

A ``--recipe FILE.yaml`` is shaped like a suite's ``tuning:`` block (``TuningConfig``) plus ``epochs``,
``max_tokens``, ``train_size`` and ``epsilon``; it is validated strictly (an unknown key is one line naming
the file, the key and what is allowed). Command-line options win over the file; ``--steps`` replaces the
file's ``epochs`` and ``--epochs`` its ``steps``. The prompt length is the audited prompt's.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError, model_validator

from post_bench.errors import UserInputError, problem
from post_bench.suite import MAX_VALUES, Epsilon, TuningConfig, _pydantic_problems, expanded_size
from post_bench.training.settings import tune_settings
from post_bench.unit.schemas import TuneKnobs

CLI_SOURCE = "audit"


class ShadowRecipe(TuningConfig):
    """``TuningConfig`` plus what a standalone recipe needs (``steps`` and ``epochs`` exclude each other)."""

    epochs: Annotated[float, Field(gt=0, le=10_000)] | None = None  # steps = ceil(epochs * train_size / batch)
    max_tokens: Annotated[int, Field(ge=8, le=4096)] = 64
    train_size: Annotated[int, Field(ge=2)] | None = None  # examples per shadow (default: see resolve_recipe)
    epsilon: Epsilon = math.inf  # DP-SGD for the shadows (inf: non-private)

    @model_validator(mode="after")
    def _steps_or_epochs(self):
        if "steps" in self.model_fields_set and self.epochs is not None:
            raise ValueError("steps and epochs are both set; allowed: one of them")
        return self


@dataclasses.dataclass(frozen=True)
class ResolvedRecipe:
    """The recipe with every number resolved (what audit.json records)."""

    recipe: ShadowRecipe
    steps: int
    steps_from: str  # "steps" | "epochs"
    train_size: int
    train_size_from: str
    prompt_length: int
    source: str | None  # the YAML file, if any

    def knobs(self) -> TuneKnobs:
        """The tuning recipe of one shadow (what ``tune_settings`` takes): the recipe with its resolved steps. A
        suite's ``broken_dp`` control is never a recipe's: the shadows are tuned with the correct mechanism."""
        return self.recipe.knobs(self.recipe.epsilon, steps=self.steps, broken_dp=None)

    def to_dict(self) -> dict[str, Any]:
        recipe = self.recipe.model_dump(mode="json")
        if recipe.get("broken_dp", 0) is None:  # a suite's privacy-regression control knob, never a recipe's
            recipe.pop("broken_dp")
        return {**recipe, "steps": self.steps, "steps_from": self.steps_from,
                "train_size": self.train_size, "train_size_from": self.train_size_from,
                "prompt_length": self.prompt_length, "file": self.source}


def read_yaml(path: str | Path) -> Any:
    """A small YAML file (UTF-8, no alias bombs) or one line of UserInputError."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(problem(str(path), "", "file not found", "a YAML file"))
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise UserInputError(problem(str(path), "", "not UTF-8 text", "a UTF-8 YAML file")) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise UserInputError(problem(str(path), "", f"invalid YAML: {where}{getattr(err, 'problem', err)}")) from None
    except OSError as err:
        raise UserInputError(problem(str(path), "", f"cannot read it ({err.strerror})")) from None
    if expanded_size(data) > MAX_VALUES:
        raise UserInputError(problem(str(path), "", f"YAML aliases expand to more than {MAX_VALUES} values"))
    return data


def _validate(data: Any, source: str) -> ShadowRecipe:
    try:
        return ShadowRecipe.model_validate(data)
    except ValidationError as err:
        if any(e["type"] == "model_type" and not e["loc"] for e in err.errors()):  # a YAML scalar or list
            raise UserInputError(problem(source, "", "a recipe must be a YAML mapping",
                                         ", ".join(sorted(ShadowRecipe.model_fields)))) from None
        raise UserInputError(_pydantic_problems(source, err, model=ShadowRecipe)) from None


def load_recipe(path: str | Path | None = None, **options) -> tuple[ShadowRecipe, str | None]:
    """The recipe from the YAML file (if any) with the command-line ``options`` (None: not given) on top."""
    data: dict = {}
    if path is not None:
        raw = read_yaml(path)
        data = dict(_validate({} if raw is None else raw, str(path)).model_dump(exclude_unset=True))
    given = {k: v for k, v in options.items() if v is not None}
    if "steps" in given and "epochs" in given:
        raise UserInputError(problem(CLI_SOURCE, "--steps/--epochs", "both given", "one of them"))
    if "steps" in given:
        data.pop("epochs", None)
    if "epochs" in given:
        data.pop("steps", None)
    return _validate({**data, **given}, CLI_SOURCE), None if path is None else str(path)


def resolve_recipe(recipe: ShadowRecipe, source: str | None, *, prompt_length: int, default_train_size: int,
                   default_from: str) -> ResolvedRecipe:
    """Steps from ``epochs`` when given (ceil(epochs × train_size / batch)); train size from the recipe or
    the default (``default_from`` says where it came from)."""
    train = recipe.train_size or default_train_size
    train_from = "recipe" if recipe.train_size else default_from
    if recipe.epochs is not None:
        steps = max(1, math.ceil(recipe.epochs * train / min(recipe.batch_size, train) - 1e-9))
        steps_from = f"epochs: ceil({recipe.epochs:g} x {train} / {min(recipe.batch_size, train)})"
    else:
        steps, steps_from = recipe.steps, "steps"
    return ResolvedRecipe(recipe, steps, steps_from, train, train_from, prompt_length, source)


def settings_for(resolved: ResolvedRecipe, source: str | None = None):
    """(TuneSettings, DP record or None) for one shadow, through ``training.settings.tune_settings``; an ε
    the accountant cannot meet is one line naming where the ε came from."""
    try:
        return tune_settings(resolved.knobs(), resolved.train_size)
    except UserInputError as err:
        where = resolved.source or source or CLI_SOURCE
        raise UserInputError([problem(where, "epsilon", p.split("epsilons: ", 1)[-1]) for p in err.problems]) from None
