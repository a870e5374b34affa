"""``mrc-ner export``: write a trained model in a format other tools load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mrc_ner.commands._common import console, err_console, handles_input_errors


@handles_input_errors
def export(
    model: Annotated[
        Path,
        typer.Option(
            "--model", help="Trained mrc-ner model directory (method softmax for --format hf; any method for onnx)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="hf: a Hugging Face AutoModelForTokenClassification directory (softmax only); "
            "onnx: the encoder and heads as model.onnx for onnxruntime (every method).",
        ),
    ] = "hf",
) -> None:
    """Export a model: a softmax model as a Hugging Face token-classification model, or any model's forward pass to ONNX."""
    from mrc_ner.export import export_model
    from mrc_ner.io import writable_dir

    writable_dir(out)

    res = export_model(model, out, format=format)
    if format == "onnx":
        console.print(
            f"{res.method}: model.onnx ({', '.join(res.inputs)} → {', '.join(res.outputs)}) → [bold]{res.path}[/] "
            f"(onnxruntime matches torch to {res.max_difference:.1e})"
        )
        console.print(
            f"predict with: mrc-ner predict --model {res.path} --backend onnx INPUT --out OUT.jsonl", soft_wrap=True
        )
        return
    console.print(
        f"{res.architecture} with {len(res.tag_names)} labels → [bold]{res.path}[/] (logits match to {res.max_logit_difference:.1e})"
    )
    console.print(
        f'load it with: transformers.pipeline("token-classification", model="{res.path}", aggregation_strategy="simple")',
        soft_wrap=True,
    )
    if res.align_mode != "word":
        err_console.print(
            f"[yellow]note:[/] this model was trained with {res.align_mode!r} alignment; the Hugging Face pipeline "
            "tokenizes text with the tokenizer's own pieces, so its predictions can differ from `mrc-ner predict`.",
            soft_wrap=True,
        )
