"""The co-occurrence network: normalisation, hand-counted weights, threshold, outputs, ego, reference."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import warnings
from pathlib import Path

import networkx as nx
import pytest
from conftest import input_error

from mrc_ner.corpus.readers import read_corpus
from mrc_ner.errors import InputError
from mrc_ner.mining import drawing
from mrc_ner.mining.drawing import fonts as drawing_fonts
from mrc_ner.mining.network import (
    NO_AFFIXES,
    Mention,
    NormalizeOptions,
    build_network,
    compare_with_reference,
    cooccurrence_graph,
    ego,
    mentions_from_corpus,
    network_from_files,
    normalize_name,
    read_entities_jsonl,
    read_mentions,
    read_reference,
    threshold,
    top_edges,
    write_network,
    write_outputs,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "text",
    [
        "BRCA1",
        "brca1",
        "BRCA-1",
        "BRCA 1",
        "BRCA  -1",
        "ＢＲＣＡ１",
        "BRCA1基因",
        "BRCA1 gene",
        "BRCA1-Gene",
        "基因BRCA1",
        "(BRCA1)",
        " BRCA1、",
        "BRCA‑1",
    ],
)
def test_normalize_merges_spellings(text):
    assert normalize_name(text) == "brca1"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("癌基因", "癌基因"),  # a Han affix goes only beside a non-Han character
        ("肿瘤抑制基因", "肿瘤抑制基因"),
        ("基因组", "基因组"),
        ("transgene", "transgene"),  # a Latin affix only after a separator
        ("基因", "基因"),  # nothing would remain
        ("gene", "gene"),
        ("白蛋白", "白蛋白"),  # 蛋白 is not stripped by default
        ("(CH2)2NH", "(ch2)2nh"),  # a bracket closed inside stays
        ("尿嘧啶(U)", "尿嘧啶(u)"),
        ("p53基因", "p53"),
        ("-", ""),
    ],
)
def test_normalize_keeps_what_is_not_an_affix(text, expected):
    assert normalize_name(text) == expected


def test_normalize_options():
    assert normalize_name("BRCA1基因", NO_AFFIXES) == "brca1基因"
    assert normalize_name("HER2蛋白", NormalizeOptions(strip_suffixes=("蛋白",))) == "her2"
    assert normalize_name("BRCA-1", NormalizeOptions(fold_separators=False)) == "brca-1"
    assert normalize_name("BRCA1", NormalizeOptions(casefold=False)) == "BRCA1"


# ----------------------------------------------------------------------------- the hand-counted example

# Three documents; sentence indices as given, window=2 links |i - j| < 2 (same or adjacent sentence).
#
# doc A  s0: BRCA1, TP53     s1: brca1     s2: EGFR     s3: BRCA1基因, TP53
#   pairs: brca1–tp53 (s0, s0×s1, s3: three times in A, one document), brca1–egfr (s1×s2, s2×s3), egfr–tp53 (s2×s3)
# doc B  s0: MYC             s1: —         s2: KRAS, TP53, breast cancer (a disease)
#   pairs: kras–tp53 (s2); MYC–KRAS are two sentences apart: NOT linked with window=2
# doc C  s0: TP53, BRCA1     s1: KRAS, BRCA-1
#   pairs: brca1–tp53 (s0, s0×s1), brca1–kras (s0×s1, s1), kras–tp53 (s0×s1)
#
# node weights (documents): brca1 2 (A, C), tp53 3 (A, B, C), kras 2 (B, C), egfr 1 (A), myc 1 (B)
# node mentions:            brca1 5 (A 3, C 2), tp53 4, kras 2, egfr 1, myc 1
# edge weights (documents): brca1–tp53 2 (A, C: three times in A counts once), kras–tp53 2 (B, C),
#                           brca1–egfr 1, egfr–tp53 1, brca1–kras 1
# edge co-occurrences (sentence pairs): brca1–tp53 3 (A) + 2 (C) = 5, kras–tp53 1 + 1 = 2, brca1–kras 2
# myc has no edge: the network (threshold 1) has 4 nodes, 5 edges; threshold 2 keeps brca1–tp53 and
# kras–tp53 (egfr is dropped, left without an edge); threshold 3 keeps nothing.

EXAMPLE = [
    Mention("A", 0, "gene", "BRCA1"),
    Mention("A", 0, "gene", "TP53"),
    Mention("A", 1, "gene", "brca1"),
    Mention("A", 2, "gene", "EGFR"),
    Mention("A", 3, "gene", "BRCA1基因"),
    Mention("A", 3, "gene", "TP53"),
    Mention("B", 0, "gene", "MYC"),
    Mention("B", 2, "gene", "KRAS"),
    Mention("B", 2, "gene", "TP53"),
    Mention("B", 2, "disease", "breast cancer"),
    Mention("C", 0, "gene", "TP53"),
    Mention("C", 0, "gene", "BRCA1"),
    Mention("C", 1, "gene", "KRAS"),
    Mention("C", 1, "gene", "BRCA-1"),
]


def edge_weights(g: nx.Graph) -> dict[frozenset, int]:
    return {frozenset((a, b)): int(w) for a, b, w in g.edges(data="weight")}


def E(a: str, b: str) -> frozenset:
    return frozenset((a, b))


def test_hand_counted_weights():
    full = cooccurrence_graph(EXAMPLE)
    assert {n: d["weight"] for n, d in full.nodes(data=True)} == {"brca1": 2, "tp53": 3, "kras": 2, "egfr": 1, "myc": 1}
    assert {n: d["mentions"] for n, d in full.nodes(data=True)} == {
        "brca1": 5,
        "tp53": 4,
        "kras": 2,
        "egfr": 1,
        "myc": 1,
    }
    assert edge_weights(full) == {
        E("brca1", "tp53"): 2,
        E("kras", "tp53"): 2,
        E("brca1", "egfr"): 1,
        E("egfr", "tp53"): 1,
        E("brca1", "kras"): 1,
    }
    assert full.edges["brca1", "tp53"]["cooccurrences"] == 5
    assert full.edges["kras", "tp53"]["cooccurrences"] == 2
    assert full.edges["brca1", "kras"]["cooccurrences"] == 2
    assert not full.has_edge("myc", "kras")  # two sentences apart
    assert full.nodes["brca1"]["label"] == "BRCA1"  # the most frequent surface form (2 of 5)
    assert full.nodes["brca1"]["type"] == "gene"
    assert full.graph["documents"] == 3


def test_window_definition():
    assert cooccurrence_graph(EXAMPLE, window=3).has_edge("kras", "myc")  # |0 - 2| = 2 < 3
    same_sentence = cooccurrence_graph(EXAMPLE, window=1)
    assert not same_sentence.has_edge("brca1", "egfr")  # adjacent only
    assert same_sentence.has_edge("brca1", "tp53")
    with pytest.raises(ValueError):
        cooccurrence_graph(EXAMPLE, window=0)


def test_types_select_nodes():
    g = cooccurrence_graph(EXAMPLE, types=("gene", "Disease"))
    assert g.nodes["breastcancer"]["type"] == "disease"  # ids fold separators away; the label keeps them
    assert g.nodes["breastcancer"]["label"] == "breast cancer"
    assert g.has_edge("breastcancer", "tp53")
    assert "breastcancer" not in cooccurrence_graph(EXAMPLE)


def test_threshold_drops_edgeless_nodes():
    g1 = build_network(EXAMPLE)
    assert set(g1.nodes) == {"brca1", "tp53", "kras", "egfr"}  # myc had no edge
    assert g1.number_of_edges() == 5
    assert (g1.graph["nodes_before_threshold"], g1.graph["edges_before_threshold"]) == (5, 5)
    g2 = build_network(EXAMPLE, min_edge_weight=2)
    assert set(g2.nodes) == {"brca1", "tp53", "kras"}
    assert edge_weights(g2) == {E("brca1", "tp53"): 2, E("kras", "tp53"): 2}
    g3 = build_network(EXAMPLE, min_edge_weight=3)
    assert g3.number_of_nodes() == g3.number_of_edges() == 0
    assert threshold(cooccurrence_graph(EXAMPLE), 2).graph["min_edge_weight"] == 2


def test_communities_present():
    g = build_network(EXAMPLE)
    communities = {d["community"] for _, d in g.nodes(data=True)}
    assert communities == set(range(g.graph["communities"]))
    assert g.graph["communities"] >= 1


def test_top_edges_order():
    # equal weights: more co-occurrences first (brca1–tp53: 5, kras–tp53: 2)
    assert top_edges(build_network(EXAMPLE), 2) == [("brca1", "tp53", 2), ("kras", "tp53", 2)]


# ----------------------------------------------------------------------------- readers


def test_mentions_from_corpus(tmp_path):
    f = tmp_path / "two.tsv"
    f.write_text(
        "-DOCSTART-\tO\n\nBRCA1\tB-gene\nbinds\tO\n\nTP53\tB-gene\n.\tO\n\n"
        "-DOCSTART-\tO\n\nno\tO\ngenes\tO\n\nKRAS\tB-gene\nand\tO\nbreast\tB-disease\ncancer\tI-disease\n",
        encoding="utf-8",
    )
    ms = mentions_from_corpus(read_corpus(f))
    assert ms == [
        Mention("two#0", 0, "gene", "BRCA1"),
        Mention("two#0", 1, "gene", "TP53"),
        Mention("two#1", 1, "gene", "KRAS"),
        Mention("two#1", 1, "disease", "breast cancer"),
    ]
    assert read_mentions([f]) == ms


def test_read_entities_jsonl(tmp_path):
    f = tmp_path / "entities.jsonl"
    rows = [
        {"doc": "p1", "sentence": 0, "start": 0, "end": 5, "label": "gene", "text": "BRCA1", "score": 0.9},
        {"doc": "p1", "sentence": 1, "start": 10, "end": 14, "label": "gene", "text": "TP53", "score": 0.8},
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    assert read_entities_jsonl(f) == [Mention("p1", 0, "gene", "BRCA1"), Mention("p1", 1, "gene", "TP53")]
    assert read_mentions(f) == read_entities_jsonl(f)  # sniffed as entities, not as a JSONL corpus


ENTITY_LINE_ERRORS = {  # a bad second line of entities.jsonl → what its error names
    '{"doc": "p1", "sentence": 0, "label": "gene"': "invalid JSON",
    '{"doc": "p1", "label": "gene", "text": "X"}': "'sentence'",
    '{"doc": "p1", "sentence": -1, "label": "gene", "text": "X"}': "sentence index",
    '{"doc": "p1", "sentence": 0, "start": 5, "end": 2, "label": "gene", "text": "X"}': "0 ≤ start < end",
    '{"doc": "p1", "sentence": 0, "label": "gene", "text": "X", "score": "high"}': "score",
    "[1, 2]": "JSON object",
}


@pytest.mark.parametrize("line, needle", ENTITY_LINE_ERRORS.items())
def test_read_entities_jsonl_errors(tmp_path, line, needle):
    f = tmp_path / "entities.jsonl"
    error = input_error(
        read_entities_jsonl, f, '{"doc": "p1", "sentence": 0, "label": "gene", "text": "BRCA1"}\n' + line + "\n"
    )
    assert error.line == 2 and needle in error.message
    assert error.location_message().startswith(f"{f}:2: ")


# ----------------------------------------------------------------------------- outputs


@pytest.fixture()
def no_cjk_font(monkeypatch):
    """Draw as on a machine without a CJK font."""
    monkeypatch.setenv("MRC_NER_CJK_FONT", "none")
    drawing.cjk_font.cache_clear()
    drawing_fonts._renderable.cache_clear()
    yield
    drawing.cjk_font.cache_clear()
    drawing_fonts._renderable.cache_clear()


def test_write_network_files(tmp_path, no_cjk_font):
    g = build_network(EXAMPLE + [Mention("C", 1, "gene", "肿瘤抑制基因")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_network(g, tmp_path / "out")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert {p.name for p in paths.values()} == {
        "network.graphml",
        "network.gexf",
        "edges.csv",
        "nodes.csv",
        "network.png",
    }
    assert not list((tmp_path / "out").glob(".*.tmp"))  # atomic writes leave no temporary file

    for back in (nx.read_graphml(paths["graphml"]), nx.read_gexf(paths["gexf"])):
        assert set(back.nodes) == set(g.nodes)
        assert {E(a, b): float(w) for a, b, w in back.edges(data="weight")} == {
            k: float(v) for k, v in edge_weights(g).items()
        }
    graphml = nx.read_graphml(paths["graphml"])
    assert graphml.nodes["brca1"]["label"] == "BRCA1" and graphml.nodes["brca1"]["weight"] == 2
    assert graphml.nodes["brca1"]["community"] == g.nodes["brca1"]["community"]

    with paths["edges"].open(encoding="utf-8") as f:
        edges = list(csv.DictReader(f))
    assert list(edges[0]) == ["source", "target", "weight", "cooccurrences"]
    assert [int(e["weight"]) for e in edges] == sorted((int(e["weight"]) for e in edges), reverse=True)
    assert {(e["source"], e["target"]): int(e["weight"]) for e in edges}[("brca1", "tp53")] == 2
    with paths["nodes"].open(encoding="utf-8") as f:
        nodes = list(csv.DictReader(f))
    assert list(nodes[0]) == ["id", "label", "type", "weight", "mentions", "community"]
    assert nodes[0] == {
        "id": "tp53",
        "label": "TP53",
        "type": "gene",
        "weight": "3",
        "mentions": "4",
        "community": str(g.nodes["tp53"]["community"]),
    }

    png = paths["png"].read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000


def test_write_network_prefix_and_empty_graph(tmp_path):
    paths = write_network(build_network(EXAMPLE, min_edge_weight=3), tmp_path, prefix="strict")
    assert {p.name for p in paths.values()} == {
        "strict.graphml",
        "strict.gexf",
        "strict_edges.csv",
        "strict_nodes.csv",
        "strict.png",
    }
    assert paths["png"].read_bytes().startswith(PNG_MAGIC)
    assert paths["edges"].read_text(encoding="utf-8") == "source,target,weight,cooccurrences\n"


def test_labels_without_cjk_font(no_cjk_font):
    g = build_network(EXAMPLE + [Mention("C", 1, "gene", "肿瘤抑制基因"), Mention("C", 1, "gene", "Ki67的RNA转录本")])
    assert drawing.cjk_font() is None
    assert drawing.node_text(g, "肿瘤抑制基因", 7) == ("#7", True)
    assert drawing.node_text(g, "ki67的rna转录本", 3) == ("Ki67…RNA…", True)
    assert drawing.node_text(g, "brca1", 1) == ("BRCA1", False)


def test_labels_with_fonts_disabled(no_cjk_font):
    assert drawing.font_family() == ["DejaVu Sans"]
    assert drawing.displayable("肿瘤抑制基因") == ("…", True)
    assert drawing.displayable("BRCA1基因 和 TP53") == ("BRCA1… … TP53", True)
    assert drawing.displayable("BRCA1 (p53)") == ("BRCA1 (p53)", False)


def _installed_chinese_fonts() -> list[str]:
    """Font files fontconfig says cover Chinese: an oracle independent of the drawing code's own search."""
    exe = shutil.which("fc-list")
    if not exe:
        return []
    out = subprocess.run([exe, ":lang=zh", "file"], capture_output=True, text=True, check=False).stdout
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]


@pytest.fixture()
def fonts_as_installed(monkeypatch):
    """Draw with whatever fonts the machine has (no override), caches cleared before and after."""
    monkeypatch.delenv("MRC_NER_CJK_FONT", raising=False)
    drawing.cjk_font.cache_clear()
    drawing_fonts._renderable.cache_clear()
    yield
    drawing.cjk_font.cache_clear()
    drawing_fonts._renderable.cache_clear()


def test_labels_follow_the_installed_fonts(fonts_as_installed):
    """With a Chinese font installed labels keep their Chinese; without one (this test never skips) they show ``…``."""
    if _installed_chinese_fonts():
        assert drawing.cjk_font() is not None
        assert len(drawing.font_family()) == 2
        assert drawing.displayable("肿瘤抑制基因") == ("肿瘤抑制基因", False)
        assert drawing.displayable("BRCA1基因") == ("BRCA1基因", False)
    else:
        assert drawing.cjk_font() is None and len(drawing.font_family()) == 1
        assert drawing.displayable("肿瘤抑制基因") == ("…", True)
        assert drawing.displayable("BRCA1基因") == ("BRCA1…", True)


# ----------------------------------------------------------------------------- ego and the reference

# The reference for TP53, by score: BRCA1 0.99, MDM2 0.98, ATM 0.97, EGFR 0.5 (listed as "TP53 gene").
# Ours (the example): BRCA1 2 (5 co-occurrences), KRAS 2 (2), EGFR 1.
# top 3: ours BRCA1, KRAS, EGFR; reference BRCA1, MDM2, ATM → overlap 1 (BRCA1);
# KRAS is new (the reference does not link it to TP53); EGFR is linked there, below its top 3.
REFERENCE = "#node1\tnode2\tnode1_string_id\tnode2_string_id\tcombined_score\n" + "".join(
    f"{a}\t{b}\t9606.x\t9606.y\t{s}\n"
    for a, b, s in [
        ("TP53", "BRCA1", 0.99),
        ("TP53", "MDM2", 0.98),
        ("ATM", "TP53", 0.97),
        ("TP53 gene", "EGFR", 0.5),
        ("BRCA1", "TP53", 0.4),
        ("ATM", "BRCA1", 0.9),
    ]
)


def test_ego():
    g = build_network(EXAMPLE)
    assert ego(g, "TP53") == [("brca1", 2), ("kras", 2), ("egfr", 1)]
    assert ego(g, "tp53 基因", top=1) == [("brca1", 2)]  # normalised like the nodes
    with pytest.raises(InputError, match="close matches: BRCA1"):
        ego(g, "BRCA2")


def test_read_reference(tmp_path):
    f = tmp_path / "string.tsv"
    f.write_text(REFERENCE, encoding="utf-8")
    ref = read_reference(f)
    assert ref.edges["tp53", "brca1"]["score"] == 0.99  # listed twice: the higher score
    assert ref.edges["tp53", "egfr"]["score"] == 0.5
    assert ref.number_of_edges() == 5
    plain = tmp_path / "plain.txt"
    plain.write_text("TP53 MDM2 900\nTP53 ATM 800\n", encoding="utf-8")
    assert read_reference(plain).edges["tp53", "mdm2"]["score"] == 900
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\tscore\nTP53\tMDM2\t0.9\nTP53\tATM\thigh\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_reference(bad)
    assert e.value.line == 3


def test_compare_with_reference(tmp_path):
    f = tmp_path / "string.tsv"
    f.write_text(REFERENCE, encoding="utf-8")
    cmp = compare_with_reference(build_network(EXAMPLE), read_reference(f), "TP53", top=3)
    assert [r["label"] for r in cmp["ours"]] == ["BRCA1", "KRAS", "EGFR"]
    assert [r["node"] for r in cmp["reference"]] == ["brca1", "mdm2", "atm"]
    assert [r["in_ours"] for r in cmp["reference"]] == [True, False, False]
    assert cmp["overlap"] == 1 and cmp["overlap_nodes"] == ["BRCA1"]
    assert cmp["new"] == ["KRAS"]
    assert cmp["focus_in_reference"] is True
    # a focus the reference lacks: nothing overlaps, every neighbour is new
    cmp = compare_with_reference(build_network(EXAMPLE), read_reference(f), "KRAS", top=3)
    assert cmp["focus_in_reference"] is False and cmp["overlap"] == 0 and cmp["new"] == ["TP53", "BRCA1"]


def test_draw_ego(tmp_path, no_cjk_font):
    g = build_network(EXAMPLE)
    f = tmp_path / "string.tsv"
    f.write_text(REFERENCE, encoding="utf-8")
    cmp = compare_with_reference(g, read_reference(f), "TP53", top=3)
    path = drawing.draw_ego(g, "TP53", tmp_path / "ego.png", top=3, comparison=cmp)
    assert path.read_bytes().startswith(PNG_MAGIC)


# ----------------------------------------------------------------------------- the pipeline from Python


def _example_jsonl(tmp_path: Path) -> Path:
    f = tmp_path / "entities.jsonl"
    f.write_text(
        "".join(
            json.dumps({"doc": m.doc, "sentence": m.sentence, "label": m.label, "text": m.text}, ensure_ascii=False)
            + "\n"
            for m in EXAMPLE
        ),
        encoding="utf-8",
    )
    return f


def test_network_from_files_and_write_outputs(tmp_path):
    ref = tmp_path / "string.tsv"
    ref.write_text(REFERENCE, encoding="utf-8")
    result = network_from_files([_example_jsonl(tmp_path)], focus="TP53 基因", top=3, reference=ref)
    assert edge_weights(result.graph) == edge_weights(build_network(EXAMPLE))
    assert result.full.number_of_nodes() == 5 and result.graph.number_of_nodes() == 4  # myc has no edge
    assert result.focus == "tp53"
    assert [n["label"] for n in result.summary["focus"]["neighbours"]] == ["BRCA1", "KRAS", "EGFR"]
    assert result.comparison is not None and result.comparison["overlap"] == 1 and result.comparison["new"] == ["KRAS"]
    paths = write_outputs(result, tmp_path / "net", draw=False)
    assert set(paths) == {"graphml", "gexf", "edges", "nodes", "comparison", "summary"}
    saved = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert saved["focus"]["node"] == "tp53" and saved["comparison"]["overlap"] == 1
    assert saved["outputs"]["summary"] == str(paths["summary"])


def test_network_from_files_refuses(tmp_path):
    f = _example_jsonl(tmp_path)
    with pytest.raises(InputError, match="give it with --focus"):
        network_from_files([f], reference=tmp_path / "string.tsv")
    with pytest.raises(InputError, match="no mention of type protein"):
        network_from_files([f], types=("protein",))
    with pytest.raises(InputError, match=r"'EGFR' has no edge of weight ≥ 2 \(its heaviest: 1\)"):
        network_from_files([f], min_edge_weight=2, focus="EGFR")


# ----------------------------------------------------------------------------- the gold corpus


@pytest.mark.slow
def test_gold_cbp_gene_network(cbp_documents: Path):
    g = build_network(mentions_from_corpus(read_corpus(cbp_documents)), types=("gene",))
    assert g.number_of_nodes() > 50
    assert g.number_of_edges() > 0
    assert g.graph["documents"] <= 21
    assert max(w for *_, w in g.edges(data="weight")) <= 21
    assert max(w for _, w in g.nodes(data="weight")) <= 21
    assert all(isinstance(c, int) for _, c in g.nodes(data="community"))
