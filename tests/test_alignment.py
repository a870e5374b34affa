"""Alignment modes, UNK rate on the real patents, windows and batching helpers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_ner.corpus import read_corpus
from mrc_ner.corpus.model import Sentence, Span, word_sentence
from mrc_ner.encoding.alignment import align, spans_to_unit_chunks, subword_boundary_loss, unit_chunks_to_spans
from mrc_ner.encoding.batching import length_sorted_batches, pad_sequences
from mrc_ner.encoding.windows import owner_of_positions, plan_windows


def test_char_mode_one_token_per_character(e5):
    s = Sentence.from_text("本发明涉及BRCA1基因，ＨＥＲ２ 阳性")
    al = align(s, e5.tokenizer, "char")
    assert len(al.input_ids) == len(s.text) == len(al.units)
    assert al.token_unit == list(range(len(s.text)))
    vocab = e5.tokenizer.get_vocab()
    assert al.input_ids[5] in (vocab.get("B"), vocab.get("▁B"))  # Latin letters map to real pieces
    h = align(Sentence.from_text("H"), e5.tokenizer, "char").input_ids[0]
    assert al.input_ids[s.text.index("Ｈ")] == h  # full-width letters go through the normalizer
    assert al.unk_count == 0


@pytest.mark.slow
def test_unk_rate_on_cbp_gold_under_half_percent(e5, cbp_documents):
    corpus = read_corpus(cbp_documents)
    unk = total = 0
    for s in corpus.sentences:
        al = align(s, e5.tokenizer, "char")
        unk += al.unk_count
        total += len(al)
    assert total == 776_669
    assert unk / total < 0.005


@pytest.mark.slow
def test_subword_mode_is_shorter_and_reports_boundary_loss(e5, cbp_documents):
    sents = read_corpus(cbp_documents).sentences[:500]
    n_sub = sum(len(align(s, e5.tokenizer, "subword")) for s in sents)
    n_char = sum(len(s.text) for s in sents)
    assert n_sub < n_char
    lost, total = subword_boundary_loss(sents, e5.tokenizer)
    assert 0 < lost < total


def test_subword_units_cover_text_without_overlap(e5):
    s = Sentence.from_text("检测 PD-L1  抗体的方法 and HER2")
    al = align(s, e5.tokenizer, "subword")
    for (a, b), (c, d) in zip(al.units, al.units[1:]):
        assert a < b <= c < d
    covered = {i for a, b in al.units for i in range(a, b)}
    assert all(i in covered for i, ch in enumerate(s.text) if not ch.isspace())


def test_word_mode_labels_first_subtoken(e5):
    s = word_sentence("Germline mutations of BRCA1 cause breast-ovarian cancer .")
    al = align(s, e5.tokenizer, "word")
    assert len(al.units) == len(s.tokens)
    firsts = [u for u in al.token_unit if u >= 0]
    assert firsts == list(range(len(s.tokens)))


@given(st.lists(st.sampled_from(["ab", "BRCA1", "基因", "x", "癌", "-", "p53"]), min_size=1, max_size=12), st.data())
@settings(max_examples=60, deadline=None)
def test_unit_chunks_round_trip(words, data):
    s = Sentence.from_tokens(words, char_level=False)
    n = len(s.tokens)
    a = data.draw(st.integers(0, n - 1))
    b = data.draw(st.integers(a + 1, n))
    span = Span(s.tokens[a][0], s.tokens[b - 1][1], "gene")
    chunks = spans_to_unit_chunks(s.tokens, [span])
    assert chunks == [(a, b, "gene")]
    assert unit_chunks_to_spans(s.tokens, chunks) == [span]


@given(st.integers(1, 3000), st.integers(8, 300), st.integers(0, 100))
@settings(max_examples=200, deadline=None)
def test_windows_cover_everything_with_bounded_size(n, size, overlap):
    ws = plan_windows(n, size=size, overlap=overlap)
    assert ws[0][0] == 0 and ws[-1][1] == n
    assert all(0 < b - a <= size for a, b in ws)
    owner = owner_of_positions(n, ws)
    assert all(ws[w][0] <= p < ws[w][1] for p, w in enumerate(owner))


def test_owner_prefers_the_window_centre():
    ws = plan_windows(10, size=6, overlap=4)
    assert ws == [(0, 6), (2, 8), (4, 10)]
    assert owner_of_positions(10, ws)[4] == 1  # margin 2 in window 1, 1 in window 0


def test_length_sorted_batches_and_padding():
    lengths = [5, 1, 9, 3, 7, 2]
    batches = length_sorted_batches(lengths, 2)
    assert sorted(i for b in batches for i in b) == list(range(6))
    assert [max(lengths[i] for i in b) for b in batches] == [2, 5, 9]
    shuffled = length_sorted_batches(lengths, 2, shuffle=True, seed=3)
    assert sorted(i for b in shuffled for i in b) == list(range(6))
    assert shuffled == length_sorted_batches(lengths, 2, shuffle=True, seed=3)
    capped = length_sorted_batches([100, 100, 100, 10], 8, max_tokens=250)
    assert all(len(b) * max([100, 100, 100, 10][i] for i in b) <= 250 for b in capped)
    t = pad_sequences([[1, 2, 3], [4]], 0)
    assert t.tolist() == [[1, 2, 3], [4, 0, 0]]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["subword", "word"])
def test_long_sentence_aligns_without_the_tokenizers_too_long_warning(e5, mode):
    """A sentence past the encoder's limit is windowed later; the tokenizer must not warn that it is too long."""
    import logging

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(e5.path)  # a fresh tokenizer: it warns only once per instance
    text = "BRCA1 基因 突变 " * 200
    sent = Sentence.from_text(text) if mode == "subword" else word_sentence(text)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        al = align(sent, tok, mode)
    finally:
        logger.removeHandler(handler)
    assert len(al.input_ids) > tok.model_max_length
    assert not [r for r in records if "longer than the specified maximum" in r.getMessage()]


@pytest.mark.slow
def test_mixed_mode_cjk_characters_and_latin_pieces(e5, cbp_documents):
    s = Sentence.from_text("检测BRCA1突变和SMAD2-p53蛋白")
    al = align(s, e5.tokenizer, "mixed")
    text = s.text
    covered = [text[a:b] for a, b in al.units]
    assert "".join(covered) == text  # every character in exactly one unit, in order
    assert covered[:2] == ["检", "测"] and "突" in covered and "-" in covered
    pieces = [p for p in e5.tokenizer.tokenize("BRCA1") if p != "▁"]
    assert covered[2 : 2 + len(pieces)] == [p.lstrip("▁") for p in pieces]  # the tokenizer's own pieces
    assert len(al.input_ids) < len(text)  # shorter than char mode
    units_with_token = sorted(u for u in al.token_unit if u >= 0)
    assert units_with_token == list(range(len(al.units)))
    # the edge loss is the subword pieces' inside Latin runs only: far below subword mode's
    corpus = read_corpus(cbp_documents)
    lost = total = 0
    for sent in corpus.sentences[:1500]:
        a = align(sent, e5.tokenizer, "mixed")
        starts, ends = {u[0] for u in a.units}, {u[1] for u in a.units}
        for sp in sent.spans:
            total += 1
            lost += sp.start not in starts or sp.end not in ends
    sub_lost, sub_total = subword_boundary_loss(corpus.sentences[:1500], e5.tokenizer)
    assert total == sub_total and lost < sub_lost / 5 and lost / total < 0.005
