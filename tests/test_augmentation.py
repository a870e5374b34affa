"""Mention replacement: gold names swapped for other training names of their type, each epoch afresh."""

from __future__ import annotations

import random

import pytest
import torch

from mrc_ner.corpus.augmentation import name_pool, replace_in, replace_mentions, token_ranges
from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError
from mrc_ner.models import tagger_class
from mrc_ner.training import TrainArgs


def words(text: str, spans: list[tuple[int, int, str]], **kw) -> Sentence:
    """A word-level sentence split on spaces, spans given as token ranges."""
    return Sentence.from_tokens(text.split(), char_level=False, spans_by_token=spans, **kw)


def test_word_level_names_of_other_lengths_keep_spans_on_their_tokens():
    train = [
        words("mutations in breast cancer and colon cancer", [(2, 4, "disease"), (5, 7, "disease")], id="a:0"),
        words("patients with Lynch syndrome type II", [(2, 6, "disease")], id="a:1"),
    ]
    new, n = replace_mentions(train, rate=1.0, seed=0)
    assert n == 3
    for sentence in new:
        assert sentence.text == " ".join(sentence.words)  # tokens rebuilt over the new text
        names = [sentence.mention(s) for s in sentence.spans]
        assert all(s.label == "disease" for s in sentence.spans)
        assert set(names) <= {"breast cancer", "colon cancer", "Lynch syndrome type II"}
    assert [s.id for s in new] == ["a:0", "a:1"]
    # each mention became another name: "Lynch syndrome type II" is one of the other two
    assert new[1].mention(new[1].spans[0]) in {"breast cancer", "colon cancer"}
    assert new[1].text.startswith("patients with ") and len(new[1].spans) == 1
    first = [new[0].mention(s) for s in new[0].spans]
    assert first[0] != "breast cancer" and first[1] != "colon cancer"


def test_rate_zero_and_a_type_with_one_name_change_nothing():
    train = [
        Sentence.from_text("BRCA1突变", [Span(0, 5, "gene")]),
        Sentence.from_text("BRCA1表达", [Span(0, 5, "gene")]),
    ]
    for rate in (0.0, 1.0):  # one distinct gene name: nothing to swap it for
        new, n = replace_mentions(train, rate=rate, seed=0)
        assert n == 0 and new == train


def test_overlapping_or_unaligned_spans_leave_the_sentence_as_it_is():
    nested = Sentence.from_text("IL-2 receptor", [Span(0, 4, "protein"), Span(0, 13, "protein")])
    unaligned = words("the BRCA1 gene", [])
    unaligned.spans = [Span(5, 9, "gene")]  # inside the token BRCA1
    assert token_ranges(nested) is None and token_ranges(unaligned) is None
    pool = {"protein": [("X",), ("Y",)], "gene": [("X",), ("Y",)]}
    rng = random.Random(0)
    assert replace_in(nested, pool, 1.0, rng) == (nested, 0)
    assert replace_in(unaligned, pool, 1.0, rng) == (unaligned, 0)
    assert name_pool([nested, unaligned]) == {}


def test_the_draw_depends_on_seed_and_epoch_only_and_keeps_annotated_types():
    names = ["SMAD2", "BAMBI", "TP53", "KRAS", "EGFR", "MYC"]
    train = [
        Sentence.from_text(f"{n}基因", [Span(0, len(n), "gene")], id=f"d:{i}", annotated_types=frozenset({"gene"}))
        for i, n in enumerate(names)
    ]
    a, _ = replace_mentions(train, rate=0.5, seed=1, epoch=0)
    b, _ = replace_mentions(train, rate=0.5, seed=1, epoch=0)
    c, _ = replace_mentions(train, rate=0.5, seed=1, epoch=1)
    assert [s.text for s in a] == [s.text for s in b]
    assert [s.text for s in a] != [s.text for s in c]
    assert all(s.annotated_types == frozenset({"gene"}) and s.text.endswith("基因") for s in a + c)
    assert all(s.mention(s.spans[0]) in names for s in a + c)


def test_a_rate_outside_zero_to_one_is_refused():
    with pytest.raises(InputError, match="mention replacement rate must be in"):
        replace_mentions([], rate=1.5, seed=0)


@pytest.mark.slow
def test_training_sees_replaced_names_and_says_so(tmp_path, tiny_encoder, sample_cbp_corpus):
    """Same seed with and without replacement: the weights differ, and each epoch logs what it replaced."""
    sents = [s for s in sample_cbp_corpus.sentences if s.spans][:8]
    weights, logs = [], []
    for rate in (0.0, 0.5):
        t = tagger_class("softmax").create(str(tiny_encoder), ["disease", "gene", "protein"], max_length=64)
        lines: list[str] = []
        args = TrainArgs(epochs=2, batch_size=4, seed=5, mention_replacement=rate, out_dir=str(tmp_path / str(rate)))
        t.fit(sents, None, args, progress=False, log=lines.append)
        weights.append(t.state_dict())
        logs.append([x for x in lines if "training mentions replaced" in x])
    assert logs[0] == [] and [x.split(":")[0] for x in logs[1]] == ["epoch 1", "epoch 2"]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    with pytest.raises(InputError, match="mention_replacement must be in"):
        t.fit(sents, None, TrainArgs(epochs=1, mention_replacement=-0.1, out_dir=str(tmp_path / "bad")), progress=False)
