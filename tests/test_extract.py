"""``mrc-ner extract``: exact original offsets, every sentence predicted, resume without
duplicates, JSONL and column inputs, bad input, sharding over processes, stats and network."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import random_softmax_model
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus import read_corpus
from mrc_ner.corpus.cleaning import clean_text
from mrc_ner.corpus.model import Span
from mrc_ner.errors import InputError
from mrc_ner.mining import extract as ex
from mrc_ner.mining.extract import merge as ex_merge
from mrc_ner.models.base import Tagger

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]

LONG_LINE = (
    ("本发明的检测方法准确可靠，适用于大规模筛查。" * 120)[:4000] + "检测 BRCA2 突变。" + "甲" * 1000
)  # > 5,000 characters
MIXED = (
    "\ufeff本发明涉及 BRCA1\u3000基因\r\n\r\n"
    "\u3000\u3000检测 TP53 \t gene 突变，以及 乳腺 癌。\r\n"
    "\t  \r\n"
    "1.\tSEQ\u00a0ID  NO:1 所示 的 序列\n"
    "\n\n" + LONG_LINE + "\n" + "Z" * 3000 + "\n"  # one long sentence without punctuation: windowed, not split
    "  PD-L1  抗体\u200b结合 PD-1。  "
)
ENGLISH = (
    "BRCA1  mutations\tcause breast \u00a0cancer .\r\n\r\nThe  TP53 gene is\u3000mutated in  colorectal cancer .\n"
)


def read_raw(path: Path) -> str:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return f.read()


def entities(out: Path) -> list[dict]:
    return [
        json.loads(line) for line in (out / "entities.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def keys(ents: list[dict]) -> list[tuple]:
    return [(e["doc"], e["sentence"], e["start"], e["end"], e["label"], e["text"]) for e in ents]


def invoke(*args: str):
    return runner.invoke(app, ["extract", *args])


def ok(*args: str):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, tiny_encoder) -> Path:
    """A tiny character-level softmax tagger (random weights: random but deterministic predictions)."""
    return random_softmax_model(tmp_path_factory.mktemp("extract_model"), tiny_encoder, ["gene", "protein", "disease"])


@pytest.fixture(scope="session")
def word_model_dir(tmp_path_factory, tiny_encoder) -> Path:
    """The same, word-level (as a model trained on English column files)."""
    root = tmp_path_factory.mktemp("extract_word_model")
    return random_softmax_model(root, tiny_encoder, ["gene", "disease"], align_mode="word")


@pytest.fixture()
def raw_dir(tmp_path: Path) -> Path:
    d = tmp_path / "raw"
    d.mkdir()
    (d / "mixed.txt").write_bytes(MIXED.encode("utf-8"))  # BOM, CRLF, tabs, U+3000, NBSP, zero-width, a 5,000-char line
    (d / "english.txt").write_bytes(ENGLISH.encode("utf-8"))
    (d / "empty.txt").write_text("\r\n \t\n", encoding="utf-8")
    for p in sorted((REPO / "data" / "sample_raw").glob("*.txt")):
        (d / p.name).write_bytes(p.read_bytes())
    return d


KNOWN = {
    "BRCA1": "gene",
    "TP53-gene": "gene",
    "乳腺癌": "disease",
    "SEQ-ID-NO:1": "protein",
    "BRCA2": "gene",
    "PD-L1": "protein",
    "PD-1": "protein",
    "breast-cancer": "disease",
    "colorectal-cancer": "disease",
    "breast cancer": "disease",
    "colorectal cancer": "disease",
}


@pytest.fixture()
def fake_predict(monkeypatch):
    """Replace Tagger.predict: spans over the KNOWN mentions of each cleaned sentence; records the sentences."""
    seen: list[str] = []

    def predict(self, sentences, *, batch_size=32, progress=None):
        seen.extend(s.text for s in sentences)
        out = []
        for s in sentences:
            spans = [
                Span(m.start(), m.end(), label, 0.9)
                for mention, label in KNOWN.items()
                for m in re.finditer(re.escape(mention), s.text)
            ]
            out.append(sorted(spans))
        return out

    monkeypatch.setattr(Tagger, "predict", predict)
    return seen


# ----------------------------------------------------------------------------- offsets


@pytest.mark.slow
def test_offsets_exact_for_random_predictions(tmp_path, raw_dir, model_dir):
    out = tmp_path / "out"
    result = ok(str(raw_dir), "--model", str(model_dir), "--out", str(out), "--no-network", "--buffer-sentences", "7")
    ents = entities(out)
    assert len(ents) > 50  # a random model finds plenty
    raws = {p.stem: read_raw(p) for p in raw_dir.glob("*.txt")}
    for e in ents:
        raw = raws[e["doc"]]
        assert raw[e["start"] : e["end"]] == e["text"], e
        assert e["text"] == e["text"].strip() and e["text"]
        assert set(e) == {"doc", "sentence", "start", "end", "label", "text", "score"}
    assert {e["doc"] for e in ents} <= set(raws)
    assert str(out) in result.output.strip().splitlines()[-1]


def test_known_entities_land_at_original_offsets(tmp_path, raw_dir, model_dir, fake_predict):
    out = tmp_path / "out"
    ok(
        str(raw_dir / "mixed.txt"),
        str(raw_dir / "english.txt"),
        "--model",
        str(model_dir),
        "--out",
        str(out),
        "--no-network",
    )
    got = {(e["doc"], e["start"], e["end"], e["label"], e["text"]) for e in entities(out)}
    mixed, english = read_raw(raw_dir / "mixed.txt"), read_raw(raw_dir / "english.txt")
    assert not mixed.startswith("\ufeff")  # offsets count from after the BOM; CRLF kept

    def at(doc: str, raw: str, original: str, label: str, nth: int = 0) -> tuple:
        pos = [m.start() for m in re.finditer(re.escape(original), raw)][nth]
        return (doc, pos, pos + len(original), label, original)

    expected = {
        at("mixed", mixed, "BRCA1", "gene"),
        at("mixed", mixed, "TP53 \t gene", "gene"),
        at("mixed", mixed, "乳腺 癌", "disease"),
        at("mixed", mixed, "SEQ\u00a0ID  NO:1", "protein"),
        at("mixed", mixed, "BRCA2", "gene"),  # past character 4,000 of the long line
        at("mixed", mixed, "PD-L1", "protein"),
        at("mixed", mixed, "PD-1", "protein"),
        # a character model on English: whitespace inside Latin runs became '-' in the cleaned text
        at("english", english, "BRCA1", "gene"),
        at("english", english, "TP53 gene", "gene"),
        at("english", english, "breast \u00a0cancer", "disease"),
        at("english", english, "colorectal cancer", "disease"),
    }
    assert got == expected


def test_word_model_keeps_spaces(tmp_path, raw_dir, word_model_dir, fake_predict):
    out = tmp_path / "out"
    ok(str(raw_dir / "english.txt"), "--model", str(word_model_dir), "--out", str(out), "--no-network")
    assert fake_predict == ["BRCA1 mutations cause breast cancer .", "The TP53 gene is mutated in colorectal cancer ."]
    english = read_raw(raw_dir / "english.txt")
    got = {(e["start"], e["end"], e["text"]) for e in entities(out)}
    i, j, k = english.index("BRCA1"), english.index("breast"), english.index("colorectal")
    assert got == {
        (i, i + 5, "BRCA1"),
        (j, j + len("breast \u00a0cancer"), "breast \u00a0cancer"),
        (k, k + len("colorectal cancer"), "colorectal cancer"),
    }
    assert json.loads((out / "stats.json").read_text())["run"]["whitespace"] == "space"


@pytest.mark.slow
def test_word_model_random_offsets(tmp_path, raw_dir, word_model_dir):
    out = tmp_path / "out"
    ok(str(raw_dir), "--model", str(word_model_dir), "--out", str(out), "--no-network")
    raws = {p.stem: read_raw(p) for p in raw_dir.glob("*.txt")}
    ents = entities(out)
    assert ents
    assert all(raws[e["doc"]][e["start"] : e["end"]] == e["text"] for e in ents)


def test_every_sentence_is_predicted(tmp_path, raw_dir, model_dir, fake_predict):
    out = tmp_path / "out"
    ok(str(raw_dir), "--model", str(model_dir), "--out", str(out), "--no-network", "--buffer-sentences", "3")
    files = sorted(raw_dir.glob("*.txt"))
    cleaned = [s.text for p in files for s in clean_text(read_raw(p), max_len=2000).sentences]
    assert len(cleaned) > 20 and sorted(fake_predict) == sorted(cleaned)
    assert max(len(t) for t in cleaned) == 3000  # long sentences are kept whole (the model windows them)
    done = [line.split("\t") for line in (out / "done.txt").read_text(encoding="utf-8").splitlines()]
    assert [d for d, _ in done] == [p.stem for p in files]  # the empty document is done too, with 0 sentences
    assert sum(json.loads(info)["sentences"] for _, info in done) == len(cleaned)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["sentences"] == len(cleaned) and stats["documents"] == len(files)
    assert stats["characters"] == sum(len(read_raw(p)) for p in files)


# ----------------------------------------------------------------------------- resume


@pytest.mark.slow
def test_resume_after_crash_writes_no_duplicates(tmp_path, raw_dir, model_dir, monkeypatch):
    args = [str(raw_dir), "--model", str(model_dir), "--no-network", "--iob", "--buffer-sentences", "4"]
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    ok(*args, "--out", str(clean))
    ok(*args, "--out", str(crashed))
    reference = keys(entities(clean))
    done_lines = (crashed / "done.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    last_two = {line.split("\t")[0] for line in done_lines[-2:]}
    assert any(e[0] in last_two for e in reference)
    # a crash after the entities of the last two documents were written, before done.txt,
    # in the middle of writing one more entity line and one more done line
    (crashed / "done.txt").write_text("".join(done_lines[:-2]) + "half-written-id", encoding="utf-8")
    with (crashed / "entities.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"doc": "mixed", "sentence": 0, "sta')
    with (crashed / "predictions.bio").open("a", encoding="utf-8") as f:
        f.write("甲 O\n")
    result = ok(*args, "--out", str(crashed))
    stats = json.loads((crashed / "stats.json").read_text())
    assert stats["run"]["documents"] == 2 and stats["run"]["skipped"] == len(done_lines) - 2
    assert keys(entities(crashed)) == reference
    assert (crashed / "done.txt").read_text(encoding="utf-8").splitlines() == [line.rstrip("\n") for line in done_lines]
    assert (crashed / "predictions.bio").read_bytes() == (clean / "predictions.bio").read_bytes()
    assert stats["mentions"] == json.loads((clean / "stats.json").read_text())["mentions"]

    # a second run on a finished output predicts nothing and changes nothing
    before = (crashed / "entities.jsonl").read_bytes()

    def must_not_predict(self, sentences, **kw):
        raise AssertionError("nothing should be predicted")

    monkeypatch.setattr(Tagger, "predict", must_not_predict)
    result = ok(*args, "--out", str(crashed))
    assert (crashed / "entities.jsonl").read_bytes() == before
    stats = json.loads((crashed / "stats.json").read_text())
    assert stats["run"]["documents"] == 0 and stats["documents"] == len(done_lines)
    assert "outputs in" in result.output.strip().splitlines()[-1]


@pytest.mark.slow
def test_ctrl_c_loses_nothing_marked_done(tmp_path, raw_dir, model_dir, monkeypatch):
    args = [str(raw_dir), "--model", str(model_dir), "--no-network", "--buffer-sentences", "4"]
    clean, out = tmp_path / "clean", tmp_path / "out"
    ok(*args, "--out", str(clean))
    real = Tagger.predict
    calls = {"n": 0}

    def interrupted(self, sentences, **kw):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(self, sentences, **kw)

    monkeypatch.setattr(Tagger, "predict", interrupted)
    result = invoke(*args, "--out", str(out))
    assert result.exit_code == 130
    assert "run the same command again" in result.output
    done = (out / "done.txt").read_text(encoding="utf-8").splitlines()
    assert 0 < len(done) < len((clean / "done.txt").read_text(encoding="utf-8").splitlines())
    monkeypatch.setattr(Tagger, "predict", real)
    ok(*args, "--out", str(out))
    assert keys(entities(out)) == keys(entities(clean))


def test_other_settings_on_the_same_output_are_refused(tmp_path, raw_dir, model_dir):
    out = tmp_path / "out"
    ok(str(raw_dir / "english.txt"), "--model", str(model_dir), "--out", str(out), "--no-network")
    result = invoke(
        str(raw_dir / "english.txt"), "--model", str(model_dir), "--out", str(out), "--no-network", "--min-length", "3"
    )
    assert result.exit_code == 2 and "other settings" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("quantize", ["int8", "bf16"])
def test_quantized_extraction_is_its_own_output(tmp_path, raw_dir, model_dir, quantize):
    """--quantize int8 / bf16 extracts every document with exact offsets, and never mixes with float results."""
    out = tmp_path / "q"
    ok(str(raw_dir), "--model", str(model_dir), "--out", str(out), "--no-network", "--quantize", quantize)
    config = json.loads((out / "extract.json").read_text(encoding="utf-8"))
    assert config["quantization"] == quantize
    docs = {p.stem: read_raw(p) for p in raw_dir.iterdir()}
    for e in entities(out):
        assert docs[e["doc"]][e["start"] : e["end"]] == e["text"]
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert stats["run"]["documents"] == len(docs)
    result = invoke(str(raw_dir), "--model", str(model_dir), "--out", str(out), "--no-network")
    assert result.exit_code == 2 and "other settings" in result.output
    result = invoke(str(raw_dir), "--model", str(model_dir), "--out", str(tmp_path / "x"), "--quantize", "int4")
    assert result.exit_code == 2 and "--quantize" in result.stderr and "int4" in result.stderr


def test_flat_memory_sets_the_allocator_threshold(tmp_path, raw_dir, model_dir, monkeypatch):
    import mrc_ner.memory as memory

    calls = []
    monkeypatch.setattr(memory, "set_mmap_threshold", lambda n: calls.append(n) or True)
    ok(str(raw_dir / "english.txt"), "--model", str(model_dir), "--out", str(tmp_path / "a"), "--no-network")
    assert calls == [memory.FLAT_MEMORY_MMAP_THRESHOLD]
    ok(
        str(raw_dir / "english.txt"),
        "--model",
        str(model_dir),
        "--out",
        str(tmp_path / "b"),
        "--no-network",
        "--no-flat-memory",
    )
    assert calls == [memory.FLAT_MEMORY_MMAP_THRESHOLD]


# ----------------------------------------------------------------------------- input formats


def test_jsonl_and_column_inputs(tmp_path, model_dir):
    jsonl = tmp_path / "docs.jsonl"
    docs = [
        {"id": "p1", "text": "本发明涉及 BRCA1 基因。\n检测 TP53 突变。"},
        {"text": "PD-L1\t抗体\r\n\r\n乳腺癌"},
        {"id": 7, "text": ""},
    ]
    jsonl.write_text(
        "\n".join(json.dumps(d, ensure_ascii=False) for d in docs[:2]) + "\n\n" + json.dumps(docs[2]) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    ok(
        str(jsonl),
        str(REPO / "data" / "sample_en.tsv"),
        str(REPO / "data" / "sample_cbp"),
        "--model",
        str(model_dir),
        "--out",
        str(out),
        "--no-network",
        "--iob",
    )
    texts = {"p1": docs[0]["text"], "docs#1": docs[1]["text"], "7": ""}
    columns = read_corpus([REPO / "data" / "sample_en.tsv", REPO / "data" / "sample_cbp"])
    texts.update({d.id: d.text for d in columns.documents})
    done = [line.split("\t")[0] for line in (out / "done.txt").read_text(encoding="utf-8").splitlines()]
    assert done == list(texts)  # input order; JSONL ids, <stem>#<k> without one, file stems
    ents = entities(out)
    assert ents and all(texts[e["doc"]][e["start"] : e["end"]] == e["text"] for e in ents)
    assert [e["doc"] for e in ents] == sorted((e["doc"] for e in ents), key=list(texts).index)
    # predictions.bio: the cleaned sentences, one block per document
    bio = read_corpus(out / "predictions.bio")
    n_clean = sum(len(ex.clean_document(t)) for t in texts.values())
    assert len(bio.sentences) == n_clean


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('{"id": "a", "text": "甲"}\n\n{"id": "b", "text": "乙"\n', 3, "invalid JSON"),
        ('{"id": "a", "text": "甲"}\n{"id": "b", "body": "乙"}\n', 2, '"text"'),
        ('{"id": "a", "text": "甲"}\n{"id": "a", "text": "乙"}\n', 2, "occurs twice"),
        ('["a"]\n', 1, "JSON object"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, model_dir, content, line, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke(str(bad), "--model", str(model_dir), "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}:{line}:" in lines[0] and message in lines[0]
    assert not (out / "entities.jsonl").exists()


def test_missing_input_and_bad_options(tmp_path, model_dir):
    result = invoke(str(tmp_path / "nope.txt"), "--model", str(model_dir), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "nope.txt" in result.stderr
    (tmp_path / "a.txt").write_text("甲乙", encoding="utf-8")
    result = invoke(
        str(tmp_path / "a.txt"), "--model", str(model_dir), "--out", str(tmp_path / "o"), "--whitespace", "tabs"
    )
    assert result.exit_code == 2 and "--whitespace" in result.stderr
    (tmp_path / "latin1.txt").write_bytes("ok\nna\xefve".encode("latin-1"))
    result = invoke(str(tmp_path / "latin1.txt"), "--model", str(model_dir), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "latin1.txt:2:" in result.stderr


# ----------------------------------------------------------------------------- stats and network


def test_stats_and_network(tmp_path, raw_dir, model_dir, fake_predict):
    out = tmp_path / "out"
    result = ok(str(raw_dir), "--model", str(model_dir), "--out", str(out))
    stats = json.loads((out / "stats.json").read_text())
    for key in (
        "documents",
        "sentences",
        "characters",
        "entities",
        "mentions",
        "unique",
        "top",
        "postprocess",
        "run",
        "network",
    ):
        assert key in stats
    for key in ("elapsed_s", "documents_per_s", "characters_per_s", "peak_rss_mb"):
        assert stats["run"][key] > 0
    assert stats["top"]["gene"][0][0] == "BRCA1"
    assert ["TP53 gene", 2] in stats["top"][
        "gene"
    ]  # "TP53 \t gene" and "TP53 gene": whitespace runs count as one space
    assert stats["mentions"]["gene"] == len([e for e in entities(out) if e["label"] == "gene"])
    assert (out / "network" / "edges.csv").is_file()
    edges = (out / "network" / "edges.csv").read_text(encoding="utf-8")
    assert "brca1,tp53" in edges or "brca1,brca2" in edges
    assert stats["network"]["nodes"] >= 2
    assert "Table" not in result.output and "most frequent mentions" in result.output
    assert result.output.strip().splitlines()[-1].startswith("outputs in")


# ----------------------------------------------------------------------------- document-level consistency

PATENT = "SMAD2突变导致癌症。\n抑制SMAD2表达，BAMBI蛋白升高。\nBAMBI基因和BAMBI突变。\n无关的句子。\nSMAD2与BAMBI。\n"
OTHER = "本文件提到SMAD2。\n"


@pytest.fixture()
def shy_predict(monkeypatch):
    """A model that finds SMAD2 only beside 突变, and calls BAMBI protein beside 蛋白, gene elsewhere."""

    def predict(self, sentences, *, batch_size=32, progress=None):
        out = []
        for s in sentences:
            spans = [Span(m.start(), m.end(), "gene", 0.8) for m in re.finditer("SMAD2", s.text) if "突变" in s.text]
            label = "protein" if "蛋白" in s.text else "gene"
            spans += [Span(m.start(), m.end(), label, 0.7) for m in re.finditer("BAMBI", s.text)]
            out.append(sorted(spans))
        return out

    monkeypatch.setattr(Tagger, "predict", predict)


def consistency_run(tmp_path: Path, model_dir: Path, mode: str, *extra: str) -> tuple[Path, list[dict], str]:
    docs = tmp_path / f"docs_{mode}"
    docs.mkdir(exist_ok=True)
    (docs / "patent.txt").write_text(PATENT, encoding="utf-8")
    (docs / "other.txt").write_text(OTHER, encoding="utf-8")
    out = tmp_path / f"out_{mode}"
    args = [str(docs), "--model", str(model_dir), "--out", str(out), "--no-network", "--buffer-sentences", "2"]
    result = ok(*args, "--consistency", mode, *extra)
    return out, entities(out), result.output


def test_consistency_sees_the_whole_document_across_buffers(tmp_path, model_dir, shy_predict):
    _, plain, plain_output = consistency_run(tmp_path, model_dir, "none")
    out, ents, output = consistency_run(tmp_path, model_dir, "both", "--iob")
    assert "--consistency" in output and "retyped" in output and "--consistency" not in plain_output
    smad2 = [(e["sentence"], e["start"], e["label"]) for e in ents if e["doc"] == "patent" and e["text"] == "SMAD2"]
    # found only in sentence 0; the rule tags it in sentences 1 and 4, held over two buffers of 2 sentences
    assert [x for x in smad2 if x[0] == 0] == [(0, 0, "gene")]
    assert [(s, a) for s, a, _ in smad2] == [(0, 0), (1, PATENT.index("SMAD2", 1)), (4, PATENT.rindex("SMAD2"))]
    assert len([e for e in plain if e["text"] == "SMAD2"]) == 1
    # BAMBI: gene twice, protein once in the document → gene everywhere
    assert {e["label"] for e in ents if e["text"] == "BAMBI"} == {"gene"}
    assert {e["label"] for e in plain if e["text"] == "BAMBI"} == {"gene", "protein"}
    for e in ents:  # offsets into the original text
        assert (PATENT if e["doc"] == "patent" else OTHER)[e["start"] : e["end"]] == e["text"]
    # the other document predicted nothing: a name is never carried over from another document
    assert not [e for e in ents if e["doc"] == "other"]
    done = {
        line.split("\t")[0]: json.loads(line.split("\t")[1]) for line in (out / "done.txt").read_text().splitlines()
    }
    assert done["patent"]["consistency"] == {"added": {"gene": 2}, "retyped": {"gene": 1}}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["consistency"] == {"added": {"gene": 2}, "retyped": {"gene": 1}}
    assert stats["run"]["consistency"] == stats["consistency"]
    bio = (out / "predictions.bio").read_text(encoding="utf-8")
    assert bio.count("-DOCSTART-") == 2 and "B-protein" not in bio
    assert bio.count("S B-gene") == 3  # the char model's lines: SMAD2 begins a gene three times


def test_consistency_is_part_of_the_output_settings(tmp_path, model_dir, shy_predict):
    out, _, _ = consistency_run(tmp_path, model_dir, "propagate")
    docs = tmp_path / "docs_propagate"
    result = invoke(str(docs), "--model", str(model_dir), "--out", str(out), "--no-network", "--consistency", "retype")
    assert result.exit_code == 2 and "consistency" in result.output
    result = invoke(
        str(docs), "--model", str(model_dir), "--out", str(tmp_path / "o"), "--consistency", "both", "--nested"
    )
    assert result.exit_code == 2 and "--nested" in result.output
    with pytest.raises(InputError, match="--consistency must be one of"):
        ex.ExtractOptions(consistency="all").check()


# ----------------------------------------------------------------------------- several processes


class FakeState:
    """One rank of an N-process run, run in this process (the barrier is a no-op)."""

    def __init__(self, n: int, rank: int) -> None:
        self.num_processes, self.process_index, self.is_main_process = n, rank, rank == 0

    def wait_for_everyone(self) -> None:
        pass


@pytest.mark.slow
@pytest.mark.parametrize("consistency", ["none", "both"])
def test_shards_merge_like_one_process(tmp_path, raw_dir, model_dir, consistency):
    opts = ex.ExtractOptions(network=False, iob=True, buffer_sentences=5, consistency=consistency)
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    alone = ex.run_extraction([raw_dir], model_dir, single, opts)
    assert ex.run_extraction([raw_dir], model_dir, sharded, opts, state=FakeState(3, 2)) is None
    assert ex.run_extraction([raw_dir], model_dir, sharded, opts, state=FakeState(3, 1)) is None
    stats = ex.run_extraction([raw_dir], model_dir, sharded, opts, state=FakeState(3, 0))
    assert stats is not None and stats["run"]["processes"] == 3
    assert keys(entities(sharded)) == keys(entities(single))
    assert stats["run"]["consistency"] == alone["run"]["consistency"] == alone.get("consistency", {})
    if consistency != "none":
        assert sum(alone["consistency"]["added"].values()) > 0  # the random model's names recur
    assert (sharded / "predictions.bio").read_bytes() == (single / "predictions.bio").read_bytes()
    assert not (sharded / "shards").exists()


@pytest.mark.slow
def test_leftover_shards_are_kept_by_a_single_process_run(tmp_path, raw_dir, model_dir):
    opts = ex.ExtractOptions(network=False)
    single, out = tmp_path / "single", tmp_path / "out"
    ex.run_extraction([raw_dir], model_dir, single, opts)
    ex.run_extraction([raw_dir], model_dir, out, opts, state=FakeState(2, 1))  # rank 0 never ran
    rank1 = [
        line.split("\t")[0]
        for line in (out / "shards" / "rank-1" / "done.txt").read_text(encoding="utf-8").splitlines()
    ]
    stats = ex.run_extraction([raw_dir], model_dir, out, opts)
    assert stats["run"]["skipped"] == len(rank1) > 0
    assert keys(entities(out)) == keys(entities(single))


@pytest.mark.slow
def test_merge_journal_completes_after_a_crash(tmp_path, raw_dir, model_dir, monkeypatch):
    opts = ex.ExtractOptions(network=False)
    single, out = tmp_path / "single", tmp_path / "out"
    ex.run_extraction([raw_dir], model_dir, single, opts)
    ex.run_extraction([raw_dir], model_dir, out, opts, state=FakeState(2, 1))
    real = ex.recover_merge
    monkeypatch.setattr(ex_merge, "recover_merge", lambda d: None)  # the merge dies after writing its journal
    ex.run_extraction([raw_dir], model_dir, out, opts, state=FakeState(2, 0))
    assert (out / ex.JOURNAL).is_file()
    monkeypatch.setattr(ex_merge, "recover_merge", real)
    stats = ex.run_extraction([raw_dir], model_dir, out, opts)
    assert stats["run"]["documents"] == 0
    assert keys(entities(out)) == keys(entities(single))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_equal_one(tmp_path, raw_dir, model_dir):
    """A real two-process run (accelerate launch, CPU processes over gloo) merges to the one-process result."""
    single, double = tmp_path / "single", tmp_path / "double"
    common = ["--model", str(model_dir), "--no-network", "--iob", "--buffer-sentences", "6"]
    ok(str(raw_dir), str(REPO / "data" / "sample_cbp"), *common, "--out", str(single))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "120"}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(_free_port()),
        "-m",
        "mrc_ner.cli",
        "extract",
        str(raw_dir),
        str(REPO / "data" / "sample_cbp"),
        *common,
        "--out",
        str(double),
        "--cpu",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("outputs in")
    a, b = entities(single), entities(double)
    assert set(keys(a)) == set(keys(b)) and keys(a) == keys(b)  # same entities, in document order
    assert all(abs(x["score"] - y["score"]) < 1e-4 for x, y in zip(a, b))
    assert (double / "predictions.bio").read_bytes() == (single / "predictions.bio").read_bytes()
    stats = json.loads((double / "stats.json").read_text())
    assert (
        stats["run"]["processes"] == 2
        and stats["documents"] == json.loads((single / "stats.json").read_text())["documents"]
    )
    assert not (double / "shards").exists()
