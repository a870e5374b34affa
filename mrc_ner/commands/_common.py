"""What every command shares: the error boundary and the rich console."""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console

from mrc_ner.errors import InputError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def handles_input_errors(fn: F) -> F:
    """Turn :class:`InputError` into one red ``path:line: message`` line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as e:
            err_console.print(f"[bold red]error:[/] {e.location_message()}", soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def print_json(obj: Any) -> None:
    """Print JSON to stdout without rich markup or wrapping (machine-readable)."""
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def postprocess_option_help() -> str:
    """Help text shared by the commands that offer the paper's post-processing."""
    return ("Apply the patents paper's post-processing: drop single-character entities, "
            "repair or drop runs starting with I- (--orphan), keep the first part of a run that "
            "switches type, drop entities with invalid symbols (--invalid-symbols).")


def run_postprocess(sentences, *, orphan: str, invalid_symbols: str, min_length: int = 2):
    """Post-process sentences, print the per-rule table, return the cleaned sentences."""
    from mrc_ner.corpus.postprocess import postprocess_sentences, report_table
    from mrc_ner.errors import InputError

    if orphan not in ("repair", "drop"):
        raise InputError(f"--orphan must be repair or drop, got {orphan!r}")
    out, report = postprocess_sentences(sentences, min_length=min_length, orphan=orphan, invalid_symbols=frozenset(invalid_symbols))  # type: ignore[arg-type]
    err_console.print(report_table(report))
    return out


#: help of the ``--quantize`` option (predict, evaluate --model, extract)
QUANTIZE_HELP = ("none; int8: dynamic int8 quantization of every linear layer, CPU only (about 2x faster; "
                 "F1 fell 2.3 points on NCBI-disease but 11-15 on the Chinese patents); bf16: bfloat16 autocast, "
                 "fast only on CPUs with bf16 matrix units (AVX512-BF16, AMX) or GPUs (1.6-1.8x, F1 unchanged "
                 "on cbp fold 0). See BENCHMARKS.md.")


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
