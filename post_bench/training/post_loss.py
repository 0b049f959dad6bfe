"""POST's loss (Wang et al., ICML 2025) at the verbalizer position, on logits over the shared vocabulary:
  α·T²·KL(σ((s_p − s_0)/T) ‖ σ((t_p − t_0)/T)) + (1 − α)·T²·KL(σ(s_p/T) ‖ σ(t_p/T)),
s_p / s_0: source with / without its prompt, t_p / t_0: target with / without the prompt being trained.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _kl(p_logits: torch.Tensor, q_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T²·KL(softmax(p/T) ‖ softmax(q/T)), mean over the batch."""
    log_p = F.log_softmax(p_logits / temperature, dim=-1)
    log_q = F.log_softmax(q_logits / temperature, dim=-1)
    return temperature**2 * F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")


def post_loss(s_p: torch.Tensor, s_0: torch.Tensor, t_p: torch.Tensor, t_0: torch.Tensor,
              alpha: float = 0.5, temperature: float = 2.0, columns: torch.Tensor | None = None) -> torch.Tensor:
    """POST's loss on [B, V] logits: α·(change the prompt causes) + (1 − α)·(prompted output) distillation.

    ``columns``: restrict both distributions to these vocabulary ids (the ``label_words`` ablation); ``None``
    is the paper's loss over the full vocabulary.
    """
    s_p, s_0, t_p, t_0 = (x.float() if columns is None else x.float()[:, columns] for x in (s_p, s_0, t_p, t_0))
    return alpha * _kl(s_p - s_0, t_p - t_0, temperature) + (1 - alpha) * _kl(s_p, t_p, temperature)
