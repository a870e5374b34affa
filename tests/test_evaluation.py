"""The evaluation layer: hand-computed examples, seqeval on real and random data, aggregation."""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from seqeval.metrics import classification_report

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.corpus.readers import read_corpus
from mrc_ner.corpus.schemes import chunks_to_spans, sentence_tags, spans_to_chunks, tags_to_chunks
from mrc_ner.errors import InputError
from mrc_ner.evaluation import (
    Scores,
    TypeScore,
    aggregate,
    format_mean_std,
    match_partial,
    mean_std,
    mutual_f1,
    paired_ttest,
    score_sentences,
    score_spans,
    scores_table,
    summary_table,
)

TOL = 1e-9


# --------------------------------------------------------------------------- helpers


def seqeval_report(y_true: list[list[str]], y_pred: list[list[str]]) -> dict:
    """seqeval's default-mode report (mode=None, scheme=None), its warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return classification_report(y_true, y_pred, output_dict=True, digits=6)


def assert_same_as_seqeval(ours: Scores, theirs: dict) -> None:
    """Every per-type and average figure equal to seqeval's to 1e-9."""
    averages = {"micro avg": ours.micro, "macro avg": ours.macro, "weighted avg": ours.weighted}
    assert set(theirs) == set(ours.per_type) | set(averages)
    rows = {**ours.per_type, **averages}
    for name, row in rows.items():
        ref = theirs[name]
        if name == "macro avg" and not ours.per_type:
            assert math.isnan(ref["f1-score"])  # seqeval: mean of nothing; we say 0.0
            assert (ours.macro.precision, ours.macro.recall, ours.macro.f1) == (0.0, 0.0, 0.0)
            continue
        assert row.precision == pytest.approx(ref["precision"], abs=TOL), name
        assert row.recall == pytest.approx(ref["recall"], abs=TOL), name
        assert row.f1 == pytest.approx(ref["f1-score"], abs=TOL), name
        assert row.support == int(ref["support"]), name


def spans_of_tags(sentence: Sentence, tags: list[str]) -> list[Span]:
    """Predicted spans the way the evaluator receives them: IOB2 tags → chunks (default policy) → spans."""
    return chunks_to_spans(sentence, tags_to_chunks(tags))


def perturb_tags(sentence: Sentence, labels: list[str], rng: random.Random) -> list[str]:
    """A noisy IOB2 prediction for ``sentence``: shifted boundaries, changed types,
    dropped and added mentions, and stray tags (orphan ``I-``, type switches)."""
    n = len(sentence.tokens)
    chunks = []
    for a, b, label in spans_to_chunks(sentence, sentence.spans):
        r = rng.random()
        if r < 0.15:
            continue  # dropped
        if r < 0.30:
            label = rng.choice(labels)  # type changed (maybe to the same)
        elif r < 0.50:
            a = min(max(0, a + rng.randint(-2, 2)), n - 1)
            b = min(max(a + 1, b + rng.randint(-2, 2)), n)
        chunks.append((a, b, label))
    for _ in range(rng.randint(0, 2)):  # invented mentions
        a = rng.randrange(n)
        chunks.append((a, min(n, a + rng.randint(1, 6)), rng.choice(labels)))
    tags = ["O"] * n
    for a, b, label in chunks:  # later chunks overwrite earlier ones: overlaps make odd sequences
        tags[a] = f"B-{label}"
        for i in range(a + 1, b):
            tags[i] = f"I-{label}"
    for _ in range(rng.randint(0, 2)):  # stray continuation tags: orphans and type switches
        tags[rng.randrange(n)] = f"I-{rng.choice(labels)}"
    return tags


def check_against_seqeval(sentences: list[Sentence], labels: list[str], rng: random.Random) -> Scores:
    gold_tags = [sentence_tags(s) for s in sentences]
    pred_tags = [perturb_tags(s, labels, rng) for s in sentences]
    ours = score_spans([s.spans for s in sentences], [spans_of_tags(s, t) for s, t in zip(sentences, pred_tags)])
    assert_same_as_seqeval(ours, seqeval_report(gold_tags, pred_tags))
    return ours


# --------------------------------------------------------------------------- hand-computed

G, D, P = "gene", "disease", "protein"
GOLD = [[Span(0, 5, G), Span(9, 12, D)], [Span(0, 3, P), Span(5, 8, G)]]
PRED = [[Span(0, 5, G), Span(8, 12, D)], [Span(0, 3, G)]]


def test_strict_hand_computed():
    s = score_spans(GOLD, PRED)
    assert list(s.per_type) == [D, G, P]
    assert s.per_type[G] == TypeScore(0.5, 0.5, 0.5, support=2, predicted=2, correct=1)
    assert s.per_type[D] == TypeScore(0.0, 0.0, 0.0, support=1, predicted=1, correct=0)
    assert s.per_type[P] == TypeScore(0.0, 0.0, 0.0, support=1, predicted=0, correct=0)  # precision 0/0 → 0
    assert (s.micro.precision, s.micro.recall) == pytest.approx((1 / 3, 1 / 4))
    assert s.micro.f1 == pytest.approx(2 / 7)
    assert (s.micro.support, s.micro.predicted, s.micro.correct) == (4, 3, 1)
    assert (s.macro.precision, s.macro.recall, s.macro.f1) == pytest.approx((1 / 6, 1 / 6, 1 / 6))
    assert (s.weighted.precision, s.weighted.recall, s.weighted.f1) == pytest.approx((0.25, 0.25, 0.25))


def test_partial_hand_computed():
    s = score_spans(GOLD, PRED, match="partial")
    assert s.per_type[D] == TypeScore(1.0, 1.0, 1.0, support=1, predicted=1, correct=1)
    assert s.per_type[G].correct == 1  # the protein mention predicted as gene does not match across types
    assert (s.micro.precision, s.micro.recall, s.micro.f1) == pytest.approx((2 / 3, 1 / 2, 4 / 7))
    assert s.macro.f1 == pytest.approx((1 + 0.5 + 0) / 3)


def test_partial_is_one_to_one():
    # two predictions inside one gold mention: only one of them is correct
    s = score_spans([[Span(0, 5, G)]], [[Span(0, 2, G), Span(3, 5, G)]], match="partial")
    assert (s.micro.precision, s.micro.recall) == (0.5, 1.0)
    # one long prediction over two gold mentions: one gold found
    s = score_spans([[Span(0, 5, G), Span(6, 9, G)]], [[Span(0, 9, G)]], match="partial")
    assert (s.micro.precision, s.micro.recall) == (1.0, 0.5)


def test_partial_prefers_exact_matches():
    # greedy by overlap alone could pair gold [0,5) with the long prediction and lose a match
    gold = [[Span(0, 5, G), Span(5, 10, G)]]
    pred = [[Span(0, 10, G), Span(0, 5, G)]]
    pairs = match_partial(gold[0], pred[0])
    assert pairs == [(Span(0, 5, G), Span(0, 5, G)), (Span(5, 10, G), Span(0, 10, G))]
    assert score_spans(gold, pred, match="partial").micro.f1 == 1.0
    assert score_spans(gold, pred).micro.f1 == 0.5


def test_duplicate_spans_count_once_like_seqeval():
    s = score_spans([[Span(0, 3, G)]], [[Span(0, 3, G), Span(0, 3, G, score=0.4)]])
    assert s.micro == TypeScore(1.0, 1.0, 1.0, 1, 1, 1)


def test_only_predicted_type_and_empty_input():
    s = score_spans([[]], [[Span(0, 3, G)]])
    assert s.per_type[G] == TypeScore(0.0, 0.0, 0.0, support=0, predicted=1, correct=0)
    assert s.weighted == TypeScore(0.0, 0.0, 0.0, 0, 1, 0)  # no gold: weights sum to 0 → 0.0
    assert_same_as_seqeval(s, seqeval_report([["O", "O", "O"]], [["B-gene", "I-gene", "I-gene"]]))
    empty = score_spans([[], []], [[], []])
    assert empty.per_type == {} and empty.micro == empty.macro == TypeScore(0.0, 0.0, 0.0, 0, 0, 0)


def test_to_dict_keys():
    d = score_spans(GOLD, PRED).to_dict()
    assert list(d) == ["per_type", "micro", "macro", "weighted"]
    assert list(d["per_type"]) == [D, G, P]
    for row in [*d["per_type"].values(), d["micro"], d["macro"], d["weighted"]]:
        assert {"precision", "recall", "f1", "support"} <= set(row)
    assert d["per_type"][G]["support"] == 2


def test_score_spans_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sentences"):
        score_spans([[]], [])
    with pytest.raises(ValueError, match="unknown match"):
        score_spans([[]], [[]], match="loose")  # type: ignore[arg-type]


def test_score_sentences_checks_alignment():
    a = Sentence.from_text("BRCA1 gene", [Span(0, 5, G)], id="doc:0")
    b = Sentence.from_text("TP53 protein", [Span(0, 4, P)], id="doc:1")
    ok = score_sentences([a, b], [a.with_spans([]), b])
    assert ok.micro.recall == 0.5
    with pytest.raises(InputError, match=r"sentence 2 \(id 'doc:1'\).*'TP53 protein'.*'BRCA1 gene'"):
        score_sentences([a, b], [a, a])
    with pytest.raises(InputError, match="gold has 2 sentences but prediction has 1"):
        score_sentences([a, b], [a])


def test_mutual_f1_is_symmetric():
    ab, ba = mutual_f1(GOLD, PRED), mutual_f1(PRED, GOLD)
    assert ab.micro.f1 == pytest.approx(ba.micro.f1)
    assert ab.macro.f1 == pytest.approx(ba.macro.f1)
    assert {t: s.f1 for t, s in ab.per_type.items()} == pytest.approx({t: s.f1 for t, s in ba.per_type.items()})
    assert (ab.micro.precision, ab.micro.recall) == pytest.approx((ba.micro.recall, ba.micro.precision))


# --------------------------------------------------------------------------- real data against seqeval


@pytest.fixture(scope="module")
def cbp_sentences(cbp_documents: Path) -> list[Sentence]:
    return read_corpus(cbp_documents).sentences


@pytest.fixture(scope="module")
def ncbi_test(ncbi_dir: Path) -> list[Sentence]:
    return read_corpus(ncbi_dir / "test.tsv").sentences


def test_gold_against_itself_is_perfect(cbp_sentences, ncbi_test):
    for sentences in (cbp_sentences, ncbi_test):
        spans = [s.spans for s in sentences]
        for match in ("strict", "partial"):
            s = score_sentences(sentences, sentences, match=match)
            assert s.micro.f1 == s.macro.f1 == s.weighted.f1 == 1.0
            assert all(t.f1 == 1.0 for t in s.per_type.values())
        assert mutual_f1(spans, spans).micro.f1 == 1.0
    cbp = score_sentences(cbp_sentences, cbp_sentences)
    assert {t: s.support for t, s in cbp.per_type.items()} == {"disease": 2741, "gene": 1880, "protein": 5021}


@pytest.mark.slow
def test_cbp_perturbed_matches_seqeval(cbp_sentences):
    rng = random.Random(20240601)
    labels = ["gene", "protein", "disease"]
    with_mentions = [s for s in cbp_sentences if s.spans]
    for _ in range(8):
        sample = rng.sample(with_mentions, 300) + rng.sample(cbp_sentences, 100)
        ours = check_against_seqeval(sample, labels, rng)
        assert 0.0 < ours.micro.f1 < 1.0  # the perturbation really changed something


@pytest.mark.slow
def test_ncbi_perturbed_matches_seqeval(ncbi_test):
    rng = random.Random(7)
    for _ in range(8):
        ours = check_against_seqeval(ncbi_test, ["Disease", "Chemical"], rng)
        assert 0.0 < ours.micro.f1 < 1.0


def test_partial_never_below_strict_on_real_data(cbp_sentences):
    rng = random.Random(3)
    sample = rng.sample(cbp_sentences, 400)
    pred = [spans_of_tags(s, perturb_tags(s, ["gene", "protein", "disease"], rng)) for s in sample]
    strict = score_spans([s.spans for s in sample], pred)
    partial = score_spans([s.spans for s in sample], pred, match="partial")
    assert partial.micro.correct > strict.micro.correct
    for t, row in strict.per_type.items():
        assert partial.per_type[t].correct >= row.correct


# --------------------------------------------------------------------------- random tag sequences

TAGS = ["O", "B-a", "I-a", "B-b", "I-b", "B-c-x", "I-c-x"]
sentence_pairs = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from(TAGS), min_size=n, max_size=n), st.lists(st.sampled_from(TAGS), min_size=n, max_size=n)
    )
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(sentence_pairs, min_size=1, max_size=6))
def test_random_tags_match_seqeval(pairs):
    y_true = [list(g) for g, _ in pairs]
    y_pred = [list(p) for _, p in pairs]
    sents = [Sentence.from_tokens([f"w{i}" for i in range(len(g))], char_level=False) for g in y_true]
    gold = [spans_of_tags(s, t) for s, t in zip(sents, y_true)]
    pred = [spans_of_tags(s, t) for s, t in zip(sents, y_pred)]
    ours = score_spans(gold, pred)
    assert_same_as_seqeval(ours, seqeval_report(y_true, y_pred))
    partial = score_spans(gold, pred, match="partial")
    assert partial.micro.correct >= ours.micro.correct
    swapped = mutual_f1(pred, gold, match="partial")
    assert swapped.micro.f1 == pytest.approx(partial.micro.f1)
    assert {t: s.f1 for t, s in swapped.per_type.items()} == pytest.approx(
        {t: s.f1 for t, s in partial.per_type.items()}
    )


# --------------------------------------------------------------------------- aggregation and significance


def fold(micro_f1: float, per_type: dict[str, float]) -> Scores:
    row = TypeScore(micro_f1, micro_f1, micro_f1, 10, 10, 5)
    return Scores({t: TypeScore(f, f, f, 4, 4, 2) for t, f in per_type.items()}, row, row, row)


def test_aggregate_mean_std_hand_computed():
    summary = aggregate(
        [
            fold(0.4, {"gene": 0.2, "protein": 0.5}),
            fold(0.5, {"protein": 0.7}),
            fold(0.9, {"gene": 0.6, "protein": 0.9}),
        ]
    )
    assert summary.n_folds == 3
    assert summary.micro.f1.mean == pytest.approx(0.6)
    assert summary.micro.f1.std == pytest.approx(math.sqrt(0.07))  # ((0.2² + 0.1² + 0.3²) / 2) ** 0.5
    assert summary.micro.support == 30
    gene = summary.per_type["gene"].f1  # absent from fold 2: not a zero, just absent
    assert (gene.mean, gene.n) == (pytest.approx(0.4), 2)
    assert gene.std == pytest.approx(math.sqrt(0.08))
    protein = summary.per_type["protein"].precision
    assert (protein.mean, protein.std, protein.n) == (pytest.approx(0.7), pytest.approx(0.2), 3)
    assert summary.to_dict()["per_type"]["gene"]["f1"]["n"] == 2


def test_aggregate_single_fold_and_no_fold():
    one = aggregate([fold(0.49, {"gene": 0.3})])
    assert (one.micro.f1.mean, one.micro.f1.std, one.micro.f1.n) == (0.49, 0.0, 1)
    with pytest.raises(InputError):
        aggregate([])


def test_mean_std_and_format():
    assert mean_std([0.25, 0.5, 0.75]) == mean_std([0.75, 0.25, 0.5])
    assert mean_std([0.25, 0.5, 0.75]).std == 0.25
    assert format_mean_std(0.4875, 0.1625) == "0.49 ± 0.16"
    assert format_mean_std(0.5, 0.0, digits=3) == "0.500 ± 0.000"
    assert format_mean_std(0.5, 0.0, digits=3, n=1) == "0.500" and format_mean_std(0.5, 0.0, n=2) == "0.50 ± 0.00"


def test_paired_ttest_hand_checked():
    # differences 0.1, 0.1, 0.05: mean 1/12, sample sd 1/(20√3), standard error sd/√3 = 1/60,
    # so t = 5; with 2 degrees of freedom the two-sided p-value is 1 - |t| / sqrt(t² + 2).
    t, p = paired_ttest([0.5, 0.6, 0.7], [0.4, 0.5, 0.65])
    assert t == pytest.approx(5.0)
    assert p == pytest.approx(1 - 5 / math.sqrt(27))
    t2, p2 = paired_ttest([0.4, 0.5, 0.65], [0.5, 0.6, 0.7])
    assert (t2, p2) == pytest.approx((-5.0, p))


def test_paired_ttest_degenerate_cases():
    assert paired_ttest([0.3, 0.4, 0.5], [0.3, 0.4, 0.5]) == (0.0, 1.0)
    assert paired_ttest([0.5, 0.6, 0.7], [0.4, 0.5, 0.6]) == (math.inf, 0.0)  # constant difference (float noise aside)
    with pytest.raises(InputError, match="at least 2 folds"):
        paired_ttest([0.5], [0.4])
    with pytest.raises(InputError, match="same folds"):
        paired_ttest([0.5, 0.6], [0.4])


# --------------------------------------------------------------------------- tables


def render(table) -> str:
    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    console.print(table)
    return console.export_text()


def test_scores_table_rows():
    text = render(scores_table(score_spans(GOLD, PRED), title="strict"))
    lines = [
        ln
        for ln in text.splitlines()
        if any(w in ln for w in ("gene", "disease", "protein", "micro", "macro", "weighted"))
    ]
    assert [ln.split()[1] for ln in lines] == ["disease", "gene", "protein", "micro", "macro", "weighted"]
    assert "0.2857" in text and "precision" in text and "support" in text


def test_summary_table_rows():
    summary = aggregate([fold(0.4, {"gene": 0.2}), fold(0.6, {"gene": 0.6})])
    text = render(summary_table(summary))
    assert "0.50 ± 0.14" in text and "0.40 ± 0.28" in text


def test_error_breakdown_categories_partition_gold_and_agree_with_strict_scores() -> None:
    from mrc_ner.evaluation.breakdown import CATEGORIES, error_breakdown, spurious

    gold = [
        [Span(0, 5, "gene"), Span(0, 5, "gene"), Span(8, 12, "protein")],  # a duplicate counts once, as in scoring
        [Span(0, 3, "disease"), Span(5, 9, "gene")],
        [],
    ]
    pred = [
        [Span(0, 5, "protein"), Span(0, 5, "gene"), Span(9, 12, "protein")],  # exact beats a same-span slip
        [Span(1, 3, "gene"), Span(10, 12, "gene")],
        [Span(0, 2, "disease")],
    ]
    b = error_breakdown(gold, pred)
    assert b["gene"] == {
        "mentions": 2,
        "correct": 1,
        "wrong_type": 0,
        "boundary": 0,
        "boundary_and_type": 0,
        "missed": 1,
        "as_type": {},
    }
    assert b["protein"]["boundary"] == 1 and b["disease"]["boundary_and_type"] == 1
    for label, row in b.items():
        assert row["mentions"] == sum(row[c] for c in CATEGORIES)
        assert row["correct"] == score_spans(gold, pred).per_type[label].correct
    assert spurious(gold, pred) == {"disease": 1, "gene": 1}
    with pytest.raises(ValueError, match="2 sentences"):
        error_breakdown(gold[:2], pred)
