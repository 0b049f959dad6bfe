"""Suite schema: typed, strict (unknown keys are errors); reading a suite file and its command-line overrides.

The checks that need the registries (names, method parameters, attacks, gates) are in :mod:`post_bench.checks`,
whose ``load_suite(path)`` returns a :class:`Suite` or raises :class:`UserInputError` listing every problem in
the file, one line each: ``FILE: key.path: what is wrong; allowed: ...``.
"""

from __future__ import annotations

import math
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from post_bench.errors import UserInputError, problem, short_repr
from post_bench.registry import did_you_mean


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PosInt = Annotated[int, Field(ge=1)]
Prob = Annotated[float, Field(gt=0, le=1)]


def _epsilon(x: Any) -> float | None:
    """inf / "inf" / null all mean non-private (None); "1e-5" (a string to YAML 1.1) is a number."""
    if x is None or (isinstance(x, str) and x.strip().lower() in {"inf", "infinity", "none", "∞"}):
        return None
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            raise ValueError(f"epsilon must be a positive number or inf, got {short_repr(x)}") from None
    if isinstance(x, float) and math.isnan(x):
        raise ValueError("epsilon must be a positive number or inf, got nan")
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"epsilon must be a positive number or inf, got {short_repr(x)}")
    if math.isinf(x):
        return None
    if not x > 0:
        raise ValueError(f"epsilon must be > 0, got {x}")
    return float(x)


Epsilon = Annotated[float | None, BeforeValidator(_epsilon)]


class DistillConfig(Strict):
    layers: list[int] = [0, 1, -2, -1]
    steps: PosInt = 200
    batch_size: PosInt = 8
    max_tokens: PosInt = 64
    lr: Annotated[float, Field(gt=0, le=1)] = 5e-4
    warmup: Annotated[int, Field(ge=0)] = 10
    grad_clip: Annotated[float, Field(gt=0)] = 1.0
    temperature: Annotated[float, Field(gt=0)] = 2.0
    kd_weight: Annotated[float, Field(ge=0, le=1)] = 0.5
    schedule: Literal["cosine", "constant"] = "cosine"
    corpus: list[str] | None = None  # text sets to distil on (labels unused); default: [datasets.public]
    corpus_size: Annotated[int, Field(ge=16)] = 2000  # texts drawn from the corpus sets together
    freeze_embeddings: bool = True  # keep the target's input embeddings (and a tied head) as they are

    @field_validator("corpus", mode="before")
    @classmethod
    def _one_corpus(cls, v):
        return [v] if isinstance(v, str) else v


class SourceConfig(Strict):
    distill: DistillConfig | None = None
    model: str | None = None  # use an existing model as the source instead of distilling


class ModelsConfig(Strict):
    target: str
    source: SourceConfig | None = None


class DatasetEntry(Strict):
    """A private data set with its own task and columns (``datasets.private[]`` as a mapping)."""

    name: str = Field(description="The data set (same names as a plain entry: an offline alias, `hf:<name>`, "
                      "`path:<file>`).")
    template: str | None = Field(None, description="Causal-LM template with `{text}` (e.g. `\"Review: {text}\\n"
                                 "Sentiment:\"`); masked LMs get it + ` <mask>.`. Default: the data set's.")
    label_words: list[str | list[str]] | None = Field(None, description="One entry per class (classes in the "
                                                      "data set's order; for `path:` files the sorted label values): "
                                                      "a word or a list of alternatives, written as tokenised (a "
                                                      "leading space for GPT-style tokenisers: `\" great\"`).")
    instruction: str | None = Field(None, description="The task instruction (text-initialised prompts start "
                                    "from it).")
    text_column: str | None = Field(None, description="`path:` files: the text column (default `text`).")
    label_column: str | None = Field(None, description="`path:` files: the label column (default `label`).")

    @model_validator(mode="after")
    def _fits(self):
        wrong = []
        if self.template is not None and "{text}" not in self.template:
            wrong.append("template: has no {text}")
        if self.label_words is not None and (not self.label_words or any(not w for w in self.label_words)):
            wrong.append("label_words: empty; allowed: one word (or list of words) per class")
        for key in ("text_column", "label_column"):
            if getattr(self, key) is not None and not self.name.startswith("path:"):
                wrong.append(f"{key}: only for path: files (got name {short_repr(self.name)})")
            elif getattr(self, key) == "":
                wrong.append(f"{key}: empty")
        if wrong:
            raise ValueError("; ".join(wrong))
        return self

    @property
    def options(self) -> dict:
        return {k: v for k, v in self.model_dump(exclude={"name"}).items() if v is not None}


class DatasetName(str):
    """A private data set's name (a ``str`` everywhere names are used) with the entry's options, if any."""

    options: dict

    def __new__(cls, name: str, options: dict | None = None):
        out = super().__new__(cls, name)
        out.options = dict(options or {})
        return out


def _dataset_entry(value, handler):
    """``datasets.private[i]``: a name (kept a plain str: configs stay byte-identical) or a mapping."""
    if not isinstance(value, dict):
        return handler(value)
    try:
        entry = DatasetEntry.model_validate(value)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            key = _loc(tuple(e["loc"]))
            if e["type"] == "extra_forbidden":
                allowed = sorted(DatasetEntry.model_fields)
                lines.append(f"{key}: unknown key{did_you_mean(str(e['loc'][-1]), allowed)}; allowed: "
                             + ", ".join(allowed))
            elif e["type"] == "missing":
                lines.append(f"{key}: required key missing")
            else:
                msg = e["msg"].removeprefix("Value error, ")
                lines.append(f"{key}: {msg}" if key else msg)
        raise ValueError("; ".join(lines)) from None
    return DatasetName(entry.name, entry.options) if entry.options else entry.name


class DatasetsConfig(Strict):
    private: list[Annotated[str, WrapValidator(_dataset_entry)]] = Field(min_length=1)
    public: str | None = None

    @field_serializer("private")
    def _entries(self, private: list[str]):
        """Entries with options dump as mappings (a plain list of names dumps as before)."""
        return [{"name": str(n), **n.options} if getattr(n, "options", None) else str(n) for n in private]

    def options(self, name: str) -> dict:
        """The options of the private data set ``name`` ({} for a plain entry or an unknown name)."""
        for n in self.private:
            if n == name:
                return dict(getattr(n, "options", {}) or {})
        return {}


class Budget(Strict):
    train_size: Annotated[int, Field(ge=8)] = 512
    val_size: Annotated[int, Field(ge=0)] = 64
    test_size: Annotated[int, Field(ge=8)] = 200
    public_size: Annotated[int, Field(ge=8)] = 256
    max_tokens: Annotated[int, Field(ge=8, le=4096)] = 64
    prompt_length: Annotated[int, Field(ge=1, le=512)] = 10
    eval_batch_size: PosInt = 32


class BrokenDP(Strict):
    """A deliberately broken DP-SGD, for privacy-regression controls only: the accountant still claims the suite's
    ε while the mechanism adds ``noise_scale`` times the noise it should, and (``clipping: false``) does not clip
    per-example gradients. An audit must catch it (``post-bench run`` exits 3); never use it for results."""

    noise_scale: Annotated[float, Field(gt=0, lt=1)] = 0.1
    clipping: bool = False


class TuningConfig(Strict):
    steps: PosInt = 100
    batch_size: PosInt = 16
    lr: Annotated[float, Field(gt=0, le=10)] = 5e-3
    dp_lr: Annotated[float, Field(gt=0, le=10)] | None = None  # default: lr
    clip: Annotated[float, Field(gt=0)] = 1.0
    delta: Annotated[float, Field(gt=0, lt=1)] | None = None  # default: 1/N
    accountant: Literal["prv", "rdp"] = "prv"
    init: Literal["text", "vocab", "random"] = "text"
    micro_batch: PosInt = 64
    broken_dp: BrokenDP | None = None  # privacy-regression controls only (suites/controls/)


class AttackConfig(Strict):
    name: str  # post-bench ls attacks
    methods: list[str] = ["source_only"]
    epsilons: list[Epsilon] | None = None  # default: the suite's epsilons
    datasets: list[str] | None = None  # default: every private data set
    # membership attacks (lira, rmia, loss): K shadows trained like the attacked prompt on random halves of a
    # population of 2 x budget.train_size; `population` of those examples (half members) are scored
    shadows: Annotated[int, Field(ge=2, le=1024, multiple_of=2)] = 16
    population: Annotated[int, Field(ge=4, multiple_of=2)] = 128
    variants: list[str] | None = None  # default: lira online/offline/fixed_variance, rmia online (ls attacks)
    # extraction / one_run: canaries with planted labels, in a prompt tuned for the attack only
    canaries: Annotated[int, Field(ge=1)] | None = None  # default: one_run 64, extraction 8
    # secret ("My secret code is 123456"), mislabeled (held-out private texts with a wrong label) or random-words
    canary_kind: Literal["secret", "mislabeled", "random-words", "nonsense"] | None = None  # one_run: nonsense, extraction: secret
    score: Literal["calibrated", "raw"] = "calibrated"  # one_run: minus the untrained prompt's score, or raw
    repetitions: PosInt | None = None  # default: one_run 1 (group privacy otherwise), extraction 4
    candidates: Annotated[int, Field(ge=2)] = 1000  # extraction: the planted canary + candidates-1 held out
    generate_tokens: Annotated[int, Field(ge=0)] = 0
    k_plus: Annotated[int, Field(ge=0)] | None = None  # one_run: "in" guesses (default canaries // 4)
    k_minus: Annotated[int, Field(ge=0)] = 0  # one_run: "out" guesses


GATE_METRICS = ("accuracy", "auc", "tpr", "eps_lb")
GATE_FPRS = (0.001, 0.01, 0.1)  # the TPR levels results.json rows carry (tpr_at_fpr keys)


class Gate(Strict):
    """A claim that must hold after a run (``gates:`` in a suite, ``--gate`` on ``post-bench run``).

    One of ``claim`` (a PAPER.md claim verdict), ``metric`` (a threshold) or ``difference`` (a paired accuracy
    difference between two methods); filters left out match every value. Which value a metric gate compares:
    ``accuracy``: the per-cell mean over seeds (a cell is a dataset × method × model × ε, as in the report's
    utility table); ``auc``, ``tpr``, ``eps_lb``: every matching privacy row (so the largest value is what a
    ``max`` compares). A difference gate ``[a, b]`` compares the 95% interval of accuracy(a) − accuracy(b) in
    every matching (dataset, ε) cell, rows paired within seeds (the t-interval over paired seeds without per-row
    samples): ``min`` against its lower end, ``max`` against its upper end. A gate that matches nothing fails.
    """

    claim: int | None = Field(None, description="Claim number (1–4 or 6, as in the report's "
                              "claims table) whose verdict is gated; not together with `metric`.")
    must: Literal["hold", "not-fail"] | None = Field(None, description="Claim gates: `hold` (default): the "
                                                     "verdict is `holds` in every matching (dataset, ε) cell; "
                                                     "`not-fail`: no matching cell `does not hold` (inconclusive "
                                                     "passes).")
    metric: Literal["accuracy", "auc", "tpr", "eps_lb"] | None = Field(
        None, description="What a threshold gate compares: `accuracy` (per-cell mean over seeds), `auc`, `tpr` "
        "(at `fpr`) or `eps_lb` (the empirical ε lower bound) of every matching privacy row.")
    difference: list[str] | None = Field(None, description="Two methods `[a, b]` (names or labels of the "
                                         "suite's methods): gates the accuracy difference a − b with its 95% "
                                         "CI, rows paired within seeds (the t-interval over paired seeds "
                                         "without per-row samples), in every matching (dataset, ε) cell; "
                                         "`min`: the CI's lower end ≥ min, `max`: its upper end ≤ max "
                                         "(`{difference: [post, zero_shot], min: 0}`: POST above zero-shot at "
                                         "95%). zero_shot/source_zero_shot's one ε=∞ row serves every ε.")
    method: str | None = Field(None, description="Only this method (a name or label of the suite's methods).")
    attack: str | None = Field(None, description="Only this attack: a suite attack name (`lira`: all its "
                               "variants) or a results row name (`lira-online`, `rmia-offline`, `one_run`).")
    dataset: str | None = Field(None, description="Only this private data set.")
    epsilon: Epsilon = Field(None, description="Only this ε (`inf`: non-private); left out: every ε.")
    fpr: Annotated[float, Field(gt=0, lt=1)] | None = Field(None, description="`tpr` gates: the FPR level "
                                                               "(0.001, 0.01 or 0.1).")
    min: float | None = Field(None, description="Lower bound: every compared value must be ≥ min (a difference "
                              "gate: the lower end of every cell's CI).")
    max: float | None = Field(None, description="Upper bound: every compared value must be ≤ max (a difference "
                              "gate: the upper end of every cell's CI).")
    name: str | None = Field(None, description="A name for the gate in messages and the JUnit file "
                             "(default: made from its keys).")

    @model_validator(mode="after")
    def _shape(self):
        given = self.model_fields_set
        wrong = []
        kinds = [k for k in ("claim", "metric", "difference") if getattr(self, k) is not None]
        if len(kinds) != 1:
            wrong.append("give one of claim, metric or difference" + (f", not {' and '.join(kinds)}" if kinds else ""))
        if self.difference is not None:
            names = self.difference
            if len(names) != 2 or any(not n.strip() for n in names):
                wrong.append(f"difference: {len(names)} name(s); give two methods [a, b] (a − b is gated)"
                             if len(names) != 2 else "difference: a method name is empty")
            elif names[0] == names[1]:
                wrong.append(f"difference: {names[0]} − {names[0]} is always 0; give two different methods")
            extra = sorted(k for k in ("method", "attack", "fpr", "must") if k in given)
            if extra:
                wrong.append(f"a difference gate takes no {', '.join(extra)} (its methods are in difference)")
            if self.min is None and self.max is None:
                wrong.append("min and max both missing")
            for k in ("min", "max"):
                v = getattr(self, k)
                if v is not None and not (math.isfinite(v) and -1 <= v <= 1):
                    wrong.append(f"{k} {v:g} is not in [-1, 1]: an accuracy difference is a fraction (0.05, not 5)")
            if self.min is not None and self.max is not None and self.min > self.max:
                wrong.append(f"min {self.min:g} > max {self.max:g}")
        if self.claim is not None:
            extra = sorted(k for k in ("attack", "fpr", "min", "max", "method") if k in given)
            if extra:
                wrong.append(f"a claim gate takes no {', '.join(extra)}")
        if self.metric is not None:
            if "must" in given:
                wrong.append("must is for claim gates; a metric gate takes min and/or max")
            if self.min is None and self.max is None:
                wrong.append("min and max both missing")
            for k in ("min", "max"):
                v = getattr(self, k)
                if v is not None and not math.isfinite(v):
                    wrong.append(f"{k} must be a finite number")
                elif v is not None and self.metric != "eps_lb" and not 0 <= v <= 1:
                    wrong.append(f"{k} {v:g} is not in [0, 1]: {self.metric} is a fraction (0.6, not 60)")
                elif v is not None and v < 0:
                    wrong.append(f"{k} {v:g} < 0: an ε lower bound is ≥ 0")
            if self.min is not None and self.max is not None and self.min > self.max:
                wrong.append(f"min {self.min:g} > max {self.max:g}")
            if self.metric == "tpr" and self.fpr is None:
                wrong.append("a tpr gate needs fpr (0.001, 0.01 or 0.1)")
            if self.metric != "tpr" and self.fpr is not None:
                wrong.append("fpr is for tpr gates only")
            if self.fpr is not None and not any(math.isclose(self.fpr, f) for f in GATE_FPRS):
                wrong.append(f"fpr {self.fpr:g} is not a level results carry; allowed: 0.001, 0.01, 0.1")
            if self.metric == "accuracy" and self.attack is not None:
                wrong.append("an accuracy gate takes no attack")
        if wrong:
            raise ValueError("; ".join(wrong))
        return self

    @model_serializer(mode="wrap")
    def _only_given(self, handler):
        """Dump only the keys the gate was written with: ``epsilon: null`` then means inf, never "any"."""
        data = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}

    @property
    def epsilon_given(self) -> bool:
        return "epsilon" in self.model_fields_set


class MethodEntry(Strict):
    model_config = ConfigDict(extra="allow", frozen=True)  # method parameters, checked per method
    name: str
    # results name of this entry (default: name): lets one method run twice with other settings (ablations)
    label: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] | None = None


class Suite(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    threads: Annotated[int, Field(ge=0)] | Literal["auto"] = 0  # 0: torch's default; auto: cores / jobs
    # auto: bf16 autocast on CUDA and native-bf16 CPUs, else fp32; fp16: fp16 autocast (CUDA only)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    seeds: list[int] = Field(default=[0], min_length=1)
    epsilons: list[Epsilon] = Field(default=[None], min_length=1)
    models: ModelsConfig
    datasets: DatasetsConfig
    budget: Budget = Budget()
    tuning: TuningConfig = TuningConfig()
    methods: list[MethodEntry] = Field(min_length=1)
    attacks: list[AttackConfig] = []
    gates: list[Gate] = Field(default=[], description="Checks the finished run must pass, else `post-bench run` "
                              "exits 3 (after writing results and report): `{claim: 1, must: hold}`, "
                              "`{metric: accuracy, method: post, epsilon: 8, min: 0.6}`, `{metric: auc, attack: "
                              "lira-online, method: post, epsilon: inf, max: 0.6}`, `{metric: tpr, fpr: 0.01, "
                              "max: 0.05}`, `{metric: eps_lb, max: 1}`; see docs/ci.md.")
    ray_address: str | None = None

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        kind, colon, index = v.partition(":")
        if v in ("auto", "cpu", "cuda") or (kind == "cuda" and colon and index.isdigit()):
            return v
        raise ValueError(f"{short_repr(v)} is not a device; allowed: auto, cpu, cuda, cuda:N (N an integer >= 0)")

    @field_validator("methods", mode="before")
    @classmethod
    def _short_methods(cls, v):
        return [{"name": m} if isinstance(m, str) else m for m in v] if isinstance(v, list) else v

    def method_params(self, name: str) -> dict:
        for m in self.methods:
            if (m.label or m.name) == name:
                return dict(m.model_extra or {})
        raise KeyError(name)

    @property
    def method_names(self) -> list[str]:
        return [m.label or m.name for m in self.methods]

    def has_distilled_source(self) -> bool:
        return self.models.source is not None and self.models.source.model is None


# ------------------------------------------------------------------------- loading and errors
def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _pydantic_problems(source: str, err: ValidationError, prefix: str = "", model=None) -> list[str]:
    lines = []
    for e in err.errors():
        loc = tuple(e["loc"])
        key = prefix + _loc(loc)
        kind = e["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1]) if model else None
            hint = did_you_mean(str(loc[-1]), allowed or [])
            lines.append(problem(source, key, f"unknown key{hint}", ", ".join(allowed) if allowed else None))
        elif kind == "literal_error":
            lines.append(problem(source, key, f"{short_repr(e['input'])} is not allowed", e["ctx"]["expected"].replace("'", "").replace(" or ", ", ")))
        elif kind == "missing":
            lines.append(problem(source, key, "required key missing"))
        else:
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(problem(source, key, f"{msg} (got {short_repr(e['input'])})" if kind != "value_error" else msg))
    return lines


def _allowed_keys(model, loc: tuple) -> list[str] | None:
    """Field names of the sub-model at ``loc`` (for 'allowed:' and 'did you mean')."""
    current = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *typing.get_args(ann)]
        for arg in list(candidates):
            candidates += list(typing.get_args(arg))
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None:
            return None
    return sorted(current.model_fields) if current is not None else None


MAX_VALUES = 100_000  # a suite is small; more values means YAML aliases expanding (an alias bomb)


def expanded_size(data: Any, limit: int = MAX_VALUES) -> int:
    """How many values ``data`` holds once YAML aliases are expanded, counted without expanding them
    (shared nodes are counted once per reference via memoisation); stops counting past ``limit``."""
    memo: dict[int, int] = {}

    def size(node) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if id(node) in memo:
            return memo[id(node)]
        memo[id(node)] = limit + 1  # a cycle counts as too big
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                break
        memo[id(node)] = total
        return total

    return size(data)


def apply_sets(data: Any, sets, source: str) -> Any:
    """``--set key.path=value`` (repeatable) on the raw YAML mapping: the value is parsed as YAML (scalars
    and flow collections); a list item is ``key[0]`` or ``key.0``. A path through a scalar, a list index out
    of range or a missing ``=`` is one line each; unknown keys are reported by validation as usual."""
    if not isinstance(data, dict):
        return data
    problems = []
    for text in sets:
        key, eq, raw = text.partition("=")
        key = key.strip()
        parts = re.findall(r"[^.\[\]]+", key)
        if not eq or re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+|\[\d+\])*", key) is None:
            problems.append(problem(source, f"--set {text}", "expected key.path=value", "e.g. budget.train_size=64"))
            continue
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as err:
            problems.append(problem(source, f"--set {key}", f"value {raw!r} is not YAML ({getattr(err, 'problem', err)})"))
            continue
        node, where = data, ""
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    problems.append(problem(source, f"--set {key}", f"{where or 'the suite'} is a list of "
                                            f"{len(node)}; {part!r} is not an index of it", f"0..{len(node) - 1}"))
                    break
                part = int(part)
            elif not isinstance(node, dict):
                problems.append(problem(source, f"--set {key}", f"{where} is {short_repr(node)}, not a mapping"))
                break
            if last:
                node[part] = value
            else:
                if isinstance(node, dict) and node.get(part) is None:
                    node[part] = {}
                node = node[part]
                where += f"[{part}]" if isinstance(part, int) else ("." if where else "") + str(part)
    if problems:
        raise UserInputError(problems)
    return data


def apply_limit(data: Any, limit: int | None) -> Any:
    """``--limit N``: at most N rows per split (budget train/val/test/public sizes)."""
    if limit is None or not isinstance(data, dict):
        return data
    budget = data.get("budget")
    budget = dict(budget) if isinstance(budget, dict) else {}
    for key in ("train_size", "val_size", "test_size", "public_size"):
        current = budget.get(key, Budget.model_fields[key].default)
        budget[key] = min(current, limit) if isinstance(current, int) and not isinstance(current, bool) else current
    data["budget"] = budget
    return data


def read_suite(path: str | Path, *, sets=(), limit: int | None = None, device: str | None = None,
               precision: str | None = None) -> Any:
    """The raw YAML mapping in ``path`` (UTF-8, no alias bombs) with command-line overrides applied before
    validation: ``sets`` (``key.path=value``), ``limit`` (rows per split), ``device`` and ``precision``.
    :func:`post_bench.checks.load_suite` validates it into a :class:`Suite`."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(problem(str(path), "", "suite file not found"))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise UserInputError(problem(str(path), "", f"not UTF-8 text (byte {err.object[err.start]:#04x} at offset "
                                     f"{err.start})", "a UTF-8 YAML file")) from None
    except OSError as err:
        raise UserInputError(problem(str(path), "", f"cannot read the suite ({err.strerror})")) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise UserInputError(problem(str(path), "", f"invalid YAML: {where}{getattr(err, 'problem', err)}")) from None
    if expanded_size(data) > MAX_VALUES:
        raise UserInputError(problem(str(path), "", f"YAML aliases expand to more than {MAX_VALUES} values",
                                     "a suite without alias bombs"))
    if isinstance(data, dict):
        for key, value in (("device", device), ("precision", precision)):
            if value is not None:
                data[key] = value
        data = apply_limit(apply_sets(data, sets, str(path)), limit)
    return data
