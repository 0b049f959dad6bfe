"""Method ``ptfer``: zero-shot continuous prompt transfer (Wu et al. 2023) of p_s to the target through
anchor-token relative encodings; no data and no target forward passes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from post_bench.methods.base import METHODS, Method
from post_bench.methods.post import SourceTuning, transfer_unit, tune_overrides


class PtferParams(SourceTuning):
    steps: Annotated[int, Field(ge=1)] = Field(1000, description=(
        "Steps of the search for a target prompt with p_s's relative encoding."))
    lr: Annotated[float, Field(gt=0)] = Field(0.01, description="Learning rate of that search.")
    anchors: Annotated[int, Field(ge=1)] = Field(512, description=(
        "Anchor tokens shared by both vocabularies that the relative encoding is taken against."))


@METHODS.register("ptfer")
class Ptfer(Method):
    description = "PTfer: p_s mapped to the target by matching cosine similarities to shared anchor tokens"
    needs_source = True
    Params = PtferParams
    trains = ("tune", "transfer")
    shadow_role = "source"  # shadows tuned on the source, then transferred like the attacked prompt

    def plan(self, planner, dataset, seed, epsilon, params):
        tune = planner.tune("source", dataset, seed, epsilon, tune_overrides(params))
        settings = {"steps": params.steps, "lr": params.lr, "anchors": params.anchors}
        transfer = transfer_unit(planner, "ptfer", dataset, seed, epsilon, tune, settings, self.label)
        return planner.evaluate(self.label, "target", dataset, seed, epsilon, transfer)
