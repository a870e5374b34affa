"""Tag schemes: every scheme round-trips chunks and spans; the orphan/switch policy on examples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.corpus.schemes import (
    SCHEMES,
    chunks_to_spans,
    chunks_to_tags,
    detect_scheme,
    get_scheme,
    sentence_tags,
    spans_to_chunks,
    split_tag,
    tags_to_chunks,
)
from mrc_ner.errors import InputError

LABELS = ["gene", "protein", "disease"]


@st.composite
def chunked(draw: st.DrawFn, max_len: int = 25) -> tuple[int, list[tuple[int, int, str]]]:
    """A sequence length and random non-overlapping, possibly adjacent, chunks."""
    n = draw(st.integers(0, max_len))
    cuts = sorted(draw(st.sets(st.integers(0, n), max_size=2 * n + 2)))
    chunks = []
    for a, b in zip(cuts, cuts[1:]):
        if draw(st.booleans()):
            chunks.append((a, b, draw(st.sampled_from(LABELS))))
    return n, chunks


@settings(max_examples=400, deadline=None)
@given(data=chunked(), scheme=st.sampled_from(sorted(SCHEMES)))
def test_chunks_tags_round_trip(data: tuple[int, list], scheme: str) -> None:
    n, chunks = data
    tags = chunks_to_tags(chunks, n, scheme)
    assert len(tags) == n
    assert tags_to_chunks(tags, scheme) == chunks
    # the strict policy changes nothing on well-formed sequences
    assert tags_to_chunks(tags, scheme, orphan="drop", switch="drop") == chunks
    assert all(t == "O" or split_tag(t)[0] in SCHEMES[scheme].prefixes for t in tags)


WORD = st.text(alphabet="abcXYZ019-αβ基因癌", min_size=1, max_size=6)
CHAR = st.sampled_from(list("abcXYZ019-()α基因突变癌"))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(data=st.data(), char_level=st.booleans(), scheme=st.sampled_from(sorted(SCHEMES)))
def test_spans_tags_round_trip(data: st.DataObject, char_level: bool, scheme: str) -> None:
    n, chunks = data.draw(chunked())
    words = data.draw(st.lists(CHAR if char_level else WORD, min_size=n, max_size=n))
    sent = Sentence.from_tokens(words, char_level=char_level, spans_by_token=chunks)
    assert sent.text == ("" if char_level else " ").join(words)
    for sp in sent.spans:  # spans are aligned to token edges
        starts, ends = sent.token_index()
        assert sp.start in starts and sp.end in ends
    tags = sentence_tags(sent, scheme)
    back = chunks_to_spans(sent, tags_to_chunks(tags, scheme))
    assert back == sent.spans
    assert spans_to_chunks(sent, sent.spans) == chunks


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="本发明BRCA1基因和p53蛋白", min_size=1, max_size=30),
    data=st.data(),
    scheme=st.sampled_from(sorted(SCHEMES)),
)
def test_char_level_text_spans_round_trip(text: str, data: st.DataObject, scheme: str) -> None:
    """Random text, random non-overlapping character spans → Sentence → tags → the same spans."""
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = [Span(a, b, data.draw(st.sampled_from(LABELS))) for a, b in zip(cuts, cuts[1:]) if data.draw(st.booleans())]
    sent = Sentence.from_text(text, spans)
    back = chunks_to_spans(sent, tags_to_chunks(sentence_tags(sent, scheme), scheme))
    assert back == spans
    assert [sent.mention(s) for s in back] == [text[s.start : s.end] for s in spans]


# examples ---------------------------------------------------------------------------


def test_tag_writing_per_scheme() -> None:
    chunks = [(0, 1, "gene"), (1, 3, "gene"), (4, 5, "disease")]
    assert chunks_to_tags(chunks, 5, "IOB2") == ["B-gene", "B-gene", "I-gene", "O", "B-disease"]
    assert chunks_to_tags(chunks, 5, "IOB1") == ["I-gene", "B-gene", "I-gene", "O", "I-disease"]
    assert chunks_to_tags(chunks, 5, "BIOES") == ["S-gene", "B-gene", "E-gene", "O", "S-disease"]
    assert chunks_to_tags(chunks, 5, "BMES") == ["S-gene", "B-gene", "E-gene", "O", "S-disease"]
    assert chunks_to_tags([(0, 3, "gene")], 3, "BMES") == ["B-gene", "M-gene", "E-gene"]


def test_orphan_and_switch_policies() -> None:
    tags = ["O", "I-gene", "I-gene", "B-protein", "I-disease", "I-disease"]
    assert tags_to_chunks(tags) == [(1, 3, "gene"), (3, 4, "protein"), (4, 6, "disease")]
    assert tags_to_chunks(tags, orphan="drop") == [(3, 4, "protein"), (4, 6, "disease")]
    assert tags_to_chunks(tags, switch="drop") == [(1, 3, "gene"), (3, 4, "protein")]
    assert tags_to_chunks(["B-gene", "E-gene", "E-gene"], "BIOES") == [(0, 2, "gene"), (2, 3, "gene")]
    assert tags_to_chunks(["B-gene", "E-gene", "E-gene"], "BIOES", orphan="drop") == [(0, 2, "gene")]


def test_malformed_and_foreign_tags() -> None:
    for bad in ("B-", "-gene", "B", "", "Bgene"):
        with pytest.raises(ValueError, match="malformed tag"):
            tags_to_chunks(["O", bad])
    with pytest.raises(ValueError, match="not part of the IOB2 scheme"):
        tags_to_chunks(["M-gene"])
    with pytest.raises(ValueError, match="overlaps"):
        chunks_to_tags([(0, 2, "a"), (1, 3, "b")], 3)
    with pytest.raises(ValueError, match="outside"):
        chunks_to_tags([(2, 4, "a")], 3)


def test_scheme_lookup_and_detection() -> None:
    assert (
        get_scheme("iob").name == "IOB2" and get_scheme("IOBES").name == "BIOES" and get_scheme("bmes").name == "BMES"
    )
    with pytest.raises(InputError, match="unknown tagging scheme"):
        get_scheme("BILOU")
    assert detect_scheme(["B-a", "M-a", "E-a"]) == "BMES"
    assert detect_scheme(["S-a"]) == "BIOES"
    assert detect_scheme(["I-a", "O"]) == "IOB2"


def test_sentence_tags_resolves_overlaps() -> None:
    sent = Sentence.from_text("ABCDE", [Span(0, 2, "gene"), Span(0, 4, "protein"), Span(3, 5, "gene")])
    assert sentence_tags(sent) == ["B-protein", "I-protein", "I-protein", "I-protein", "O"]


def test_span_inside_token_snaps_outwards() -> None:
    sent = Sentence.from_tokens(["anti-BRCA1", "antibody"], char_level=False)
    assert spans_to_chunks(sent, [Span(5, 10, "gene")]) == [(0, 1, "gene")]
