"""Column and JSONL readers: bad input gives one located error, good input of every shape reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.conll import read_conll, write_conll
from mrc_ner.corpus.jsonl import read_jsonl, write_jsonl
from mrc_ner.corpus.model import Document, Sentence, Span
from mrc_ner.corpus.readers import read_corpus
from mrc_ner.errors import InputError

runner = CliRunner()


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    p.write_bytes(content)
    return p


def _mentions(doc: Document) -> list[list[tuple[str, str]]]:
    return [[(s.mention(sp), sp.label) for sp in s.spans] for s in doc.sentences]


# --- bad input ---------------------------------------------------------------------

BAD_FILES = {
    "columns": ("bad.tsv", "BRCA1\tB-gene\tX\nis\tO\tY\nmutated\tO\n", 3, "expected 3 columns, found 2: 'mutated\\tO'"),
    "one_column": ("bad.bio", "基 O\n因\n", 2, "expected 2 columns, found 1: '因'"),
    "first_line_one_column": ("bad.bio", "基\n因 O\n", 1, "expected at least 2 columns (token and tag), found 1: '基'"),
    "empty_prefix_tag": ("bad.bio", "基 O\n\n因 B-\n", 3, "malformed tag 'B-'"),
    "empty_tag": ("bad.tsv", "gene\tO\ncancer\t\n", 2, "malformed tag ''"),
    "no_prefix_tag": ("bad.tsv", "gene\tO\ncancer\t-Disease\n", 2, "malformed tag '-Disease'"),
    "unknown_prefix": ("bad.bio", "基 O\n因 Q-gene\n", 2, "unknown tag prefix in 'Q-gene'"),
    "bare_type": ("bad.bio", "基 O\n因 gene\n", 2, "malformed tag 'gene'"),
    "utf8": ("bad.bio", "基 O\n".encode() + b"\xff\xfe O\n", 2, "not valid UTF-8 (byte 0xff"),
    "scheme_mix": (
        "bad.bio",
        "基 B-gene\n因 M-gene\n突 I-gene\n",
        3,
        "unknown tag prefix in 'I-gene' (allowed: B, E, M, S, O)",
    ),
    "empty_token": ("bad.tsv", "a\tO\n\tO\n", 2, "empty token"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_column_file(tmp_path: Path, case: str) -> None:
    name, content, line, needle = BAD_FILES[case]
    path = _write(tmp_path, name, content)
    with pytest.raises(InputError) as e:
        read_conll(path)
    assert e.value.line == line
    assert str(e.value).startswith(f"{path}:{line}: ")
    assert needle in str(e.value)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "-DOCSTART- O\n\n", "\ufeff"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path, "empty.bio", content)
    with pytest.raises(InputError, match="empty file") as e:
        read_conll(path)
    assert str(e.value).startswith(f"{path}: ")


def test_nonexistent_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nope.bio"
    for read in (read_conll, read_jsonl, read_corpus):
        with pytest.raises(InputError) as e:
            read(missing)
        assert str(e.value).startswith(f"{missing}: ")


def test_directory_without_corpus_files(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(InputError, match="directory holds no corpus files"):
        read_corpus(tmp_path)


@pytest.mark.parametrize(
    "content, line, needle",
    [
        ('{"text": "ab"}\n{"text": "a\n', 2, "invalid JSON"),
        ('["a"]\n', 1, "JSON object"),
        ('{"txt": "ab"}\n', 1, 'string "text"'),
        ('{"text": "ab", "entities": [{"start": 0, "end": 3, "label": "g"}]}\n', 1, "[0, 3) outside"),
        ('{"text": "ab", "entities": [{"start": 0, "label": "g"}]}\n', 1, "integer start, end"),
        (
            '\n{"text": "ab", "entities": [{"start": 0, "end": 1, "label": "g", "text": "b"}]}\n',
            2,
            "entity text 'b' differs",
        ),
    ],
)
def test_bad_jsonl(tmp_path: Path, content: str, line: int, needle: str) -> None:
    path = _write(tmp_path, "bad.jsonl", content)
    with pytest.raises(InputError) as e:
        read_jsonl(path)
    assert str(e.value).startswith(f"{path}:{line}: ")
    assert needle in str(e.value)


@pytest.mark.parametrize("case", ["columns", "unknown_prefix", "empty_prefix_tag", "utf8"])
def test_cli_bad_file_one_line_exit_2(tmp_path: Path, case: str) -> None:
    name, content, line, needle = BAD_FILES[case]
    path = _write(tmp_path, name, content)
    result = runner.invoke(app, ["stats", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}:{line}: ") and needle in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content", [None, ""])
def test_cli_missing_or_empty_file(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "x.bio"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["stats", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ")
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


# --- good input --------------------------------------------------------------------


def test_tab_and_space_separators(tmp_path: Path) -> None:
    tab = read_conll(_write(tmp_path, "a.tsv", "BRCA1\tB-gene\nis\tO\nmutated\tO\n"))[0]
    spaces = read_conll(_write(tmp_path, "b.tsv", "BRCA1   B-gene\nis O\nmutated  O\n"))[0]
    for doc in (tab, spaces):
        s = doc.sentences[0]
        assert s.text == "BRCA1 is mutated" and not s.char_level
        assert _mentions(doc) == [[("BRCA1", "gene")]]


def test_extra_columns_token_first_tag_last(tmp_path: Path) -> None:
    doc = read_conll(_write(tmp_path, "a.conll", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"))[0]
    assert doc.sentences[0].text == "EU rejects" and _mentions(doc) == [[("EU", "ORG")]]


def test_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    content = "\ufeff基 B-gene\r\n因 I-gene\r\n\r\n\r\n\r\n突 O\r\n变 O\r\n\r\n"
    doc = read_conll(_write(tmp_path, "x.bio", content))[0]
    assert [s.text for s in doc.sentences] == ["基因", "突变"]
    assert _mentions(doc) == [[("基因", "gene")], []]
    assert doc.id == "x" and [s.id for s in doc.sentences] == ["x:0", "x:1"]
    assert doc.text == "基因\n突变" and doc.sentences[1].offset == 3


def test_unicode_whitespace_and_separators_are_tokens(tmp_path: Path) -> None:
    """Only LF/CR end lines and only ASCII space/tab separate columns."""
    content = "甲 O\n\u3000 O\n\u2028 O\n\x85 O\n\xa0 O\n乙 B-gene\n丙 I-gene\n"
    doc = read_conll(_write(tmp_path, "x.bio", content))[0]
    assert doc.sentences[0].text == "甲\u3000\u2028\x85\xa0乙丙"
    assert _mentions(doc) == [[("乙丙", "gene")]]


def test_docstart_splits_documents(tmp_path: Path) -> None:
    content = "-DOCSTART- O\n\nA\tB-Disease\n\nb\tO\n\n-DOCSTART-\tO\n\nc\tO\n"
    docs = read_conll(_write(tmp_path, "train.tsv", content))
    assert [d.id for d in docs] == ["train#0", "train#1"]
    assert [len(d.sentences) for d in docs] == [2, 1]
    assert docs[1].sentences[0].id == "train#1:0"


def test_char_and_word_level_joining(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.tsv", "p\tB-protein\n5\tI-protein\n3\tI-protein\n")
    assert read_conll(path)[0].sentences[0].text == "p53"  # all single characters: char-level
    word = read_conll(path, level="word")[0].sentences[0]
    assert word.text == "p 5 3" and not word.char_level and word.mention(word.spans[0]) == "p 5 3"
    mixed = _write(tmp_path, "y.tsv", "p53\tB-protein\nis\tO\n")
    assert read_conll(mixed)[0].sentences[0].text == "p53 is"
    forced = read_conll(mixed, level="char")[0].sentences[0]
    assert forced.text == "p53is" and forced.char_level and forced.tokens == [(0, 3), (3, 5)]


def test_iob1_file(tmp_path: Path) -> None:
    content = "A\tI-gene\nB\tI-gene\nC\tB-gene\nD\tO\nE\tI-protein\n"
    path = _write(tmp_path, "x.iob", content)
    expected = [[("AB", "gene"), ("C", "gene"), ("E", "protein")]]
    assert _mentions(read_conll(path, scheme="IOB1")[0]) == expected
    assert _mentions(read_conll(path)[0]) == expected, "auto (IOB2 with repair) reads IOB1 the same"


def test_bioes_file(tmp_path: Path) -> None:
    content = "A B-gene\nB I-gene\nC E-gene\nD S-protein\nE O\nF S-gene\n"
    doc = read_conll(_write(tmp_path, "x.bioes", content))[0]
    assert _mentions(doc) == [[("ABC", "gene"), ("D", "protein"), ("F", "gene")]]


def test_bmes_file(tmp_path: Path) -> None:
    content = "乳 B-disease\n腺 M-disease\n癌 E-disease\n和 O\n癌 S-disease\n"
    doc = read_conll(_write(tmp_path, "x.bio", content))[0]
    assert _mentions(doc) == [[("乳腺癌", "disease"), ("癌", "disease")]]
    with pytest.raises(InputError, match="unknown tag prefix in 'M-disease'"):
        read_conll(tmp_path / "x.bio", scheme="IOB2")


def test_read_corpus_files_and_dirs(tmp_path: Path) -> None:
    d = tmp_path / "docs"
    d.mkdir()
    _write(d, "b.bio", "乙 O\n")
    _write(d, "a.bio", "甲 O\n")
    _write(d, "README.md", "not a corpus file")
    _write(tmp_path, "c.jsonl", '{"text": "丙丁", "entities": [{"start": 0, "end": 2, "label": "gene"}]}\n')
    corpus = read_corpus([d, tmp_path / "c.jsonl"])
    assert [doc.id for doc in corpus] == ["a", "b", "c"]
    assert corpus.labels == ["gene"]


# --- round trips -------------------------------------------------------------------


def _docs() -> list[Document]:
    s1 = Sentence.from_text("本发明涉及BRCA1基因突变", [Span(5, 12, "gene")], id="p:0")
    s2 = Sentence.from_text("用于乳腺癌和卵巢癌", [Span(2, 5, "disease"), Span(6, 9, "disease")], id="p:1")
    s3 = Sentence.from_text("U+2028\u2028与\x85也是字符", [Span(0, 1, "gene")], id="q:0")
    return [Document("p", [s1, s2]), Document("q", [s3])]


@pytest.mark.parametrize("per", ["sentence", "document"])
def test_jsonl_round_trip(tmp_path: Path, per: str) -> None:
    docs = _docs()
    path = tmp_path / "out.jsonl"
    write_jsonl(docs, path, per=per)
    back = read_jsonl(path)
    got = [(s.id, s.text, s.spans) for d in back for s in d.sentences]
    assert got == [(s.id, s.text, s.spans) for d in docs for s in d.sentences]
    if per == "document":
        assert [(d.id, d.text) for d in back] == [(d.id, d.text) for d in docs]
    else:
        assert [d.id for d in back] == ["out"]


def test_jsonl_scores_kept(tmp_path: Path) -> None:
    s = Sentence.from_text("ab", [Span(0, 2, "gene", score=0.25)])
    write_jsonl([Document("d", [s])], tmp_path / "x.jsonl")
    assert read_jsonl(tmp_path / "x.jsonl")[0].sentences[0].spans[0].score == 0.25


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2", "BIOES", "BMES"])
def test_conll_round_trip_char_level(tmp_path: Path, scheme: str) -> None:
    docs = _docs()[:1]
    path = tmp_path / "out.bio"
    write_conll(docs, path, scheme=scheme)
    back = read_conll(path, scheme=scheme)
    assert [(s.text, s.spans) for s in back[0].sentences] == [(s.text, s.spans) for s in docs[0].sentences]
    assert back[0].id == "out"


def test_conll_round_trip_word_level_and_docstart(tmp_path: Path) -> None:
    s1 = Sentence.from_tokens(
        ["Familial", "breast", "cancer", "genes"], char_level=False, spans_by_token=[(0, 3, "Disease")]
    )
    s2 = Sentence.from_tokens(["No", "disease", "here"], char_level=False)
    s3 = Sentence.from_tokens(["ataxia", "telangiectasia"], char_level=False, spans_by_token=[(0, 2, "Disease")])
    docs = [Document("a", [s1, s2]), Document("b", [s3])]
    path = tmp_path / "en.tsv"
    write_conll(docs, path, docstart=True)
    assert path.read_text(encoding="utf-8").startswith("-DOCSTART- O\n\nFamilial\tB-Disease\n")
    back = read_conll(path)
    assert [d.id for d in back] == ["en#0", "en#1"]
    assert [[(s.text, s.spans) for s in d.sentences] for d in back] == [
        [(s.text, s.spans) for s in d.sentences] for d in docs
    ]
    assert all(not s.char_level for d in back for s in d.sentences)


def test_sample_data_reads() -> None:
    repo = Path(__file__).resolve().parents[1]
    cbp = read_corpus(repo / "data" / "sample_cbp")
    assert len(cbp) == 3 and cbp.labels == ["disease", "gene", "protein"]
    assert all(15 <= len(d.sentences) <= 40 and d.sentences[0].text == "Abstract" for d in cbp)
    en = read_corpus(repo / "data" / "sample_en.tsv")
    assert en.labels == ["Disease"] and not en.sentences[0].char_level
