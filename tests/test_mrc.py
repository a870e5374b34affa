"""The MRC tagger and the shared tagger machinery, on a tiny encoder."""

from __future__ import annotations

import pytest
import torch

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError
from mrc_ner.models import load_tagger, tagger_class
from mrc_ner.queries import build_queries, pick_examples

LABELS = ["disease", "gene", "protein"]


def make(tiny_encoder, method="mrc", sentences=(), **kw):
    extra = {"train_sentences": list(sentences)} if method == "mrc" else {}
    return tagger_class(method).create(str(tiny_encoder), LABELS, max_length=kw.pop("max_length", 64), **extra, **kw)


# ----------------------------------------------------------------------- queries
def test_queries_three_kinds(sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences
    ex = build_queries(["gene"], sents, kind="examples", template="zh")
    top = pick_examples(sents, "gene", k=3)
    assert ex["gene"] == "请找出文中的基因实体，例如" + "或".join(top) + "。"
    assert build_queries(["gene"], sents, kind="simple", template="en") == {"gene": "Can you detect gene entities?"}
    assert build_queries(["gene"], sents, kind="none") == {"gene": "none"}
    r1 = pick_examples(sents, "gene", k=2, select="random", seed=1)
    assert r1 == pick_examples(sents, "gene", k=2, select="random", seed=1) and len(r1) == 2
    with pytest.raises(InputError):
        build_queries(["gene"], sents, kind="bogus")


def test_distinct_examples_skip_shared_strings_and_spread_over_documents():
    def sent(doc: str, words: list[str], label: str = "gene") -> Sentence:
        text, spans = " ".join(words), []
        for w in words:
            start = text.index(w, spans[-1].end if spans else 0)
            spans.append(Span(start, start + len(w), label))
        return Sentence.from_text(text, spans, id=f"{doc}:0")

    sents = [
        sent("A", ["ksdA", "ksdA", "ksdA", "OMG", "OMG", "GPR17", "GPR17"]),
        sent("A", ["KsdA"], "protein"),
        sent("B", ["PFN2"]),
        sent("C", ["TP53"]),
        sent("D", ["TP53"]),
    ]
    assert pick_examples(sents, "gene", k=3) == ["ksdA", "GPR17", "OMG"]
    # ksdA is also a protein's name (case aside); TP53 is in the most documents; GPR17 shares OMG's document
    assert pick_examples(sents, "gene", k=3, select="distinct") == ["TP53", "GPR17", "PFN2"]
    # more examples than documents: the rest by rank, never an ambiguous one
    assert pick_examples(sents, "gene", k=9, select="distinct") == ["TP53", "GPR17", "PFN2", "OMG"]
    with pytest.raises(InputError, match="distinct"):
        pick_examples(sents, "gene", select="bogus")


def test_cbp_template_uses_descriptions(sample_cbp_corpus):
    q = build_queries(["disease"], sample_cbp_corpus.sentences, kind="simple", template="cbp")
    assert "疾病、病症" in q["disease"]


# ----------------------------------------------------------------------- features and masks
def test_mrc_features_layout_and_masks(tiny_encoder, sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences
    t = make(tiny_encoder, sentences=sents)
    s = next(x for x in sents if x.spans)
    al = t.align(s)
    feats = t.sentence_features(0, s, al, with_labels=True)
    assert len(feats) == len(LABELS) * len(t.windows(len(al.input_ids), max(map(len, t.query_ids.values()))))
    tok = t.tokenizer
    for f in feats:
        a, b = f.window
        q = t.query_ids[LABELS[f.type_index]]
        assert f.input_ids == [tok.cls_token_id] + al.input_ids[a:b] + [tok.sep_token_id] + q + [tok.sep_token_id]
        assert f.token_type_ids == [0] * (b - a + 2) + [1] * (len(q) + 1)
        assert len(f) <= t.max_length
        for key in ("start_labels", "end_labels"):
            lab = f.labels[key]
            assert lab[0] == -100 and all(v == -100 for v in lab[b - a + 1 :])  # no loss outside the context
            assert all(v in (0, 1) for v in lab[1 : b - a + 1])
    # gold starts/ends of one type match the sentence's spans
    sp = s.spans[0]
    starts, ends = t.unit_start_end(s, al, sp.label)
    assert starts[sp.start] == 1 and ends[sp.end - 1] == 1


@pytest.mark.parametrize("end_head", ["start_aware", "linear"])
def test_both_end_heads_train_and_predict(tiny_encoder, sample_cbp_corpus, end_head):
    sents = sample_cbp_corpus.sentences
    t = make(tiny_encoder, sentences=sents, options={"end_head": end_head})
    extra = 2 if end_head == "start_aware" else 0
    assert t.end_head.in_features == t.hidden_size + extra
    batch = t.collate(t.features(sents[:4], with_labels=True)[0])
    out = t(batch)
    out["loss"].backward()
    assert t.start_head.weight.grad is not None and t.end_head.weight.grad is not None
    assert out["start_logits"].shape[:2] == batch["input_ids"].shape
    # Heads that say "start" and "end" at every unit (P = sigmoid(5) ≈ 0.99): each start pairs with the
    # nearest end at or after it, so every unit is a one-unit mention of one type (flat), at its characters.
    with torch.no_grad():
        for head in (t.start_head, t.end_head):
            head.weight.zero_()
            head.bias.copy_(torch.tensor([0.0, 5.0]))
    preds = t.predict(sents[:5])
    assert len(preds) == 5
    for s, spans in zip(sents[:5], preds):
        assert sorted((sp.start, sp.end) for sp in spans) == sorted(t.align(s).units)
        assert all(sp.label in LABELS and s.text[sp.start : sp.end].strip() for sp in spans)


def test_loss_weights_start_and_end_by_lambda(tiny_encoder, sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences
    t = make(tiny_encoder, sentences=sents, options={"lambda": 1.0, "dropout": 0.0})
    t.eval()
    batch = t.collate(t.features(sents[:3], with_labels=True)[0])
    out = t(batch)
    expected = torch.nn.functional.cross_entropy(
        out["end_logits"].reshape(-1, 2), batch["end_labels"].reshape(-1), ignore_index=-100
    )
    assert torch.allclose(out["loss"], expected)


def test_pos_weight_weights_the_positive_positions(tiny_encoder, sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences
    t = make(tiny_encoder, sentences=sents, options={"lambda": 0.0, "dropout": 0.0, "pos_weight": 5.0})
    t.eval()
    batch = t.collate(t.features(sents[:3], with_labels=True)[0])
    out = t(batch)
    w = torch.tensor([1.0, 5.0])
    expected = torch.nn.functional.cross_entropy(
        out["start_logits"].reshape(-1, 2), batch["start_labels"].reshape(-1), weight=w, ignore_index=-100
    )
    assert torch.allclose(out["loss"], expected)
    plain = torch.nn.functional.cross_entropy(
        out["start_logits"].reshape(-1, 2), batch["start_labels"].reshape(-1), ignore_index=-100
    )
    assert not torch.allclose(out["loss"], plain)


@pytest.mark.parametrize("method", ["mrc", "mrc-packed"])
def test_prior_bias_starts_the_heads_at_the_share_of_positives(tiny_encoder, sample_cbp_corpus, method):
    sents = sample_cbp_corpus.sentences
    extra = {"train_sentences": list(sents), "query_kind": "simple"}
    t = tagger_class(method).create(str(tiny_encoder), LABELS, max_length=96, **extra)  # prior_bias is the default
    feats, _ = t.features(sents, with_labels=True)
    t.prepare_heads(feats)
    for head, prefix in ((t.start_head, "start_labels"), (t.end_head, "end_labels")):
        vals = [v for f in feats for k, ls in f.labels.items() if k.startswith(prefix) for v in ls if v >= 0]
        p = sum(vals) / len(vals)
        assert 0 < p < 0.2
        b = head.bias.detach()
        assert float(torch.sigmoid(b[1] - b[0])) == pytest.approx(p, rel=1e-4)
    off = tagger_class(method).create(str(tiny_encoder), LABELS, max_length=96, options={"prior_bias": False}, **extra)
    before = off.start_head.bias.detach().clone()
    off.prepare_heads(feats)
    assert torch.equal(off.start_head.bias.detach(), before)


def test_unknown_options_and_end_heads_are_input_errors(tiny_encoder, sample_cbp_corpus):
    with pytest.raises(InputError, match="no option"):
        make(tiny_encoder, sentences=sample_cbp_corpus.sentences, options={"bogus": 1})
    with pytest.raises(InputError, match="end head"):
        make(tiny_encoder, sentences=sample_cbp_corpus.sentences, options={"end_head": "x"})


# ----------------------------------------------------------------------- long sentences, seams
def _marker_ids(t):
    """Token ids of the marker characters 甲 乙 丙, checked to be distinct real pieces."""
    from mrc_ner.encoding.alignment import char_vocab

    cv = char_vocab(t.tokenizer)
    ids = [cv.lookup(c) for c in "甲乙丙的"]
    assert len(set(ids)) == 4 and cv.unk_id not in ids
    return ids[:3]


def test_long_sentence_windows_merge_across_seams_mrc(tiny_encoder, monkeypatch):
    """A 10,000-character sentence: one prediction per character, entities across seams intact.

    The encoder is replaced by a rule: 甲 starts a gene, 丙 ends it. Every entity is
    placed so that many straddle window seams.
    """
    t = make(tiny_encoder, sentences=[Sentence.from_text("甲乙丙", [Span(0, 3, "gene")])])
    start_id, _, end_id = _marker_ids(t)

    def forward(batch):
        ids = batch["input_ids"]
        gene = (batch["type_index"] == t.labels.index("gene")).view(-1, 1)
        s = torch.stack([torch.zeros_like(ids, dtype=torch.float), ((ids == start_id) & gene).float() * 10 - 5], -1)
        e = torch.stack([torch.zeros_like(ids, dtype=torch.float), ((ids == end_id) & gene).float() * 10 - 5], -1)
        return {"start_logits": s, "end_logits": e}

    monkeypatch.setattr(t, "forward", forward)
    text = list("的" * 10_000)
    gold = []
    pos = 17
    while pos < 9_950:
        length = 3 + pos % 11
        text[pos] = "甲"
        for k in range(pos + 1, pos + length - 1):
            text[k] = "乙"
        text[pos + length - 1] = "丙"
        gold.append(Span(pos, pos + length, "gene"))
        pos += length + 29
    sent = Sentence.from_text("".join(text))
    (pred,) = t.predict([sent])
    assert [p.key for p in pred] == [g.key for g in gold]
    feats, _ = t.features([sent], with_labels=False)
    assert len({f.window for f in feats}) > 100  # really windowed


def test_long_sentence_softmax_one_label_per_character(tiny_encoder, monkeypatch):
    t = make(tiny_encoder, method="softmax")
    start_id, inside_id, _ = _marker_ids(t)
    b_gene, i_gene = t.tag_names.index("B-gene"), t.tag_names.index("I-gene")

    def forward(batch):
        ids = batch["input_ids"]
        logits = torch.zeros(ids.shape + (t.num_tags,))
        logits[..., 0] = 1
        logits[..., b_gene] = (ids == start_id).float() * 5
        logits[..., i_gene] = (ids == inside_id).float() * 5
        return {"logits": logits}

    monkeypatch.setattr(t, "forward", forward)
    text = ("的" * 50 + "甲" + "乙" * 40) * 110  # 10,010 characters
    sent = Sentence.from_text(text)
    from mrc_ner.corpus.schemes import sentence_tags

    (pred,) = t.predict([sent])
    tags = sentence_tags(sent.with_spans(pred))
    assert len(tags) == len(text)
    assert len(pred) == 110 and all(sent.mention(p) == "甲" + "乙" * 40 for p in pred)


def test_every_sentence_gets_an_output_even_empty(tiny_encoder):
    t = make(tiny_encoder, method="softmax")
    out = t.predict([Sentence.from_text(""), Sentence.from_text("基因"), Sentence.from_text(" ")])
    assert len(out) == 3


# ----------------------------------------------------------------------- save / load
@pytest.mark.parametrize("method", ["mrc", "softmax"])
def test_save_load_identity(tmp_path, tiny_encoder, sample_cbp_corpus, method):
    sents = sample_cbp_corpus.sentences
    t = make(tiny_encoder, method=method, sentences=sents)
    torch.manual_seed(0)
    with torch.no_grad():  # make the heads predict something
        for p in t.head_parameters():
            p.add_(torch.randn_like(p))
    t.save(tmp_path / "m")
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "tokenizer.json"} <= files
    t2 = load_tagger(tmp_path / "m")
    assert type(t2) is type(t) and t2.options == t.options and t2.labels == t.labels
    t.eval()
    p1, p2 = t.predict(sents[:15]), t2.predict(sents[:15])
    assert p1 == p2 and sum(map(len, p1)) > 0
    for k, v in t.state_dict().items():
        assert torch.equal(v, t2.state_dict()[k]), k


def test_load_takes_saved_tensors_and_names_missing_ones(tmp_path, tiny_encoder, sample_cbp_corpus):
    """Loading builds the encoder without weights and takes the saved tensors; a tensor
    missing from the file is an InputError naming it, never a meta tensor left behind."""
    from safetensors.torch import load_file, save_file

    t = make(tiny_encoder, method="softmax", sentences=sample_cbp_corpus.sentences)
    t.save(tmp_path / "m")
    t2 = load_tagger(tmp_path / "m")
    assert not any(p.is_meta for p in t2.parameters()) and not any(b.is_meta for b in t2.buffers())
    state = load_file(str(tmp_path / "m" / "model.safetensors"))
    key = next(k for k in state if "encoder.layer.0" in k and k.endswith("weight"))
    del state[key]
    save_file(state, str(tmp_path / "m" / "model.safetensors"))
    with pytest.raises(InputError, match="weights do not match"):
        load_tagger(tmp_path / "m")


def test_load_errors_are_input_errors(tmp_path):
    with pytest.raises(InputError, match=r"config.json"):
        load_tagger(tmp_path)
    (tmp_path / "config.json").write_text("{bad", encoding="utf-8")
    with pytest.raises(InputError, match="invalid JSON"):
        load_tagger(tmp_path)
