"""``post-bench audit``'s input checks, run once the prompt is read and before any model is loaded or
shadow trained: ``--epsilon``, the model name and folder, the data set name, the prompt against the model's
shape (when its config tells it without loading weights) and the output folder (created now)."""

from __future__ import annotations

import math
from pathlib import Path

from post_bench.errors import UserInputError, problem


def audit_epsilon(epsilon: float | None) -> float | None:
    """``--epsilon``: a positive number; inf means non-private (like a suite's ``inf``)."""
    if epsilon is None or (math.isinf(epsilon) and epsilon > 0):
        return None
    if not epsilon > 0:  # also NaN
        raise UserInputError(problem("audit", "--epsilon", f"{epsilon} is not a privacy budget", "a number > 0, or inf"))
    return float(epsilon)


def check_audit_inputs(prompt_path, prompt, *, model: str, dataset: str, epsilon: float | None, out_dir,
                       max_tokens: int) -> tuple[float | None, Path]:
    """(epsilon, output folder) or a UserInputError naming the bad input. The prompt (as read by
    ``load_prompt``, which refuses pickles, FIFOs, bad configs and non-finite values) must fit the model."""
    from post_bench.atomic import writable_dir
    from post_bench.data import check_dataset_spec
    from post_bench.models.loading import check_model_spec, model_shape

    epsilon = audit_epsilon(epsilon)
    if msg := check_model_spec(model):
        raise UserInputError(problem("audit", "--model", msg))
    if not dataset.startswith("synthetic:") and (msg := check_dataset_spec(dataset)):
        raise UserInputError(problem("audit", "--dataset", msg))
    shape = model_shape(model)
    if shape is not None:
        if prompt.shape[1] != shape.hidden:
            raise UserInputError(f"{prompt_path}: prompt shape {tuple(prompt.shape)} does not fit model {model!r}: "
                                 f"hidden size {prompt.shape[1]} != model hidden size {shape.hidden}")
        if prompt.shape[0] + max_tokens > shape.positions:
            raise UserInputError(f"{prompt_path}: {prompt.shape[0]} virtual tokens + {max_tokens} text tokens exceed "
                                 f"the {shape.positions} positions of {model!r}; allowed: at most "
                                 f"{shape.positions - max_tokens} virtual tokens")
    name = Path(prompt_path).name.removesuffix(".safetensors") or "prompt"
    return epsilon, writable_dir(Path(out_dir or f"audit-{name}"), "--out")
