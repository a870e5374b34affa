"""The pretrained encoder directory: checked before training, written atomically with its manifest."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrc_ner.errors import InputError
from mrc_ner.io import atomic_dir, atomic_write_json, quiet_transformers

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PRETRAIN_MANIFEST = "mrc_ner_pretrain.json"  # what a pretraining run did, beside the encoder it wrote


def check_output_dir(out: str | os.PathLike, *, overwrite: bool) -> Path:
    """Fail early (before any training) when ``out`` cannot be written."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise InputError("output exists and is not a directory", path=out)
        if any(out.iterdir()) and not overwrite:
            raise InputError("output directory exists and is not empty (pass --overwrite to replace it)", path=out)
    return out


def save_encoder_dir(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    out: str | os.PathLike,
    manifest: dict[str, Any],
    *,
    overwrite: bool = False,
) -> Path:
    """Write an encoder directory atomically: weights, tokenizer files and ``mrc_ner_pretrain.json``.

    Built in a temporary directory beside ``out`` and renamed into place; a replaced
    directory is moved aside first and deleted after.
    """
    out = check_output_dir(out, overwrite=overwrite)
    with atomic_dir(out, merge=False) as tmp:  # a replaced directory is moved aside first, deleted after
        with quiet_transformers():
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        atomic_write_json(tmp / PRETRAIN_MANIFEST, manifest)
    return out
