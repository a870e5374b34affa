"""``mrc-ner predict``: run a trained model over column files or plain text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mrc_ner.commands._common import QUANTIZE_HELP, console, handles_input_errors, postprocess_option_help, run_postprocess
from mrc_ner.corpus.conll import COLUMN_SUFFIXES, read_corpus, read_text_lines
from mrc_ner.corpus.model import Corpus, Document
from mrc_ner.errors import InputError
from mrc_ner.io import writable_file


def read_plain_text(path: Path, tagger) -> list[Document]:
    """A plain-text file, one sentence per line (blank lines are kept as empty sentences, so line numbers hold)."""
    lines = read_text_lines(path)
    if not any(ln.strip() for ln in lines):
        raise InputError("empty file: no text found", path=path)
    sents = [tagger.make_sentence(ln, id=f"{path.stem}:{i}") for i, ln in enumerate(lines)]
    return [Document(path.stem, sents)]


def read_inputs(path: Path, tagger, *, plain: bool | None) -> Corpus:
    """Column/JSONL corpora through the readers; ``.txt`` files without tags (or ``plain=True``) as plain text."""
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")) if path.is_dir() else [path]
    if not files:
        raise InputError("the input directory holds no files", path=path)
    docs: list[Document] = []
    for f in files:
        is_plain = plain if plain is not None else (f.suffix.lower() not in COLUMN_SUFFIXES | {".jsonl"} or _looks_plain(f))
        docs.extend(read_plain_text(f, tagger) if is_plain else read_corpus(f).documents)
    return Corpus(docs, name=str(path))


def _looks_plain(path: Path) -> bool:
    """A ``.txt`` file is plain text unless its lines look like ``token<sep>tag`` columns."""
    if path.suffix.lower() != ".txt":
        return False
    lines = [ln for ln in read_text_lines(path)[:50] if ln.strip()]
    tagged = sum(1 for ln in lines if len(ln.split()) >= 2 and (ln.split()[-1] == "O" or ln.split()[-1][:2] in ("B-", "I-", "E-", "S-", "M-")))
    return tagged < 0.9 * max(len(lines), 1)


@handles_input_errors
def predict(
    input: Annotated[Path, typer.Argument(help="Column file(s), JSONL, or plain text (one sentence per line); a file or directory.", show_default=False)],
    model: Annotated[Path, typer.Option("--model", help="Trained model directory.")],
    out: Annotated[Path, typer.Option("--out", help="Output file: .jsonl for JSON lines, anything else for IOB columns.")],
    format: Annotated[str, typer.Option(help="auto (by --out suffix), jsonl or iob.")] = "auto",
    plain: Annotated[bool, typer.Option("--plain/--columns", help="Force plain-text or column reading (default: by file).")] = None,  # type: ignore[assignment]
    batch_size: Annotated[int, typer.Option(help="Sentences' features per batch.")] = 32,
    quantize: Annotated[str, typer.Option(help=QUANTIZE_HELP)] = "none",
    postprocess: Annotated[bool, typer.Option("--postprocess", help=postprocess_option_help())] = False,
    orphan: Annotated[str, typer.Option(help="With --postprocess: repair or drop runs that start with I-.")] = "repair",
    invalid_symbols: Annotated[str, typer.Option(help="With --postprocess: characters that invalidate an entity.")] = "?~˜。",
) -> None:
    """Predict entities with character offsets; every input sentence gets an output line or block."""
    from mrc_ner.corpus.conll import write_conll
    from mrc_ner.corpus.jsonl import write_jsonl
    from mrc_ner.models.quantize import load_for_inference

    writable_file(out)
    tagger = load_for_inference(model, quantize=quantize)
    corpus = read_inputs(input, tagger, plain=plain)
    fmt = format if format != "auto" else ("jsonl" if out.suffix.lower() == ".jsonl" else "iob")
    if fmt not in ("jsonl", "iob"):
        raise InputError(f"unknown format {format!r}; choose jsonl or iob")
    sentences = corpus.sentences
    preds = tagger.predict(sentences, batch_size=batch_size)
    predicted = [s.with_spans(p) for s, p in zip(sentences, preds)]
    if postprocess:
        predicted = run_postprocess(predicted, orphan=orphan, invalid_symbols=invalid_symbols)
        preds = [s.spans for s in predicted]
    docs = [Document(d.id, predicted[k:k + len(d.sentences)], d.text) for d, k in _offsets(corpus)]
    if fmt == "jsonl":
        write_jsonl(docs, out)
    else:
        write_conll(docs, out)
    n = sum(len(p) for p in preds)
    console.print(f"{len(sentences)} sentences, {n} entities → [bold]{out}[/]")


def _offsets(corpus: Corpus):
    k = 0
    for d in corpus.documents:
        yield d, k
        k += len(d.sentences)
