"""Soft prompts: initialisation, and files in PEFT's prompt-tuning format.

A prompt directory holds ``adapter_config.json`` (peft's PromptTuningConfig fields) and
``adapter_model.safetensors`` with the tensor ``prompt_embeddings`` [P, H], so ``peft.PeftModel`` can load
it. A bare ``.safetensors`` file with one 2-D tensor is accepted too. Pickle-based files are refused.

``base_model_name_or_path`` is what peft resolves (the hub id of an offline alias, the absolute folder of a
``path:`` model; tiny test configs as named). What the prompt was tuned with travels in the safetensors
header (str -> str; peft ignores it, while unknown adapter_config.json keys make it warn): ``model`` (the
post-bench model name), ``template``, ``mlm_template``, ``label_words`` and ``class_names`` (JSON lists),
``instruction``, and provenance (``suite``, ``suite_hash``, ``method``, ``dataset``, ``epsilon``, ``seed``,
``post_bench_version``). :func:`adapter_task_options` reads the task back.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

import post_bench
from post_bench.errors import UserInputError, short_repr
from post_bench.models.loading import peft_base_model

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
TENSOR_KEY = "prompt_embeddings"
PICKLE_SUFFIXES = {".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt"}


def init_prompt(backbone, length: int, *, init: str = "text", text: str = "", seed: int = 0) -> torch.Tensor:
    """[P, H] prompt: embeddings of ``text`` repeated to P tokens (``text``), or of P random vocabulary
    tokens (``vocab``), or N(0, std of the embedding table) (``random``)."""
    if length < 1:
        raise ValueError(f"prompt length must be >= 1, got {length}")
    table = backbone.input_embeddings.weight.detach().float().cpu()
    gen = torch.Generator().manual_seed(seed)
    if init == "text":
        ids = backbone.tokenizer(text or "Classify the text.", add_special_tokens=False)["input_ids"]
        ids = (ids * (length // len(ids) + 1))[:length]
        return table[torch.tensor(ids)].clone()
    if init == "vocab":
        return table[torch.randint(0, min(table.shape[0], 5000), (length,), generator=gen)].clone()
    if init == "random":
        return torch.randn(length, table.shape[1], generator=gen) * table.std()
    raise ValueError(f"prompt init must be 'text', 'vocab' or 'random', got {init!r}")


def save_prompt(directory: str | Path, prompt: torch.Tensor, *, base_model: str, task_type: str = "CAUSAL_LM",
                init_text: str | None = None, tokenizer: str | None = None, metadata: dict | None = None) -> Path:
    """Write a PEFT prompt-tuning directory; ``metadata`` (values made str; lists and dicts as JSON) goes into
    the safetensors header, with ``model`` = ``base_model`` as post-bench names it."""
    model_name, base_model = base_model, peft_base_model(base_model)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if prompt.dim() != 2:
        raise ValueError(f"a prompt is [P, H], got shape {tuple(prompt.shape)}")
    config = {
        "peft_type": "PROMPT_TUNING",
        "task_type": task_type,
        "num_virtual_tokens": int(prompt.shape[0]),
        "token_dim": int(prompt.shape[1]),
        "num_transformer_submodules": 1,
        "num_attention_heads": None,
        "num_layers": None,
        "prompt_tuning_init": "TEXT" if init_text else "RANDOM",
        "prompt_tuning_init_text": init_text,
        "tokenizer_name_or_path": tokenizer or (base_model if init_text else None),
        "tokenizer_kwargs": None,
        "base_model_name_or_path": base_model,
        "inference_mode": True,
        "revision": None,
        "modules_to_save": None,
    }
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    meta = {"format": "pt", "model": model_name, "post_bench_version": _version()}
    meta.update({k: json.dumps(v) if isinstance(v, (list, tuple, dict)) else str(v)
                 for k, v in (metadata or {}).items()})
    save_file({TENSOR_KEY: prompt.detach().float().cpu().contiguous()}, str(directory / WEIGHTS_FILE), metadata=meta)
    return directory


def _version() -> str:
    return post_bench.__version__


def task_metadata(task, kind: str = "causal") -> dict:
    """The metadata keys that let others score a prompt as it was tuned: template (for ``kind``), both
    templates, label words, class names and instruction of a :class:`post_bench.data.Task`."""
    if task is None:
        return {}
    return {"template": task.template(kind), "causal_template": task.causal_template,
            "mlm_template": task.mlm_template, "label_words": [list(w) for w in task.label_words],
            "class_names": list(task.class_names), "instruction": task.instruction}


def run_metadata(ctx, cfg: dict, task=None, kind: str = "causal") -> dict:
    """Provenance of a prompt a unit writes (suite name and hash, data set, seed, ε) and its task."""
    suite = ctx.suite
    digest = hashlib.sha256(json.dumps(suite.model_dump(mode="json"), sort_keys=True, default=str).encode())
    out = {"suite": suite.name, "suite_hash": digest.hexdigest()[:12], "dataset": cfg.get("dataset"),
           "seed": cfg.get("seed"), "epsilon": cfg.get("epsilon")}
    return {**out, **task_metadata(task, kind)}


def adapter_task_options(info: dict) -> dict:
    """``custom_task`` options (template, mlm_template, label_words, instruction) from a prompt's metadata
    (as :func:`load_prompt` returns it); keys that are absent or unreadable are left out."""
    meta = info.get("metadata") or {}
    out: dict = {}
    if meta.get("causal_template") or meta.get("template"):
        out["template"] = meta.get("causal_template") or meta["template"]
    if meta.get("mlm_template"):
        out["mlm_template"] = meta["mlm_template"]
    if meta.get("instruction"):
        out["instruction"] = meta["instruction"]
    try:
        words = json.loads(meta["label_words"]) if meta.get("label_words") else None
    except ValueError:
        words = None
    if isinstance(words, list) and words and all(
            isinstance(w, str) or (isinstance(w, list) and w and all(isinstance(x, str) for x in w)) for w in words):
        out["label_words"] = [[w] if isinstance(w, str) else w for w in words]
    return out


def fetch_hub_prompt(spec: str) -> Path:
    """``hf:<repo>[@revision]`` -> a local folder with the adapter's adapter_config.json and
    adapter_model.safetensors (downloaded by huggingface_hub; needs a network). Other specs pass through."""
    if not spec.startswith("hf:"):
        return Path(spec)
    repo, _, revision = spec[3:].partition("@")
    if not repo or "/" not in repo:
        raise UserInputError(f"{spec}: expected hf:<owner>/<repo>[@revision]")
    from huggingface_hub import snapshot_download  # deferred: start-up time (huggingface_hub; network only)

    try:
        folder = snapshot_download(repo, revision=revision or None, allow_patterns=[CONFIG_FILE, WEIGHTS_FILE])
    except Exception as err:  # offline, unknown repo or revision, gated: one line, no traceback
        raise UserInputError(f"{spec}: cannot download the adapter ({type(err).__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
    return Path(folder)


COUNTS = ("num_virtual_tokens", "num_transformer_submodules", "token_dim")


def config_problem(path: Path, info) -> None:
    """adapter_config.json must be an object whose counts are positive integers (or null)."""
    if not isinstance(info, dict):
        raise UserInputError(f"{path}: expected a JSON object, got {type(info).__name__}; allowed: peft's "
                             "PromptTuningConfig fields")
    for key in COUNTS:
        value = info.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserInputError(f"{path}: {key}: {short_repr(value)} is not a count; allowed: an integer >= 1 or null")


def load_prompt(path: str | Path) -> tuple[torch.Tensor, dict]:
    """(prompt [P, H], info) from a PEFT prompt directory or a .safetensors file; never unpickles."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise UserInputError(f"{path}: pickle-based files ({', '.join(sorted(PICKLE_SUFFIXES))}) are refused and never "
                             "opened; allowed: a PEFT prompt-tuning directory or a .safetensors file")
    if not path.exists():
        raise UserInputError(f"{path}: no such file or directory")
    info: dict = {}
    if path.is_dir():
        cfg_path, weights = path / CONFIG_FILE, path / WEIGHTS_FILE
        if not weights.is_file():
            found = ", ".join(sorted(p.name for p in path.iterdir())) or "nothing"
            raise UserInputError(f"{path}: {WEIGHTS_FILE} missing (found {found}); allowed: a PEFT prompt-tuning "
                                 "directory (adapter_config.json + adapter_model.safetensors) or a .safetensors file")
        if cfg_path.is_file():
            try:
                info = json.loads(cfg_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise UserInputError(f"{cfg_path}: not valid JSON ({type(err).__name__})") from None
            config_problem(cfg_path, info)
            if info.get("peft_type") not in (None, "PROMPT_TUNING"):
                raise UserInputError(f"{cfg_path}: peft_type: {info.get('peft_type')!r} is not a soft prompt; "
                                     "allowed: PROMPT_TUNING")
            if info.get("num_transformer_submodules") not in (None, 1):
                raise UserInputError(f"{cfg_path}: num_transformer_submodules: {info['num_transformer_submodules']} "
                                     "(one prompt per encoder and decoder) is not supported; allowed: 1")
        path = weights
    elif path.suffix.lower() != ".safetensors":
        raise UserInputError(f"{path}: unsupported file type {path.suffix!r}; allowed: .safetensors or a PEFT directory")
    if not path.is_file():  # a FIFO or device named *.safetensors would block the reader forever
        raise UserInputError(f"{path}: not a regular file; allowed: a .safetensors file")
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = list(f.keys())
            info["metadata"] = dict(f.metadata() or {})
            key = TENSOR_KEY if TENSOR_KEY in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise UserInputError(f"{path}: no tensor {TENSOR_KEY!r} (found {', '.join(keys) or 'none'})")
            tensor = f.get_tensor(key)
    except UserInputError:
        raise
    except Exception as err:  # safetensors raises several error types on malformed headers
        raise UserInputError(f"{path}: not a readable safetensors file ({type(err).__name__}: {err})") from None
    if tensor.dim() == 3 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.dim() != 2 or min(tensor.shape) == 0:
        raise UserInputError(f"{path}: {key}: expected a 2-D [virtual tokens, hidden] tensor with at least one "
                             f"token, got shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor.float()).all():
        raise UserInputError(f"{path}: {key}: {int((~torch.isfinite(tensor.float())).sum())} values are NaN or "
                             "infinite; allowed: finite numbers")
    n_virtual = info.get("num_virtual_tokens")
    if n_virtual is not None and n_virtual * (info.get("num_transformer_submodules") or 1) != tensor.shape[0]:
        raise UserInputError(f"{path}: num_virtual_tokens={n_virtual} but the tensor has {tensor.shape[0]} rows")
    return tensor.float(), info
