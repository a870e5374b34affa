"""The hyper-parameters of a pretraining run (:class:`PretrainSettings`) and their checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mrc_ner.errors import InputError

PretrainAlign = Literal["auto", "char", "subword"]
PRETRAIN_ALIGN_MODES: tuple[str, ...] = ("auto", "char", "subword")


@dataclass
class PretrainSettings:
    """Hyper-parameters of a pretraining run (stored in ``mrc_ner_pretrain.json``)."""

    epochs: int = 3
    max_steps: int | None = None  # overrides epochs: as many passes as needed, then stop
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float | None = None  # MLM transform and bias; None: 1e-3 for a new head, lr for a shipped one
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    max_length: int = 128
    seed: int = 42
    align: str = "auto"
    mask_rate: float = 0.15
    freeze_embeddings: bool = False
    eval_fraction: float = 0.05
    max_eval_lines: int = 1000
    eval_batch_size: int = 32

    def check(self) -> None:
        """Raise :class:`InputError` for values no run can use."""
        if self.align not in PRETRAIN_ALIGN_MODES:
            raise InputError(f"unknown alignment mode {self.align!r}; choose one of {', '.join(PRETRAIN_ALIGN_MODES)}")
        if self.epochs < 1 or self.batch_size < 1 or (self.max_steps is not None and self.max_steps < 1):
            raise InputError("epochs, batch size and max steps must be positive")
        if not 0 < self.mask_rate < 1:
            raise InputError(f"mask rate must be between 0 and 1, got {self.mask_rate}")
        if not 0 <= self.eval_fraction < 1:
            raise InputError(f"held-out fraction must be in [0, 1), got {self.eval_fraction}")
        if self.max_length < 8:
            raise InputError(f"max length {self.max_length} is too short (at least 8 tokens)")
        if self.lr <= 0 or (self.head_lr is not None and self.head_lr <= 0):
            raise InputError("learning rates must be positive")
