"""The teacher's distillation targets computed once: at every token of every block, its ``k`` largest logits, their
vocabulary ids and the log-partition ``logsumexp(logits / T)`` of the whole vocabulary.

With them the KD loss of a step needs no teacher forward (the teacher costs as much per token as the student's
forward and backward together, and the same blocks are seen again every epoch), and the KL is exact on the
coarsened distribution "each of the teacher's top k words, and everything else as one bucket" (:func:`topk_kl`):
the teacher's tail mass is ``1 - sum(top-k probabilities)``, the student's is the same sum over its own
probabilities of those words. That KL is a lower bound of the full-vocabulary KL, and equals it when the tail
holds no mass.

Targets live in memory and may be kept in a folder as safetensors (never pickled), keyed by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

_TAIL_FLOOR = 1e-8  # probabilities below this are taken as this (log of a tail that rounds to 0)


@dataclass(frozen=True)
class TeacherTargets:
    """Per token (all blocks concatenated): ``values`` [N, k] logits (fp16), ``indices`` [N, k] vocabulary ids,
    ``lse`` [N] logsumexp(logits / temperature) over the whole vocabulary; ``offsets[i]`` where block i starts."""

    values: torch.Tensor
    indices: torch.Tensor
    lse: torch.Tensor
    offsets: torch.Tensor
    temperature: float
    kept_ids: torch.Tensor | None = None  # [m] vocabulary ids whose logits are kept at every token (label words)
    kept: torch.Tensor | None = None  # [N, m] the teacher's logits of ``kept_ids``

    def __post_init__(self):
        n = self.values.shape[0]
        if self.indices.shape != self.values.shape or self.lse.shape != (n,) or int(self.offsets[-1]) != n:
            raise ValueError("teacher targets: values, indices, lse and offsets do not agree in size")
        if (self.kept is None) != (self.kept_ids is None) or (
                self.kept is not None and self.kept.shape != (n, self.kept_ids.numel())):
            raise ValueError("teacher targets: kept logits and their ids do not agree")

    def last_kept(self, blocks: list[int]) -> torch.Tensor:
        """The kept logits [len(blocks), m] at the last token of each block (a task row's verbalizer position)."""
        return self.kept[self.offsets[torch.tensor(blocks) + 1] - 1].float()

    @property
    def k(self) -> int:
        return self.values.shape[1]

    def of_blocks(self, blocks: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(values, indices, lse) of the given blocks' tokens, in block order (the order of a packed batch's
        real tokens, row by row)."""
        rows = torch.cat([torch.arange(int(self.offsets[b]), int(self.offsets[b + 1])) for b in blocks])
        return self.values[rows].float(), self.indices[rows].long(), self.lse[rows]

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file  # deferred: only a cache write needs it

        folder.mkdir(parents=True, exist_ok=True)
        tensors = {"values": self.values, "indices": self.indices, "lse": self.lse, "offsets": self.offsets}
        if self.kept is not None:
            tensors.update(kept=self.kept, kept_ids=self.kept_ids)
        save_file(tensors, str(folder / "targets.safetensors"), metadata={"temperature": repr(self.temperature)})

    @classmethod
    def load(cls, folder: Path) -> TeacherTargets:
        from safetensors import safe_open  # deferred: only a cache read needs it

        with safe_open(str(folder / "targets.safetensors"), framework="pt") as f:
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
            temperature = float(f.metadata()["temperature"])
        return cls(tensors["values"], tensors["indices"], tensors["lse"], tensors["offsets"], temperature,
                   tensors.get("kept_ids"), tensors.get("kept"))


@torch.no_grad()  # not inference_mode: the kept ids and logits are used in autograd later
def teacher_targets(logits_of, blocks: list[list[int]], collate, *, k: int, temperature: float, batch_size: int,
                    on_batch=None, kept_ids: list[int] | None = None) -> TeacherTargets:
    """The top-``k`` targets of every block. ``logits_of(ids, mask, sel)`` gives the teacher's [n, V] logits at the
    selected positions, ``collate(rows)`` the (ids, mask) of some blocks; ``on_batch(tokens)`` is told each batch's
    token count (for the cost meter); ``kept_ids``: vocabulary ids whose logits are kept at every token too."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    keep = torch.tensor(kept_ids, dtype=torch.long) if kept_ids else None
    values, indices, lse, kept = [], [], [], []
    for start in tqdm(range(0, len(blocks), batch_size), desc="teacher targets", unit="batch", leave=False,
                      dynamic_ncols=True):
        ids, mask = collate(blocks[start:start + batch_size])
        logits = logits_of(ids, mask, mask.bool()).float()
        top = logits.topk(min(k, logits.shape[-1]), dim=-1)
        values.append(top.values.half())
        indices.append(top.indices.int())
        lse.append(torch.logsumexp(logits / temperature, dim=-1))
        if keep is not None:
            kept.append(logits[:, keep].half())
        if on_batch:
            on_batch(int(mask.sum()))
    offsets = torch.tensor([0, *torch.tensor([len(b) for b in blocks]).cumsum(0).tolist()], dtype=torch.long)
    return TeacherTargets(torch.cat(values), torch.cat(indices), torch.cat(lse), offsets, temperature,
                          keep, torch.cat(kept) if keep is not None else None)


def kept_kl(student_logits: torch.Tensor, teacher_kept: torch.Tensor, kept_ids: torch.Tensor,
            temperature: float) -> torch.Tensor:
    """Mean over rows of T²·KL(teacher_T ‖ student_T) on the kept words only (both renormalised over them): at a
    task row's verbalizer position, how the teacher ranks the label words, which hold a tiny share of its whole
    distribution there and so weigh almost nothing in the full KL."""
    T = temperature
    log_p = F.log_softmax(teacher_kept / T, dim=-1)
    log_q = F.log_softmax(student_logits.float()[:, kept_ids] / T, dim=-1)
    return (log_p.exp() * (log_p - log_q)).sum(1).mean() * T * T


def topk_kl(student_logits: torch.Tensor, values: torch.Tensor, indices: torch.Tensor, lse: torch.Tensor,
            temperature: float) -> torch.Tensor:
    """Mean over tokens of T²·KL(teacher_T ‖ student_T) on the (k + 1)-bucket distribution: the teacher's top k
    words, and the rest of the vocabulary as one bucket."""
    T = temperature
    log_q = F.log_softmax(student_logits.float() / T, dim=-1).gather(1, indices)
    log_p = values / T - lse[:, None]
    p = log_p.exp()
    p_tail = (1 - p.sum(1)).clamp_min(_TAIL_FLOOR)
    q_tail = (1 - log_q.exp().sum(1)).clamp_min(_TAIL_FLOOR)
    kl = (p * (log_p - log_q)).sum(1) + p_tail * (p_tail.log() - q_tail.log())
    return kl.mean() * T * T
