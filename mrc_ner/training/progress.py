"""The progress bar of a training run (the taggers' loop and masked-LM pretraining)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress


def progress_bar(title: str, *, rate: bool = False, disable: bool = False) -> Progress:
    """``TITLE <epoch>``, the bar, steps done/total, the loss, examples/s (``rate``), elapsed, remaining.

    A task sets the fields ``epoch``, ``loss`` (and ``rate``).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[ProgressColumn] = [
        TextColumn(f"[bold]{title} {{task.fields[epoch]}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
    ]
    if rate:
        columns.append(TextColumn("{task.fields[rate]:.1f} ex/s"))
    return Progress(*columns, TimeElapsedColumn(), TimeRemainingColumn(), disable=disable, transient=False)
