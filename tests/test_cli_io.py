"""CLI plumbing: ``--version``, ``predict`` from stdin to stdout with ``--device``, ``--json`` on
every command that prints a table, and JSONL inputs that declare or detect word vs character level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mrc_ner
from mrc_ner.cli import app
from mrc_ner.corpus import read_corpus
from mrc_ner.corpus.jsonl import read_jsonl, write_jsonl
from mrc_ner.corpus.model import Document, Sentence, Span
from mrc_ner.errors import InputError

runner = CliRunner()


def run(*args, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def one_red_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), (
        result.exit_code,
        result.stderr,
        result.stdout,
    )
    return lines[0]


def test_version() -> None:
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"mrc-ner {mrc_ner.__version__}"


# ----------------------------------------------------------------------------- predict: stdin/stdout, --device


def test_predict_stdin_to_stdout(tiny_char_model: Path) -> None:
    r = run(
        "predict",
        "-",
        "--model",
        tiny_char_model,
        "--out",
        "-",
        "--device",
        "cpu",
        input="检测BRCA1突变\n\nBRCA1突变导致乳腺癌\n",
    )
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [row["text"] for row in rows] == ["检测BRCA1突变", "", "BRCA1突变导致乳腺癌"]
    assert [row["id"] for row in rows] == ["stdin:0", "stdin:1", "stdin:2"]
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in rows[0]["entities"]] == [(2, 7, "gene", "BRCA1")]
    assert [e["text"] for e in rows[2]["entities"]] == ["BRCA1", "乳腺癌"]
    assert "3 sentences, 3 entities" in r.stderr


def test_predict_stdin_jsonl_and_iob_stdout(tiny_char_model: Path) -> None:
    lines = json.dumps({"id": "a", "text": "检测BRCA1突变"}, ensure_ascii=False) + "\n"
    r = run("predict", "-", "--model", tiny_char_model, "--out", "-", "--format", "iob", input=lines)
    assert r.exit_code == 0, r.stderr
    tags = [ln.split(" ") for ln in r.stdout.splitlines() if ln]
    assert tags == [
        ["检", "O"],
        ["测", "O"],
        ["B", "B-gene"],
        ["R", "I-gene"],
        ["C", "I-gene"],
        ["A", "I-gene"],
        ["1", "I-gene"],
        ["突", "O"],
        ["变", "O"],
    ]


def test_predict_stdin_errors_name_stdin(tiny_char_model: Path) -> None:
    line = one_red_line(
        run("predict", "-", "--model", tiny_char_model, "--out", "-", input='{"text": "ok"}\n{"text": 5}\n')
    )
    assert "<stdin>:2:" in line


def test_predict_file_to_stdout_equals_file_output(tmp_path: Path, tiny_char_model: Path) -> None:
    (tmp_path / "in.txt").write_text("检测BRCA1突变\nTP53基因与肺癌相关\n", encoding="utf-8")
    r = run("predict", tmp_path / "in.txt", "--model", tiny_char_model, "--out", tmp_path / "p.jsonl")
    assert r.exit_code == 0, r.output
    r2 = run("predict", tmp_path / "in.txt", "--model", tiny_char_model, "--out", "-")
    assert r2.stdout == (tmp_path / "p.jsonl").read_text(encoding="utf-8")


def test_predict_consistency_per_document(tmp_path: Path, tiny_char_model: Path, monkeypatch) -> None:
    """The model's entities kept in the document's first sentence only; --consistency finds the rest."""
    import mrc_ner.commands.predict as predict_command

    real = predict_command.configure_prediction

    def first_sentence_only(*args, **kwargs):
        tagger = real(*args, **kwargs)
        predict = tagger.predict
        tagger.predict = lambda sentences, **kw: [[] if i else p for i, p in enumerate(predict(sentences, **kw))]
        return tagger

    monkeypatch.setattr(predict_command, "configure_prediction", first_sentence_only)
    (tmp_path / "in.txt").write_text("检测BRCA1突变\n无关\n另检测BRCA1突变\n", encoding="utf-8")
    found = {}
    for mode in ("none", "propagate"):
        r = run("predict", tmp_path / "in.txt", "--model", tiny_char_model, "--out", "-", "--consistency", mode)
        assert r.exit_code == 0, r.output
        rows = [json.loads(ln) for ln in r.stdout.splitlines()]
        found[mode] = [[(e["start"], e["text"]) for e in row["entities"]] for row in rows]
    assert found["none"] == [[(2, "BRCA1")], [], []]
    assert found["propagate"] == [[(2, "BRCA1")], [], [(3, "BRCA1")]]
    assert "--consistency propagate: retyped 0 {}, added 1 {'gene': 1}" in r.stderr


@pytest.mark.parametrize("device, message", [("banana", "unknown device"), ("cuda:7", "cuda")])
def test_predict_bad_device(tmp_path: Path, tiny_char_model: Path, device: str, message: str) -> None:
    (tmp_path / "in.txt").write_text("检测BRCA1突变\n", encoding="utf-8")
    assert message in one_red_line(
        run("predict", tmp_path / "in.txt", "--model", tiny_char_model, "--out", "-", "--device", device)
    )


def test_predict_missing_model_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("x\n", encoding="utf-8")
    assert "no such model directory" in one_red_line(
        run("predict", tmp_path / "in.txt", "--model", tmp_path / "no" / "model", "--out", "-")
    )


def test_evaluate_model_device_json(tmp_path: Path, tiny_char_model: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    write_jsonl(
        [
            Document(
                "d",
                [
                    Sentence.from_text("检测BRCA1突变", [Span(2, 7, "gene")]),
                    Sentence.from_text("TP53基因与肺癌相关", [Span(0, 4, "gene"), Span(7, 9, "disease")]),
                ],
            )
        ],
        gold,
    )
    r = run("evaluate", gold, "--model", tiny_char_model, "--device", "cpu", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["micro"]["f1"] == 1.0
    assert "unknown device" in one_red_line(run("evaluate", gold, "--model", tiny_char_model, "--device", "tpu9"))


# ----------------------------------------------------------------------------- --json everywhere a table is printed


@pytest.mark.parametrize(
    "command", [["stats"], ["evaluate"], ["compare"], ["extract"], ["encoders", "list"], ["network"], ["train"]]
)
def test_every_table_command_has_json(command: list[str]) -> None:
    r = run(*command, "--help")
    assert r.exit_code == 0 and "--json" in r.stdout


def test_extract_json(tmp_path: Path, tiny_char_model: Path) -> None:
    (tmp_path / "doc.txt").write_text("本发明涉及检测方法\n检测 BRCA1 突变\n", encoding="utf-8")
    r = run(
        "extract", tmp_path / "doc.txt", "--model", tiny_char_model, "--out", tmp_path / "out", "--json", "--no-network"
    )
    assert r.exit_code == 0, r.output
    stats = json.loads(r.stdout)
    assert stats == json.loads((tmp_path / "out" / "stats.json").read_text(encoding="utf-8"))
    assert stats["documents"] == 1 and stats["mentions"] == {"gene": 1}


def test_train_and_compare_json(tmp_path: Path, tiny_encoder: Path) -> None:
    data = tmp_path / "train.jsonl"
    write_jsonl(
        [
            Document(
                "d",
                [Sentence.from_text("检测BRCA1突变", [Span(2, 7, "gene")]), Sentence.from_text("本发明涉及检测方法")],
            )
        ],
        data,
    )
    r = run(
        "train",
        "--method",
        "softmax",
        "--train",
        data,
        "--test",
        data,
        "--encoder",
        tiny_encoder,
        "--out",
        tmp_path / "m",
        "--epochs",
        "1",
        "--max-length",
        "32",
        "--json",
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["method"] == "softmax" and "micro" in summary["test"]
    assert summary == json.loads((tmp_path / "m" / "run_summary.json").read_text(encoding="utf-8"))
    r = run("compare", "--models", tmp_path / "m", "--test", data, "--out", tmp_path / "cmp", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report == json.loads((tmp_path / "cmp" / "results.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- JSONL word vs character level


def _write(path: Path, *objs) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    return path


def test_jsonl_english_is_detected_word_level(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "en.jsonl",
        {
            "text": "BRCA1 mutations cause breast cancer .",
            "entities": [{"start": 0, "end": 5, "label": "gene"}, {"start": 22, "end": 35, "label": "disease"}],
        },
        {"text": "The TP53 gene ."},
    )
    s = read_jsonl(p)[0].sentences[0]
    assert not s.char_level and s.words == ["BRCA1", "mutations", "cause", "breast", "cancer", "."]
    assert [s.mention(sp) for sp in s.spans] == ["BRCA1", "breast cancer"]
    zh = read_jsonl(_write(tmp_path / "zh.jsonl", {"text": "检测BRCA1突变"}, {"text": "TP53 基因"}))[0].sentences
    assert all(x.char_level for x in zh)


def test_jsonl_level_declared_per_record_and_per_file(tmp_path: Path) -> None:
    p = _write(tmp_path / "a.jsonl", {"text": "BRCA1 is here", "level": "char"}, {"text": "检测 突变", "level": "word"})
    a, b = read_jsonl(p)[0].sentences
    assert a.char_level and len(a.tokens) == len("BRCA1 is here")
    assert not b.char_level and b.words == ["检测", "突变"]
    p = _write(tmp_path / "b.jsonl", {"level": "char"}, {"text": "BRCA1 mutations cause cancer ."})
    docs = read_jsonl(p)
    assert len(docs) == 1 and docs[0].sentences[0].char_level
    assert read_corpus(_write(tmp_path / "c.jsonl", {"text": "BRCA1 mutations"}), level="char").sentences[0].char_level
    doc = read_jsonl(_write(tmp_path / "d.jsonl", {"id": "D", "level": "word", "sentences": [{"text": "检测 突变"}]}))[
        0
    ]
    assert not doc.sentences[0].char_level


def test_jsonl_bad_level_is_located(tmp_path: Path) -> None:
    p = _write(tmp_path / "x.jsonl", {"text": "a"}, {"text": "b", "level": "token"})
    with pytest.raises(InputError, match="level") as e:
        read_jsonl(p)
    assert e.value.line == 2


def test_jsonl_word_level_keeps_entities_inside_words_exact(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "x.jsonl",
        {
            "text": "p53mutation in BRCA1-associated cancer",
            "level": "word",
            "entities": [{"start": 0, "end": 3, "label": "gene"}, {"start": 15, "end": 20, "label": "gene"}],
        },
    )
    s = read_jsonl(p)[0].sentences[0]
    assert s.words[:2] == ["p53", "mutation"] and [s.mention(sp) for sp in s.spans] == ["p53", "BRCA1"]
    from mrc_ner.corpus.schemes import sentence_tags

    assert sentence_tags(s, "IOB2")[:2] == ["B-gene", "O"]


@pytest.mark.parametrize("char_level", [True, False])
def test_jsonl_round_trip_keeps_the_level(tmp_path: Path, char_level: bool) -> None:
    from mrc_ner.corpus.model import word_tokens

    text = "BRCA1 mutations cause cancer ."
    s = (
        Sentence.from_text(text, [Span(0, 5, "gene")])
        if char_level
        else Sentence(text, word_tokens(text), [Span(0, 5, "gene")], char_level=False)
    )
    zh = Sentence.from_text("检测BRCA1突变", [Span(2, 7, "gene")])
    write_jsonl([Document("d", [s, zh])], tmp_path / "r.jsonl")
    back = read_jsonl(tmp_path / "r.jsonl")[0].sentences
    assert [(b.char_level, b.tokens, b.spans) for b in back] == [(x.char_level, x.tokens, x.spans) for x in (s, zh)]
    assert "level" not in json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()[1])


def test_word_model_predicts_english_jsonl_by_words(tmp_path: Path, tiny_word_model: Path) -> None:
    """An English JSONL gets word alignment (before, it was silently character-aligned)."""
    p = _write(tmp_path / "en.jsonl", {"id": "x", "text": "BRCA1 mutations cause breast cancer ."})
    (tmp_path / "en.txt").write_text("BRCA1 mutations cause breast cancer .\n", encoding="utf-8")
    r = run("predict", p, "--model", tiny_word_model, "--out", "-")
    assert r.exit_code == 0, r.output
    ents = [(e["text"], e["label"]) for e in json.loads(r.stdout)["entities"]]
    assert ents == [("BRCA1", "gene"), ("breast cancer", "disease")]
    r2 = run("predict", tmp_path / "en.txt", "--model", tiny_word_model, "--out", "-")
    assert json.loads(r2.stdout)["entities"] == json.loads(r.stdout)["entities"]
