"""The sentence splitter and word tokens of mrc_ner.corpus.sentences: exact offsets, abbreviations."""

from __future__ import annotations

import random

import pytest

from mrc_ner.corpus.model import word_tokens
from mrc_ner.corpus.sentences import merge_crossed, sentence_bounds


def texts(t: str, **kw) -> list[str]:
    return [t[a:b] for a, b in sentence_bounds(t, **kw)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Mutations (e.g. c.68_69delAG) were rare. They were not.",
            ["Mutations (e.g. c.68_69delAG) were rare.", "They were not."],
        ),
        ("See Fig. 2 for details. Table 1 lists them.", ["See Fig. 2 for details.", "Table 1 lists them."]),
        ("Smith et al. reported it in 2001. Others agreed.", ["Smith et al. reported it in 2001.", "Others agreed."]),
        ("IL-6 rose 3.5-fold (P < 0.05). It fell again.", ["IL-6 rose 3.5-fold (P < 0.05).", "It fell again."]),
        ("Was TNF-α elevated? Yes! It was.", ["Was TNF-α elevated?", "Yes!", "It was."]),
        ("i.e. the BRCA1 gene, vs. BRCA2. Done.", ["i.e. the BRCA1 gene, vs. BRCA2.", "Done."]),
    ],
)
def test_english_abbreviations_and_numbers(text, expected):
    assert texts(text) == expected


def test_line_breaks_always_end_a_sentence_and_blank_lines_give_none():
    t = "A title without a stop\r\n\r\n  Body one. Body two.  \n\u2028Last"
    assert texts(t) == ["A title without a stop", "Body one.", "Body two.", "Last"]


def test_cjk_text_is_split_after_its_stops():
    t = "检测BRCA1基因突变。PD-L1抗体用于治疗！结果如何？好"
    assert texts(t) == ["检测BRCA1基因突变。", "PD-L1抗体用于治疗！", "结果如何？", "好"]
    assert texts("BRCA1 is mutated. 检测。", char_level=True) == ["BRCA1 is mutated. 检测。"]


def test_offsets_exact_on_random_text():
    """Random mixtures of words, abbreviations, stops, spaces and line breaks: ranges are in order,
    trimmed, never overlapping, and cover every non-space character exactly once."""
    rng = random.Random(0)
    pieces = [
        "BRCA1",
        "e.g.",
        "Fig.",
        "3.5",
        "et al.",
        "α-syn",
        "Zürich",
        ".",
        "!",
        "?",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        "(",
        ")",
        "µg",
        "检测",
        "。",
    ]
    for _ in range(300):
        t = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        bounds = sentence_bounds(t)
        covered = []
        prev_end = 0
        for a, b in bounds:
            assert prev_end <= a < b <= len(t)
            assert not t[a].isspace() and not t[b - 1].isspace()
            assert "\n" not in t[a:b] and "\r" not in t[a:b]
            covered.extend(range(a, b))
            prev_end = b
        assert {i for i, c in enumerate(t) if not c.isspace()} <= set(covered)


def test_merge_crossed_joins_only_what_a_mention_crosses():
    assert merge_crossed([(0, 5), (6, 10), (11, 15), (16, 20)], [(3, 12), (17, 18)]) == [(0, 15), (16, 20)]
    assert merge_crossed([(0, 5)], [(7, 9)]) == [(0, 5)]  # outside every sentence: the caller reports it


def test_word_tokens_split_at_mention_edges():
    t = "anti-PD-L1antibody (µg/mL)"
    assert [t[a:b] for a, b in word_tokens(t)] == ["anti", "-", "PD", "-", "L1antibody", "(", "µg", "/", "mL", ")"]
    assert [t[a:b] for a, b in word_tokens(t, cuts=[5, 10])][2:6] == ["PD", "-", "L1", "antibody"]
