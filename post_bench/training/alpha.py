"""POST's ``alpha: auto`` (the paper's Eq. 6): α from the target's zero-shot accuracy and the source prompt's
accuracy on the source, both on a labelled validation split. That split is private, so an α chosen this way is
outside the transfer's DP guarantee (which covers post-processing of the source prompt only); the transfer
records how α was chosen."""

from __future__ import annotations

from post_bench.models.backbone import accuracy


def auto_alpha(zero_shot: float, compressed: float, chance: float) -> float:
    """The paper's Eq. 6: α = min((ZS − RG) / (C − RG), 1), clipped to [0, 1].

    ZS: the target's zero-shot accuracy, C: the source prompt's accuracy on the source, RG: random guessing.
    A source prompt no better than chance (C ≤ RG) gives α = 1: only the change it causes is transferred.
    """
    for name, value in (("zero_shot", zero_shot), ("compressed", compressed), ("chance", chance)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} accuracy must be in [0, 1], got {value}")
    if compressed <= chance:
        return 1.0
    return float(min(max((zero_shot - chance) / (compressed - chance), 0.0), 1.0))


def prompt_accuracy(backbone, enc, task, prompt) -> float:
    """Accuracy of ``backbone`` with the soft ``prompt`` (None: zero-shot) on the encoded labelled set ``enc``."""
    return accuracy(backbone.score_dataset(enc, backbone.label_token_ids(task), prompt), enc.labels)


def alpha_choice(zero_shot: float, compressed: float, num_classes: int, n_val: int) -> tuple[float, dict]:
    """(α, the record of how it was chosen) by Eq. 6, random guessing being 1 / ``num_classes``."""
    chance = 1.0 / num_classes
    alpha = auto_alpha(zero_shot, compressed, chance)
    return alpha, {"alpha": alpha, "zero_shot_val": zero_shot, "compressed_val": compressed, "chance": chance,
                   "n_val": n_val}
