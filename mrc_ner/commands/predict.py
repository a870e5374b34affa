"""``mrc-ner predict``: run a trained model over column files or plain text."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from mrc_ner.commands import _options as opt
from mrc_ner.commands._common import (
    NESTED_HELP,
    QUERY_HELP,
    THRESHOLD_HELP,
    TYPES_HELP,
    configure_prediction,
    console,
    err_console,
    handles_input_errors,
    print_skipped,
    refuse_nested_consistency,
    run_consistency,
    run_postprocess,
)
from mrc_ner.corpus.model import Corpus, Document
from mrc_ner.errors import InputError
from mrc_ner.inference import DEVICE_HELP
from mrc_ner.io import read_text_lines, writable_dir, writable_file


def read_plain_text(path: Path, tagger) -> list[Document]:
    """A plain-text file, one sentence per line (blank lines are kept as empty sentences, so line numbers hold)."""
    lines = read_text_lines(path)
    if not any(ln.strip() for ln in lines):
        raise InputError("empty file: no text found", path=path)
    sents = [tagger.make_sentence(ln, id=f"{path.stem}:{i}") for i, ln in enumerate(lines)]
    return [Document(path.stem, sents)]


def read_inputs(
    path: Path, tagger, *, plain: bool | None, format: str = "auto", discontinuous: str = "error", report=None
) -> Corpus:
    """Every input file in the format :func:`~mrc_ner.corpus.readers.detect_format` (or ``format``) gives it.

    Plain text is one sentence per line; ``plain`` True/False forces plain text or columns.
    """
    from mrc_ner.corpus.readers import list_inputs, read_file

    if plain is not None:
        format = "text" if plain else "conll"
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    docs: list[Document] = []
    for f in list_inputs([path], format=format, purpose="raw"):
        docs.extend(
            read_plain_text(f.path, tagger)
            if f.format == "text"
            else read_file(f, discontinuous=discontinuous, report=report)
        )
    if not docs and path.is_dir():
        raise InputError("the input directory holds no files", path=path)
    return Corpus(docs, name=str(path))


@handles_input_errors
def predict(
    input: Annotated[
        Path,
        typer.Argument(
            help="Column files, JSONL, brat, PubTator, BioC XML/JSON, or plain text (one sentence per line); a file or directory; - reads standard input (plain text, or JSONL when its first line is a JSON object).",
            show_default=False,
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Trained model directory (or a Hugging Face hub id, where the hub is reachable), or an `export --format onnx` directory.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output file (a directory for brat): .jsonl, .html (highlighted view), .xml (BioC), .json (BioC), .pubtator, else IOB columns — or say --format; - writes standard output (JSONL unless --format iob).",
        ),
    ],
    format: Annotated[
        str,
        typer.Option(
            help="Output format: auto (by --out suffix), jsonl, iob, html (entities highlighted per type, like displaCy), brat, pubtator, bioc-xml, bioc-json."
        ),
    ] = "auto",
    input_format: Annotated[
        str,
        typer.Option(
            "--input-format",
            help="Input format: auto (by suffix and content), conll, jsonl, brat, pubtator, bioc-xml, bioc-json, text.",
        ),
    ] = "auto",
    discontinuous: opt.DiscontinuousOpt = opt.Discontinuous.error,
    plain: Annotated[
        Optional[bool], typer.Option("--plain/--columns", help="Force plain-text or column reading (default: by file).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Sentences' features per batch.")] = 32,
    device: Annotated[str, typer.Option("--device", help=DEVICE_HELP)] = "auto",
    quantize: opt.QuantizeOpt = opt.Quantize.none,
    backend: Annotated[
        str,
        typer.Option(
            help="torch, onnx (an `export --format onnx` directory, run by onnxruntime) or auto (onnx when --model holds model.onnx)."
        ),
    ] = "auto",
    postprocess: opt.PostprocessOpt = False,
    orphan: opt.OrphanOpt = opt.Orphan.repair,
    invalid_symbols: opt.InvalidSymbolsOpt = "?~˜。",
    consistency: opt.ConsistencyOpt = opt.Consistency.none,
    types: Annotated[Optional[str], typer.Option("--types", help=TYPES_HELP)] = None,
    query: Annotated[list[str], typer.Option("--query", help=QUERY_HELP)] = [],  # noqa: B006
    nested: Annotated[bool, typer.Option("--nested", help=NESTED_HELP)] = False,
    threshold: Annotated[Optional[float], typer.Option("--threshold", help=THRESHOLD_HELP)] = None,
) -> None:
    """Predict entities with character offsets; every input sentence gets an output line or block."""
    from mrc_ner.corpus.conll import format_conll
    from mrc_ner.corpus.documents import ReadReport
    from mrc_ner.corpus.jsonl import format_jsonl
    from mrc_ner.corpus.readers import output_format, write_documents

    to_stdout = str(out) == "-"
    from mrc_ner.corpus.readers import WRITE_FORMATS

    if format not in ("auto", "html", *WRITE_FORMATS):
        raise InputError(f"unknown output format {format!r}; choose one of {', '.join((*WRITE_FORMATS, 'html'))}")
    if format == "html" or (format == "auto" and out.suffix.lower() in (".html", ".htm")):
        fmt = "html"
    else:
        fmt = "jsonl" if to_stdout and format == "auto" else output_format(out, format)
    if to_stdout and fmt not in ("jsonl", "iob"):
        raise InputError(f"standard output (--out -) takes jsonl or iob, not {fmt}: give --out a file name")
    if not to_stdout:
        writable_dir(out) if fmt == "brat" else writable_file(out)
    refuse_nested_consistency(nested=nested, consistency=consistency.value)
    if nested and fmt == "iob":
        raise InputError(
            "--nested needs JSONL output (--out FILE.jsonl): IOB tags cannot hold overlapping spans", path=out
        )
    tagger = configure_prediction(
        load_predictor(model, backend=backend, device=device, quantize=quantize.value),
        types=types,
        query=query,
        nested=nested,
        threshold=threshold,
    )
    report = ReadReport()
    corpus = (
        read_stdin(tagger, plain=plain)
        if str(input) == "-"
        else read_inputs(
            input, tagger, plain=plain, format=input_format, discontinuous=discontinuous.value, report=report
        )
    )
    print_skipped(report)
    sentences = corpus.sentences
    preds = tagger.predict(sentences, batch_size=batch_size)
    predicted = [s.with_spans(p) for s, p in zip(sentences, preds)]
    if postprocess:
        predicted = run_postprocess(predicted, orphan=orphan.value, invalid_symbols=invalid_symbols)
        preds = [s.spans for s in predicted]
    docs = [replace(d, sentences=predicted[k : k + len(d.sentences)]) for d, k in _offsets(corpus)]
    if consistency is not opt.Consistency.none:
        groups = run_consistency([d.sentences for d in docs], consistency.value)
        docs = [replace(d, sentences=g) for d, g in zip(docs, groups)]
        preds = [s.spans for g in groups for s in g]
    n = sum(len(p) for p in preds)
    if to_stdout:
        text = format_jsonl(docs) if fmt == "jsonl" else format_conll([s for d in docs for s in d.sentences])
        sys.stdout.write(text)
        sys.stdout.flush()
        err_console.print(f"{len(sentences)} sentences, {n} entities")
        return
    if fmt == "html":
        from mrc_ner.corpus.html import write_html

        write_html(docs, out, title=f"{input.name}: entities found by {Path(model).name}")
    else:
        write_documents(docs, out, fmt)
    console.print(f"{len(sentences)} sentences, {n} entities → [bold]{out}[/]")


def read_stdin(tagger, *, plain: bool | None) -> Corpus:
    """Standard input read as a file would be: JSONL when its first non-blank line is a JSON
    object (unless ``--plain``), columns with ``--columns``, else plain text (or columns, if
    it looks tagged). Documents are named ``stdin``; errors name ``<stdin>`` and the line.
    """
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
    first = next((ln for ln in data.decode("utf-8", errors="replace").splitlines() if ln.strip()), "")
    suffix = ".jsonl" if plain is not True and first.lstrip().startswith("{") else ".bio" if plain is False else ".txt"
    with tempfile.TemporaryDirectory(prefix="mrc-ner-stdin-") as tmp:
        path = Path(tmp) / f"stdin{suffix}"
        path.write_bytes(data)
        try:
            corpus = read_inputs(
                path,
                tagger,
                plain=plain if suffix == ".txt" else None,
                format={".jsonl": "jsonl", ".bio": "conll"}.get(suffix, "auto"),
            )
        except InputError as e:
            raise InputError(e.message, path="<stdin>", line=e.line) from None
    return Corpus(corpus.documents, name="<stdin>")


def load_predictor(model: str, *, backend: str, device: str, quantize: str):
    """The model for prediction: a torch tagger (:func:`mrc_ner.inference.load_model`) or an onnxruntime one."""
    from mrc_ner.inference import load_model
    from mrc_ner.models.onnx_tagger import is_onnx_dir, load_onnx_tagger

    if backend not in ("auto", "torch", "onnx"):
        raise InputError(f"--backend must be auto, torch or onnx, not {backend!r}")
    if backend == "onnx" or (backend == "auto" and Path(model).is_dir() and is_onnx_dir(Path(model))):
        if quantize != "none":
            raise InputError("--quantize applies to the torch backend; an ONNX model runs as exported")
        return load_onnx_tagger(Path(model))
    return load_model(model, device=device, quantize=quantize)


def _offsets(corpus: Corpus):
    k = 0
    for d in corpus.documents:
        yield d, k
        k += len(d.sentences)
