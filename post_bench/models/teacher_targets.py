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

    def __post_init__(self):
        n = self.values.shape[0]
        if self.indices.shape != self.values.shape or self.lse.shape != (n,) or int(self.offsets[-1]) != n:
            raise ValueError("teacher targets: values, indices, lse and offsets do not agree in size")

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
        save_file({"values": self.values, "indices": self.indices, "lse": self.lse, "offsets": self.offsets},
                  str(folder / "targets.safetensors"), metadata={"temperature": repr(self.temperature)})

    @classmethod
    def load(cls, folder: Path) -> TeacherTargets:
        from safetensors import safe_open  # deferred: only a cache read needs it

        with safe_open(str(folder / "targets.safetensors"), framework="pt") as f:
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
            temperature = float(f.metadata()["temperature"])
        return cls(tensors["values"], tensors["indices"], tensors["lse"], tensors["offsets"], temperature)


@torch.inference_mode()
def teacher_targets(logits_of, blocks: list[list[int]], collate, *, k: int, temperature: float, batch_size: int,
                    on_batch=None) -> TeacherTargets:
    """The top-``k`` targets of every block. ``logits_of(ids, mask, sel)`` gives the teacher's [n, V] logits at the
    selected positions, ``collate(rows)`` the (ids, mask) of some blocks; ``on_batch(tokens)`` is told each batch's
    token count (for the cost meter)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    values, indices, lse = [], [], []
    for start in tqdm(range(0, len(blocks), batch_size), desc="teacher targets", unit="batch", leave=False,
                      dynamic_ncols=True):
        ids, mask = collate(blocks[start:start + batch_size])
        logits = logits_of(ids, mask, mask.bool()).float()
        top = logits.topk(min(k, logits.shape[-1]), dim=-1)
        values.append(top.values.half())
        indices.append(top.indices.int())
        lse.append(torch.logsumexp(logits / temperature, dim=-1))
        if on_batch:
            on_batch(int(mask.sum()))
    offsets = torch.tensor([0, *torch.tensor([len(b) for b in blocks]).cumsum(0).tolist()], dtype=torch.long)
    return TeacherTargets(torch.cat(values), torch.cat(indices), torch.cat(lse), offsets, temperature)


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
