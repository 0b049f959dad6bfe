"""Method ``post``: POST — tune p_s on the (distilled) source with (DP-)SGD, transfer it to the target on
public data with POST's distillation loss, evaluate on the target."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from post_bench.methods.base import METHODS, Method, TuneOverrides, eps_label
from post_bench.unit import Unit
from post_bench.unit.schemas import TransferConfig

PREFIX = "tune_"  # suite keys of the source prompt's overrides: tune_steps, tune_batch_size, tune_lr, tune_dp_lr

SourceTuning = create_model(
    "SourceTuning",
    __config__=ConfigDict(extra="forbid", frozen=True),
    __doc__="``tune_*``: overrides of the suite's ``tuning`` section for the source prompt p_s "
            "(:class:`TuneOverrides`, each key with the ``tune_`` prefix).",
    **{PREFIX + name: (field.annotation, field.default) for name, field in TuneOverrides.model_fields.items()},
)


def tune_overrides(params: BaseModel) -> TuneOverrides:
    """The :class:`TuneOverrides` a ``tune_*`` params model spells (the one mapping of the two spellings)."""
    return TuneOverrides(**{name: getattr(params, PREFIX + name) for name in TuneOverrides.model_fields})


class PostParams(SourceTuning):
    """Transfer settings. Reference defaults: text initialisation, public texts in their own data set's template,
    the full-vocabulary loss, a fixed number of steps (Adam lr 1e-3; 5000-8000 steps on GPUs; CPU suites use fewer)."""

    alpha: Annotated[float, Field(ge=0, le=1)] | Literal["auto"] = 0.5
    # α for some private data sets (the paper's Table 12 tunes it per data set); the others use ``alpha``
    alpha_by_dataset: dict[str, Annotated[float, Field(ge=0, le=1)] | Literal["auto"]] | None = None
    temperature: Annotated[float, Field(gt=0)] = 2.0
    steps: Annotated[int, Field(ge=1)] = 100
    lr: Annotated[float, Field(gt=0)] = 1e-3
    batch_size: Annotated[int, Field(ge=1)] = 16
    public_size: Annotated[int, Field(ge=8)] | None = None  # default: budget.public_size
    init: Literal["text", "source", "vocab", "random"] = "text"  # source: p_s itself when hidden sizes match
    public_template: Literal["own", "private"] = "own"  # own: the public set's template (private one if it has none)
    loss: Literal["full", "label_words"] = "full"  # label_words: KL over the private task's label words (ablation)
    # steps: a fixed number of steps (the paper's rule); plateau: ``steps`` is a ceiling and each prompt stops once
    # its loss on public_val_size held-out public texts has not fallen by min_delta (relative) for `patience`
    # checks, one every check_every steps; its best checkpoint is kept (training.transfer.Plateau)
    stop: Literal["steps", "plateau"] = "steps"
    public_val_size: Annotated[int, Field(ge=8)] = 32
    check_every: Annotated[int, Field(ge=1)] = 8
    patience: Annotated[int, Field(ge=1)] = 3
    min_delta: Annotated[float, Field(ge=0, lt=1)] = 0.01

    def check(self, suite) -> list[tuple[str, str]]:
        """(key, problem) pairs that need the rest of the suite."""
        out = []
        alphas = [self.alpha, *(self.alpha_by_dataset or {}).values()]
        if "auto" in alphas and suite.budget.val_size < 8:
            out.append(("alpha", f"alpha: auto reads the private validation split, but budget.val_size is "
                                 f"{suite.budget.val_size}; allowed: val_size >= 8, or a number in [0, 1]"))
        for name in self.alpha_by_dataset or {}:
            if name not in suite.datasets.private:
                out.append(("alpha_by_dataset", f"{name!r} is not among datasets.private; allowed: "
                                                 + ", ".join(suite.datasets.private)))
        return out


def transfer_unit(planner, method: str, dataset: str, seed: int, epsilon, tune: Unit, settings: dict,
                  label: str | None = None) -> Unit:
    """A ``transfer`` unit from the source prompt ``tune`` to the suite's target (``method``: post or ptfer)."""
    source, deps = planner.model_ref("source")
    if label and label != method:
        settings = {**settings, "label": label}  # an ablation entry: its cost rows carry its own name
    cfg = TransferConfig.of(method=method, model=planner.model_ref("target")[0], source_model=source, dataset=dataset,
                            seed=seed, epsilon=epsilon, precision=planner.suite.precision, **settings)
    return Unit("transfer", cfg, {"prompt": tune, **deps},
                label=f"{label or method} transfer {dataset} eps={eps_label(epsilon)} seed={seed}")


@METHODS.register("post")
class Post(Method):
    description = "POST: p_s tuned on the small source, transferred to the target by distillation on public data"
    needs_source = True
    needs_public = True
    Params = PostParams

    def plan(self, planner, dataset, seed, epsilon, params):
        tune = planner.tune("source", dataset, seed, epsilon, tune_overrides(params))
        b = planner.suite.budget
        settings = {"public": planner.public_dataset, "public_size": params.public_size or b.public_size,
                    "max_tokens": b.max_tokens, "prompt_length": b.prompt_length, "init": params.init,
                    "steps": params.steps, "batch_size": params.batch_size, "lr": params.lr,
                    "alpha": (params.alpha_by_dataset or {}).get(dataset, params.alpha), "temperature": params.temperature,
                    "public_template": params.public_template, "loss": params.loss}
        if params.stop == "plateau":  # only then: configs (and content hashes) of fixed-step suites stay as they were
            settings.update(stop="plateau", public_val_size=params.public_val_size, check_every=params.check_every,
                            patience=params.patience, min_delta=params.min_delta)
        transfer = transfer_unit(planner, "post", dataset, seed, epsilon, tune, settings, self.label)
        return planner.evaluate(self.label, "target", dataset, seed, epsilon, transfer)
