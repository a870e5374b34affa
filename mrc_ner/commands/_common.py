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
