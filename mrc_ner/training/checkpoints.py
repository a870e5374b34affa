"""Atomic epoch checkpoints (accelerator + loop state), finding one a kill left behind, and the train log."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_text, replace_dir
from mrc_ner.training.args import LoopState

if TYPE_CHECKING:
    from accelerate import Accelerator

CHECKPOINT, CHECKPOINT_TMP, CHECKPOINT_OLD = "checkpoint", ".checkpoint.tmp", ".checkpoint.old"
LOOP_STATE, TRAIN_LOG = "loop_state.json", "train_log.jsonl"


def save_checkpoint(accelerator: Accelerator, out: Path, state: LoopState) -> None:
    """Write ``out/checkpoint`` atomically: accelerator state + loop state.

    Built in ``.checkpoint.tmp`` (its ``loop_state.json`` written last); the previous
    checkpoint is renamed to ``.checkpoint.old`` for the moment of the swap, so a kill at
    any point leaves one complete checkpoint that :func:`load_checkpoint` finds.
    """
    tmp = out / CHECKPOINT_TMP
    shutil.rmtree(tmp, ignore_errors=True)
    accelerator.save_state(str(tmp), safe_serialization=True)
    (tmp / LOOP_STATE).write_text(json.dumps(asdict(state)), encoding="utf-8")
    replace_dir(tmp, out / CHECKPOINT, aside=out / CHECKPOINT_OLD)


def _loop_state(directory: Path) -> LoopState | None:
    """The loop state of a complete checkpoint directory, None if it is not one."""
    try:
        return LoopState(**json.loads((directory / LOOP_STATE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def find_checkpoint(out: Path) -> Path | None:
    """``out/checkpoint``, or the complete one a kill inside the swap left behind (moved into place)."""
    final = out / CHECKPOINT
    if _loop_state(final) is not None:
        return final
    for name in (CHECKPOINT_TMP, CHECKPOINT_OLD):  # .tmp is the newer one: its loop state is written last
        candidate = out / name
        if _loop_state(candidate) is not None:
            shutil.rmtree(final, ignore_errors=True)
            os.replace(candidate, final)
            return final
    return None


def checkpoint_seconds(out: Path) -> float:
    """Training seconds the checkpoint in ``out`` already holds: what a resumed run adds its own time to.

    0.0 without a checkpoint, and for checkpoints written before the loop counted its time.
    """
    ckpt = find_checkpoint(out)
    state = _loop_state(ckpt) if ckpt is not None else None
    return state.seconds if state is not None else 0.0


def load_checkpoint(accelerator: Accelerator, out: Path) -> LoopState:
    """Restore ``out/checkpoint``; returns the loop state to continue from."""
    ckpt = find_checkpoint(out)
    if ckpt is None:
        raise InputError("nothing to resume: no checkpoint found", path=out / CHECKPOINT)
    accelerator.load_state(str(ckpt))
    return _loop_state(ckpt)  # type: ignore[return-value]


def trim_train_log(out: Path, epochs: int) -> None:
    """Keep only the ``train_log.jsonl`` lines of epochs ≤ ``epochs`` (those the checkpoint holds).

    A kill after an epoch's line was written but before its checkpoint would otherwise
    leave that epoch in the log twice once it is trained again.
    """
    path = out / TRAIN_LOG
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by the kill
        if isinstance(record, dict) and isinstance(record.get("epoch"), int) and record["epoch"] <= epochs:
            kept.append(line + "\n")
    atomic_write_text(path, "".join(kept))
