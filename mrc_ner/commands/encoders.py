"""``mrc-ner encoders``: list the built-in offline encoders; ``encoders build NAME`` prepares one."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from mrc_ner.commands._common import console, handles_input_errors, print_json
from mrc_ner.encoding.builtin_encoders import BUILTINS, INSTALL_HINT, build_encoder, list_encoders

app = typer.Typer(
    help="The built-in encoders that work offline: list them (default) or build one ahead of time.",
    no_args_is_help=False,
    add_completion=False,
)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


_JSON = typer.Option("--json", help="Print JSON instead of a table.")


@app.callback(invoke_without_command=True)
def encoders(ctx: typer.Context, json_output: Annotated[bool, _JSON] = False) -> None:
    """Without a subcommand: list the built-ins (the same as ``mrc-ner encoders list``)."""
    if ctx.invoked_subcommand is None:
        list_(json_output=json_output)


@app.command("list")
@handles_input_errors
def list_(
    json_output: Annotated[bool, _JSON] = False,
) -> None:
    """List the built-ins: language, whether their package is installed, where they are built, size."""
    rows = list_encoders()
    if json_output:
        print_json(
            [
                {
                    "name": r.name,
                    "language": r.language,
                    "description": r.description,
                    "default": r.default,
                    "available": r.available,
                    "path": str(r.path) if r.path else None,
                    "size_bytes": r.size_bytes,
                }
                for r in rows
            ]
        )
        return
    table = Table(title="built-in encoders (* = default)", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("language", no_wrap=True)
    table.add_column("description", ratio=3)
    table.add_column("available", no_wrap=True)
    table.add_column("built / cached", overflow="fold", ratio=2)
    table.add_column("size", justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            r.name + (" *" if r.default else ""),
            r.language,
            r.description,
            "yes" if r.available else "[red]no[/]",
            str(r.path) if r.path else ("not built" if r.available else "-"),
            _size(r.size_bytes),
        )
    console.print(table)
    if not all(r.available for r in rows):
        console.print(f"install the missing ones with: {INSTALL_HINT}", soft_wrap=True)
    elif not all(r.path for r in rows):
        console.print("prepare one ahead of time with: mrc-ner encoders build NAME", soft_wrap=True)


@app.command("build")
@handles_input_errors
def build(
    name: Annotated[str, typer.Argument(help=f"A built-in encoder: {', '.join(BUILTINS)}.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if a current build is cached.")] = False,
) -> None:
    """Convert/locate a built-in encoder now (instead of on first use) and print its directory."""
    started = time.perf_counter()
    with console.status(f"preparing {name} …"):
        path = build_encoder(name, force=force)
    seconds = time.perf_counter() - started
    console.print(f"[green]{name}[/] ready in {seconds:.1f} s: {path}", soft_wrap=True)
