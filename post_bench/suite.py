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
    PlainSerializer,
    ValidationError,
    WrapValidator,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from post_bench.epsilon import eps_json, parse_epsilon
from post_bench.errors import UserInputError, problem, short_repr
from post_bench.registry import did_you_mean
from post_bench.unit.schemas import TuneKnobs


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PosInt = Annotated[int, Field(ge=1)]
Prob = Annotated[float, Field(gt=0, le=1)]


def _epsilon(x: Any) -> float:
    """The suite's ε as the package holds it (:func:`~post_bench.epsilon.parse_epsilon`): inf / "inf" / "∞" / null
    (or "none") mean non-private, ``math.inf``; "1e-5" (a string to YAML 1.1) is a number."""
    if isinstance(x, str) and x.strip().lower() == "none":
        x = None
    try:
        return parse_epsilon(x)
    except ValueError:
        raise ValueError(_epsilon_problem(x)) from None


def _epsilon_problem(x: Any) -> str:
    """What is wrong with a suite's ε, in the suite's words (non-private is ``inf``)."""
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return f"epsilon must be a positive number or inf, got {short_repr(x)}"
    if isinstance(x, float) and math.isnan(x):
        return "epsilon must be a positive number or inf, got nan"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return f"epsilon must be a positive number or inf, got {short_repr(x)}"
    return f"epsilon must be > 0, got {x}"


Epsilon = Annotated[float, BeforeValidator(_epsilon), PlainSerializer(eps_json, when_used="unless-none")]
"""ε in the suite: a float, ``math.inf`` for non-private; dumped as ``None`` (``null``) like every file's ε."""


class DistillConfig(Strict):
    layers: list[int] = Field([0, 1, -2, -1], description=(
        "Indices of the target's transformer layers kept in the student; negative indices count from the end "
        "(`[0, 1, -2, -1]`: the first two and the last two)."))
    steps: PosInt = Field(200, description="Distillation steps.")
    batch_size: PosInt = Field(8, description="Token blocks per step.")
    max_tokens: PosInt = Field(64, description="Length of a token block (texts are packed into blocks, "
                               "no padding).")
    lr: Annotated[float, Field(gt=0, le=1)] = Field(5e-4, description="AdamW learning rate.")
    warmup: Annotated[int, Field(ge=0)] = Field(10, description="Steps of linear warm-up.")
    grad_clip: Annotated[float, Field(gt=0)] = Field(1.0, description="Gradient-norm clip.")
    temperature: Annotated[float, Field(gt=0)] = Field(2.0, description="Temperature T of the KD loss "
                                                   "(scaled by T²).")
    kd_weight: Annotated[float, Field(ge=0, le=1)] = Field(0.5, description=(
        "Loss = kd_weight · T²·KL(teacher ‖ student) + (1 − kd_weight) · LM loss."))
    schedule: Literal["cosine", "constant"] = Field("cosine", description="Learning-rate schedule after "
                                                  "warm-up.")
    corpus: list[str] | None = Field(None, description=(
        "Public text sets the student is distilled on (labels unused); default `[datasets.public]`. A private set "
        "is refused."))
    corpus_size: Annotated[int, Field(ge=16)] = Field(2000, description=(
        "Texts drawn from the corpus sets together (evenly), independent of `budget.public_size`."))
    template: str | None = Field(None, description=(
        "Train on each corpus text in a task template, one text per row (truncated to `max_tokens` as a task "
        "truncates it) instead of packed plain text: `private` = the private sets' templates in turn, or a "
        "template with `{text}`. The student then imitates the teacher at the verbalizer position, where the task "
        "is read, on public text only."))
    teacher_top_k: Annotated[int, Field(ge=1)] | None = Field(None, description=(
        "Compute the teacher's top-k logits (and its log-partition) once for the whole corpus, kept in the cache, "
        "and distil on the (k + 1)-bucket KL (top k words + the rest) with no teacher forward per step; causal "
        "LMs. Unset: a teacher forward and the full-vocabulary KL every step."))
    label_words_weight: Annotated[float, Field(gt=0)] | None = Field(None, description=(
        "With `template: private` and `teacher_top_k`: add this weight × T²·KL(teacher ‖ student) over the private "
        "tasks' label words (renormalised over them) at each row's verbalizer position. The label words hold a "
        "tiny share of the teacher's distribution there, so the full KL barely teaches how it ranks them."))
    freeze_embeddings: bool = Field(True, description=(
        "Keep the target's input embeddings (and a tied head) as they are, so the source prompt lives in exactly "
        "the target's embedding space."))

    @field_validator("corpus", mode="before")
    @classmethod
    def _one_corpus(cls, v):
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _label_words_need_rows(self):
        if self.label_words_weight is not None and (self.template is None or self.teacher_top_k is None):
            raise ValueError("label_words_weight needs `template` and `teacher_top_k` (the label words are read at "
                             "task rows' verbalizer positions from the cached teacher targets)")
        return self

    @field_validator("template")
    @classmethod
    def _template(cls, v):
        if v is not None and v != "private" and "{text}" not in v:
            raise ValueError(f"template must be `private` or contain {{text}}, got {v!r}")
        return v


class SourceConfig(Strict):
    distill: DistillConfig | None = Field(None, description=(
        "Distil the source from the target: keep some layers, then knowledge distillation on public text (a "
        "one-off unit shared by every method)."))
    model: str | None = Field(None, description=(
        "Use an existing model as the source instead of distilling (same names as `models.target`; must share the "
        "target's vocabulary). Not together with `distill`."))


class ModelsConfig(Strict):
    target: str = Field(description=(
        "The target LM: `smollm2-135m` (offline), `hf:<hub id>` (needs a network), `path:<HF folder>`, or a tiny "
        "random config for tests (`tiny-gpt2`, `tiny-llama`, `tiny-roberta`, e.g. "
        "`tiny-gpt2:layers=2,hidden=64,seed=0`). Causal and masked LMs."))
    source: SourceConfig | None = Field(None, description=(
        "The small source model the private prompt is tuned on: distilled from the target (`distill`) or an "
        "existing model (`model`). Needed by source-based methods."))


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
    private: list[Annotated[str, WrapValidator(_dataset_entry)]] = Field(min_length=1, description=(
        "Private classification sets: `election-tweets`, `bbc-news`, `20newsgroups`, `reuters-r8`, "
        "`hf:<name>[:<config>]`, `path:<file.csv|.jsonl|.tsv>` (text and label columns), `synthetic:<name>` "
        "(tests, dry runs); or a mapping with the set's own task and columns (below). `post-bench ls datasets`."))
    public: str | None = Field(None, description=(
        "Public text for the transfer (and for distillation unless `distill.corpus` names its own); may be "
        "unlabelled (`friends`). Never one of the private sets."))

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
    train_size: Annotated[int, Field(ge=8)] = Field(512, description=(
        "Private training rows per seed (N; δ defaults to 1/N). Membership attacks use a population of 2N rows."))
    val_size: Annotated[int, Field(ge=0)] = Field(64, description=(
        "Private validation rows (only `alpha: auto` reads them; never the test split)."))
    test_size: Annotated[int, Field(ge=8)] = Field(200, description="Test rows every accuracy is measured on.")
    public_size: Annotated[int, Field(ge=8)] = Field(256, description=(
        "Public texts used by a transfer (a method's own `public_size` wins)."))
    max_tokens: Annotated[int, Field(ge=8, le=4096)] = Field(64, description=(
        "Text tokens per example (longer texts are truncated)."))
    prompt_length: Annotated[int, Field(ge=1, le=512)] = Field(10, description=(
        "Virtual tokens of every soft prompt (the paper uses 100)."))
    eval_batch_size: PosInt = Field(32, description="Batch size of evaluation and scoring.")
    evaluate_validation: bool = Field(False, description=(
        "Also evaluate every evaluated prompt on the private validation split (rows under `validation` in "
        "results.json; claims, aggregates and gates read the test rows only): what a rule that chooses between "
        "settings reads, e.g. `post-bench frontier`'s choice of the source."))


class BrokenDP(Strict):
    """A deliberately broken DP-SGD, for privacy-regression controls only: the accountant still claims the suite's
    ε while the mechanism adds ``noise_scale`` times the noise it should, and (``clipping: false``) does not clip
    per-example gradients. An audit must catch it (``post-bench run`` exits 3); never use it for results."""

    noise_scale: Annotated[float, Field(gt=0, lt=1)] = Field(0.1, description=(
        "Fraction of the calibrated noise actually added (0.1: the noise multiplier ÷ 10)."))
    clipping: bool = Field(False, description=(
        "`false`: per-example gradients are not clipped (the noise is still scaled by `tuning.clip`)."))


class TuningConfig(Strict):
    steps: PosInt = Field(100, description=(
        "Prompt-tuning steps (a fixed number: no checkpoint is selected on any data)."))
    batch_size: PosInt = Field(16, description=(
        "Batch size; with DP the expected batch of Poisson sampling (q = batch_size / N)."))
    lr: Annotated[float, Field(gt=0, le=10)] = Field(5e-3, description="Adam learning rate (non-private "
                                                  "runs).")
    dp_lr: Annotated[float, Field(gt=0, le=10)] | None = Field(None, description=(
        "Learning rate of DP runs (default: `lr`)."))
    clip: Annotated[float, Field(gt=0)] = Field(1.0, description="DP-SGD per-example gradient clip C.")
    delta: Annotated[float, Field(gt=0, lt=1)] | None = Field(None, description=(
        "DP δ (default: 1/N, N = `budget.train_size`)."))
    accountant: Literal["prv", "rdp"] = Field("prv", description=(
        "opacus accountant that solves the noise multiplier for ε: `prv` (falls back to `rdp` when PRV fails; the "
        "row records which) or `rdp`."))
    init: Literal["text", "vocab", "random"] = Field("text", description=(
        "Prompt initialisation: `text` (embeddings of the task instruction), `vocab` (random vocabulary "
        "embeddings) or `random`."))
    micro_batch: PosInt = Field(64, description=(
        "Examples per forward pass inside a step (memory only; the result is the same)."))
    broken_dp: BrokenDP | None = Field(None, description=(
        "Privacy-regression controls only (`suites/controls/`): a deliberately broken DP-SGD whose accountant "
        "still claims the suite's ε (an audit must catch it and the run exit 3)."))

    def knobs(self, epsilon: float, **change) -> TuneKnobs:
        """This block as the one tuning recipe (:class:`post_bench.unit.schemas.TuneKnobs`) of a run at ``epsilon``;
        ``change`` replaces knobs (e.g. a resolved number of steps)."""
        return TuneKnobs.of(**{**self.model_dump(include=set(TuneKnobs.model_fields)), "epsilon": epsilon, **change})


class AttackConfig(Strict):
    model_config = ConfigDict(extra="allow", frozen=True)  # the attack's own parameters (its Params), checked per attack
    name: str = Field(description=(
        "The attack (`post-bench ls attacks`): membership inference `lira`, `rmia`, `loss`; canary audits "
        "`one_run` (black-box), `one_run_gradient` (white-box, of the DP-SGD run), `extraction`."))
    methods: list[str] = Field(["source_only"], description=(
        "Suite method entries (their `label` when set) whose prompts are attacked. Membership attacks: `direct`, "
        "`source_only`, `post`, `ptfer` (methods whose private prompt shadows can re-make)."))
    epsilons: list[Epsilon] | None = Field(None, description=(
        "ε values attacked (default: the suite's `epsilons`); each must be among them."))
    datasets: list[str] | None = Field(None, description=(
        "Private data sets attacked (default: all of `datasets.private`)."))
    shadows: Annotated[int, Field(ge=2, le=1024, multiple_of=2)] = Field(16, description=(
        "Membership: K shadow prompts, each tuned exactly like the attacked prompt on a random half (N rows) of a "
        "population of 2N (the train split plus N held-out rows). Even; in-model variants (LiRA online / fixed "
        "variance, RMIA online) need ≥ 4. Attacks with the same `shadows` and `population` share one set."))
    population: Annotated[int, Field(ge=4, multiple_of=2)] = Field(128, description=(
        "Membership: examples of the 2N population scored by every prompt (half are the attacked prompt's "
        "members); even, ≤ 2 × `budget.train_size`."))
    variants: list[str] | None = Field(None, description=(
        "Membership: attack variants (default: lira online, offline, fixed_variance; rmia online; loss default). "
        "`post-bench ls attacks` lists each attack's variants."))
    canaries: Annotated[int, Field(ge=1)] | None = Field(None, description=(
        "one_run / extraction: canaries planted in a prompt tuned for the attack only (the suite's own prompts and "
        "membership populations never hold canaries); default 128 for one_run (each included with probability "
        "1/2), 8 for extraction. one_run_gradient: gradient canaries put into the DP-SGD steps of a run of its "
        "own (one prompt coordinate each, so at most prompt_length × the model's width), default 1000."))
    canary_kind: Literal["secret", "mislabeled", "random-words", "nonsense"] | None = Field(None, description=(
        "`secret` (\"My secret code is 123456\" with a random planted label; extraction's default), `mislabeled` "
        "(held-out private texts with a wrong label), `random-words` (random word strings with a random label) or "
        "`nonsense` (made-up words with a random label; one_run's default)."))
    score: Literal["calibrated", "raw"] = Field("calibrated", description=(
        "one_run: `calibrated` (the planted label's score under the prompt minus under the untrained prompt of the "
        "same initialisation, which is data-independent) or `raw`."))
    repetitions: PosInt | None = Field(None, description=(
        "Copies of each canary in the training set (a repeated canary is protected only by group privacy); "
        "default 1 for one_run, 4 for extraction."))
    candidates: Annotated[int, Field(ge=2)] = Field(1000, description=(
        "extraction: the exposure of each planted canary is ranked against `candidates − 1` held-out canaries of "
        "the same construction."))
    generate_tokens: Annotated[int, Field(ge=0)] = Field(0, description=(
        "extraction: tokens of greedy generations under the prompt, checked for training-set substrings (0: "
        "none)."))
    k_plus: Annotated[int, Field(ge=0)] | None = Field(None, description=(
        "one_run: fixed guesses \"in\" for the highest-scored canaries. Default (with `k_minus` 0): the best of k "
        "in + k out for k = 5%, 10% and 20% of the canaries, each bound at a Bonferroni-corrected confidence so "
        "the best holds at 95%."))
    k_minus: Annotated[int, Field(ge=0)] = Field(0, description=(
        "one_run: fixed guesses \"out\" for the lowest-scored canaries."))


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
    epsilon: Epsilon = Field(None, description="Only this ε (`inf`: non-private); left out: every ε.")  # None: left out
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
    name: str = Field(description="The method (`post-bench ls methods`).")
    label: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] | None = Field(None, description=(
        "Name of this entry in the results (default: `name`), so that one method can run twice with other "
        "settings, e.g. `{name: post, label: post_label_words, loss: label_words}`."))
    epsilons: list[Epsilon] | None = Field(None, min_length=1, description=(
        "Run this entry at these of the suite's `epsilons` only (default: all of them), e.g. an ablation at "
        "`[inf]`."))


class FrontierConfig(Strict):
    """Candidate sources and the rule that chooses one, read by `post-bench frontier` (which runs the suite once
    per candidate); `post-bench run` ignores it."""

    layers: list[list[int]] = Field(min_length=2, description=(
        "Candidate sources: the target's layers each keeps (otherwise distilled as `models.source.distill`)."))
    min_gain: Annotated[float, Field(ge=0, le=1)] = Field(0.10, description=(
        "The rule: the smallest candidate whose source prompt (`source_only`, on the source) beats the target's "
        "zero-shot by at least this much accuracy on the validation split of every private set (needs "
        "`budget.evaluate_validation: true` and the methods `zero_shot` and `source_only`)."))
    max_compute_share: Annotated[float, Field(gt=0, le=1)] = Field(0.35, description=(
        "Only candidates whose per-token compute is at most this share of the target's are eligible."))
    fallback: Literal["none", "best"] = Field("none", description=(
        "When no candidate passes: `none` (no choice) or `best`, the eligible candidate whose worst validation "
        "gain over the private sets is largest (the report says the rule was not met)."))

    @field_validator("layers")
    @classmethod
    def _distinct_sizes(cls, v):
        sizes = [len(x) for x in v]
        if len(set(sizes)) != len(sizes) or min(sizes) < 1:
            raise ValueError(f"each candidate must keep a different, non-zero number of layers, got sizes {sizes}")
        return v


class Suite(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = Field(description=(
        "Name of the suite; the default run directory is `runs/<name>` (`runs/<name>-dry-run` for `--dry-run`)."))
    description: str = Field("", description="Free text, shown in results.json.")
    device: str = Field("auto", description=(
        "Where units run: `auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N` (GPU N). A CUDA device "
        "that is not there: `run` refuses the suite (exit 2); `validate` only notes it (the suite may be meant for "
        "a GPU machine). CLI override: `--device`."))
    threads: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(0, description=(
        "torch threads per process. `0`: torch's default with `--jobs 1`, all cores / N with `--jobs N`; `auto`: "
        "all cores / N; a number is divided among the `--jobs` workers."))
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field("auto", description=(
        "Arithmetic of the frozen models. `auto`: bf16 autocast where bf16 matmuls are native (CUDA with bf16, "
        "AVX512-BF16/AMX CPUs), fp32 elsewhere; `fp32`: the same arithmetic on every CPU (the committed demo "
        "reports pin it); `bf16`: always bf16 autocast; `fp16`: fp16 autocast on CUDA (GPUs without bf16), with a "
        "static loss scale in training; refused on CPU. results.json `env.precision` records what it meant on "
        "the machine. CLI override: `--precision`."))
    seeds: list[int] = Field(default=[0], min_length=1, description=(
        "Seeds; a seed changes the data split and the training noise. Claims need at least 2."))
    epsilons: list[Epsilon] = Field(default=[math.inf], min_length=1, description=(
        "Privacy budgets ε; `inf` (or null) = non-private. Private methods run once per ε; δ is `tuning.delta` "
        "(default 1/N)."))
    models: ModelsConfig = Field(description="Target model and the source (see `models`).")
    datasets: DatasetsConfig = Field(description="Private and public data sets (see "
                                        "`datasets`).")
    budget: Budget = Field(Budget(), description="Sizes (see `budget`).")
    tuning: TuningConfig = Field(TuningConfig(), description="Prompt tuning and DP-SGD (see "
                                                "`tuning`).")
    methods: list[MethodEntry] = Field(min_length=1, description=(
        "Methods to run: names, or mappings `{name: post, …}` with the method's parameters (see `methods`). "
        "`post-bench ls methods` lists them."))
    attacks: list[AttackConfig] = Field([], description=(
        "Attacks on the methods' prompts (see `attacks`). `post-bench ls attacks` lists them."))
    gates: list[Gate] = Field(default=[], description="Checks the finished run must pass, else `post-bench run` "
                              "exits 3 (after writing results and report): `{claim: 1, must: hold}`, "
                              "`{metric: accuracy, method: post, epsilon: 8, min: 0.6}`, `{metric: auc, attack: "
                              "lira-online, method: post, epsilon: inf, max: 0.6}`, `{metric: tpr, fpr: 0.01, "
                              "max: 0.05}`, `{metric: eps_lb, max: 1}`; see docs/ci.md.")
    ray_address: str | None = Field(None, description=(
        "Ray cluster address for `--executor ray` (`--ray-address` and `RAY_ADDRESS` win)."))
    frontier: FrontierConfig | None = Field(None, description=(
        "Candidate sources and the rule choosing one, for `post-bench frontier` (see `frontier`)."))

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
