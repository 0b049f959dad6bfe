"""Methods that need no transfer step: zero-shot, direct tuning, the source prompt on the source, and the
source prompt used on the target as is (direct transfer)."""

from __future__ import annotations

from post_bench.methods.base import METHODS, Method, TuneOverrides


@METHODS.register("zero_shot")
class ZeroShot(Method):
    description = "the target model with the task template and no prompt"
    private = False

    def plan(self, planner, dataset, seed, epsilon, params):
        return planner.evaluate(self.label, "target", dataset, seed, None)


@METHODS.register("source_zero_shot")
class SourceZeroShot(Method):
    description = "the (distilled) source with the task template and no prompt: can the source do the task at all"
    private = False
    needs_source = True
    role = "source"

    def plan(self, planner, dataset, seed, epsilon, params):
        return planner.evaluate(self.label, "source", dataset, seed, None)


@METHODS.register("direct")
class Direct(Method):
    description = "prompt tuning on the target with the private data (DP-SGD when epsilon is finite): the upper bound"
    Params = TuneOverrides
    trains = ("tune",)
    shadow_role = "target"

    def plan(self, planner, dataset, seed, epsilon, params):
        tune = planner.tune("target", dataset, seed, epsilon, params)
        return planner.evaluate(self.label, "target", dataset, seed, epsilon, tune)


@METHODS.register("source_only")
class SourceOnly(Method):
    description = "the private prompt p_s tuned on the (distilled) source, evaluated on the source"
    needs_source = True
    Params = TuneOverrides
    trains = ("tune",)
    role = shadow_role = "source"

    def plan(self, planner, dataset, seed, epsilon, params):
        tune = planner.tune("source", dataset, seed, epsilon, params)
        return planner.evaluate(self.label, "source", dataset, seed, epsilon, tune)


@METHODS.register("direct_transfer")
class DirectTransfer(Method):
    description = "p_s used on the target as is (same hidden size)"
    needs_source = True
    Params = TuneOverrides
    trains = ("tune",)  # tuned on the source, attacked on the target: shadows (scored where tuned) cannot re-make it

    def plan(self, planner, dataset, seed, epsilon, params):
        tune = planner.tune("source", dataset, seed, epsilon, params)
        return planner.evaluate(self.label, "target", dataset, seed, epsilon, tune)
