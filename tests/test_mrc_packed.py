"""``mrc-packed``: all type queries in one input, query-conditioned heads, per-type MRC decoding."""

from __future__ import annotations

import pytest
import torch

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError
from mrc_ner.models import tagger_class

LABELS = ["disease", "gene", "protein"]


def make(tiny_encoder, method="mrc-packed", sentences=(), **kw):
    return tagger_class(method).create(
        str(tiny_encoder),
        LABELS,
        max_length=kw.pop("max_length", 96),
        train_sentences=list(sentences),
        query_kind="simple",
        **kw,
    )


def test_one_feature_per_window_with_every_query(tiny_encoder, sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences[:12]
    packed = make(tiny_encoder, sentences=sents)
    per_type = make(tiny_encoder, "mrc", sentences=sents)
    tok = packed.tokenizer
    feats, aligned = packed.features(sents, with_labels=True)
    assert len(feats) == len({(f.sentence, f.window) for f in feats})  # one feature per window, not per type
    for f in feats:
        s, al = sents[f.sentence], aligned[f.sentence]
        a, b = f.window
        assert len(f) <= packed.max_length
        assert f.input_ids[:1] == [tok.cls_token_id] and f.input_ids[1 : 1 + b - a] == al.input_ids[a:b]
        block = f.input_ids[len(f) - len(packed.query_block) :]
        assert block == packed.query_block and f.input_ids[b - a + 1] == tok.sep_token_id
        for k, label in enumerate(LABELS):  # the queries in label order, each closed by [SEP]
            off, n = packed.query_offsets[k]
            assert block[off : off + n] == per_type.query_ids[label] and block[off + n] == tok.sep_token_id
            starts, ends = per_type.unit_start_end(s, al, label)
            gold = [starts[u] for u in al.token_unit[a:b] if u >= 0]
            assert [v for v in f.labels[f"start_labels_{k}"] if v != -100] == gold
            assert [v for v in f.labels[f"end_labels_{k}"] if v != -100] == [
                ends[u] for u in al.token_unit[a:b] if u >= 0
            ]
        assert f.token_type_ids == [0] * (b - a + 2) + [1] * len(packed.query_block)


def test_query_vectors_are_the_mean_over_each_query(tiny_encoder, sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences[:6]
    t = make(tiny_encoder, sentences=sents)
    batch = t.collate(t.features(sents, with_labels=False)[0])
    h = torch.randn(batch["input_ids"].shape + (t.hidden_size,))
    r = t.query_vectors(h, batch["query_start"])
    assert r.shape == (len(batch["input_ids"]), len(LABELS), t.hidden_size)
    for row in range(r.shape[0]):
        q0 = int(batch["query_start"][row])
        assert batch["input_ids"][row, q0 : q0 + len(t.query_block)].tolist() == t.query_block  # padding comes after
        for k, (off, n) in enumerate(t.query_offsets):
            assert torch.allclose(r[row, k], h[row, q0 + off : q0 + off + n].mean(0), atol=1e-6)


def test_loss_gradients_and_shapes(tiny_encoder, sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences
    t = make(tiny_encoder, sentences=sents, options={"lambda": 1.0, "dropout": 0.0})
    batch = t.collate(t.features(sents[:4], with_labels=True)[0])
    out = t(batch)
    B, L = batch["input_ids"].shape
    assert out["start_logits"].shape == out["end_logits"].shape == (B, L, len(LABELS), 2)
    ends = torch.stack([batch[f"end_labels_{k}"] for k in range(len(LABELS))], -1)
    expected = torch.nn.functional.cross_entropy(out["end_logits"].reshape(-1, 2), ends.reshape(-1), ignore_index=-100)
    assert torch.allclose(out["loss"], expected)
    out["loss"].backward()
    assert t.start_head.weight.grad is not None and t.end_head.weight.grad.abs().sum() > 0
    assert t.end_head.in_features == 3 * t.hidden_size + 2


def test_long_sentence_decodes_like_per_type_mrc(tiny_encoder, monkeypatch):
    """A rule in place of the network: 甲 starts and 丙 ends a gene. Windows, seams and decoding match mrc's."""
    from mrc_ner.encoding.alignment import char_vocab

    seed = [Sentence.from_text("甲乙丙", [Span(0, 3, "gene")])]
    packed, per_type = make(tiny_encoder, sentences=seed), make(tiny_encoder, "mrc", sentences=seed)
    cv = char_vocab(packed.tokenizer)
    start_id, end_id = cv.lookup("甲"), cv.lookup("丙")
    gene = LABELS.index("gene")

    def flags(ids, marker, k):
        on = (ids == marker).float() * 10 - 5
        return torch.stack([torch.zeros_like(on), on if k == gene else torch.full_like(on, -5.0)], -1)

    def packed_forward(batch):
        ids = batch["input_ids"]
        return {
            "start_logits": torch.stack([flags(ids, start_id, k) for k in range(3)], 2),
            "end_logits": torch.stack([flags(ids, end_id, k) for k in range(3)], 2),
        }

    def mrc_forward(batch):
        ids, ti = batch["input_ids"], batch["type_index"]
        s = torch.stack([flags(ids[i : i + 1], start_id, int(ti[i])) for i in range(len(ids))]).squeeze(1)
        e = torch.stack([flags(ids[i : i + 1], end_id, int(ti[i])) for i in range(len(ids))]).squeeze(1)
        return {"start_logits": s, "end_logits": e}

    monkeypatch.setattr(packed, "forward", packed_forward)
    monkeypatch.setattr(per_type, "forward", mrc_forward)
    text, gold, pos = list("的" * 3000), [], 11
    while pos < 2950:
        length = 3 + pos % 7
        text[pos], text[pos + length - 1] = "甲", "丙"
        gold.append(Span(pos, pos + length, "gene"))
        pos += length + 23
    sents = [Sentence.from_text("".join(text)), Sentence.from_text(""), Sentence.from_text("甲乙丙")]
    got = packed.predict(sents)
    assert (
        [p.key for p in got[0]] == [g.key for g in gold]
        and got[1] == []
        and [p.key for p in got[2]] == [(0, 3, "gene")]
    )
    assert [[p.key for p in ps] for ps in got] == [[p.key for p in ps] for ps in per_type.predict(sents)]
    feats, _ = packed.features(sents[:1], with_labels=False)
    assert len(feats) > 30  # really windowed


@pytest.mark.slow
def test_packed_learns_the_sample(tiny_encoder, sample_cbp_corpus, tmp_path):
    """A few epochs on 24 sentences: training loss falls and the saved model predicts the same after loading."""
    from mrc_ner.models import load_tagger
    from mrc_ner.training import TrainArgs

    sents = sample_cbp_corpus.sentences[:24]
    t = make(tiny_encoder, sentences=sents)
    state = t.fit(
        sents,
        None,
        TrainArgs(
            epochs=6,
            batch_size=8,
            encoder_lr=3e-3,
            head_lr=3e-2,
            warmup_ratio=0.0,
            freeze_embeddings=False,
            out_dir=str(tmp_path / "m"),
        ),
        progress=False,
    )
    losses = [h["loss"] for h in state.history]
    assert losses[-1] < 0.5 * losses[0]
    loaded = load_tagger(tmp_path / "m")
    assert loaded.method == "mrc-packed" and loaded.predict(sents) == t.predict(sents)


def test_empty_queries_and_bad_end_heads_are_refused(tiny_encoder, sample_cbp_corpus):
    with pytest.raises(InputError, match="non-empty query"):
        tagger_class("mrc-packed").create(
            str(tiny_encoder), LABELS, max_length=96, options={"queries": {"disease": "", "gene": "g", "protein": "p"}}
        )
    with pytest.raises(InputError, match="end head"):
        make(tiny_encoder, sentences=sample_cbp_corpus.sentences, options={"end_head": "x"})
