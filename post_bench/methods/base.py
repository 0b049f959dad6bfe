"""Method base class, registry, and the planner that builds the units methods share."""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from post_bench.epsilon import eps_label
from post_bench.registry import Registry
from post_bench.suite import Suite
from post_bench.unit import Unit
from post_bench.unit.schemas import DistillConfig, EvaluateConfig, Role, TuneConfig


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TuneOverrides(BaseModel):
    """Per-method overrides of the suite's ``tuning`` section: the one model of them. Methods that tune their own
    prompt take these keys as they are; POST and PTfer take them as ``tune_<key>`` (``methods.post.SourceTuning``,
    built from this model), since their ``steps``/``lr``/... set the transfer."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    steps: Annotated[int, Field(ge=1)] | None = Field(None, description="Overrides `tuning.steps` for this method's prompt.")
    batch_size: Annotated[int, Field(ge=1)] | None = Field(None, description="Overrides `tuning.batch_size`.")
    lr: Annotated[float, Field(gt=0)] | None = Field(None, description="Overrides `tuning.lr`.")
    dp_lr: Annotated[float, Field(gt=0)] | None = Field(None, description="Overrides `tuning.dp_lr`.")


class Method:
    """A way to get a prompt for the target; ``plan`` returns the unit that evaluates it.

    What a method needs and how its prompt is attacked, asked by the planner and the checks:
    ``trains``: the training unit kinds that make its prompt, in order (none: it has no prompt, nothing to
    extract or audit); ``role``: the model its prompt is evaluated, and attacked, on; ``shadow_role``: the model
    shadow prompts are re-tuned on to re-make its private prompt exactly (then moved to ``role`` like it,
    e.g. POST's transfer), or None when shadows cannot re-make it (membership attacks refuse the method)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    private: ClassVar[bool] = True  # trains on private data: planned once per suite epsilon
    needs_source: ClassVar[bool] = False
    needs_public: ClassVar[bool] = False
    trains: ClassVar[tuple[str, ...]] = ()  # tune, transfer, dp_opt
    role: ClassVar[Role] = "target"
    shadow_role: ClassVar[Role | None] = None
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, label: str | None = None):
        self.label = label or self.name  # the name results use (a suite entry's ``label``)

    def plan(self, planner: Planner, dataset: str, seed: int, epsilon: float, params) -> Unit:
        raise NotImplementedError


METHODS: Registry[type[Method]] = Registry("method")


class Planner:
    """Builds units from a suite; identical configs give identical unit ids (shared work)."""

    def __init__(self, suite: Suite, canaries: dict | None = None):
        self.suite = suite
        self.canaries = canaries  # planted only in the prompts an extraction/one_run attack plans for itself

    def with_canaries(self, canaries: dict) -> Planner:
        """A planner whose private training sets hold ``canaries`` (its units are distinct from the suite's)."""
        return Planner(self.suite, canaries)

    # ------------------------------------------------------------------ common pieces
    def data_cfg(self, dataset: str, seed: int) -> dict:
        b = self.suite.budget
        cfg = {"dataset": str(dataset), "seed": seed, "train_size": b.train_size, "val_size": b.val_size,
               "test_size": b.test_size, "max_tokens": b.max_tokens, "canaries": self.canaries,
               "precision": self.suite.precision}
        if options := self.suite.datasets.options(dataset):  # only entries with options: ids of plain ones stay
            cfg["data_options"] = options
        return cfg

    @property
    def public_dataset(self) -> str:
        return self.suite.datasets.public or "friends"

    def source_unit(self) -> Unit | None:
        src = self.suite.models.source
        if src is None or src.model is not None:
            return None
        d = src.distill or type(src).model_fields["distill"].annotation.__args__[0]()
        cfg = DistillConfig.of(model=self.suite.models.target, **{**d.model_dump(exclude={k for k in ("template", "teacher_top_k", "label_words_weight")
                                                  if getattr(d, k) is None}),
                                  "corpus": d.corpus or [self.public_dataset]},
                               seed=self.suite.seeds[0], precision=self.suite.precision)
        return Unit("distill", cfg, label=f"distill {self.suite.models.target} layers {d.layers}")

    def model_ref(self, role: str) -> tuple[str, dict]:
        """(model name or '@model', deps) for the target or the source."""
        if role == "target":
            return self.suite.models.target, {}
        src = self.suite.models.source
        if src is None:
            raise ValueError("this method needs models.source")
        if src.model is not None:
            return src.model, {}
        return "@model", {"model": self.source_unit()}

    def tuning_cfg(self, overrides: TuneOverrides | None = None) -> dict:
        """The suite's ``tuning`` section with a method's overrides (those it sets) applied."""
        t = self.suite.tuning.model_dump()
        if t.get("broken_dp") is None:  # only a control sets it; absent, unit ids stay as they were
            t.pop("broken_dp", None)
        t.update(overrides.model_dump(exclude_none=True) if overrides is not None else {})
        return t

    def tune(self, role: str, dataset: str, seed: int, epsilon: float,
             overrides: TuneOverrides | None = None) -> Unit:
        model, deps = self.model_ref(role)
        cfg = TuneConfig.of(role=role, model=model, **self.data_cfg(dataset, seed), epsilon=epsilon,
                            prompt_length=self.suite.budget.prompt_length, **self.tuning_cfg(overrides))
        return Unit("tune", cfg, deps, label=f"tune {role} {dataset} eps={eps_label(epsilon)} seed={seed}")

    def evaluate(self, method: str, role: str, dataset: str, seed: int, epsilon: float,
                 prompt: Unit | None = None) -> Unit:
        model, deps = self.model_ref(role)
        if prompt is not None:
            deps = {**deps, "prompt": prompt}
        cfg = EvaluateConfig.of(method=method, role=role, model=model, **self.data_cfg(dataset, seed), epsilon=epsilon,
                                eval_batch_size=self.suite.budget.eval_batch_size)
        return Unit("evaluate", cfg, deps, label=f"eval {method} {dataset} eps={eps_label(epsilon)} seed={seed}")

    # ------------------------------------------------------------------ the whole suite
    def method_units(self) -> list[Unit]:
        out = []
        for entry in self.suite.methods:
            method = METHODS.get(entry.name)(entry.label)
            params = method.Params.model_validate(entry.model_extra or {})
            for dataset in self.suite.datasets.private:
                for seed in self.suite.seeds:
                    for eps in ((entry.epsilons or self.suite.epsilons) if method.private else [math.inf]):
                        out.append(unit := method.plan(self, dataset, seed, eps, params))
                        if self.suite.budget.evaluate_validation and unit.kind == "evaluate":
                            out.append(validation_twin(unit))
        return out


def validation_twin(unit: Unit) -> Unit:
    """The same evaluation on the private validation split (same prompt, same model)."""
    cfg = EvaluateConfig.of(**unit.cfg.dump(), split="validation")
    return Unit("evaluate", cfg, unit.deps, label=unit.label.replace("eval ", "eval (validation) ", 1))
