"""What only MRC can do: partly annotated corpora, types and queries at prediction time, nested spans, threshold."""

from __future__ import annotations

import numpy as np
import pytest

from mrc_ner.corpus.model import Span, word_sentence
from mrc_ner.decoding import mrc_candidates, nested_pairs
from mrc_ner.errors import InputError
from mrc_ner.evaluation.metrics import annotated_only, score_spans
from mrc_ner.models import tagger_class
from mrc_ner.models.threshold import best_threshold

LABELS = ["disease", "gene", "protein"]


def make(tiny_encoder, method="mrc", sentences=(), labels=LABELS, **kw):
    extra = {"train_sentences": list(sentences), "query_kind": "simple"} if method in ("mrc", "mrc-packed") else {}
    return tagger_class(method).create(str(tiny_encoder), labels, max_length=kw.pop("max_length", 64), **extra, **kw)


# ----------------------------------------------------------------------- decoding rules
def test_nested_pairs_keep_nesting_and_drop_coordinations():
    # [[IL-2 gene] expression]: one start, two ends → both spans
    assert nested_pairs([1, 0, 0], [0, 1, 1], max_length=10) == [(0, 2), (0, 3)]
    # IL-2 and IL-4: the long pair holds another start and another end → two mentions only
    assert nested_pairs([1, 0, 1], [1, 0, 1], max_length=10) == [(0, 1), (2, 3)]
    # [human [IL-2 receptor]]: shared end
    assert nested_pairs([1, 1, 0], [0, 0, 1], max_length=10) == [(0, 3), (1, 3)]
    # the length limit
    assert nested_pairs([1, 0, 0], [0, 1, 1], max_length=2) == [(0, 2)]


def test_threshold_trades_precision_for_recall_on_handmade_probabilities():
    start, end = np.array([0.9, 0.1, 0.4, 0.1]), np.array([0.2, 0.8, 0.1, 0.45])
    assert [(c.start, c.end) for c in mrc_candidates(start, end, "gene")] == [(0, 2)]
    assert [(c.start, c.end) for c in mrc_candidates(start, end, "gene", threshold=0.3)] == [(0, 2), (2, 4)]
    assert mrc_candidates(start, end, "gene", threshold=0.95) == []
    assert (
        best_threshold([{"threshold": 0.2, "f1": 0.5}, {"threshold": 0.4, "f1": 0.7}, {"threshold": 0.6, "f1": 0.7}])
        == 0.4
    )


def test_decode_handmade_logits_gives_nested_character_spans(tiny_encoder):
    t = make(tiny_encoder, labels=["DNA", "other_name", "protein"])
    t.align_mode = "word"
    s = word_sentence("IL-2 gene expression was induced")
    al = t.align(s)
    n = len(al.units)
    u = {s.text[a:b]: i for i, (a, b) in enumerate(al.units)}

    def flags(*idx):
        p = np.full(n, 0.02)
        p[list(idx)] = 0.97
        return p

    il2 = u["IL"]  # word units: IL - 2 gene expression …
    probs = {
        "protein": (flags(il2), flags(u["2"])),
        "DNA": (flags(il2), flags(u["gene"])),
        "other_name": (flags(il2), flags(u["expression"])),
    }
    nested = t.decode_probabilities(al, probs, nested=True)
    assert {(sp.start, sp.end, sp.label) for sp in nested} == {(0, 4, "protein"), (0, 9, "DNA"), (0, 20, "other_name")}
    assert [s.text[sp.start : sp.end] for sp in sorted(nested, key=lambda x: x.end)] == [
        "IL-2",
        "IL-2 gene",
        "IL-2 gene expression",
    ]
    flat = t.decode_probabilities(al, probs, nested=False)
    assert len(flat) == 1  # the flat resolution keeps one of the overlapping spans
    # same type nested: one start, two ends
    same = {"DNA": (flags(il2), flags(u["gene"], u["expression"]))}
    assert {(sp.start, sp.end) for sp in t.decode_probabilities(al, same, nested=True)} == {(0, 9), (0, 20)}
    assert {(sp.start, sp.end) for sp in t.decode_probabilities(al, same, nested=False)} == {(0, 9)}


def test_evaluator_scores_overlapping_spans_as_a_set():
    gold = [[Span(0, 4, "protein"), Span(0, 9, "DNA"), Span(0, 20, "other_name")]]
    pred = [[Span(0, 9, "DNA"), Span(0, 4, "protein"), Span(0, 9, "protein")]]
    micro = score_spans(gold, pred).micro
    assert (micro.correct, micro.predicted, micro.support) == (2, 3, 3)
    assert score_spans(gold, gold).micro.f1 == 1.0


# ----------------------------------------------------------------------- partly annotated corpora
def _marked(text: str, spans, types):
    s = word_sentence(text, spans=spans)
    s.annotated_types = frozenset(types)
    return s


def test_mrc_features_only_for_the_sentences_corpus_types(tiny_encoder):
    s = _marked("BRCA1 causes breast cancer", [Span(13, 26, "disease")], {"disease"})
    t = make(tiny_encoder, sentences=[s])
    feats = t.sentence_features(0, s, t.align(s), with_labels=True)
    assert {LABELS[f.type_index] for f in feats} == {"disease"}
    s.annotated_types = None
    assert {LABELS[f.type_index] for f in t.sentence_features(0, s, t.align(s), with_labels=True)} == set(LABELS)


def test_mrc_packed_masks_the_loss_of_unannotated_types(tiny_encoder):
    s = _marked("BRCA1 causes breast cancer", [Span(13, 26, "disease")], {"disease"})
    t = make(tiny_encoder, "mrc-packed", sentences=[s], max_length=96)
    (f,) = t.sentence_features(0, s, t.align(s), with_labels=True)
    for k, label in enumerate(LABELS):
        values = set(f.labels[f"start_labels_{k}"]) | set(f.labels[f"end_labels_{k}"])
        assert (values == {-100}) == (label != "disease")
    batch = t.collate([f])
    loss = t(batch)["loss"]
    assert loss.isfinite()


def test_scoring_keeps_each_sentences_own_types():
    s = _marked("BRCA1 causes breast cancer", [Span(13, 26, "disease")], {"disease"})
    pred = [[Span(0, 5, "gene"), Span(13, 26, "disease")]]
    assert annotated_only([s], pred) == [[Span(13, 26, "disease")]]


# ----------------------------------------------------------------------- types and queries at prediction time
def test_types_subset_and_free_text_query_for_a_new_type(tiny_encoder):
    s = word_sentence("BRCA1 causes breast cancer")
    t = make(tiny_encoder, labels=["disease"], sentences=[s])
    q = "Which genes are mentioned?"
    with t.using(queries={"gene": q}):
        assert t.asked_types == ["disease", "gene"]
        feats = t.sentence_features(0, s, t.align(s), with_labels=False)
        gene = [f for f in feats if f.type_index == 1]
        ids = t.tokenizer(q, add_special_tokens=False)["input_ids"]
        assert gene and all(f.input_ids[-len(ids) - 1 : -1] == ids for f in gene)
    assert t.asked_types == ["disease"]  # back to the trained types after the call
    with t.using(types=["gene"], queries={"gene": q}):
        assert t.asked_types == ["gene"]
    assert len(t.predict([s], types=["gene"], queries={"gene": q})) == 1
    with pytest.raises(InputError, match=r"not trained.*--query gene"):
        t.predict([s], types=["gene"])
    with pytest.raises(InputError, match="between 0 and 1"):
        t.predict([s], threshold=1.5)


def test_mrc_packed_takes_new_queries_too(tiny_encoder):
    s = word_sentence("BRCA1 causes breast cancer")
    t = make(tiny_encoder, "mrc-packed", labels=["disease"], sentences=[s], max_length=96)
    block = list(t.query_block)
    with t.using(queries={"gene": "Which genes?"}, types=["gene", "disease"]):
        assert t.asked_types == ["gene", "disease"] and len(t.query_offsets) == 2
        (f,) = t.sentence_features(0, s, t.align(s), with_labels=False)
        assert f.input_ids[-len(t.query_block) :] == t.query_block
    assert t.query_block == block
    preds = t.predict([s], queries={"gene": "Which genes?"})
    assert all(sp.label in ("disease", "gene") for sp in preds[0])


def test_sequence_labellers_refuse_queries_nested_and_threshold_but_take_types(tiny_encoder, sample_en_corpus):
    sents = sample_en_corpus.sentences[:3]
    t = make(tiny_encoder, "softmax", labels=["Disease", "Gene"])
    with pytest.raises(InputError, match="need an MRC model"):
        t.predict(sents, queries={"chemical": "Which chemicals?"})
    with pytest.raises(InputError, match="need an MRC model"):
        t.predict(sents, nested=True)
    with pytest.raises(InputError, match="need an MRC model"):
        t.configure(threshold=0.3)
    with pytest.raises(InputError, match="not trained"):
        t.predict(sents, types=["chemical"])
    assert all(sp.label == "Gene" for spans in t.predict(sents, types=["Gene"]) for sp in spans)


def test_configure_sets_defaults_and_calls_override_them(tiny_encoder):
    s = word_sentence("BRCA1 causes breast cancer")
    t = make(tiny_encoder, sentences=[s])
    t.configure(types=["gene"], threshold=0.2)
    assert t.asked_types == ["gene"] and t.settings.threshold == 0.2
    with t.using(types=["disease", "gene"]):
        assert t.asked_types == ["disease", "gene"] and t.settings.threshold == 0.2
    assert t.asked_types == ["gene"]


def test_using_blocks_nest_and_predict_inside_keeps_them(tiny_encoder):
    """``with t.using(threshold=...)`` then ``t.predict(x)`` predicts as ``t.predict(x, threshold=...)``."""
    s = word_sentence("BRCA1 causes breast cancer")
    t = make(tiny_encoder, sentences=[s])
    t.configure(threshold=0.99)
    low, default = t.predict([s], threshold=0.001), t.predict([s])
    assert low != default  # the check below can tell the two apart
    with t.using(threshold=0.001):
        assert t.predict([s]) == low
        with t.using(nested=True):
            assert t.settings.nested and t.settings.threshold == 0.001
        assert not t.settings.nested and t.settings.threshold == 0.001
    assert t.settings.threshold == 0.99 and t.predict([s]) == default
