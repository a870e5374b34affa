"""``mrc-ner export``: write a trained model in a format other tools load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mrc_ner.commands._common import console, err_console, handles_input_errors


@handles_input_errors
def export(
    model: Annotated[Path, typer.Option("--model", help="Trained mrc-ner model directory (method softmax for --format hf).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    format: Annotated[str, typer.Option("--format", help="hf: a Hugging Face AutoModelForTokenClassification directory.")] = "hf",
) -> None:
    """Export a softmax model as a standard Hugging Face token-classification model (MRC and CRF have no equivalent)."""
    from mrc_ner.export import export_model
    from mrc_ner.io import writable_dir

    writable_dir(out)

    res = export_model(model, out, format=format)
    console.print(f"{res.architecture} with {len(res.tag_names)} labels → [bold]{res.path}[/] (logits match to {res.max_logit_difference:.1e})")
    console.print(f'load it with: transformers.pipeline("token-classification", model="{res.path}", aggregation_strategy="simple")', soft_wrap=True)
    if res.align_mode != "word":
        err_console.print(
            f"[yellow]note:[/] this model was trained with {res.align_mode!r} alignment; the Hugging Face pipeline "
            "tokenizes text with the tokenizer's own pieces, so its predictions can differ from `mrc-ner predict`.",
            soft_wrap=True,
        )
