"""Zero-shot continuous prompt transfer (PTfer; Wu et al. 2023).

Each source prompt vector is encoded relative to A anchor tokens: its cosine similarities to the anchors'
SOURCE embeddings. The target prompt vectors are searched (Adam) so that their cosine similarities to the
same anchors' TARGET embeddings match, plus a small penalty keeping their norm near the target embeddings'
mean norm. Needs neither data nor forward passes: only the two embedding tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def relative(vectors: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Cosine similarities [P, A] of vectors [P, H] to anchor embeddings [A, H]."""
    return F.normalize(vectors, dim=-1) @ F.normalize(anchors, dim=-1).T


def pick_anchors(source_tokenizer, target_tokenizer, count: int) -> tuple[list[int], list[int]]:
    """(source ids, target ids) of the first ``count`` non-special tokens (BPE order ≈ frequency) that both
    vocabularies hold, matched by token string."""
    tgt_vocab = target_tokenizer.get_vocab()
    src_special, tgt_special = set(source_tokenizer.all_special_ids), set(target_tokenizer.all_special_ids)
    src, tgt = [], []
    for token, i in sorted(source_tokenizer.get_vocab().items(), key=lambda kv: kv[1]):
        if i in src_special or token not in tgt_vocab or tgt_vocab[token] in tgt_special:
            continue
        src.append(i)
        tgt.append(tgt_vocab[token])
        if len(src) == count:
            break
    if not src:
        raise ValueError("source and target tokenizers share no (non-special) token to use as an anchor")
    return src, tgt


def ptfer_transfer(source_prompt: torch.Tensor, source_embeddings: torch.Tensor, target_embeddings: torch.Tensor,
                   anchor_ids: Sequence[int], steps: int = 1000, lr: float = 0.01, seed: int = 0, *,
                   target_anchor_ids: Sequence[int] | None = None, norm_weight: float = 0.01
                   ) -> tuple[torch.Tensor, list[float]]:
    """Target prompt [P, H_t] with the source prompt's relative encoding; returns (prompt, relative-encoding MSE per step).

    ``anchor_ids`` index both tables unless ``target_anchor_ids`` gives the target's ids (other vocabulary).
    The search runs in units of the target's mean embedding norm, so ``lr`` does not depend on the scale.
    """
    src_anchor = source_embeddings.detach().float().cpu()[torch.as_tensor(list(anchor_ids))]
    tgt_table = target_embeddings.detach().float().cpu()
    tgt_anchor = tgt_table[torch.as_tensor(list(anchor_ids if target_anchor_ids is None else target_anchor_ids))]
    if len(src_anchor) != len(tgt_anchor):
        raise ValueError(f"{len(src_anchor)} source anchors but {len(tgt_anchor)} target anchors")
    goal = relative(source_prompt.detach().float().cpu(), src_anchor)  # [P, A]
    scale = tgt_table.norm(dim=-1).mean()
    gen = torch.Generator().manual_seed(seed)
    tgt_unit = F.normalize(tgt_anchor, dim=-1)
    z = F.normalize(torch.randn(goal.shape[0], tgt_table.shape[1], generator=gen), dim=-1).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    history = []
    for _ in range(steps):
        match = F.mse_loss(F.normalize(z, dim=-1) @ tgt_unit.T, goal)
        loss = match + norm_weight * ((z.norm(dim=-1) - 1) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        history.append(float(match.detach()))
    return z.detach() * scale, history
