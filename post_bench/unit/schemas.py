"""Typed configs and done records of the unit kinds: what the planner (``methods/``) builds and a unit
(``units/``) reads, one frozen pydantic model each, unknown keys refused.

A config serialises (:meth:`Schema.dump`) to exactly the dict a unit is hashed by: the keys the planner set,
in field order; a key the planner leaves out (an ablation's ``label``, POST's ``stop``/``public_val_size``/...
outside ``stop: plateau``, ``data_options`` of plain data sets, a path's ``input_sha256``) stays out, so unit
ids do not depend on the typing. A record is what a unit function returns; ``done.json`` holds it plus what the
executor adds (``cost``, ``unit``, ``files``). :data:`SCHEMAS` maps each kind to its (config, record) pair.

ε is a float, ``math.inf`` for non-private (:data:`post_bench.epsilon.Eps`), in configs and records alike; both
dump it as ``None`` (``null``), so the JSON a unit is hashed by is the one it always was. A record's free-form
dicts (result rows, the DP record, the shadows' mechanism) carry ε under ``epsilon`` / ``claimed_epsilon``: read
as a float and dumped as ``None`` the same way (:func:`eps_fields`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer, model_validator

from post_bench.epsilon import Eps, eps_json, parse_epsilon


class UnitConfigError(ValueError):
    """A unit config (or record) does not fit its kind's model: a planner/unit mismatch, caught when planning."""


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def of(cls, **values) -> Schema:
        """The model of ``values``; a wrong, missing or unknown key raises one clear :class:`UnitConfigError`."""
        try:
            return cls(**values)
        except ValidationError as err:
            where = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(config)'}: {e['msg']}" for e in err.errors())
            raise UnitConfigError(f"{cls.__name__}: {where}") from None

    def dump(self) -> dict:
        """The plain dict (the keys that were set, in field order): what is hashed and written."""
        return self.model_dump(exclude_unset=True)


Role = Literal["source", "target"]
Epsilon = Eps  # a float, math.inf for non-private; dumped as None (null)
Rows = list[dict[str, Any]]


class Canaries(Schema):
    """Canaries an extraction / one_run attack plants in its own prompt's training split."""

    count: int
    repetitions: int
    held_out: int
    include: Literal["all", "half"]
    kind: str | None = None  # absent for the default ("secret"), so older units keep their ids


# ---------------------------------------------------------------------------------------------- configs
class DistillConfig(Schema):
    model: str
    layers: list[int]
    steps: int
    batch_size: int
    max_tokens: int
    lr: float
    warmup: int
    grad_clip: float
    temperature: float
    kd_weight: float
    schedule: str
    corpus: list[str]
    corpus_size: int
    freeze_embeddings: bool
    seed: int
    precision: str
    input_sha256: dict[str, str] | None = None
    template: str | None = None  # set only when the suite sets it, so older distill units keep their ids
    teacher_top_k: int | None = None
    label_words_weight: float | None = None


class TuneKnobs(Schema):
    """How a soft prompt is tuned: the one tuning recipe. A suite's ``tuning:`` block (with the ε of a unit) makes
    one (``post_bench.suite.TuningConfig.knobs``), a tune unit's config is one (:class:`TuneConfig` extends it),
    an audit's shadow recipe resolves to one, and ``training.settings.tune_settings`` turns one into the settings
    of a training run."""

    epsilon: Epsilon
    steps: int
    batch_size: int
    lr: float
    dp_lr: float | None
    clip: float
    delta: float | None
    accountant: str
    init: str
    micro_batch: int
    broken_dp: dict[str, Any] | None = None  # only in privacy-regression controls (suite tuning.broken_dp)


class TuneConfig(TuneKnobs):
    """A soft prompt tuned on private data (also the recipe shadows re-tune): the tuning recipe plus its data,
    model and prompt length."""

    role: Role
    model: str
    dataset: str
    seed: int
    train_size: int
    val_size: int
    test_size: int
    max_tokens: int
    canaries: Canaries | None
    precision: str
    data_options: dict[str, Any] | None = None
    prompt_length: int
    input_sha256: dict[str, str] | None = None


class TransferConfig(Schema):
    """The source prompt moved to the target: POST (public..loss, optional plateau stop) or PTfer (anchors)."""

    method: Literal["post", "ptfer"]
    model: str
    source_model: str
    dataset: str
    seed: int
    epsilon: Epsilon
    precision: str
    # POST
    public: str | None = None
    public_size: int | None = None
    max_tokens: int | None = None
    prompt_length: int | None = None
    init: str | None = None
    steps: int
    batch_size: int | None = None
    lr: float
    alpha: float | Literal["auto"] | None = None
    temperature: float | None = None
    public_template: str | None = None
    loss: str | None = None
    stop: Literal["plateau"] | None = None  # set only for stop: plateau (fixed-step configs keep their ids)
    public_val_size: int | None = None
    check_every: int | None = None
    patience: int | None = None
    min_delta: float | None = None
    # PTfer
    anchors: int | None = None
    label: str | None = None  # an ablation entry's name
    input_sha256: dict[str, str] | None = None

    @model_validator(mode="after")
    def _method_keys(self):
        post = ("public", "public_size", "max_tokens", "prompt_length", "init", "batch_size", "alpha", "temperature",
                "public_template", "loss")
        need = post if self.method == "post" else ("anchors",)
        missing = [k for k in need if k not in self.model_fields_set]
        if self.stop == "plateau":
            missing += [k for k in ("public_val_size", "check_every", "patience", "min_delta")
                        if k not in self.model_fields_set]
        if missing:
            raise ValueError(f"{self.method} transfer needs {', '.join(missing)}")
        return self


class EvaluateConfig(Schema):
    method: str  # the suite entry's label
    role: Role
    model: str
    dataset: str
    seed: int
    train_size: int
    val_size: int
    test_size: int
    max_tokens: int
    canaries: Canaries | None
    precision: str
    data_options: dict[str, Any] | None = None
    epsilon: Epsilon
    eval_batch_size: int
    input_sha256: dict[str, str] | None = None
    split: Literal["validation"] | None = None  # set only for a validation twin (test units keep their ids)


class DpOptConfig(Schema):
    model: str
    eval_model: str
    dataset: str
    seed: int
    train_size: int
    val_size: int
    test_size: int
    max_tokens: int
    canaries: Canaries | None
    precision: str
    data_options: dict[str, Any] | None = None
    epsilon: Epsilon
    delta: float | None
    eval_batch_size: int
    n_members: int
    demos_per_member: int
    max_new_tokens: int
    n_candidates: int
    selection_share: float
    holdout_share: float
    generator: Role
    public_top_k: int
    input_sha256: dict[str, str] | None = None


class ShadowPromptsConfig(TuneConfig):
    """K shadow prompts tuned exactly like the attacked prompt (its tune config) on halves of a population."""

    shadows: int
    attack_seed: int


class ShadowsConfig(ShadowPromptsConfig):
    method: str
    population: int
    eval_batch_size: int
    transfer: TransferConfig | None = None  # POST/PTfer: the attacked prompt's transfer, applied to every shadow


class MembershipConfig(Schema):
    attack: str
    method: str
    role: Role
    model: str
    dataset: str
    seed: int
    epsilon: Epsilon
    variants: list[str]
    # set only for the attacks that need them (configs of the others, and their ids, stay as they were)
    scorer: str | None = None  # an attack that scores the prompts itself: the model it scores them on
    params: dict[str, Any] | None = None  # the attack's own parameters (its Params)


class _CanaryAttackConfig(Schema):
    method: str
    role: Role
    model: str
    dataset: str
    seed: int
    train_size: int
    val_size: int
    test_size: int
    max_tokens: int
    canaries: Canaries
    precision: str
    data_options: dict[str, Any] | None = None
    epsilon: Epsilon
    eval_batch_size: int


class OneRunConfig(_CanaryAttackConfig):
    k_plus: int | None
    k_minus: int
    delta: float | None
    input_sha256: dict[str, str] | None = None
    # absent in units planned before calibrated scores (raw scores, k_plus/k_minus guesses): their ids stay
    reference_init: str | None = None  # score minus the score under the untrained prompt of this initialisation
    guesses: list[int] | None = None  # guesses per side to try (the best bound, Bonferroni-corrected)


class OneRunGradientConfig(_CanaryAttackConfig):
    """The white-box one-run audit of a DP-SGD run with gradient canaries (its ``prompt`` input: the tune unit)."""

    delta: float | None
    guesses: list[int]
    view: Literal["known-data", "released"]
    input_sha256: dict[str, str] | None = None


class ExtractionConfig(_CanaryAttackConfig):
    candidates: int
    generate_tokens: int
    input_sha256: dict[str, str] | None = None


# ---------------------------------------------------------------------------------------------- records
EPS_KEYS = ("epsilon", "claimed_epsilon")  # where a record's free-form dicts hold an ε


def eps_fields(value: Any, convert: Callable[[Any], Any]) -> Any:
    """``value`` (dicts and lists, nested) with ``convert`` applied to the value of every ε key (:data:`EPS_KEYS`):
    :func:`~post_bench.epsilon.parse_epsilon` reading a record, :func:`_eps_file` writing it."""
    if isinstance(value, dict):
        return {k: convert(v) if k in EPS_KEYS else eps_fields(v, convert) for k, v in value.items()}
    if isinstance(value, list):
        return [eps_fields(v, convert) for v in value]
    return value


def _eps_file(value: Any) -> float | None:
    """A record's ε as done.json holds it (null: non-private, also where a unit wrote it so)."""
    return eps_json(parse_epsilon(value))


class Record(Schema):
    """What a unit function returns (``done.json`` holds it plus the executor's ``cost``, ``unit``, ``files``).
    ε in its rows and dicts is a float (inf: non-private), written ``null``."""

    @model_validator(mode="before")
    @classmethod
    def _read_eps(cls, data: Any) -> Any:
        return eps_fields(data, parse_epsilon)

    @model_serializer(mode="wrap")
    def _write_eps(self, handler) -> dict:
        return eps_fields(handler(self), _eps_file)

    @classmethod
    def load(cls, done: dict) -> Record:
        """The record in a ``done.json`` (keys of other models and of the executor are left aside)."""
        return cls.of(**{k: v for k, v in done.items() if k in cls.model_fields})


DP = dict[str, Any]  # the mechanism's record: epsilon, delta, accountant, noise_multiplier, ... (None: non-private)


class DistillRecord(Record):
    distill: Rows
    model_name: str


class TuneRecord(Record):
    dp: DP | None
    loss_curve: list[float]
    n_train: int
    model_name: str


class TransferRecord(Record):
    dp: DP | None
    loss_curve: list[float]
    final_loss: float | None
    model_name: str
    source_model: str
    alpha: dict[str, Any] | None
    stop: dict[str, Any] | None = None  # only for stop: plateau


class DpOptRecord(Record):
    dp: DP | None
    prompt_text: str
    model_name: str
    eval_model: str
    n_train: int
    n_holdout: int


class EvaluateRecord(Record):
    utility: Rows
    model_name: str
    validation: Rows | None = None  # a validation twin's rows (its ``utility`` is empty)


class ExtractionRecord(Record):
    extraction: Rows
    model_name: str | None = None  # absent for a discrete prompt (no model is loaded)


class ShadowPromptsRecord(Record):
    n_shadows: int
    population: int
    n: int
    dp: DP | None
    model_name: str


class ShadowsRecord(Record):
    n_shadows: int
    population: int
    scored: int
    mechanism: dict[str, dict[str, Any]]  # "attacked", "shadows": training.settings.mechanism
    transfer: str | None
    model_name: str


class MembershipRecord(Record):
    privacy: Rows
    model_name: str | None


class OneRunRecord(Record):
    privacy: Rows
    model_name: str


class KindSchema(BaseModel):
    model_config = ConfigDict(frozen=True)
    config: type[Schema]
    record: type[Record]


SCHEMAS: dict[str, KindSchema] = {kind: KindSchema(config=c, record=r) for kind, c, r in (
    ("distill", DistillConfig, DistillRecord),
    ("tune", TuneConfig, TuneRecord),
    ("transfer", TransferConfig, TransferRecord),
    ("dp_opt", DpOptConfig, DpOptRecord),
    ("evaluate", EvaluateConfig, EvaluateRecord),
    ("extraction", ExtractionConfig, ExtractionRecord),
    ("one_run", OneRunConfig, OneRunRecord),
    ("one_run_gradient", OneRunGradientConfig, OneRunRecord),
    ("shadow_prompts", ShadowPromptsConfig, ShadowPromptsRecord),
    ("shadows", ShadowsConfig, ShadowsRecord),
    ("membership", MembershipConfig, MembershipRecord),
)}
