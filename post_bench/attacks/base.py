"""Attack base classes and the ``ATTACKS`` registry (one file per attack; ``post-bench ls attacks``).

An attack class says what it needs and how it is run, so the planner (``methods/attack_plan.py``), the suite
checks and ``post-bench audit`` ask the class instead of testing its name:

- ``kind``: what its rows measure (``membership``: per-example membership statistics; ``canaries``: an ε lower
  bound from planted canaries; ``prompt``: what a prompt gives away);
- ``needs_shadows`` / ``needs_canaries``: the units a suite plans for it (K shadow prompts re-tuned like the
  attacked prompt, or a prompt of its own tuned with canaries); ``needs_references``: its statistic compares
  with reference (shadow) prompts; ``needs_base_model``: it also scores without the tuned prompt;
- ``in_reference_variants``: the variants that need reference prompts trained WITH the example;
- ``Params``: its own typed suite keys (given beside the common ``attacks[]`` keys).

A *membership* attack turns the scores of M prompts on a population (each prompt tuned on a random half,
``keep`` [M, N]) into one statistic per (target prompt, example), each prompt attacked in turn with the
others as its reference (shadow) prompts. Most read the logit-scaled confidence of the true label that every
such attack shares; one with ``own_scores`` computes its own per-(prompt, example) signal from the model
(:meth:`MembershipAttack.scores` on :class:`Examples`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from post_bench.attacks.shadows import logit_scaled
from post_bench.registry import Registry


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclasses.dataclass(frozen=True, eq=False)
class Examples:
    """Examples as the classifier sees them, for an attack that scores prompts itself: the model (a
    ``models.backbone.Backbone``), the texts with their true class indices and task (template, label words),
    the token budget, and the seed of anything random the attack does (fixed per unit or audit)."""

    backbone: Any
    texts: tuple[str, ...]
    labels: np.ndarray
    task: Any
    max_tokens: int
    batch_size: int = 32
    seed: int = 0
    encoded: Any = None  # ``backbone.encode_task(texts, task, max_tokens, labels)`` when already made

    def __post_init__(self):
        labels = np.asarray(self.labels, dtype=np.int64)
        if labels.shape != (len(self.texts),):
            raise ValueError(f"need one label per text; got {labels.shape} labels for {len(self.texts)} texts")
        if self.encoded is not None and len(self.encoded) != len(self.texts):
            raise ValueError(f"encoded holds {len(self.encoded)} examples, not {len(self.texts)}")
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.texts)

    def encode(self):
        """The examples tokenised for the backbone (``encoded`` when given)."""
        if self.encoded is not None:
            return self.encoded
        return self.backbone.encode_task(self.texts, self.task, self.max_tokens, self.labels)

    @property
    def label_ids(self) -> list[list[int]]:
        return self.backbone.label_token_ids(self.task)


class Attack:
    name: ClassVar[str]
    description: ClassVar[str] = ""
    kind: ClassVar[str] = "membership"  # membership | canaries | prompt: what its rows measure
    variants: ClassVar[tuple[str, ...]] = ()
    default_variants: ClassVar[tuple[str, ...]] = ()  # what a suite gets without ``variants``
    Params: ClassVar[type[BaseModel]] = NoParams  # the attack's own suite keys
    needs_shadows: ClassVar[bool] = False  # a suite plans K shadow prompts re-tuned like the attacked prompt
    needs_canaries: ClassVar[bool] = False  # a suite plans a prompt of its own, tuned with canaries planted
    needs_references: ClassVar[bool] = False  # its statistic compares with reference (shadow) prompts
    needs_base_model: ClassVar[bool] = False  # it also scores under the model without the tuned prompt
    in_reference_variants: ClassVar[frozenset[str]] = frozenset()  # variants that need IN reference prompts

    def __init__(self, params: BaseModel | None = None):
        self.params = self.Params() if params is None else params

    @classmethod
    def in_variants(cls, variants=None) -> list[str]:
        """The ``variants`` (default: the default ones) that need reference prompts trained with the example."""
        return sorted(set(variants or cls.default_variants) & cls.in_reference_variants)

    @classmethod
    def problems(cls, entry, suite) -> list[tuple[str, str]]:
        """(key, problem) pairs of a suite's ``attacks[]`` entry that need the rest of the suite."""
        return []

    @classmethod
    def fit_to_caps(cls, entry: dict, caps: dict) -> dict:
        """A suite entry (plain dict) whose sizes were capped (a dry run), with what depends on them made to fit."""
        return entry


class MembershipAttack(Attack):
    """``statistic(target, refs, refs_in, variant)``: ``[N]``, higher = more likely a member of ``target``'s set."""

    needs_shadows = True
    needs_references = True
    own_scores: ClassVar[bool] = False  # True: ``scores`` computes its own signal from the model
    audit_variants: ClassVar[tuple[str, ...] | None] = None  # what post-bench audit reports (None: the defaults)
    baseline: ClassVar[bool] = False  # the simplest attack: the reference others are compared with (report)

    @classmethod
    def variants_in_audit(cls) -> tuple[str, ...]:
        return cls.audit_variants or cls.default_variants

    def scores(self, examples: Examples, prompts) -> np.ndarray:
        """The per-(prompt, example) signal ``[M, N]`` that ``statistic`` reads, of ``prompts`` [M, P, H] on
        ``examples``: by default the logit-scaled confidence of the true label (``log p_y − log Σ_{y'≠y} p_y'``),
        what the shadows unit stores for every attack without ``own_scores``."""
        return logit_scaled(examples.backbone, examples.encode(), examples.label_ids, prompts, examples.batch_size)

    def statistic(self, target: np.ndarray, refs: np.ndarray, refs_in: np.ndarray, variant: str) -> np.ndarray:
        raise NotImplementedError

    def row_name(self, variant: str) -> str:
        return self.name if variant == "default" else f"{self.name}-{variant}"


class ReferenceFreeAttack(MembershipAttack):
    """A membership attack whose statistic is the attacked prompt's own score (LOSS, Min-K%++, label-only): one
    variant, no reference prompts (in a suite it still runs on the shadows' prompts: every prompt attacked in
    turn)."""

    variants = ("default",)
    default_variants = ("default",)
    needs_references = False

    def statistic(self, target, refs, refs_in, variant):
        return np.asarray(target, dtype=np.float64).copy()


class CanaryAttack(Attack):
    """An attack on a prompt of its own, tuned with canaries planted (all of them, or each with probability ½);
    ``unit_kind`` runs it on that prompt with :meth:`unit_settings` added to the common config."""

    needs_canaries = True
    audits_training: ClassVar[bool] = False  # True: its unit reads the DP-SGD run that tuned the prompt (white-box)
    unit_kind: ClassVar[str]
    default_canaries: ClassVar[int]
    default_canary_kind: ClassVar[str]
    default_repetitions: ClassVar[int]
    include: ClassVar[str]  # all | half

    @classmethod
    def held_out(cls, entry) -> int:
        """Canaries of the same construction kept out of training (scored against the planted ones)."""
        return 0

    @classmethod
    def canaries(cls, entry) -> dict:
        """The canaries a suite entry plants (the ``Canaries`` config of its prompt's units)."""
        kind = entry.canary_kind or cls.default_canary_kind
        out = {"count": entry.canaries or cls.default_canaries,
               "repetitions": entry.repetitions or cls.default_repetitions,
               "held_out": cls.held_out(entry), "include": cls.include}
        if kind != "secret":  # the default stays out of the config, so older units keep their ids
            out["kind"] = kind
        return out

    @classmethod
    def unit_settings(cls, entry, suite, count: int) -> dict:
        """The keys the attack adds to its unit's config (``count``: canaries planted)."""
        raise NotImplementedError


ATTACKS: Registry[type[Attack]] = Registry("attack")


def load_attacks() -> None:
    """Kept for callers: importing the package (``post_bench.attacks``) registers every attack."""


def attack_of_row(row_name: str) -> type[Attack] | None:
    """The registered attack a results row's ``attack`` names (``lira-online``: lira, ``one_run``: one_run);
    None for rows of no registered attack (``canary-exposure``, ``loss-calibrated``)."""
    for name in ATTACKS.names():
        cls = ATTACKS.get(name)
        if row_name == name or (issubclass(cls, MembershipAttack)
                                and row_name in {cls().row_name(v) for v in cls.variants}):
            return cls
    return None
