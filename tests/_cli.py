"""Argument lists the CLI tests share, so each test spells out only what it varies."""

from __future__ import annotations


def train_args(
    data: object,
    encoder: object,
    out: object,
    *extra: object,
    method: str = "mrc",
    epochs: str = "1",
    max_length: str = "48",
) -> list[object]:
    """``mrc-ner train`` on one ``--train`` corpus with a one-epoch budget, followed by ``extra`` options."""
    return [
        "train",
        "--method",
        method,
        "--train",
        data,
        "--encoder",
        encoder,
        "--out",
        out,
        "--epochs",
        epochs,
        "--max-length",
        max_length,
        *extra,
    ]
