"""POST step 1: a small source model = kept layers of the target, then knowledge-distilled from it.

``truncate_model`` keeps some transformer layers (embeddings, head and hidden size unchanged);
``distill`` trains the truncated student to match the teacher's token distributions on public text
(texts are packed into ``max_tokens`` blocks, so no step is spent on padding); ``lm_loss`` measures
the mean token cross-entropy on held-out texts; ``distil_source`` does all three for a distill unit's config.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from post_bench import cost
from post_bench.models.teacher_targets import TeacherTargets, kept_kl, teacher_targets, topk_kl
from post_bench.unit.schemas import DistillConfig

SETTINGS = ("steps", "batch_size", "max_tokens", "lr", "warmup", "grad_clip", "temperature", "kd_weight", "seed",
            "schedule", "freeze_embeddings")  # the DistillConfig keys ``distill`` takes as they are

_LAYER_PATHS = ("layers", "h", "encoder.layer")  # under model.base_model: Llama-style, GPT-2, BERT/RoBERTa


def _layer_owner(model) -> tuple[torch.nn.Module, str]:
    """(module holding the layer ModuleList, attribute name)."""
    for path in _LAYER_PATHS:
        owner, *parts = [model.base_model, *path.split(".")]
        for part in parts[:-1]:
            owner = getattr(owner, part, None)
        if owner is not None and isinstance(getattr(owner, parts[-1], None), torch.nn.ModuleList):
            return owner, parts[-1]
    raise ValueError(f"cannot find the transformer layers of {type(model).__name__}")


def n_layers(model) -> int:
    owner, attr = _layer_owner(model)
    return len(getattr(owner, attr))


def resolve_layers(layers, n: int) -> list[int]:
    """Layer indices (negative = from the end) as non-negative indices; ValueError when out of range."""
    out = []
    for i in layers:
        if not -n <= int(i) < n:
            raise ValueError(f"layer index {i} is out of range for a {n}-layer model; valid: {-n}..{n - 1}")
        out.append(int(i) % n)
    if not out or len(set(out)) != len(out):
        raise ValueError(f"layers must be non-empty and distinct, got {list(layers)} (= {out})")
    return out


def truncate_model(model, layers: list[int]):
    """A deep copy of ``model`` with only the given layers (in the given order), everything else unchanged."""
    keep = resolve_layers(layers, n_layers(model))
    student = copy.deepcopy(model)
    owner, attr = _layer_owner(student)
    kept = torch.nn.ModuleList([getattr(owner, attr)[i] for i in keep])
    setattr(owner, attr, kept)
    for new_idx, layer in enumerate(kept):  # KV-cache slots are indexed by layer_idx
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_idx
    cfg = student.config
    cfg.num_hidden_layers = len(keep)  # GPT-2 maps this to n_layer
    if isinstance(getattr(cfg, "layer_types", None), list | tuple):
        cfg.layer_types = [cfg.layer_types[i] for i in keep]
    cfg.architectures = [type(student).__name__]
    return student


# ---------------------------------------------------------------- batches
def _token_lists(tokenizer, texts, kind: str, max_tokens: int) -> list[list[int]]:
    """Token ids per non-empty text (causal: an EOS appended so packed texts stay separated)."""
    out = []
    for ids in tokenizer(list(texts), truncation=True, max_length=max_tokens)["input_ids"]:
        if kind == "causal" and tokenizer.eos_token_id is not None and (not ids or ids[-1] != tokenizer.eos_token_id):
            ids = [*ids, tokenizer.eos_token_id][:max_tokens]
        if len(ids) >= 2:
            out.append(ids)
    return out


def _pack(lists: list[list[int]], max_tokens: int) -> list[list[int]]:
    flat = [t for ids in lists for t in ids]
    return [flat[i:i + max_tokens] for i in range(0, len(flat), max_tokens) if len(flat[i:i + max_tokens]) >= 2]


def packed_blocks(tokenizer, texts, kind: str, max_tokens: int) -> list[list[int]]:
    """The texts' tokens packed into ``max_tokens`` blocks (an EOS between causal texts): no step pads."""
    return _pack(_token_lists(tokenizer, texts, kind, max_tokens), max_tokens)


def _collate(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids.to(device), mask.to(device)


def _mask_tokens(ids, mask, tokenizer, gen: torch.Generator, rate: float = 0.15):
    """BERT-style masking of real, non-special tokens: (inputs, labels with -100 where not masked)."""
    special = torch.tensor(tokenizer.all_special_ids, device=ids.device)
    can = mask.bool() & ~torch.isin(ids, special)
    r = torch.rand(ids.shape, generator=gen).to(ids.device)
    picked = can & (r < rate)
    if can.any() and not picked.any():  # at least one target per batch
        picked.view(-1)[can.view(-1).nonzero()[0]] = True
    labels = torch.where(picked, ids, torch.full_like(ids, -100))
    u = torch.rand(ids.shape, generator=gen).to(ids.device)  # 80% <mask>, 10% random, 10% kept
    inputs = torch.where(picked & (u < 0.8), torch.full_like(ids, tokenizer.mask_token_id), ids)
    rand = torch.randint(len(tokenizer), ids.shape, generator=gen).to(ids.device)
    return torch.where(picked & (u >= 0.8) & (u < 0.9), rand, inputs), labels


def _targets(ids, mask, kind, tokenizer, gen):
    """(model inputs, per-position LM labels): next token (causal) or masked tokens (MLM)."""
    if kind == "mlm":
        return _mask_tokens(ids, mask, tokenizer, gen)
    nxt = torch.full_like(ids, -100)
    nxt[:, :-1] = torch.where(mask[:, 1:].bool(), ids[:, 1:], -100)
    return ids, nxt


def _logits_at(model, inputs, mask, sel: torch.Tensor) -> torch.Tensor:
    """Vocabulary logits [N, V] at the selected positions only (the full head is the costly part)."""
    head = getattr(model, "lm_head", None)
    head = getattr(model, "cls", None) if head is None else head
    if head is None:
        return model(input_ids=inputs, attention_mask=mask).logits[sel]
    hidden = model.base_model(input_ids=inputs, attention_mask=mask)[0]
    return head(hidden[sel])


def count_params(model) -> int:
    """Parameters a token passes through: all but the input embeddings (unless tied to the head)."""
    n = sum(p.numel() for p in model.parameters())
    emb, out = model.get_input_embeddings(), model.get_output_embeddings()
    return n if out is not None and out.weight is emb.weight else n - emb.weight.numel()


# ---------------------------------------------------------------- training and evaluation
def distill(teacher, student, tokenizer, texts, *, kind: str, steps: int, batch_size: int, max_tokens: int,
            lr: float, warmup: int, grad_clip: float, temperature: float, kd_weight: float, seed: int,
            schedule: str = "cosine", freeze_embeddings: bool = False, names: tuple[str, str] = ("teacher", "student"),
            autocast: bool = False, blocks: list[list[int]] | None = None, targets: TeacherTargets | None = None,
            label_words_weight: float = 0.0) -> dict:
    """Train ``student`` in place: kd_weight·T²·KL(teacher_T ‖ student_T) + (1 − kd_weight)·LM loss.

    AdamW, linear warm-up then ``cosine`` (to 10% of lr) or ``constant``; grad-norm clipping.
    ``freeze_embeddings``: the input embeddings and the output head stay the teacher's (soft prompts live in
    the input-embedding space, so source and target prompts then share it exactly).
    ``autocast``: bf16 autocast for both forwards (weights, optimiser state and the losses stay fp32).
    ``blocks``: token-id rows to train on instead of ``texts`` packed into ``max_tokens`` blocks (e.g. texts in a
    task's template, one per row). ``targets``: the teacher's top-k targets of exactly these blocks
    (:mod:`post_bench.models.teacher_targets`), used instead of a teacher forward per step (causal LMs only).
    ``label_words_weight``: adds this weight times the KL on the targets' kept words (the tasks' label words) at
    each block's last token, the verbalizer position of a task row.
    Returns {"kd_curve": total loss per step, "steps"}.
    """
    blocks = packed_blocks(tokenizer, texts, kind, max_tokens) if blocks is None else blocks
    if targets is not None and (kind != "causal" or int(targets.offsets.numel()) != len(blocks) + 1
                                or targets.temperature != temperature
                                or (label_words_weight > 0 and targets.kept is None)):
        raise ValueError("cached teacher targets need a causal LM, one entry per training block, the same "
                         "temperature, and the label words' logits kept when label_words_weight > 0")
    if not blocks:
        raise ValueError("no public text to distil on (all texts empty)")
    device = next(student.parameters()).device
    torch.manual_seed(seed)
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    teacher.eval()
    params = _trainable(student, freeze_embeddings)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, warmup, steps, schedule))
    n_teacher, n_student = count_params(teacher), count_params(student)
    order, curve = [], []
    for _ in (bar := tqdm(range(steps), desc="distill", unit="step", dynamic_ncols=True, leave=False)):
        while len(order) < batch_size:
            order.extend(rng.permutation(len(blocks)).tolist())
        picked, order = order[:batch_size], order[batch_size:]
        ids, mask = _collate([blocks[i] for i in picked], tokenizer.pad_token_id, device)
        inputs, labels = _targets(ids, mask, kind, tokenizer, gen)
        if targets is None:
            loss = _kd_loss(teacher, student, inputs, mask, labels, temperature, kd_weight, autocast)
            cost.record(names[0], int(mask.bool().sum()), n_teacher, 1)
        else:
            loss = _cached_kd_loss(student, inputs, mask, labels, targets, picked, temperature, kd_weight, autocast,
                                   label_words_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
        opt.step()
        sched.step()
        cost.record(names[1], int(mask.bool().sum()), n_student, 3)
        curve.append(round(loss.item(), 5))
        bar.set_postfix(loss=f"{curve[-1]:.3f}")
    student.eval()
    student.requires_grad_(False)
    return {"kd_curve": curve, "steps": steps}


def lr_factor(step: int, warmup: int, steps: int, schedule: str) -> float:
    """The learning-rate multiplier at ``step``: linear warm-up, then 1 (``constant``) or a cosine to 0.1."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    if schedule == "constant":
        return 1.0
    t = (step - warmup) / max(1, steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t))


def _trainable(student, freeze_embeddings: bool) -> list[torch.nn.Parameter]:
    """Put the student in training mode; its trainable parameters (all but the embeddings and head if frozen)."""
    student.train()
    student.requires_grad_(True)
    if freeze_embeddings:
        for module in (student.get_input_embeddings(), student.get_output_embeddings()):
            if module is not None:
                module.requires_grad_(False)
    return [p for p in student.parameters() if p.requires_grad]


def _kd_loss(teacher, student, inputs, mask, labels, temperature: float, kd_weight: float, autocast: bool):
    """kd_weight·T²·KL(teacher_T ‖ student_T) + (1 − kd_weight)·LM loss at the real tokens of one batch."""
    sel, T = mask.bool(), temperature
    with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=autocast):
        with torch.inference_mode():
            t_logits = _logits_at(teacher, inputs, mask, sel).float()
        s_logits = _logits_at(student, inputs, mask, sel).float()
    kd = F.kl_div(F.log_softmax(s_logits / T, -1), F.log_softmax(t_logits / T, -1),
                  log_target=True, reduction="batchmean") * T * T
    loss = kd_weight * kd
    if kd_weight < 1:
        loss = loss + (1 - kd_weight) * F.cross_entropy(s_logits, labels[sel], ignore_index=-100)
    return loss


def _cached_kd_loss(student, inputs, mask, labels, targets: TeacherTargets, picked: list[int], temperature: float,
                    kd_weight: float, autocast: bool, label_words_weight: float = 0.0):
    """The loss of :func:`_kd_loss` with the teacher's cached top-k targets of the batch's real tokens in place of a
    teacher forward, plus ``label_words_weight`` × the KL on the kept label words at each row's last token."""
    sel = mask.bool()
    with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=autocast):
        s_logits = _logits_at(student, inputs, mask, sel).float()
    values, indices, lse = targets.of_blocks(picked)
    loss = kd_weight * topk_kl(s_logits, values, indices, lse, temperature)
    if label_words_weight > 0:
        last = mask.sum(1).cumsum(0) - 1  # each row's last real token among the selected ones
        loss = loss + label_words_weight * kept_kl(s_logits[last], targets.last_kept(picked), targets.kept_ids,
                                                   temperature)
    if kd_weight < 1:
        loss = loss + (1 - kd_weight) * F.cross_entropy(s_logits, labels[sel], ignore_index=-100)
    return loss


@torch.no_grad()
def lm_loss(model, tokenizer, texts, kind: str, max_tokens: int, batch_size: int = 16, seed: int = 0,
            name: str = "eval") -> float:
    """Mean token cross-entropy on ``texts`` (each on its own): next token, or 15% masked tokens (MLM)."""
    model.eval()
    device = next(model.parameters()).device
    rows = _token_lists(tokenizer, texts, kind, max_tokens)
    gen = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    for start in range(0, len(rows), batch_size):
        ids, mask = _collate(rows[start:start + batch_size], tokenizer.pad_token_id, device)
        inputs, labels = _targets(ids, mask, kind, tokenizer, gen)
        sel = labels != -100
        logits = _logits_at(model, inputs, mask, sel).float()
        total += float(F.cross_entropy(logits, labels[sel], reduction="sum"))
        count += int(sel.sum())
        cost.record(name, int(mask.sum()), count_params(model), 1)
    return total / max(1, count)


# ---------------------------------------------------------------- the source model of a suite
@dataclass(frozen=True)
class Distilled:
    """A distilled source: the student, the kept layers, the held-out LM loss of the teacher, of the truncated
    student before distillation and of the student after, the KD curve and the text counts."""

    student: Any
    layers: list[int]
    teacher_loss: float
    truncated_loss: float
    student_loss: float
    kd_curve: list[float]
    steps: int
    n_train: int
    n_heldout: int
    n_blocks: int = 0
    params: int = 0  # parameters a token passes through (count_params): the per-token compute
    teacher_params: int = 0


def split_public(texts, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out): 10% held out, at least 16 texts (at most half)."""
    texts = [t for t in texts if t.strip()]
    order = np.random.default_rng(seed + 1).permutation(len(texts))
    n_held = min(max(16, len(texts) // 10), len(texts) // 2)
    return [texts[i] for i in order[n_held:]], [texts[i] for i in order[:n_held]]


def template_blocks(backbone, texts: list[str], templates: list[str], max_tokens: int) -> list[list[int]]:
    """One row per text, each in one of ``templates`` (in turn) exactly as a task encodes it (the text truncated,
    never the template), so the teacher is imitated at the verbalizer position as well as on the text."""
    rows: list[list[int]] = []
    for j, template in enumerate(templates):
        share = texts[j::len(templates)]
        if share:
            rows.extend(list(ids) for ids in backbone.encode(share, template, max_tokens).ids)
    return [r for r in rows if len(r) >= 2]


def distil_source(backbone, texts: list[str], cfg: DistillConfig, templates: list[str] | None = None,
                  targets_of=None, label_ids: list[int] | None = None) -> Distilled:
    """``backbone``'s model truncated to ``cfg.layers`` and distilled from it on ``texts`` (less a held-out part,
    on which the teacher, the truncated student and the distilled student are measured). ``templates``: train on
    the texts in these task templates (one text per row) rather than packed. ``targets_of(blocks, compute)``:
    where ``cfg.teacher_top_k`` is set, returns the teacher's targets of the blocks (``compute()`` makes them;
    a cache may keep them). ``label_ids``: the tasks' label-word ids, for ``cfg.label_words_weight``."""
    teacher, tok, kind = backbone.model, backbone.tokenizer, backbone.kind
    train, held = split_public(texts, cfg.seed)
    layers = resolve_layers(cfg.layers, n_layers(teacher))
    student = truncate_model(teacher, layers)

    def loss(model, name="student") -> float:
        return round(lm_loss(model, tok, held, kind, cfg.max_tokens, cfg.batch_size, cfg.seed, name), 5)

    teacher_loss, truncated_loss = loss(teacher, backbone.name), loss(student)
    blocks = (template_blocks(backbone, train, templates, cfg.max_tokens) if templates
              else packed_blocks(tok, train, kind, cfg.max_tokens))
    targets = None
    if cfg.teacher_top_k:
        def compute() -> TeacherTargets:
            return _teacher_targets(backbone, blocks, cfg, label_ids if cfg.label_words_weight else None)
        targets = targets_of(blocks, compute) if targets_of else compute()
    out = distill(teacher, student, tok, train, kind=kind, names=(backbone.name, "student"), autocast=backbone.autocast,
                  blocks=blocks, targets=targets, label_words_weight=cfg.label_words_weight or 0.0,
                  **{k: getattr(cfg, k) for k in SETTINGS})
    return Distilled(student, layers, teacher_loss, truncated_loss, loss(student), out["kd_curve"], out["steps"],
                     len(train), len(held), len(blocks), count_params(student), count_params(teacher))


def _teacher_targets(backbone, blocks: list[list[int]], cfg: DistillConfig, kept_ids=None) -> TeacherTargets:
    teacher, tok = backbone.model, backbone.tokenizer
    device, n_teacher = next(teacher.parameters()).device, count_params(teacher)

    def logits_of(ids, mask, sel):
        with torch.autocast(ids.device.type, dtype=torch.bfloat16, enabled=backbone.autocast):
            return _logits_at(teacher, ids, mask, sel)

    return teacher_targets(logits_of, blocks, lambda rows: _collate(rows, tok.pad_token_id, device),
                           k=cfg.teacher_top_k, temperature=cfg.temperature, batch_size=4 * cfg.batch_size,
                           on_batch=lambda tokens: cost.record(backbone.name, tokens, n_teacher, 1), kept_ids=kept_ids)
