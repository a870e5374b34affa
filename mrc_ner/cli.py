"""The ``mrc-ner`` command line: one typer app joining the modules in :mod:`mrc_ner.commands`."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="mrc-ner",
    help="Biomedical NER as machine reading comprehension: train, compare, evaluate, extract.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from mrc_ner import __version__

        typer.echo(f"mrc-ner {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error instead of one line.")
    ] = False,
) -> None:
    """Biomedical NER as machine reading comprehension: train, compare, evaluate, extract."""
    from mrc_ner.commands._common import set_debug

    set_debug(debug)


def _register() -> None:
    # Imported here so `import mrc_ner.cli` stays cheap and the list reads as the command index.
    from mrc_ner.commands import compare, encoders, evaluate, export, extract, network, predict, pretrain, stats, train

    app.command("train")(train.train)
    app.command("predict")(predict.predict)
    app.command("stats")(stats.stats)
    app.command("pretrain")(pretrain.pretrain)
    app.command("compare")(compare.compare)
    app.command("evaluate")(evaluate.evaluate)
    app.command("extract")(extract.extract)
    app.command("network")(network.network)
    app.command("export")(export.export)
    app.add_typer(encoders.app, name="encoders")


_register()

if __name__ == "__main__":
    app()
