"""The extraction loop under a rich progress bar (documents, rate, model inputs of the buffer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mrc_ner.mining.extract.extractor import Extractor, RunCounts
from mrc_ner.mining.extract.inputs import SourceDocument
from mrc_ner.mining.extract.options import (
    ExtractOptions,
)
from mrc_ner.mining.extract.store import OutputStore


def run_with_progress(
    tagger: Any,
    store: OutputStore,
    options: ExtractOptions,
    whitespace: str,
    documents: Iterable[SourceDocument],
    *,
    todo: int,
    console: Any,
    label: str,
) -> RunCounts:
    if console is None:
        return Extractor(tagger, store, options, whitespace).run(documents)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            if "chars" not in task.fields:
                return Text("")
            elapsed = task.elapsed or 0.0
            if not elapsed:
                return Text("")
            return Text(
                f"{task.completed / elapsed:,.2f} docs/s · {task.fields['chars'] / elapsed:,.0f} chars/s", style="cyan"
            )

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        docs_task = progress.add_task(f"documents {label}".strip(), total=todo, chars=0)
        feat_task = progress.add_task("model inputs of this buffer", total=None, visible=False)
        state = {"chars": 0}

        def on_buffer(n_docs: int, n_chars: int) -> None:
            state["chars"] += n_chars
            progress.update(docs_task, advance=n_docs, chars=state["chars"])
            progress.update(feat_task, completed=0, visible=False)

        def on_features(n: int) -> None:
            progress.update(feat_task, advance=n, visible=True)

        return Extractor(tagger, store, options, whitespace, on_buffer=on_buffer, on_features=on_features).run(
            documents
        )
