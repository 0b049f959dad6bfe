"""The typed rows of results.json (and of audit.json's attack rows): one frozen pydantic model per kind of row,
parsed once where a file is read (:func:`parse_results`) and dumped once where it is written (:meth:`Row.dump`).

Inside the package ε is a ``float``; a non-private setting is ``math.inf`` (:data:`Eps`). The files write it as
``null`` (JSON has no infinity); "inf" and "∞" are read as well. :mod:`post_bench.epsilon` writes it for people.

Rows keep the fields they do not declare (method- and attack-specific extras) and dump only what was set, so a
file read and written again is the same file. The committed JSON Schema (``schemas/results.schema.json``) is
generated from these models (:func:`results_json_schema`); a test fails when the two differ.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)

from post_bench.epsilon import Eps  # ε: a float, inf when non-private; null in the files

SCHEMA = 2  # what `post-bench run` writes (2 = 1 + "aggregates" and "claims")
READABLE = (1, 2)  # what the readers accept: schema-1 files carry the same rows, without aggregates
FILE_ALLOWED = "results.json as post-bench run writes it (schema 1 or 2)"


Interval = Annotated[
    tuple[float, float] | None,
    WithJsonSchema({"description": "an interval [low, high], or null when there is none",
                    "oneOf": [{"type": "null"}, {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}],
                                                 "items": False, "minItems": 2}]}),
]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Row(BaseModel):
    """A row of a results file: frozen, extra fields kept, dumped as it was read."""

    model_config = ConfigDict(frozen=True, extra="allow")

    def dump(self) -> dict[str, Any]:
        """The row as the file holds it (JSON types; only the fields that were set; ε inf as null)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def extra(self, key: str, default: Any = None) -> Any:
        """A field this model does not declare (a method's or attack's own), or ``default``."""
        return (self.model_extra or {}).get(key, default)


class SamplesRef(Row):
    """Per-example outputs of this row: gzip JSON lines, path relative to the folder holding results.json
    (post_bench/samples.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    file: str
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    rows: int = Field(ge=0)
    kind: Literal["predictions", "membership", "canaries", "candidates", "exposure"]


class Environment(Row):
    """Where the run ran: versions, device, threads, the git commit."""

    post_bench: str | None = None
    torch: str | None = None
    transformers: str | None = None
    opacus: str | None = None
    python: str | None = None
    device: str | None = None
    cpu: str | None = None
    precision: str | None = None
    git: str | None = None
    date: str | None = None
    cpu_threads: int | None = None
    jobs: int | None = Field(default=None, ge=1)


class UtilityRow(Row):
    """One evaluation: a method's prompt on a data set's test split, for one ε and seed."""

    dataset: str
    method: str
    model: str
    epsilon: Eps
    seed: int
    accuracy: Fraction
    n_test: int = Field(ge=1)
    model_role: str | None = None
    num_classes: int | None = Field(default=None, ge=1)
    duplicates_removed: int | None = Field(default=None, ge=0)
    samples: SamplesRef | None = None


class Roc(Row):
    fpr: list[float]
    tpr: list[float]


class Intervals(Row):
    """Bootstrap intervals of an attack's AUC and TPRs, with how they were made."""

    auc: Interval = None
    tpr_at_fpr: dict[str, Interval] = {}
    confidence: float | None = None
    method: str | None = None
    n_boot: int | None = None
    n_units: int | None = None
    unit: str | None = None


class OneRunBound(Row):
    """A one-run audit's guesses and its ε lower bounds (Steinke et al. 2023; Mahloujifar et al. 2025)."""

    eps_lower_bound: float
    confidence: float
    delta: float
    m: int
    guesses: int
    correct: int
    k_plus: int | None = None
    k_minus: int | None = None
    eps_lower_bound_fdp: float | None = None
    eps_lower_bound_gdp: float | None = None
    mu_lower_bound_gdp: float | None = None
    bound: str | None = None
    bound_fdp: str | None = None


class TprPoint(Row):
    """An operating point of an attack (``post-bench audit``): the TPR at a target FPR with what it rests on
    (realized FPR, threshold, counts, the TPR's CI), or n/a with the reason (fewer than 1/FPR non-members).
    The attack flags a member when its statistic is >= ``threshold``; ``flags_nobody``: no threshold flags
    anyone within the target (``threshold`` null)."""

    target_fpr: float = Field(gt=0, lt=1)
    tpr: Fraction | None = None
    fpr: Fraction | None = None
    threshold: float | None = None
    flags_nobody: bool = False
    tp: int | None = Field(default=None, ge=0)
    fp: int | None = Field(default=None, ge=0)
    n_members: int = Field(ge=0)
    n_nonmembers: int = Field(ge=0)
    reason: str | None = None
    tpr_ci: Interval = None


class PrivacyRow(Row):
    """One attack on one prompt (or a recipe's shadows): what was attacked, its AUC, TPRs, intervals, counts and
    ε lower bound."""

    dataset: str
    method: str
    epsilon: Eps
    attack: str
    auc: Fraction | None
    seed: int | None = None
    claimed_epsilon: Eps | None = None
    attacked: str | None = None
    balanced_accuracy: Fraction | None = None
    tpr_at_fpr: dict[str, Fraction | None] = {}
    tpr_null_reason: dict[str, str] = {}
    ci: Intervals | None = None
    n_shadows: int | None = Field(default=None, ge=0)
    n_examples: int | None = Field(default=None, ge=0)
    n_members: int | None = None
    n_nonmembers: int | None = None
    eps_lower_bound: float | None = None
    eps_lower_bound_confidence: Fraction | None = None
    eps_lower_bound_fdp: float | None = None
    delta: float | None = None
    one_run: OneRunBound | None = None
    roc: Roc | None = None
    samples: SamplesRef | None = None
    # post-bench audit: TPR at each target FPR with threshold and counts; the AUC interval at the family-wise
    # level over the n_attacks attacks tried (what its verdict uses)
    operating_points: list[TprPoint] | None = None
    ci_familywise: Intervals | None = None
    n_attacks: int | None = Field(default=None, ge=1)


class ExtractionRow(Row):
    """An extraction attack on one prompt: exposure of planted canaries, or the prompt's nearest tokens."""

    dataset: str
    method: str
    epsilon: Eps
    attack: str
    seed: int | None = None
    n_canaries: int | None = None
    mean_exposure: float | None = None
    max_exposure: float | None = None
    max_possible: float | None = None
    tokens: list[Any] | None = None
    samples: SamplesRef | None = None


class OneOff(Row):
    wall_s: float
    flops: float | None = None
    device: str | None = None


class DistillRow(Row):
    """A distilled source model: kept layers, losses, and the one-off cost."""

    model: str
    layers: list[int]
    teacher_loss: float | None = None
    truncated_loss: float | None = None
    student_loss: float | None = None
    kd_curve: list[float] = []
    steps: int | None = None
    one_off: OneOff | None = None
    cached: bool | None = None


class CostRow(Row):
    """What one unit cost: wall time, tokens, FLOPs, peak memory (per model in ``by_model``)."""

    unit: str
    kind: str
    wall_s: float = Field(ge=0)
    label: str | None = None
    method: str | None = None
    dataset: str | None = None
    epsilon: Eps | None = None
    seed: int | None = None
    model: str | None = None
    model_role: str | None = None
    tokens: int | float | None = None
    flops: float | None = None
    peak_mem_mb: float | None = None
    device: str | None = None
    by_model: dict[str, dict[str, int | float]] = {}


class Arm(Row):
    """One side of a claim's check: a method (and its ε)."""

    method: str
    epsilon: Eps | None = None


class Check(Row):
    """One comparison of a claim: a − w_b·b (− w_c·c) + offset against 0, with its interval and verdict."""

    check: str
    verdict: Literal["holds", "does not hold", "inconclusive"]
    metric: str | None = None
    offset: float = 0.0
    a: Arm | None = None
    b: Arm | None = None
    c: Arm | None = None
    weights: dict[str, float] | None = None
    seeds: list[int | None] = []
    n: int = 0
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None
    paired_by: str | None = None
    n_rows: int | None = None
    se: float | None = None


class ClaimCell(Row):
    """A claim on one (data set, ε) cell."""

    dataset: str
    epsilon: Eps
    verdict: Literal["holds", "does not hold", "inconclusive"]
    checks: list[Check]
    note: str = ""
    gap_recovery: dict[str, Any] | None = None


class Claim(Row):
    """One of the paper's qualitative claims, checked on the run's data."""

    claim: int
    statement: str
    verdict: Literal["holds", "partly holds", "does not hold", "inconclusive"]
    cells: list[ClaimCell]
    counts: dict[str, int] = {}


class UtilityCell(Row):
    """One (dataset, method, model, ε) cell: the mean accuracy over seeds and its 95% CI (Student-t over seeds
    clipped to [0, 1]; one seed: Wilson over the n_test predictions)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dataset: str
    method: str
    model: str
    epsilon: Eps
    mean: Fraction
    ci: Interval
    ci_method: Literal["t over seeds", "Wilson over test examples", "none"]
    seeds: list[int | None] = Field(min_length=1)
    n_test: int | None = Field(ge=1)


class PrivacyCell(Row):
    """One (dataset, method, ε, attack) cell: the mean AUC over seeds and its 95% CI (Student-t over seeds
    clipped to [0, 1]; one seed: the row's bootstrap over examples)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    dataset: str
    method: str
    epsilon: Eps
    attack: str
    mean_auc: Fraction
    ci: Interval
    ci_method: str
    seeds: list[int | None] = Field(min_length=1)
    n_examples: int | None


class Aggregates(Row):
    model_config = ConfigDict(frozen=True, extra="forbid")
    utility: list[UtilityCell]
    privacy: list[PrivacyCell]


class Evidence(Row):
    """How many evaluations have per-example outputs and how claims were paired."""

    with_samples: int = 0
    without_samples: int = 0
    problems: list[str] = []
    seeds: int | None = None
    test_rows: list[int] = []
    summary: str = ""
    claims_paired_by: Literal["rows within seeds", "seeds"] | None = None


class Results(Row):
    """RUN_DIR/results.json written by `post-bench run`. schema 1: per-seed rows; schema 2 adds `aggregates`
    (per-cell mean and 95% CI) and `claims`. Rows may carry more fields than listed (method- and
    attack-specific); the listed ones have these types."""

    schema_: Literal[1, 2] = Field(alias="schema")
    suite: dict[str, Any] = Field(default={}, description="the suite as resolved (defaults filled in)")
    env: Environment = Environment()
    utility: list[UtilityRow] = []
    privacy: list[PrivacyRow] = []
    extraction: list[ExtractionRow] = []
    distill: list[DistillRow] = []
    cost: list[CostRow] = []
    validation: list[UtilityRow] = Field(default=[], description=(
        "the same evaluations on the private validation split (suites with `budget.evaluate_validation`); "
        "nothing else reads them"))
    claims: list[Claim] | None = None
    aggregates: Aggregates | None = None
    evidence: Evidence | None = None

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    @property
    def name(self) -> str:
        return str(self.suite.get("name", ""))

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


def _what(e: Any) -> str:
    """A pydantic error as the project's problem text: what is wrong, then ``; allowed: ...``."""
    msg, kind = e["msg"], e["type"]
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    got = repr(e["input"])
    got = got if len(got) <= 60 else got[:57] + "..."
    if msg.startswith("Input should be "):  # "a valid number, unable to parse string as a number": keep the type
        allowed = msg.removeprefix("Input should be ").split(", unable to ")[0].split(", got ")[0]
        return f"{got} is not allowed; allowed: {allowed}"
    return f"{got}: {msg}"


def problems_of(err: ValidationError, where: str = "") -> list[str]:
    """One line per problem: ``<where>: utility[3].accuracy: 'high' is not allowed; allowed: a valid number``."""
    out = []
    for e in err.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".") or "(file)"
        out.append(f"{where + ': ' if where else ''}{loc}: {_what(e)}")
    return out


def parse_results(data: Any, where: str = "results.json") -> Results:
    """The typed results of a decoded results.json. Raises ValueError, one line per problem (at most 5 shown)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object with a 'schema' key, got {type(data).__name__}; allowed: "
                         f"{FILE_ALLOWED}")
    schema = data.get("schema")
    if isinstance(schema, bool) or schema not in READABLE:
        raise ValueError(f"{where}: schema: unsupported results schema {schema!r}; allowed: "
                         + ", ".join(map(str, READABLE)) + " (rerun `post-bench run` with this version to upgrade)")
    try:
        return Results.model_validate(data)
    except ValidationError as err:
        lines = problems_of(err, where)
        raise ValueError("\n".join(lines[:5]) + (f"\n(and {len(lines) - 5} more)" if len(lines) > 5 else "")) from None


def read_results(path: Path | str) -> Results:
    """Read ``results.json`` (or ``<run dir>/results.json``). FileNotFoundError when missing, ValueError when
    it is not valid JSON or not a readable results object."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start}); allowed: {FILE_ALLOWED}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not valid JSON ({e}); allowed: {FILE_ALLOWED}") from None
    return parse_results(data, str(p))


def results_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of results.json, generated from :class:`Results`."""
    schema = Results.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:post-bench:results", **schema,
            "allOf": [{"if": {"properties": {"schema": {"const": 2}}, "required": ["schema"]},
                       "then": {"required": ["aggregates", "claims"]}}]}


def write_json_schema(path: Path | str) -> Path:
    """Regenerate the committed schema file (``python -m post_bench.rows [PATH]``)."""
    p = Path(path)
    p.write_text(json.dumps(results_json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return p


if __name__ == "__main__":
    import sys

    print(write_json_schema(sys.argv[1] if len(sys.argv) > 1 else
                            Path(__file__).resolve().parent / "schemas" / "results.schema.json"))
