"""``mrc-ner pretrain``: continued masked-LM training of an encoder on unlabeled text (LM mixed, stage 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mrc_ner.commands._common import console, handles_input_errors
from mrc_ner.encoding.encoders import DEFAULT_ENCODER


@handles_input_errors
def pretrain(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Directory for the adapted encoder (a plain Hugging Face encoder directory; use it as --encoder DIR).",
            show_default=False,
        ),
    ],
    text: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--text",
            help="Plain text file, one sentence per line, or a directory of *.txt files. Repeatable.",
            show_default=False,
        ),
    ] = None,
    corpus: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--corpus",
            help="Column/JSONL corpus file or directory; its sentences' text is used, labels ignored. Repeatable.",
            show_default=False,
        ),
    ] = None,
    encoder: Annotated[
        str, typer.Option("--encoder", "-e", help="Encoder to adapt: a built-in name, a model directory or a hub id.")
    ] = DEFAULT_ENCODER,
    epochs: Annotated[
        int, typer.Option("--epochs", min=1, help="Passes over the training lines (ignored when --max-steps is given).")
    ] = 3,
    max_steps: Annotated[
        Optional[int],
        typer.Option(
            "--max-steps", min=1, help="Stop after this many optimizer steps; overrides --epochs.", show_default=False
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Sequences per step (length-sorted batches, padded per batch).")
    ] = 16,
    lr: Annotated[
        float, typer.Option("--lr", min=0.0, help="Peak learning rate (AdamW, linear warmup then decay).")
    ] = 5e-5,
    head_lr: Annotated[
        Optional[float],
        typer.Option(
            "--head-lr",
            min=0.0,
            help="Learning rate of the MLM head's transform and bias (default: 1e-3 for a new head, --lr for one the encoder ships).",
            show_default=False,
        ),
    ] = None,
    warmup: Annotated[
        float, typer.Option("--warmup", min=0.0, max=1.0, help="Share of the steps spent warming up the learning rate.")
    ] = 0.1,
    max_length: Annotated[
        int,
        typer.Option(
            "--max-length",
            min=8,
            help="Tokens per sequence, special tokens included; longer lines are split into chunks.",
        ),
    ] = 128,
    align: Annotated[
        str,
        typer.Option(
            "--align",
            help="auto, char or subword. auto: CJK lines one token per character (as the NER models), other lines whole words; char: every line per character; subword: CJK lines in tokenizer pieces.",
        ),
    ] = "auto",
    mask_rate: Annotated[
        float,
        typer.Option(
            "--mask-rate", min=0.0, max=1.0, help="Share of units (characters or whole words) masked per sequence."
        ),
    ] = 0.15,
    freeze_embeddings: Annotated[
        bool,
        typer.Option(
            "--freeze-embeddings",
            help="Freeze the word embeddings. A new MLM decoder is tied to them, so it stays frozen too (reported).",
        ),
    ] = False,
    eval_fraction: Annotated[
        float,
        typer.Option(
            "--eval-fraction",
            min=0.0,
            max=0.5,
            help="Share of lines held out to measure the MLM loss before and after (at most 1000 lines).",
        ),
    ] = 0.05,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed for the split, masking, shuffling and dropout: same seed, same weights.")
    ] = 42,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing non-empty output directory.")
    ] = False,
) -> None:
    """Adapt an encoder to your domain: continued masked-LM training on unlabeled text.

    Chinese (CJK) lines are masked per character, through the same character → token
    mapping the NER models use; other lines with whole-word masking. The result is a
    plain encoder directory that any method fine-tunes from with --encoder DIR.
    """
    from mrc_ner.training.pretraining import PretrainSettings
    from mrc_ner.training.pretraining import pretrain as run

    settings = PretrainSettings(
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        lr=lr,
        head_lr=head_lr,
        warmup_ratio=warmup,
        max_length=max_length,
        seed=seed,
        align=align,
        mask_rate=mask_rate,
        freeze_embeddings=freeze_embeddings,
        eval_fraction=eval_fraction,
    )
    run(
        encoder,
        out,
        texts=text or [],
        corpora=corpus or [],
        settings=settings,
        overwrite=overwrite,
        progress=True,
        log=lambda msg: console.print(msg, soft_wrap=True),
    )
