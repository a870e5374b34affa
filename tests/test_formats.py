"""brat, PubTator, BioC XML/JSON: read → exact spans → write → read back identical; the suffix policy; errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, input_error

from mrc_ner.corpus.documents import ReadReport, document_mentions
from mrc_ner.corpus.model import Document, Sentence, Span
from mrc_ner.corpus.readers import detect_format, list_inputs, read_corpus, write_documents
from mrc_ner.errors import InputError

DATA = REPO / "tests" / "data" / "formats"
BRAT = DATA / "brat"
PUBTATOR = DATA / "two_docs.pubtator"
BIOC_XML = DATA / "collection.bioc.xml"
BIOC_JSON = DATA / "collection.bioc.json"


def stated_mentions_brat() -> list[tuple[int, int, str, str]]:
    """The continuous T lines of the brat file, parsed here independently of the reader."""
    out = []
    for line in (BRAT / "PMID-0001.ann").read_text(encoding="utf-8").splitlines():
        if line.startswith("T") and ";" not in line:
            _tid, mid, text = line.split("\t")
            label, a, b = mid.split(" ")
            out.append((int(a), int(b), label, text))
    return sorted(out)


def stated_mentions_pubtator() -> dict[str, list[tuple[int, int, str, str]]]:
    out: dict[str, list] = {}
    for line in PUBTATOR.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) == 6:
            out.setdefault(cols[0], []).append((int(cols[1]), int(cols[2]), cols[4], cols[3]))
    return {k: sorted(v) for k, v in out.items()}


def stated_mentions_bioc_json() -> dict[str, list[tuple[int, int, str, str]]]:
    obj = json.loads(BIOC_JSON.read_text(encoding="utf-8"))
    out = {}
    for d in obj["documents"]:
        anns = [a for p in d["passages"] for a in p["annotations"]]
        out[d["id"]] = sorted(
            (
                a["locations"][0]["offset"],
                a["locations"][0]["offset"] + a["locations"][0]["length"],
                a["infons"]["type"],
                a["text"],
            )
            for a in anns
        )
    return out


def mentions(doc: Document) -> list[tuple[int, int, str, str]]:
    return [(sp.start, sp.end, sp.label, text) for sp, text in document_mentions(doc)]


def check_exact(docs: list[Document]) -> None:
    """Every sentence sits at its offset and every span spells its mention in the document text."""
    for d in docs:
        for s in d.sentences:
            assert d.text[s.offset : s.offset + len(s.text)] == s.text
            for a, b in s.tokens:
                assert 0 <= a < b <= len(s.text)
        for start, end, _, text in mentions(d):
            assert d.text[start:end] == text


def same(a: list[Document], b: list[Document]) -> None:
    assert [d.id for d in a] == [d.id for d in b]
    for x, y in zip(a, b):
        assert x.text == y.text
        assert [(p.start, p.end, p.infons) for p in x.passages] == [(p.start, p.end, p.infons) for p in y.passages]
        assert [(s.text, s.offset, s.tokens, s.char_level) for s in x.sentences] == [
            (s.text, s.offset, s.tokens, s.char_level) for s in y.sentences
        ]
        assert mentions(x) == mentions(y)


# ----------------------------------------------------------------------------- reading: spans exact


def test_brat_spans_exact_and_discontinuous_policies():
    with pytest.raises(InputError) as e:
        read_corpus(BRAT)
    assert e.value.path.endswith("PMID-0001.ann") and e.value.line == 3 and "discontinuous" in e.value.message
    report = ReadReport()
    skipped = read_corpus(BRAT, discontinuous="skip", report=report).documents
    check_exact(skipped)
    assert [(m[0], m[1], m[2], m[3]) for m in mentions(skipped[0])] == stated_mentions_brat()
    assert report.skipped == [(str(BRAT / "PMID-0001.ann"), 3, "discontinuous T3 Disease at 108 114;127 133")]
    joined = read_corpus(BRAT, discontinuous="join").documents
    check_exact(joined)
    assert (108, 133, "Disease", "breast and ovarian cancer") in mentions(joined[0])
    doc = joined[0]
    assert doc.text == (BRAT / "PMID-0001.txt").read_text(encoding="utf-8")
    assert [s.text for s in doc.sentences][1:3] == [
        "Germline BRCA1 variants (e.g. c.68_69delAG) raise the risk of breast and ovarian cancer.",
        "In 3.5% of carriers, TNF-α levels were elevated (Fig. 2).",
    ]
    assert all(not s.char_level for s in doc.sentences)


def test_pubtator_two_documents_spans_exact():
    docs = read_corpus(PUBTATOR).documents
    check_exact(docs)
    assert [d.id for d in docs] == ["31415926", "27182818"]
    stated = stated_mentions_pubtator()
    for d in docs:
        assert mentions(d) == stated[d.id]
        assert [p.infons["type"] for p in d.passages] == ["title", "abstract"]
    # the title is never joined to the abstract's first sentence
    assert docs[1].sentences[0].text == "TP53 R175H in Li–Fraumeni syndrome"


@pytest.mark.parametrize("path", [BIOC_XML, BIOC_JSON])
def test_bioc_spans_exact(path):
    docs = read_corpus(path).documents
    check_exact(docs)
    stated = stated_mentions_bioc_json()
    assert {d.id: mentions(d) for d in docs} == stated
    en, zh = docs
    assert not en.sentences[0].char_level and zh.sentences[0].char_level  # CJK text reads character-level
    assert [s.text for s in zh.sentences] == ["检测BRCA1基因突变可预测乳腺癌风险。", "PD-L1抗体用于治疗非小细胞肺癌！"]
    assert en.passages[1].start == 44 and en.passages[1].infons == {"type": "abstract"}


def test_bioc_xml_and_json_read_the_same():
    same(read_corpus(BIOC_XML).documents, read_corpus(BIOC_JSON).documents)


# ----------------------------------------------------------------------------- write → read back


SOURCES = {
    "brat": lambda: read_corpus(BRAT, discontinuous="join").documents,
    "pubtator": lambda: read_corpus(PUBTATOR).documents,
    "bioc-xml": lambda: read_corpus(BIOC_XML).documents,
    "bioc-json": lambda: read_corpus(BIOC_JSON).documents,
}
TARGETS = {"brat": "out_brat", "pubtator": "out.pubtator", "bioc-xml": "out.xml", "bioc-json": "out.json"}


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_round_trip(tmp_path, source, target):
    docs = SOURCES[source]()
    out = tmp_path / TARGETS[target]
    write_documents(docs, out, target)
    back = read_corpus(out, format=target).documents
    check_exact(back)
    if target == "brat":  # a directory: documents come back in file-name order
        order = {d.id: k for k, d in enumerate(docs)}
        back.sort(key=lambda d: order[d.id])
    if (
        source == target
        or {source, target} <= {"bioc-xml", "bioc-json"}
        or (source == "pubtator" and target.startswith("bioc"))
    ):
        same(docs, back)  # passages survive
    else:
        assert [d.text for d in back] == [d.text for d in docs] or target == "pubtator"
        assert [mentions(d) for d in back] == [mentions(d) for d in docs]


def test_written_files_look_like_the_format(tmp_path):
    docs = read_corpus(PUBTATOR).documents
    write_documents(docs, tmp_path / "p.pubtator", "pubtator")
    lines = (tmp_path / "p.pubtator").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "31415926|t|Mutations in SCN1A cause Dravet syndrome"
    assert lines[2] == "31415926\t13\t18\tSCN1A\tGene\t-"
    write_documents(docs, tmp_path / "b", "brat")
    assert (tmp_path / "b" / "27182818.ann").read_text(encoding="utf-8").splitlines()[0] == "T1\tGene 0 4\tTP53"
    write_documents(docs, tmp_path / "c.xml", "bioc-xml")
    xml = (tmp_path / "c.xml").read_text(encoding="utf-8")
    assert '<infon key="type">Disease</infon>' in xml and '<location offset="35" length="20"/>' in xml
    write_documents(docs, tmp_path / "c.json", "bioc-json")
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["documents"][1]["passages"][1]["offset"] == 35


def test_scores_are_written(tmp_path):
    s = Sentence("BRCA1 rose.", [(0, 5), (6, 10), (10, 11)], [Span(0, 5, "Gene", 0.87654)], id="d:0")
    doc = Document("d", [s])
    write_documents([doc], tmp_path / "b", "brat")
    assert "#1\tAnnotatorNotes T1\tscore=0.8765" in (tmp_path / "b" / "d.ann").read_text()
    write_documents([doc], tmp_path / "d.json", "bioc-json")
    ann = json.loads((tmp_path / "d.json").read_text())["documents"][0]["passages"][0]["annotations"][0]
    assert ann["infons"] == {"type": "Gene", "score": "0.8765"} and ann["text"] == "BRCA1"


def test_column_corpus_written_as_documents(tmp_path):
    """Any corpus can be written in a document format; reading it back keeps texts and spans."""
    docs = read_corpus(REPO / "data" / "sample_en.tsv").documents
    write_documents(docs, tmp_path / "en.pubtator", "pubtator")
    back = read_corpus(tmp_path / "en.pubtator").documents
    assert [mentions(d) for d in back] == [mentions(d) for d in docs]


# ----------------------------------------------------------------------------- the suffix policy


def test_detect_format_by_suffix_neighbours_and_content(tmp_path):
    (tmp_path / "cols.txt").write_text("BRCA1\tB-gene\nis\tO\n", encoding="utf-8")
    (tmp_path / "plain.txt").write_text("BRCA1 is mutated.\n", encoding="utf-8")
    (tmp_path / "pt.txt").write_text("1|t|A title\n1|a|An abstract\n", encoding="utf-8")
    (tmp_path / "pair.txt").write_text("BRCA1\n", encoding="utf-8")
    (tmp_path / "pair.ann").write_text("T1\tGene 0 5\tBRCA1\n", encoding="utf-8")
    got = {
        name: (detect_format(tmp_path / name), detect_format(tmp_path / name, purpose="raw"))
        for name in ["cols.txt", "plain.txt", "pt.txt", "pair.txt", "pair.ann"]
    }
    assert got == {
        "cols.txt": ("conll", "conll"),
        "plain.txt": ("conll", "text"),
        "pt.txt": ("pubtator", "pubtator"),
        "pair.txt": ("brat", "brat"),
        "pair.ann": ("brat", "brat"),
    }
    assert [detect_format(Path(n)) for n in ["a.bio", "a.jsonl", "a.xml", "a.json", "a.pubtator", "a.tsv"]] == [
        "conll",
        "jsonl",
        "bioc-xml",
        "bioc-json",
        "pubtator",
        "conll",
    ]


def test_directory_listing_counts_a_brat_pair_once_and_skips_other_json(tmp_path):
    d = tmp_path / "corpus"
    shutil.copytree(BRAT, d)
    shutil.copy(PUBTATOR, d)
    shutil.copy(BIOC_JSON, d)
    (d / "config.json").write_text('{"lr": 0.1}', encoding="utf-8")
    listed = [(f.path.name, f.format) for f in list_inputs([d])]
    assert listed == [
        ("PMID-0001.ann", "brat"),
        ("collection.bioc.json", "bioc-json"),
        ("two_docs.pubtator", "pubtator"),
    ]
    corpus = read_corpus(d, discontinuous="skip")
    assert [doc.id for doc in corpus] == ["PMID-0001", "35012345", "CN112345678A", "31415926", "27182818"]


def test_format_override(tmp_path):
    p = tmp_path / "abstracts.dat"
    p.write_bytes(PUBTATOR.read_bytes())
    assert len(read_corpus(p, format="pubtator")) == 2
    with pytest.raises(InputError, match="unknown format 'tsv'"):
        read_corpus(p, format="tsv")


# ----------------------------------------------------------------------------- errors name the place


def test_brat_errors(tmp_path):
    (tmp_path / "d.txt").write_text("BRCA1 and TP53\n", encoding="utf-8")
    cases = {
        "T1\tGene 0 5\tBRCA2\n": (1, "differs from the document's text"),
        "T1\tGene 0 5\tBRCA1\nT2\tGene 10 99\tTP53\n": (2, "outside a text of 15 characters"),
        "T1\tGene 0 x\tBRCA1\n": (1, "bad offsets"),
        "T1 Gene 0 5 BRCA1\n": (1, "expected 'T<id>"),
        "Q1\tsomething\n": (1, "not a brat annotation line"),
    }
    for ann, (line, message) in cases.items():
        error = input_error(read_corpus, tmp_path / "d.ann", ann)
        assert (error.line, error.path) == (line, str(tmp_path / "d.ann")) and message in error.message
    (tmp_path / "d.ann").unlink()
    with pytest.raises(InputError, match="missing"):
        read_corpus(tmp_path / "d.txt", format="brat")


@pytest.mark.parametrize(
    "content, line, message",
    [
        pytest.param("1|t|BRCA1 is here\n1|a|Nothing.\n1\t0\t5\tBRCA2\tGene\t672\n", 3, "differs", id="mention-text"),
        pytest.param("1|t|BRCA1\n2|a|Other.\n", 2, "without a blank line", id="no-blank-line"),
        pytest.param("1|t|BRCA1\n1|a|x\n1\t0\n", 3, "expected a mention line", id="short-mention"),
        pytest.param("1|t|BRCA1\n1|a|x\n2\t0\t5\tBRCA1\tGene\t1\n", 3, "outside its document", id="other-doc"),
        pytest.param("1|a|Only an abstract\n", 1, "no title line", id="no-title"),
    ],
)
def test_pubtator_errors(tmp_path, content, line, message):
    error = input_error(read_corpus, tmp_path / "x.pubtator", content)
    assert error.line == line and message in error.message, error


def test_bioc_errors(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<collection>\n<document>\n<id>1</id>\n</collection>\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_corpus(bad)
    assert e.value.line == 4 and "not well-formed XML" in e.value.message
    obj = json.loads(BIOC_JSON.read_text(encoding="utf-8"))
    ann = obj["documents"][0]["passages"][1]["annotations"][0]
    ann["text"] = "IL-7"
    (tmp_path / "t.json").write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(InputError, match=r"document '35012345', annotation '3': text 'IL-7' differs"):
        read_corpus(tmp_path / "t.json")
    del ann["infons"]["type"]
    (tmp_path / "t.json").write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(InputError, match="no infon 'type'"):
        read_corpus(tmp_path / "t.json")
    ann["infons"]["type"] = "Gene"
    ann["text"] = "IL-6"
    ann["locations"].append({"offset": 56, "length": 3})
    (tmp_path / "t.json").write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(InputError, match="discontinuous"):
        read_corpus(tmp_path / "t.json")
    report = ReadReport()
    assert len(read_corpus(tmp_path / "t.json", discontinuous="skip", report=report)) == 2 and len(report.skipped) == 1


def bioc_gene(text: str, offset: int, length: int) -> dict:
    """A BioC JSON annotation ``a`` of type Gene with one location and only the required keys."""
    return {"id": "a", "infons": {"type": "Gene"}, "text": text, "locations": [{"offset": offset, "length": length}]}


def test_bioc_json_without_optional_keys_and_as_a_document_list(tmp_path):
    docs = [
        {
            "id": "9",
            "passages": [
                {
                    "offset": 0,
                    "text": "TP53 in São Paulo.",
                    "annotations": [bioc_gene("TP53", 0, 4)],
                }
            ],
        }
    ]
    (tmp_path / "l.json").write_text(json.dumps(docs), encoding="utf-8")
    (d,) = read_corpus(tmp_path / "l.json").documents
    assert mentions(d) == [(0, 4, "Gene", "TP53")]


def test_mention_across_passages_is_an_error(tmp_path):
    p = tmp_path / "x.pubtator"
    p.write_text("1|t|BRCA1 gene\n1|a|mutations\n1\t6\t20\tgene\nmutations\tGene\t-\n", encoding="utf-8")
    with pytest.raises(InputError):
        read_corpus(p)
    obj = {
        "documents": [
            {
                "id": "1",
                "passages": [
                    {"offset": 0, "text": "BRCA1 gene"},
                    {
                        "offset": 11,
                        "text": "mutations",
                        "annotations": [bioc_gene("gene\nmutations", 6, 14)],
                    },
                ],
            }
        ]
    }
    (tmp_path / "x.json").write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(InputError, match="lies in no sentence"):
        read_corpus(tmp_path / "x.json")


@pytest.mark.parametrize("fmt", ["bioc-xml", "bioc-json", "pubtator", "brat"])
def test_each_writer_works_in_a_fresh_process(tmp_path, fmt):
    """No writer relies on a module some reader happened to import first."""
    import subprocess
    import sys

    code = (
        "import sys; from mrc_ner.corpus.readers import write_documents; from mrc_ner.corpus.model import Document, Sentence, Span; "
        "write_documents([Document('d', [Sentence('BRCA1 rose.', [(0, 5), (6, 10), (10, 11)], [Span(0, 5, 'Gene')])])], sys.argv[1], sys.argv[2])"
    )
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-c", code, str(out), fmt],
        check=True,
        cwd=REPO,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    back = read_corpus(out, format=fmt).documents
    assert mentions(back[0]) == [(0, 5, "Gene", "BRCA1")]
