"""Corpus statistics and the ``mrc-ner stats`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
from mrc_ner.corpus.stats import corpus_stats, mention_overlap, overlap_table, stats_tables, top_mentions

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _toy() -> Corpus:
    s1 = Sentence.from_text("BRCA1和BRCA2与乳腺癌", [Span(0, 5, "gene"), Span(6, 11, "gene"), Span(12, 15, "disease")])
    s2 = Sentence.from_text("BRCA1突变", [Span(0, 5, "gene")])
    s3 = Sentence.from_tokens(["breast", "cancer"], char_level=False, spans_by_token=[(0, 2, "disease")])
    return Corpus([Document("a", [s1, s2]), Document("b", [s3])])


def test_corpus_stats_counts() -> None:
    st = corpus_stats(_toy(), top=1)
    assert st == {
        "documents": 2,
        "sentences": 3,
        "characters": 15 + 7 + 13,
        "tokens": 15 + 7 + 2,
        "mentions": {"disease": 2, "gene": 3},
        "unique": {"disease": 2, "gene": 2},
        "top": {"disease": [["breast cancer", 1]], "gene": [["BRCA1", 2]]},
    }
    assert json.loads(json.dumps(st)) == st


def test_top_mentions_ties_and_zero() -> None:
    assert top_mentions({"b": 1, "a": 1, "c": 3}, 10) == [["c", 3], ["a", 1], ["b", 1]]
    assert top_mentions({"a": 1}, 0) == []
    assert corpus_stats(_toy(), top=0)["top"] == {"disease": [], "gene": []}


def test_empty_corpus() -> None:
    st = corpus_stats(Corpus([]))
    assert st["documents"] == 0 and st["mentions"] == {} and st["top"] == {}
    assert len(stats_tables(st)) == 1


def test_tables_render() -> None:
    console = Console(width=120, record=True)
    for table in stats_tables(corpus_stats(_toy()), name="toy"):
        console.print(table)
    text = console.export_text()
    assert "corpus toy" in text and "most frequent" in text
    assert "BRCA1" in text and "breast cancer" in text
    assert "gene" in text and "disease" in text


@pytest.mark.slow
def test_cli_stats_cbp_json(cbp_documents: Path) -> None:
    """The numbers of the data README, end to end."""
    result = runner.invoke(app, ["stats", str(cbp_documents), "--json"])
    assert result.exit_code == 0, result.output
    st = json.loads(result.stdout)
    assert (st["documents"], st["sentences"], st["characters"]) == (21, 5453, 776669)
    assert st["mentions"] == {"disease": 2741, "gene": 1880, "protein": 5021}
    assert st["unique"] == {"disease": 725, "gene": 470, "protein": 1017}
    assert all(len(v) == 10 for v in st["top"].values())
    assert st["top"]["disease"][0] == ["乳腺癌", 144]


def test_cli_stats_tables_and_top() -> None:
    result = runner.invoke(app, ["stats", str(REPO / "data" / "sample_cbp"), "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "3 most frequent mentions per type" in result.stdout
    for t in ("gene", "protein", "disease"):
        assert t in result.stdout


def test_cli_stats_several_paths_and_sample_en() -> None:
    en = REPO / "data" / "sample_en.tsv"
    result = runner.invoke(app, ["stats", str(en), str(en), "--json", "--top", "1"])
    assert result.exit_code == 0, result.output
    st = json.loads(result.stdout)
    assert st["documents"] == 2 and list(st["mentions"]) == ["Disease"]


def test_cli_stats_negative_top_rejected() -> None:
    result = runner.invoke(app, ["stats", str(REPO / "data" / "sample_en.tsv"), "--top", "-1"])
    assert result.exit_code == 2


def test_mention_overlap_counts_seen_other_type_and_unseen() -> None:
    train = [
        Sentence.from_text("BRCA1与乳腺癌和HER2", [Span(0, 5, "gene"), Span(6, 9, "disease"), Span(10, 14, "protein")])
    ]
    test = [
        Sentence.from_text("BRCA1、BRCA1、TP53", [Span(0, 5, "gene"), Span(6, 11, "gene"), Span(12, 16, "gene")]),
        Sentence.from_text("HER2和肺癌", [Span(0, 4, "gene"), Span(5, 7, "disease")]),
    ]
    assert mention_overlap(train, test) == {
        "disease": {"mentions": 1, "unique": 1, "seen": 0, "seen_other_type": 0},
        "gene": {"mentions": 4, "unique": 3, "seen": 2, "seen_other_type": 1},
    }
    assert mention_overlap([], test)["gene"]["seen"] == 0
    assert mention_overlap(train, []) == {}


def test_overlap_table_pools_folds() -> None:
    rows = {"gene": {"mentions": 4, "unique": 3, "seen": 1, "seen_other_type": 0}}
    console = Console(width=140, record=True)
    console.print(overlap_table({"f0": rows, "f1": rows}, title="t"))
    text = console.export_text()
    assert "25.0 %" in text and "all folds" in text and "   8 " in text


def test_cli_stats_folds_json_partition_the_test_mentions() -> None:
    """k=3 over the three sample patents: every mention is a test mention exactly once."""
    sample = REPO / "data" / "sample_cbp"
    result = runner.invoke(app, ["stats", str(sample), "--folds", "k=3", "--json"])
    assert result.exit_code == 0, result.output
    st = json.loads(result.stdout)
    assert sorted(st["folds"]) == ["k3-0", "k3-1", "k3-2"]
    for t, n in st["mentions"].items():
        assert sum(fold.get(t, {}).get("mentions", 0) for fold in st["folds"].values()) == n
    tables = runner.invoke(app, ["stats", str(sample), "--folds", "k=3", "--top", "0"])
    assert tables.exit_code == 0 and "test mentions seen in training, folds k=3" in tables.stdout


def test_cli_stats_folds_needs_one_documents_directory() -> None:
    en = REPO / "data" / "sample_en.tsv"
    result = runner.invoke(app, ["stats", str(en), str(en), "--folds", "k=2"])
    assert result.exit_code == 2 and "needs one PATH" in result.output
    bad = runner.invoke(app, ["stats", str(REPO / "data" / "sample_cbp"), "--folds", "k=3", "--dev-docs", "x"])
    assert bad.exit_code == 2 and "--dev-docs" in bad.output
