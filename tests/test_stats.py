"""Corpus statistics and the ``mrc-ner stats`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.model import Corpus, Document, Sentence, Span
from mrc_ner.corpus.stats import corpus_stats, stats_tables, top_mentions

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
