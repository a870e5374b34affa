"""``mrc-ner network``: column files and entities.jsonl end to end, focus + reference, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from mrc_ner.cli import app

runner = CliRunner()

# Two documents. doc 0: BRCA1 + TP53 in sentence 0, KRAS in sentence 1 (adjacent: linked), EGFR in 3 (too far).
# doc 1: brca1 + TP53基因 in one sentence. → brca1–tp53 weight 2; brca1–kras, kras–tp53 weight 1; egfr isolated.
COLUMNS = """\
-DOCSTART-\tO

BRCA1\tB-gene
and\tO
TP53\tB-gene
.\tO

KRAS\tB-gene
too\tO
.\tO

nothing\tO
.\tO

EGFR\tB-gene
.\tO

-DOCSTART-\tO

brca1\tB-gene
with\tO
TP53基因\tB-gene
in\tO
breast\tB-disease
cancer\tI-disease
"""

REFERENCE = "#node1\tnode2\tcombined_score\nTP53\tBRCA1\t0.99\nTP53\tMDM2\t0.98\n"


@pytest.fixture()
def column_file(tmp_path: Path) -> Path:
    f = tmp_path / "genes.tsv"
    f.write_text(COLUMNS, encoding="utf-8")
    return f


def entities_file(tmp_path: Path, rows: list[dict]) -> Path:
    f = tmp_path / "entities.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return f


def run_json(*args: str) -> dict:
    result = runner.invoke(app, ["network", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_column_file_json(column_file, tmp_path):
    out = tmp_path / "out"
    s = run_json(str(column_file), "--out", str(out))
    assert (s["nodes_before_threshold"], s["edges_before_threshold"]) == (4, 3)
    assert (s["nodes"], s["edges"]) == (3, 3)
    assert s["documents"] == 2 and s["window"] == 2 and s["min_edge_weight"] == 1
    assert s["top_edges"][0] == {
        "source": "brca1",
        "target": "tp53",
        "source_label": "BRCA1",
        "target_label": "TP53",
        "weight": 2,
        "cooccurrences": 2,
    }
    for name in ("network.graphml", "network.gexf", "edges.csv", "nodes.csv", "network.png", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    assert nx.read_graphml(out / "network.graphml").edges["brca1", "tp53"]["weight"] == 2
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["edges"] == 3


@pytest.mark.slow
def test_threshold_types_and_no_strip(column_file, tmp_path):
    s = run_json(str(column_file), "--out", str(tmp_path / "a"), "--min-edge-weight", "2")
    assert (s["nodes"], s["edges"]) == (2, 1)
    s = run_json(str(column_file), "--out", str(tmp_path / "b"), "--types", "gene,disease")
    assert "breastcancer" in {e["source"] for e in s["top_edges"]} | {e["target"] for e in s["top_edges"]}
    s = run_json(str(column_file), "--out", str(tmp_path / "c"), "--no-strip-suffix")
    assert s["nodes_before_threshold"] == 5  # "TP53基因" is a node of its own
    s = run_json(str(column_file), "--out", str(tmp_path / "d"), "--window", "1")
    assert s["edges"] == 1  # KRAS is one sentence away


def test_tables_focus_and_reference(column_file, tmp_path):
    ref = tmp_path / "string.tsv"
    ref.write_text(REFERENCE, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["network", str(column_file), "--out", str(out), "--focus", "TP53", "--top", "2", "--reference", str(ref)]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "heaviest" in text and "neighbours of TP53" in text
    assert "overlap: 1 of our top 2" in text and "new (not linked in the reference): KRAS" in text
    assert result.stdout.strip().splitlines()[-1].startswith(f"outputs in {out}")
    cmp = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert cmp["overlap_nodes"] == ["BRCA1"] and cmp["new"] == ["KRAS"]
    assert (out / "ego_tp53.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_entities_jsonl(tmp_path):
    rows = [
        {"doc": "p1", "sentence": 0, "start": 0, "end": 5, "label": "gene", "text": "BRCA1", "score": 0.97},
        {"doc": "p1", "sentence": 1, "start": 30, "end": 34, "label": "gene", "text": "TP53", "score": 0.91},
        {"doc": "p2", "sentence": 4, "start": 2, "end": 9, "label": "gene", "text": "BRCA1基因", "score": 0.88},
        {"doc": "p2", "sentence": 4, "start": 12, "end": 16, "label": "gene", "text": "ｔｐ５３", "score": 0.8},
        {"doc": "p2", "sentence": 6, "start": 40, "end": 44, "label": "gene", "text": "KRAS", "score": 0.7},
    ]
    s = run_json(str(entities_file(tmp_path, rows)), "--out", str(tmp_path / "out"), "--min-edge-weight", "2")
    assert (s["nodes_before_threshold"], s["edges_before_threshold"]) == (3, 1)
    assert [(e["source"], e["target"], e["weight"]) for e in s["top_edges"]] == [("brca1", "tp53", 2)]


def test_empty_after_threshold_hint(column_file, tmp_path):
    result = runner.invoke(app, ["network", str(column_file), "--out", str(tmp_path / "o"), "--min-edge-weight", "3"])
    assert result.exit_code == 0, result.output
    assert "no edge reaches weight 3 (the heaviest: 2)" in result.stdout


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--focus", "BRCA2"], ["'BRCA2' is not a node", "close matches: BRCA1"]),
        (["--types", "protein"], ["no mention of type protein", "types there: disease, gene"]),
        (["--reference", "x.tsv"], ["--focus"]),
        (["--focus", "KRAS", "--min-edge-weight", "2"], ["'KRAS' has no edge of weight ≥ 2"]),
    ],
)
def test_bad_options(column_file, tmp_path, args, needles):
    result = runner.invoke(app, ["network", str(column_file), "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_malformed_jsonl_line(tmp_path):
    f = entities_file(tmp_path, [{"doc": "p1", "sentence": 0, "label": "gene", "text": "BRCA1"}])
    with f.open("a", encoding="utf-8") as fh:
        fh.write('{"doc": "p1", "sentence": 1, "label": "gene", "text": \n')
    result = runner.invoke(app, ["network", str(f), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and f"{f}:2:" in lines[0] and "invalid JSON" in lines[0]
    assert not (tmp_path / "o").exists()


def test_missing_input(tmp_path):
    result = runner.invoke(app, ["network", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no such file or directory" in result.stderr
