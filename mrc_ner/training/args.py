"""What a training run is told (:class:`TrainArgs`) and where it stands (:class:`LoopState`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainArgs:
    """Hyper-parameters of a training run (saved as ``training_args.json``)."""

    epochs: int = 3
    batch_size: int = 16
    encoder_lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    seed: int = 42
    bf16: bool = False
    patience: int = 3
    eval_batch_size: int = 32
    max_steps: int | None = None
    freeze_embeddings: bool = True
    gradient_checkpointing: bool = False
    negative_ratio: float = 1.0
    max_tokens: int | None = None
    out_dir: str | None = None
    resume: bool = False
    log_every: int = 10
    #: after training, tune prediction options on dev (MRC: the start/end threshold, saved in config.json)
    calibrate: bool = True


@dataclass
class LoopState:
    """Where a run stands; saved in every checkpoint."""

    epoch: int = 0
    step: int = 0
    best_f1: float = -1.0
    best_epoch: int = -1
    bad_epochs: int = 0
    history: list[dict] = field(default_factory=list)
