"""A frozen language model that scores classes at the verbalizer position, with an optional soft prompt.

The soft prompt (P virtual tokens) is prepended to the input embeddings, so every position shifts by P:
the verbalizer position of example i is ``P + position[i]`` (causal: its last real token; MLM: its mask).
Class scores use only the label words' rows of the output head; the full-vocabulary head is applied only
at the verbalizer position, and only when :meth:`vocab_logits` is asked for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from post_bench import cost
from post_bench.data.types import MASK, Task


@dataclass(frozen=True)
class Encoded:
    """Tokenised examples: token ids, the verbalizer index in each, and labels (or None)."""

    ids: tuple[tuple[int, ...], ...]
    positions: tuple[int, ...]
    labels: np.ndarray | None

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices) -> Encoded:
        idx = [int(i) for i in indices]
        return Encoded(
            tuple(self.ids[i] for i in idx),
            tuple(self.positions[i] for i in idx),
            None if self.labels is None else self.labels[idx],
        )

    @property
    def n_tokens(self) -> int:
        return sum(len(x) for x in self.ids)


@functools.cache
def _cpuinfo() -> str:
    """/proc/cpuinfo, read once per process ("" where there is none)."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matmuls natively (AVX512-BF16 or AMX), read from /proc/cpuinfo."""
    flags = _cpuinfo().split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def uses_bf16_autocast(precision: str, device: str | torch.device) -> bool:
    """Whether ``precision`` (auto, fp32 or bf16) runs the frozen model's matmuls under bf16 autocast on
    ``device``: bf16 always, fp32 never, auto where bf16 is native (CUDA with bf16, AVX512-BF16/AMX CPUs)."""
    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    if precision == "fp16":
        return False
    if precision != "auto":
        return precision == "bf16"
    return torch.cuda.is_bf16_supported() if torch.device(device).type == "cuda" else cpu_has_native_bf16()


def cpu_model_name() -> str | None:
    """The CPU's model name from /proc/cpuinfo (None where there is none)."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip() or None
    return None


class Backbone:
    def __init__(self, model, tokenizer, kind: str, name: str, device: str | torch.device = "cpu",
                 precision: str = "auto"):
        if kind not in ("causal", "mlm"):
            raise ValueError(f"kind must be 'causal' or 'mlm', got {kind!r}")
        self.model = model.to(device).eval()
        self.model.requires_grad_(False)
        self.tokenizer = tokenizer
        self.kind = kind
        self.name = name
        self.device = torch.device(device)
        self.base = model.base_model
        self.input_embeddings = model.get_input_embeddings()
        self.output_embeddings = model.get_output_embeddings()
        self.n_params = sum(p.numel() for p in model.parameters()) - self.input_embeddings.weight.numel()
        # bf16 autocast of the frozen model's matmuls (the prompt, logits and optimiser stay fp32). "auto": on
        # CUDA when supported and on CPUs with native bf16 (AVX512-BF16/AMX: ~3x faster); elsewhere bf16 is
        # emulated and many times slower than fp32 (seen on an AVX2-only EPYC: 63 s vs ~3 s per evaluation).
        self.autocast = uses_bf16_autocast(precision, self.device)
        # fp16: fp16 autocast on CUDA (training scales the loss with a GradScaler); refused on CPU by the checks
        self.autocast_dtype = torch.float16 if precision == "fp16" else torch.bfloat16
        if precision == "fp16":
            if self.device.type != "cuda":
                raise ValueError("precision fp16 needs a CUDA device; allowed on CPU: auto, fp32, bf16")
            self.autocast = True

    # ------------------------------------------------------------------ properties
    @property
    def hidden_size(self) -> int:
        return self.input_embeddings.weight.shape[1]

    @property
    def vocab_size(self) -> int:
        return self.input_embeddings.weight.shape[0]

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id

    # ------------------------------------------------------------------ tokenisation
    def encode(self, texts, template: str, max_tokens: int, labels=None) -> Encoded:
        """Fill ``template`` with each text, truncating the text (never the template) to ``max_tokens``."""
        tok = self.tokenizer
        if self.kind == "mlm":
            template = template.replace(MASK, tok.mask_token)
        overhead = len(tok(template.replace("{text}", ""))["input_ids"])
        budget = max(4, max_tokens - overhead)
        raw = tok(list(texts), add_special_tokens=False)["input_ids"]
        filled = [
            template.replace("{text}", tok.decode(ids[:budget]).strip() if len(ids) > budget else text)
            for ids, text in zip(raw, texts)
        ]
        ids = tok(filled)["input_ids"]
        if self.kind == "causal":
            positions = [len(x) - 1 for x in ids]
        else:
            positions = []
            for x in ids:
                if tok.mask_token_id not in x:
                    raise ValueError("MLM template lost its mask token in tokenisation")
                positions.append(x.index(tok.mask_token_id))
        lab = None if labels is None else np.asarray(labels, dtype=np.int64)
        return Encoded(tuple(tuple(x) for x in ids), tuple(positions), lab)

    def encode_task(self, texts, task: Task, max_tokens: int, labels=None) -> Encoded:
        return self.encode(texts, task.template(self.kind), max_tokens, labels)

    def label_token_ids(self, task: Task) -> list[list[int]]:
        """First sub-token of each label word, per class."""
        out = []
        for words in task.label_words:
            ids = []
            for word in words:
                pieces = self.tokenizer(word, add_special_tokens=False)["input_ids"]
                if not pieces:
                    raise ValueError(f"label word {word!r} tokenises to nothing")
                ids.append(pieces[0])
            out.append(ids)
        return out

    def collate(self, enc: Encoded, indices=None):
        """Right-padded (ids, attention mask, verbalizer positions) tensors on the device."""
        idx = range(len(enc)) if indices is None else indices
        seqs = [enc.ids[i] for i in idx]
        length = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), length), dtype=torch.long)
        for row, s in enumerate(seqs):
            ids[row, : len(s)] = torch.tensor(s)
            mask[row, : len(s)] = 1
        pos = torch.tensor([enc.positions[i] for i in idx], dtype=torch.long)
        return ids.to(self.device), mask.to(self.device), pos.to(self.device)

    # ------------------------------------------------------------------ forward
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.input_embeddings(ids)

    def hidden_at(self, ids, mask, pos, prompt: torch.Tensor | None = None, embeds: torch.Tensor | None = None):
        """Last-layer hidden state at the verbalizer position, [B, H].

        ``prompt``: None, [P, H] (shared) or [B, P, H] (one per example, e.g. stacked shadow prompts).
        """
        emb = self.embed(ids) if embeds is None else embeds
        B = emb.shape[0]
        if prompt is not None:
            if prompt.dim() == 2:
                prompt = prompt.unsqueeze(0).expand(B, -1, -1)
            P = prompt.shape[1]
            emb = torch.cat([prompt.to(emb.dtype), emb], dim=1)
            mask = torch.cat([mask.new_ones((B, P)), mask], dim=1)
            pos = pos + P
        n_tokens = int(mask.sum())
        passes = 2 if torch.is_grad_enabled() and emb.requires_grad else 1
        cost.record(self.name, n_tokens, self.n_params, passes)
        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast):
            out = self.base(inputs_embeds=emb, attention_mask=mask)
        hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state
        return hidden[torch.arange(B, device=hidden.device), pos].float()

    def head_transform(self, h: torch.Tensor) -> torch.Tensor:
        """What an MLM head does before its vocabulary projection (identity for causal LMs)."""
        m = self.model
        if self.kind == "causal":
            return h
        if hasattr(m, "lm_head") and hasattr(m.lm_head, "dense"):  # RoBERTa-style
            return m.lm_head.layer_norm(F.gelu(m.lm_head.dense(h)))
        if hasattr(m, "cls"):  # BERT-style
            return m.cls.predictions.transform(h)
        if hasattr(m, "vocab_transform"):  # DistilBERT
            return m.vocab_layer_norm(F.gelu(m.vocab_transform(h)))
        raise NotImplementedError(f"no head transform known for {type(m).__name__}")

    def _project(self, h: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        weight = self.output_embeddings.weight
        bias = getattr(self.output_embeddings, "bias", None)
        if self.kind == "mlm" and bias is None and hasattr(self.model, "lm_head"):
            bias = getattr(self.model.lm_head, "bias", None)
        if rows is not None:
            weight = weight[rows]
            bias = None if bias is None else bias[rows]
        return F.linear(self.head_transform(h), weight.to(h.dtype), None if bias is None else bias.to(h.dtype))

    def vocab_logits_from_hidden(self, h: torch.Tensor) -> torch.Tensor:
        return self._project(h)

    def vocab_logits(self, ids, mask, pos, prompt=None) -> torch.Tensor:
        """Full-vocabulary logits at the verbalizer position only, [B, V]."""
        return self._project(self.hidden_at(ids, mask, pos, prompt))

    def class_scores_from_hidden(self, h: torch.Tensor, label_ids: list[list[int]]) -> torch.Tensor:
        flat = [i for ids in label_ids for i in ids]
        rows = torch.tensor(flat, device=h.device)
        logits = self._project(h, rows)  # [B, n_words]
        if all(len(ids) == 1 for ids in label_ids):
            return logits
        avg = torch.zeros(len(label_ids), len(flat), device=h.device)
        col = 0
        for c, ids in enumerate(label_ids):
            avg[c, col : col + len(ids)] = 1.0 / len(ids)
            col += len(ids)
        return logits @ avg.T

    def class_scores(self, ids, mask, pos, label_ids, prompt=None) -> torch.Tensor:
        """Verbalizer class scores [B, C]: mean logit of each class's label words (no full head)."""
        return self.class_scores_from_hidden(self.hidden_at(ids, mask, pos, prompt), label_ids)

    # ------------------------------------------------------------------ batched helpers
    def batches(self, enc: Encoded, batch_size: int):
        """Index batches sorted by length (less padding); yields (indices, collated tensors)."""
        order = np.argsort([len(x) for x in enc.ids], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            yield idx, self.collate(enc, idx)

    @torch.inference_mode()
    def score_dataset(self, enc: Encoded, label_ids, prompt=None, batch_size: int = 32) -> np.ndarray:
        """Class scores [N, C] for every example (inference mode, eval)."""
        out = np.zeros((len(enc), len(label_ids)), dtype=np.float32)
        p = None if prompt is None else prompt.to(self.device)
        for idx, (ids, mask, pos) in self.batches(enc, batch_size):
            out[idx] = self.class_scores(ids, mask, pos, label_ids, p).cpu().numpy()
        return out

    @torch.inference_mode()
    def vocab_logits_dataset(self, enc: Encoded, prompt=None, batch_size: int = 32) -> torch.Tensor:
        out = torch.zeros((len(enc), self.vocab_size))
        p = None if prompt is None else prompt.to(self.device)
        for idx, (ids, mask, pos) in self.batches(enc, batch_size):
            out[torch.as_tensor(idx)] = self.vocab_logits(ids, mask, pos, p).float().cpu()
        return out


def accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float((scores.argmax(1) == labels).mean()) if len(labels) else float("nan")
