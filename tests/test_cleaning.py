"""Raw-text cleaning: the rules on examples, and the offset map as a property."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_ner.corpus.cleaning import SENTENCE_END, CleanSentence, clean_line, clean_text, is_blank

REPO = Path(__file__).resolve().parents[1]


def test_whitespace_between_chinese_removed() -> None:
    assert clean_text("本 发明\u3000涉及\t一种\xa0方法").texts == ["本发明涉及一种方法"]


def test_whitespace_inside_latin_runs_becomes_dash() -> None:
    assert clean_text("SEQ ID  NO:\t1 所示").texts == ["SEQ-ID-NO:-1所示"]
    assert clean_text("TNF α 抑制剂").texts == ["TNF-α抑制剂"]
    assert clean_text("(a) 和 b").texts == ["(a)和b"]


def test_whitespace_between_latin_and_chinese_removed() -> None:
    assert clean_text("检测 BRCA1 基因").texts == ["检测BRCA1基因"]
    assert clean_text("全角 ＡＢ Ｃ").texts == ["全角ＡＢＣ"], "full-width letters are not a Latin run"


def test_leading_trailing_blank_lines_and_line_ends() -> None:
    raw = "\ufeff  第一行 \r\n\r\n\n  \u3000\n第二行\r第三行\u2028第四行  "
    assert clean_text(raw).texts == ["第一行", "第二行", "第三行", "第四行"]
    assert clean_text("").sentences == [] and clean_text(" \n\t\u3000\r\n").sentences == []


def test_zero_width_characters_join_without_dash() -> None:
    assert clean_text("BR\u200bCA1 蛋\u200b白").texts == ["BRCA1蛋白"]


def test_split_on_punct() -> None:
    raw = "本发明涉及一种方法。所述方法包括：检测！是否有效？是；“引文。”后续"
    assert clean_text(raw).texts == [raw]
    assert clean_text(raw, split_on_punct=True).texts == [
        "本发明涉及一种方法。",
        "所述方法包括：检测！",
        "是否有效？",
        "是；",
        "“引文。”",
        "后续",
    ]


def test_max_len_splits_only_long_lines() -> None:
    raw = "短句。短句。\n" + "这是一个很长的句子。" * 3
    got = clean_text(raw, max_len=8).texts
    assert got == ["短句。短句。", "这是一个很长的句子。", "这是一个很长的句子。", "这是一个很长的句子。"]
    assert clean_text("没有标点的长句子" * 4, max_len=5).texts == ["没有标点的长句子" * 4], "never truncated"
    with pytest.raises(ValueError):
        clean_text("x", max_len=0)


def test_to_original() -> None:
    raw = "本发明  涉及 PD  L1\t抗体"
    sent = clean_text(raw).sentences[0]
    assert sent.text == "本发明涉及PD-L1抗体"
    start = sent.text.index("PD-L1")
    a, b = sent.to_original(start, start + 5)
    assert raw[a:b] == "PD  L1"
    a, b = sent.to_original(0, len(sent.text))
    assert (a, b) == (0, len(raw)) and (sent.raw_start, sent.raw_end) == (0, len(raw))
    with pytest.raises(ValueError):
        sent.to_original(3, 3)
    with pytest.raises(ValueError):
        sent.to_original(0, len(sent.text) + 1)


def test_clean_line_range() -> None:
    raw = "xx a b yy"
    assert clean_line(raw, 2, 7) == ("a-b", [3, 4, 5])


def test_sample_raw_files() -> None:
    for path in sorted((REPO / "data" / "sample_raw").glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        cleaned = clean_text(raw, max_len=200)
        assert cleaned.sentences, path
        assert all(not any(is_blank(c) for c in s.text) for s in cleaned.sentences)


# property ------------------------------------------------------------------------

ALPHABET = (
    list("本发明涉及基因突变检测蛋白质疾病癌症")
    + list("BRCAkrasTPegfr")
    + list("0123456789")
    + list("-()/:;,.+α")
    + list("。！？；，：“”（）")
    + [" ", "  ", "\t", "\u3000", "\xa0", "\r\n", "\n", "\r", "\u200b", "\ufeff", "\u2028"]
)


@settings(max_examples=400, deadline=None)
@given(
    raw=st.lists(st.sampled_from(ALPHABET), max_size=80).map("".join),
    split_on_punct=st.booleans(),
    max_len=st.one_of(st.none(), st.integers(1, 20)),
)
def test_offsets_map_back_to_raw(raw: str, split_on_punct: bool, max_len: int | None) -> None:
    cleaned = clean_text(raw, split_on_punct=split_on_punct, max_len=max_len)
    assert cleaned.raw == raw
    seen: list[int] = []
    for sent in cleaned.sentences:
        assert isinstance(sent, CleanSentence) and sent.text
        assert len(sent.offsets) == len(sent.text)
        for ch, off in zip(sent.text, sent.offsets):
            if raw[off] != ch:
                assert ch == "-" and raw[off].isspace(), (ch, raw[off])
        assert all(not is_blank(c) for c in sent.text)
        assert all(x < y for x, y in zip(sent.offsets, sent.offsets[1:])), "strictly increasing"
        if split_on_punct or (max_len and len(sent.text) > max_len):
            assert not any(c in SENTENCE_END for c in sent.text[:-1].rstrip("”’」』）》】〕\"')]。！？；")), (
                "split after punctuation"
            )
        a, b = sent.to_original(0, len(sent.text))
        assert "\n" not in raw[a:b] and "\r" not in raw[a:b], "a sentence never crosses a line"
        seen.extend(o for c, o in zip(sent.text, sent.offsets) if raw[o] == c)
    assert all(x < y for x, y in zip(seen, seen[1:])), "sentences in order, no character twice"
    kept = [i for i, c in enumerate(raw) if not is_blank(c)]
    assert seen == kept, "every non-whitespace raw character appears exactly once"
