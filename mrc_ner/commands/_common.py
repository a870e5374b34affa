"""What every command shares: the error boundary (with the one way warnings are printed) and the rich console."""

from __future__ import annotations

import errno
import functools
import json
import warnings
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from mrc_ner.errors import InputError, MrcNerWarning, as_input_error, shorten

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


_debug = False


def set_debug(on: bool) -> None:
    """``--debug``: let errors raise with their traceback instead of printing one line (called per invocation)."""
    global _debug
    from mrc_ner import io

    _debug = on
    io.last_output = None


_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG, errno.EIO}
#: the longest error line printed (the rest is cut with an ellipsis)
MESSAGE_LIMIT = 600


def _is_write_error(error: BaseException) -> bool:
    """A failed write that names no file (a full disk while flushing, safetensors' writer)."""
    if isinstance(error, OSError):
        return error.errno in _WRITE_ERRNOS
    return type(error).__name__ == "SafetensorError" and "os error 28" in str(error)


def report_error(error: BaseException) -> int:
    """Print one red line for ``error``; return the exit code: 2 for bad input, 1 for a bug."""
    err = as_input_error(error)
    if err is not None and err.path is None and _is_write_error(error):
        from mrc_ner import io

        if io.last_output is not None:
            err = InputError(
                f"cannot write the output: {getattr(error, 'strerror', None) or err.message}", path=io.last_output
            )
    if err is not None:
        text, code = err.location_message(), 2
    else:
        text, code = f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback)", 1
    err_console.print(f"[bold red]error:[/] {escape(shorten(text, MESSAGE_LIMIT))}", soft_wrap=True)
    return code


def _warning_printer(fallback: Callable[..., None]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints an :class:`MrcNerWarning` as one yellow line, others as Python does."""

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, MrcNerWarning):
            err_console.print(f"[yellow]warning:[/] {escape(str(message))}", soft_wrap=True)
        else:
            fallback(message, category, *args, **kwargs)

    return show


def handles_input_errors(fn: F) -> F:
    """The error boundary of a command: any failure becomes one red line.

    :class:`InputError`, ``OSError`` (unreadable input, unwritable output, a full disk),
    corrupt weights or JSON and shape mismatches print ``path:line: message`` and exit
    with code 2 (:func:`~mrc_ner.errors.as_input_error`); anything else is a bug: one line,
    exit code 1. ``mrc-ner --debug …`` raises instead, with the full traceback. Meanwhile
    an :class:`~mrc_ner.errors.MrcNerWarning` prints as one yellow ``warning:`` line.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _warning_printer(warnings.showwarning)
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException, KeyboardInterrupt, SystemExit):
            raise
        except Exception as e:
            if _debug:
                raise
            raise typer.Exit(code=report_error(e)) from None

    return wrapper  # type: ignore[return-value]


def print_json(obj: Any) -> None:
    """Print JSON to stdout without rich markup or wrapping (machine-readable)."""
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def postprocess_option_help() -> str:
    """Help text shared by the commands that offer the paper's post-processing."""
    return (
        "Apply the patents paper's post-processing: drop single-character entities, "
        "repair or drop runs starting with I- (--orphan), keep the first part of a run that "
        "switches type, drop entities with invalid symbols (--invalid-symbols)."
    )


def run_postprocess(sentences, *, orphan: str, invalid_symbols: str, min_length: int = 2):
    """Post-process sentences, print the per-rule table, return the cleaned sentences."""
    from mrc_ner.corpus.postprocess import postprocess_sentences, report_table
    from mrc_ner.errors import InputError

    if orphan not in ("repair", "drop"):
        raise InputError(f"--orphan must be repair or drop, got {orphan!r}")
    mode: Literal["repair", "drop"] = "repair" if orphan == "repair" else "drop"
    out, report = postprocess_sentences(
        sentences, min_length=min_length, orphan=mode, invalid_symbols=frozenset(invalid_symbols)
    )
    err_console.print(report_table(report))
    return out


def refuse_nested_consistency(*, nested: bool, consistency: str) -> None:
    """``--consistency`` rules work on one flat labelling per sentence: refuse them with ``--nested``."""
    if nested and consistency != "none":
        raise InputError("--consistency works on flat predictions; leave out --nested")


def run_consistency(groups, mode: str):
    """Apply a ``--consistency`` mode to each group (a document's predicted sentences); print what
    it changed; the sentences with their new spans, one list per group."""
    from mrc_ner.corpus.consistency import ConsistencyReport, consistent_by_mode

    total = ConsistencyReport()
    out = []
    for sentences in groups:
        spans, report = consistent_by_mode(mode, sentences, [s.spans for s in sentences], document=lambda _: "")
        total = total + report
        out.append([s.with_spans(p) for s, p in zip(sentences, spans)])
    if mode != "none":
        changes = total.as_dict()
        err_console.print(
            f"--consistency {mode}: retyped {sum(total.retyped.values())} {changes['retyped']}, "
            f"added {sum(total.added.values())} {changes['added']}"
        )
    return out


#: help of the ``--quantize`` option (predict, evaluate --model, extract)
QUANTIZE_HELP = (
    "none; int8: dynamic int8 quantization of every linear layer, CPU only (about 2x faster; "
    "F1 fell 2.3 points on NCBI-disease but 11-15 on the Chinese patents); bf16: bfloat16 autocast, "
    "fast only on CPUs with bf16 matrix units (AVX512-BF16, AMX) or GPUs (1.6-1.8x, F1 unchanged "
    "on cbp fold 0). See BENCHMARKS.md."
)


#: help of the prediction-time options (predict, extract, evaluate --model)
TYPES_HELP = "Comma-separated entity types to ask (a subset of the trained ones, or types given a --query); default: every trained type."
QUERY_HELP = 'MRC: TYPE="free-text question" (repeatable): ask for a type the model was not trained on, or replace a trained type\'s question.'
NESTED_HELP = (
    "MRC: keep overlapping spans (of different types, and nested ones of one type) instead of one flat labelling."
)
THRESHOLD_HELP = "MRC: start/end probability threshold (default: the one chosen on dev after training, saved in the model; lower finds more)."


def configure_prediction(tagger, *, types: str | None, query: list[str], nested: bool, threshold: float | None):
    """Apply ``--types``, ``--query``, ``--nested`` and ``--threshold`` to a loaded tagger; returns it."""
    from mrc_ner.models.settings import parse_queries, parse_types

    return tagger.configure(
        types=parse_types(types), queries=parse_queries(query), nested=nested or None, threshold=threshold
    )


def print_skipped(report, *, show: int = 5) -> None:
    """Say on stderr how many mentions a reader left out (``--discontinuous skip``) and where."""
    if not report.skipped:
        return
    err_console.print(f"[yellow]warning:[/] {len(report.skipped)} mention(s) left out:", soft_wrap=True)
    for path, line, why in report.skipped[:show]:
        err_console.print(f"  {path}{'' if line is None else f':{line}'}: {why}", soft_wrap=True, markup=False)
    if len(report.skipped) > show:
        err_console.print(f"  … and {len(report.skipped) - show} more", soft_wrap=True)


#: help of the ``--format`` option of the commands that read annotated corpora
INPUT_FORMAT_HELP = "Input format: auto (by suffix and content), conll, jsonl, brat, pubtator, bioc-xml, bioc-json."
#: help of the ``--discontinuous`` option
DISCONTINUOUS_HELP = "Discontinuous brat/BioC mentions: error (default, names file:line), skip (left out, counted) or join (one covering span)."
