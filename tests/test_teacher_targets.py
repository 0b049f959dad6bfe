"""The teacher's cached top-k targets: the (k + 1)-bucket KL, its exactness at k = V, the cache round trip, and
distillation from cached targets on task-template rows."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from post_bench.models.distill import _collate, _logits_at, distill, template_blocks, truncate_model
from post_bench.models.teacher_targets import TeacherTargets, kept_kl, teacher_targets, topk_kl
from tests.test_distill import SETTINGS, TEXTS, model_of


def _full_kl(s, t, T):
    return F.kl_div(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), log_target=True, reduction="batchmean") * T * T


def _targets_of(t, k, T):
    top = t.topk(k, -1)
    return top.values, top.indices, torch.logsumexp(t / T, -1)


def test_topk_kl_is_the_full_kl_when_k_is_the_vocabulary():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 50, generator=g), 3 * torch.randn(6, 50, generator=g)
    assert topk_kl(s, *_targets_of(t, 50, 2.0), 2.0).item() == pytest.approx(_full_kl(s, t, 2.0).item(), rel=1e-5)


def test_topk_kl_is_a_lower_bound_zero_at_equality_and_grows_with_k():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(8, 200, generator=g), 4 * torch.randn(8, 200, generator=g)
    full = _full_kl(s, t, 2.0).item()
    kls = [topk_kl(s, *_targets_of(t, k, 2.0), 2.0).item() for k in (1, 8, 64, 200)]
    assert all(0 <= a <= b + 1e-6 for a, b in zip(kls, kls[1:])) and kls[-1] == pytest.approx(full, rel=1e-5)
    assert kls[0] < 0.5 * full  # one word and a bucket see much less than the whole distribution
    assert topk_kl(t, *_targets_of(t, 8, 2.0), 2.0).item() == pytest.approx(0.0, abs=1e-5)


@pytest.fixture(scope="module")
def gpt2():
    return model_of("tiny-gpt2:layers=4,hidden=64")


def _blocks_and_targets(gpt2, k=16):
    teacher, tok, _ = gpt2
    blocks = [tok(t)["input_ids"][:12] for t in TEXTS[:10]]
    targets = teacher_targets(lambda ids, mask, sel: _logits_at(teacher, ids, mask, sel),
                              blocks, lambda rows: _collate(rows, tok.pad_token_id, "cpu"), k=k, temperature=2.0,
                              batch_size=4)
    return blocks, targets


def test_targets_match_the_teacher_and_survive_the_cache(gpt2, tmp_path):
    teacher, tok, _ = gpt2
    blocks, targets = _blocks_and_targets(gpt2)
    assert targets.k == 16 and int(targets.offsets[-1]) == sum(len(b) for b in blocks)
    with torch.no_grad():
        logits = teacher(input_ids=torch.tensor([blocks[3]])).logits[0]
    values, indices, lse = targets.of_blocks([3])
    assert torch.equal(indices, logits.topk(16, -1).indices)
    assert torch.allclose(values, logits.topk(16, -1).values, atol=1e-2)  # stored as fp16
    assert torch.allclose(lse, torch.logsumexp(logits / 2.0, -1), atol=1e-5)
    targets.save(tmp_path / "t")
    again = TeacherTargets.load(tmp_path / "t")
    assert again.temperature == 2.0 and all(torch.equal(getattr(again, f), getattr(targets, f))
                                            for f in ("values", "indices", "lse", "offsets"))


def test_distillation_from_cached_targets_learns(gpt2):
    teacher, tok, kind = gpt2
    blocks, targets = _blocks_and_targets(gpt2, k=32)
    student = truncate_model(teacher, [0, -1])
    settings = {**SETTINGS, "steps": 12, "lr": 3e-3, "kd_weight": 1.0}
    curve = distill(teacher, student, tok, [], kind=kind, blocks=blocks, targets=targets, **settings)["kd_curve"]
    assert sum(curve[-3:]) < 0.8 * sum(curve[:3])
    with pytest.raises(ValueError, match="one entry per training block"):
        distill(teacher, student, tok, [], kind=kind, blocks=blocks[:5], targets=targets, **settings)


def test_template_rows_end_at_the_verbalizer(gpt2):
    from post_bench.models.backbone import Backbone

    teacher, tok, kind = gpt2
    bb = Backbone(teacher, tok, kind, "tiny")
    rows = template_blocks(bb, TEXTS[:6], ["Article: {text}\nTopic:", "Tweet: {text}\nAuthor:"], 12)
    assert len(rows) == 6 and all(len(r) <= 16 for r in rows)
    ends = {tok.decode(r[-2:]) for r in rows}
    assert ends == {"\nTopic:", "\nAuthor:"} or {e.split()[-1] for e in ends} == {"Topic:", "Author:"}


def test_label_word_kl_pulls_the_student_towards_the_teachers_ranking_at_the_last_token(gpt2):
    teacher, tok, kind = gpt2
    words = [tok(w)["input_ids"][0] for w in (" business", " sport", " tech")]
    blocks = [tok(t)["input_ids"][:12] for t in TEXTS[:10]]
    targets = teacher_targets(lambda ids, mask, sel: _logits_at(teacher, ids, mask, sel), blocks,
                              lambda rows: _collate(rows, tok.pad_token_id, "cpu"), k=8, temperature=2.0,
                              batch_size=4, kept_ids=words)
    with torch.no_grad():
        last = teacher(input_ids=torch.tensor([blocks[2]])).logits[0, -1, words]
    assert torch.allclose(targets.last_kept([2])[0], last, atol=1e-2)

    def label_gap(student):
        with torch.no_grad():
            s = torch.stack([student(input_ids=torch.tensor([b])).logits[0, -1] for b in blocks])
        return kept_kl(s, targets.last_kept(list(range(10))), targets.kept_ids, 2.0).item()

    settings = {**SETTINGS, "steps": 15, "lr": 3e-3, "kd_weight": 1.0}
    plain, weighted = truncate_model(teacher, [0, -1]), truncate_model(teacher, [0, -1])
    distill(teacher, plain, tok, [], kind=kind, blocks=blocks, targets=targets, **settings)
    distill(teacher, weighted, tok, [], kind=kind, blocks=blocks, targets=targets, label_words_weight=20.0, **settings)
    assert label_gap(weighted) < 0.5 * label_gap(plain)
