"""``mrc-ner predict``: run a trained model over column files or plain text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from mrc_ner.commands._common import DISCONTINUOUS_HELP, QUANTIZE_HELP, console, handles_input_errors, postprocess_option_help, print_skipped, run_postprocess
from mrc_ner.corpus.conll import read_text_lines
from mrc_ner.corpus.model import Corpus, Document
from mrc_ner.errors import InputError


def read_plain_text(path: Path, tagger) -> list[Document]:
    """A plain-text file, one sentence per line (blank lines are kept as empty sentences, so line numbers hold)."""
    lines = read_text_lines(path)
    if not any(ln.strip() for ln in lines):
        raise InputError("empty file: no text found", path=path)
    sents = [tagger.make_sentence(ln, id=f"{path.stem}:{i}") for i, ln in enumerate(lines)]
    return [Document(path.stem, sents)]


def read_inputs(path: Path, tagger, *, plain: bool | None, format: str = "auto", discontinuous: str = "error", report=None) -> Corpus:
    """Every input file in the format :func:`~mrc_ner.corpus.readers.detect_format` (or ``format``) gives it.

    Plain text is one sentence per line; ``plain`` True/False forces plain text or columns.
    """
    from mrc_ner.corpus.readers import list_inputs, read_file

    if plain is not None:
        format = "text" if plain else "conll"
    docs: list[Document] = []
    for f in list_inputs([path], format=format, purpose="raw"):
        docs.extend(read_plain_text(f.path, tagger) if f.format == "text" else read_file(f, discontinuous=discontinuous, report=report))
    return Corpus(docs, name=str(path))


@handles_input_errors
def predict(
    input: Annotated[Path, typer.Argument(help="Column files, JSONL, brat, PubTator, BioC XML/JSON, or plain text (one sentence per line); a file or directory.", show_default=False)],
    model: Annotated[Path, typer.Option("--model", help="Trained model directory.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (a directory for brat): .jsonl, .xml (BioC), .json (BioC), .pubtator, else IOB columns — or say --format.")],
    format: Annotated[str, typer.Option(help="Output format: auto (by --out suffix), jsonl, iob, brat, pubtator, bioc-xml, bioc-json.")] = "auto",
    input_format: Annotated[str, typer.Option("--input-format", help="Input format: auto (by suffix and content), conll, jsonl, brat, pubtator, bioc-xml, bioc-json, text.")] = "auto",
    discontinuous: Annotated[str, typer.Option(help=DISCONTINUOUS_HELP)] = "error",
    plain: Annotated[bool, typer.Option("--plain/--columns", help="Force plain-text or column reading (default: by file).")] = None,  # type: ignore[assignment]
    batch_size: Annotated[int, typer.Option(help="Sentences' features per batch.")] = 32,
    quantize: Annotated[str, typer.Option(help=QUANTIZE_HELP)] = "none",
    postprocess: Annotated[bool, typer.Option("--postprocess", help=postprocess_option_help())] = False,
    orphan: Annotated[str, typer.Option(help="With --postprocess: repair or drop runs that start with I-.")] = "repair",
    invalid_symbols: Annotated[str, typer.Option(help="With --postprocess: characters that invalidate an entity.")] = "?~˜。",
) -> None:
    """Predict entities with character offsets; every input sentence gets an output line or block."""
    from mrc_ner.corpus.documents import ReadReport
    from mrc_ner.corpus.readers import output_format, write_documents
    from mrc_ner.models.quantize import load_for_inference

    fmt = output_format(out, format)
    tagger = load_for_inference(model, quantize=quantize)
    report = ReadReport()
    corpus = read_inputs(input, tagger, plain=plain, format=input_format, discontinuous=discontinuous, report=report)
    print_skipped(report)
    sentences = corpus.sentences
    preds = tagger.predict(sentences, batch_size=batch_size)
    predicted = [s.with_spans(p) for s, p in zip(sentences, preds)]
    if postprocess:
        predicted = run_postprocess(predicted, orphan=orphan, invalid_symbols=invalid_symbols)
        preds = [s.spans for s in predicted]
    docs = [replace(d, sentences=predicted[k:k + len(d.sentences)]) for d, k in _offsets(corpus)]
    write_documents(docs, out, fmt)
    n = sum(len(p) for p in preds)
    console.print(f"{len(sentences)} sentences, {n} entities → [bold]{out}[/]")


def _offsets(corpus: Corpus):
    k = 0
    for d in corpus.documents:
        yield d, k
        k += len(d.sentences)
