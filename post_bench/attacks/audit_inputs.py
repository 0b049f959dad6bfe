"""Kept for callers of the former module: ``post-bench audit``'s input checks live in ``post_bench.audit``."""

from __future__ import annotations

from pathlib import Path

from post_bench.audit.inputs import audit_epsilon, check_prompt_fits

__all__ = ["audit_epsilon", "check_audit_inputs"]


def check_audit_inputs(prompt_path, prompt, *, model: str, dataset: str, epsilon: float | None, out_dir,
                       max_tokens: int) -> tuple[float | None, Path]:
    """(epsilon, a writable output folder) or a UserInputError naming the bad input (as before the
    ``post_bench.audit`` package; the audit itself stages its folder and never leaves a half-written one)."""
    from post_bench.atomic import writable_dir
    from post_bench.data import check_dataset_spec
    from post_bench.errors import UserInputError, problem

    epsilon = audit_epsilon(epsilon)
    check_prompt_fits(prompt_path, prompt, model, max_tokens)
    if not dataset.startswith("synthetic:") and (msg := check_dataset_spec(dataset)):
        raise UserInputError(problem("audit", "--dataset", msg))
    name = Path(prompt_path).name.removesuffix(".safetensors") or "prompt"
    return epsilon, writable_dir(Path(out_dir or f"audit-{name}"), "--out")
