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
    **{PREFIX + name: (field.annotation, Field(field.default, description=f"Overrides `tuning.{name}` for the "
                                               "source prompt p_s."))
       for name, field in TuneOverrides.model_fields.items()},
)


def tune_overrides(params: BaseModel) -> TuneOverrides:
    """The :class:`TuneOverrides` a ``tune_*`` params model spells (the one mapping of the two spellings)."""
    return TuneOverrides(**{name: getattr(params, PREFIX + name) for name in TuneOverrides.model_fields})


class PostParams(SourceTuning):
    """Transfer settings. Reference defaults: text initialisation, public texts in their own data set's template,
    the full-vocabulary loss, a fixed number of steps (Adam lr 1e-3; 5000-8000 steps on GPUs; CPU suites use fewer)."""

    alpha: Annotated[float, Field(ge=0, le=1)] | Literal["auto"] = Field(0.5, description=(
        "Weight α of the \"change the prompt causes\" KL term (1 − α: the output KL term); a number in [0, 1] or "
        "`auto` = the paper's Eq. 6, α = min((ZS − RG) / (C − RG), 1) from the private validation split (not "
        "covered by the DP accountant: give a number for a strict guarantee)."))
    alpha_by_dataset: dict[str, Annotated[float, Field(ge=0, le=1)] | Literal["auto"]] | None = Field(
        None, description="α per private data set (the paper's Table 12); the others use `alpha`.")
    temperature: Annotated[float, Field(gt=0)] = Field(2.0, description="Temperature T of both KL terms (each "
                                                       "scaled by T²).")
    steps: Annotated[int, Field(ge=1)] = Field(100, description=(
        "Transfer steps (Adam on the target prompt only); with `stop: plateau` the ceiling."))
    lr: Annotated[float, Field(gt=0)] = Field(1e-3, description="Transfer learning rate.")
    batch_size: Annotated[int, Field(ge=1)] = Field(16, description="Public texts per transfer step.")
    public_size: Annotated[int, Field(ge=8)] | None = Field(None, description=(
        "Public texts used for the transfer (default `budget.public_size`)."))
    init: Literal["text", "source", "vocab", "random"] = Field("text", description=(
        "Target prompt initialisation: `text` (task instruction, the reference code's default), `source` (p_s "
        "itself; same hidden size only), `vocab`, `random`."))
    public_template: Literal["own", "private"] = Field("own", description=(
        "`own`: public texts in their own data set's template (reference code; an unlabelled set falls back to "
        "the private task's); `private`: the private task's template."))
    loss: Literal["full", "label_words"] = Field("full", description=(
        "`full`: the paper's loss over the full vocabulary; `label_words`: both KL terms over the private task's "
        "label words only (an ablation)."))
    stop: Literal["steps", "plateau"] = Field("steps", description=(
        "`steps`: a fixed number of steps (the paper's rule, no checkpoint selection); `plateau`: each prompt "
        "stops once its POST loss on `public_val_size` held-out *public* texts has not fallen by `min_delta` "
        "(relative) for `patience` checks, one every `check_every` steps, and its best checkpoint is kept (no "
        "private data is read; the checks also record the label words' agreement between source and target)."))
    public_val_size: Annotated[int, Field(ge=8)] = Field(32, description=(
        "`stop: plateau`: public texts held out for the stopping rule (drawn after the transfer's own public "
        "texts, never trained on)."))
    check_every: Annotated[int, Field(ge=1)] = Field(8, description=(
        "`stop: plateau`: steps between two checks (the first check is before step 1)."))
    patience: Annotated[int, Field(ge=1)] = Field(3, description=(
        "`stop: plateau`: checks in a row without an improvement before the prompt stops."))
    min_delta: Annotated[float, Field(ge=0, lt=1)] = Field(0.01, description=(
        "`stop: plateau`: the relative fall of the held-out loss that counts as an improvement."))

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


def transfer_unit(planner, method: str, dataset: str, seed: int, epsilon: float, tune: Unit, settings: dict,
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
    trains = ("tune", "transfer")
    shadow_role = "source"  # shadows tuned on the source, then transferred like p_t

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
