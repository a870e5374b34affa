"""The patents paper's post-processing: each rule, its counts, and the report arithmetic."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
from mrc_ner.corpus.postprocess import (
    INVALID_SYMBOLS,
    PostprocessReport,
    postprocess_corpus,
    postprocess_spans,
    postprocess_tags,
)
from mrc_ner.corpus.schemes import SCHEMES, tags_to_chunks


def _run(text: str, tags: str, **kw):
    s = Sentence.from_text(text)
    spans, report = postprocess_tags(s, tags.split(), **kw)
    return [(s.mention(sp), sp.label) for sp in spans], report


# rule 1 --------------------------------------------------------------------------


def test_single_character_entities_dropped() -> None:
    got, rep = _run("癌和肺癌", "B-disease O B-disease I-disease")
    assert got == [("肺癌", "disease")]
    assert rep.single_char == Counter(disease=1)
    assert rep.kept == Counter(disease=1) and rep.removed == 1


def test_min_length_option() -> None:
    got, rep = _run("p53和KRAS", "B-protein I-protein I-protein O B-gene I-gene I-gene I-gene", min_length=4)
    assert got == [("KRAS", "gene")]
    assert rep.single_char == Counter(protein=1)
    got, rep = _run("癌", "B-disease", min_length=1)
    assert got == [("癌", "disease")] and rep.removed == 0


# rule 2 --------------------------------------------------------------------------


ORPHAN = ("TP53突变", "I-gene I-gene I-gene I-gene O O")


def test_orphan_repaired_by_default() -> None:
    got, rep = _run(*ORPHAN)
    assert got == [("TP53", "gene")]
    assert rep.orphan_repaired == Counter(gene=1)
    assert rep.orphan_dropped == Counter() and rep.removed == 0


def test_orphan_dropped_on_request() -> None:
    got, rep = _run(*ORPHAN, orphan="drop")
    assert got == []
    assert rep.orphan_dropped == Counter(gene=1)
    assert rep.orphan_repaired == Counter() and rep.kept == Counter()


def test_orphan_after_other_entity_and_o() -> None:
    text, tags = "肝癌和KRAS基因", "B-disease I-disease O I-gene I-gene I-gene I-gene O O"
    assert _run(text, tags)[0] == [("肝癌", "disease"), ("KRAS", "gene")]
    got, rep = _run(text, tags, orphan="drop")
    assert got == [("肝癌", "disease")] and rep.orphan_dropped == Counter(gene=1)


def test_type_switch_keeps_first_same_type_part() -> None:
    # B-gene I-gene I-protein I-protein: seqeval would give gene "BR" + protein "CA"
    got, rep = _run("BRCA蛋白", "B-gene I-gene I-protein I-protein O O")
    assert got == [("BR", "gene")]
    assert rep.type_switch == Counter(protein=1)
    assert rep.orphan_repaired == Counter()


def test_type_switch_then_new_entity() -> None:
    got, rep = _run("EGFR和VEGF", "B-gene I-gene I-disease I-disease O B-protein I-protein I-protein I-protein")
    assert got == [("EG", "gene"), ("VEGF", "protein")]
    assert rep.type_switch == Counter(disease=1) and rep.kept == Counter(gene=1, protein=1)


def test_switch_back_counts_as_orphan_of_the_policy() -> None:
    """B-gene I-protein I-gene: the protein part is a switch; the gene after it is an orphan."""
    tags = "B-gene I-gene I-protein I-protein I-gene I-gene"
    got, rep = _run("ABCDEF", tags)
    assert got == [("AB", "gene"), ("EF", "gene")]
    assert rep.type_switch == Counter(protein=1) and rep.orphan_repaired == Counter(gene=1)
    got, rep = _run("ABCDEF", tags, orphan="drop")
    assert got == [("AB", "gene")]
    assert rep.type_switch == Counter(protein=1) and rep.orphan_dropped == Counter(gene=1)


def test_rule2_bioes_scheme() -> None:
    got, rep = _run("ABCD", "B-gene E-protein B-gene E-gene", scheme="BIOES")
    assert got == [("CD", "gene")]  # "A" is a single character, E-protein a switch
    assert rep.type_switch == Counter(protein=1) and rep.single_char == Counter(gene=1)


def test_iob1_inside_is_no_orphan() -> None:
    got, rep = _run("ABCD", "I-gene I-gene B-gene I-gene", scheme="IOB1")
    assert got == [("AB", "gene"), ("CD", "gene")]
    assert rep.orphan_repaired == Counter() and rep.removed == 0


# rule 3 --------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", sorted(INVALID_SYMBOLS))
def test_invalid_symbol_entities_dropped(symbol: str) -> None:
    text = f"AB{symbol}C肺癌"
    got, rep = _run(text, "B-gene I-gene I-gene I-gene B-disease I-disease")
    assert got == [("肺癌", "disease")]
    assert rep.invalid_symbol == Counter(gene=1)


def test_invalid_symbols_option() -> None:
    got, rep = _run("A#B", "B-gene I-gene I-gene", invalid_symbols=frozenset("#"))
    assert got == [] and rep.invalid_symbol == Counter(gene=1)
    got, rep = _run("A?B", "B-gene I-gene I-gene", invalid_symbols=frozenset())
    assert got == [("A?B", "gene")]


def test_single_char_wins_over_invalid_symbol() -> None:
    _, rep = _run("?", "B-gene")
    assert rep.single_char == Counter(gene=1) and rep.invalid_symbol == Counter()


def test_postprocess_tags_errors() -> None:
    with pytest.raises(ValueError, match="2 tags for a sentence of 3 tokens"):
        postprocess_tags(Sentence.from_text("abc"), ["O", "O"])
    with pytest.raises(ValueError, match="malformed tag"):
        postprocess_tags(Sentence.from_text("a"), ["B-"])


def test_word_level_sentence() -> None:
    s = Sentence.from_tokens(["BRCA1", "and", "A", "cancer", "?"], char_level=False)
    spans, rep = postprocess_tags(s, ["B-gene", "O", "B-gene", "B-Disease", "I-Disease"])
    assert [s.mention(sp) for sp in spans] == ["BRCA1"]
    assert rep.single_char == Counter(gene=1) and rep.invalid_symbol == Counter(Disease=1)


# spans ---------------------------------------------------------------------------


def test_postprocess_spans() -> None:
    s = Sentence.from_text("p53和KRAS?基因", [Span(0, 3, "protein"), Span(0, 1, "gene"), Span(4, 9, "gene")])
    spans, rep = postprocess_spans(s)
    assert spans == [Span(0, 3, "protein")]
    assert rep.single_char == Counter(gene=1) and rep.invalid_symbol == Counter(gene=1)
    spans2, _ = postprocess_spans(s, [Span(4, 8, "gene")])
    assert spans2 == [Span(4, 8, "gene")]


# report --------------------------------------------------------------------------


def test_report_addition_and_dict() -> None:
    _, a = _run("癌和肺癌", "B-disease O B-disease I-disease")
    _, b = _run(*ORPHAN)
    total = a + b
    assert total.single_char == Counter(disease=1) and total.orphan_repaired == Counter(gene=1)
    assert total.kept == Counter(disease=1, gene=1)
    assert sum([a, b]) == total == sum([a, b], PostprocessReport())
    assert a.single_char == Counter(disease=1), "addition does not mutate"
    d = total.as_dict()
    assert d["single_char"] == {"disease": 1} and d["kept"] == {"disease": 1, "gene": 1}
    assert set(d) == {"single_char", "orphan_repaired", "orphan_dropped", "type_switch", "invalid_symbol", "kept"}


def test_postprocess_corpus_spans_and_tags() -> None:
    s1 = Sentence.from_text("肺癌和癌", [Span(0, 2, "disease"), Span(3, 4, "disease")])
    s2 = Sentence.from_text("KRAS?", [Span(0, 5, "gene")])
    corpus = Corpus([Document("a", [s1]), Document("b", [s2])], name="toy")
    out, rep = postprocess_corpus(corpus)
    assert [s.spans for s in out.sentences] == [[Span(0, 2, "disease")], []]
    assert rep.single_char == Counter(disease=1) and rep.invalid_symbol == Counter(gene=1)
    assert [d.id for d in out] == ["a", "b"] and out.documents[0].text == corpus.documents[0].text
    assert corpus.sentences[0].spans == [Span(0, 2, "disease"), Span(3, 4, "disease")], "input untouched"

    tags = [["I-disease", "I-disease", "O", "O"], ["B-gene", "I-gene", "I-protein", "I-protein", "O"]]
    out, rep = postprocess_corpus(corpus, tags=tags, orphan="drop")
    assert [s.spans for s in out.sentences] == [[], [Span(0, 2, "gene")]]
    assert rep.orphan_dropped == Counter(disease=1) and rep.type_switch == Counter(protein=1)
    with pytest.raises(ValueError, match="1 tag sequences for 2 sentences"):
        postprocess_corpus(corpus, tags=tags[:1])


# properties ----------------------------------------------------------------------

TAGS = ["O"] + [f"{p}-{t}" for p in "BIMES" for t in ("gene", "protein")]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), scheme=st.sampled_from(sorted(SCHEMES)), orphan=st.sampled_from(["repair", "drop"]))
def test_counts_account_for_every_chunk(data: st.DataObject, scheme: str, orphan: str) -> None:
    """default chunks = kept + every removal − repairs never double counted; policies only remove."""
    allowed = [t for t in TAGS if t == "O" or t[0] in SCHEMES[scheme].prefixes]
    tags = data.draw(st.lists(st.sampled_from(allowed), max_size=14))
    s = Sentence.from_text("".join(chr(0x4E00 + i) for i in range(len(tags))))
    spans, rep = postprocess_tags(s, tags, scheme=scheme, orphan=orphan, min_length=1)
    default = tags_to_chunks(tags, scheme)
    no_switch = tags_to_chunks(tags, scheme, switch="drop")
    final = tags_to_chunks(tags, scheme, orphan=orphan, switch="drop")  # type: ignore[arg-type]
    assert set(final) <= set(no_switch) <= set(default)
    assert len(default) == sum(rep.kept.values()) + rep.removed
    assert len(spans) == len(final) == sum(rep.kept.values())
