"""What a training run is told (:class:`TrainArgs`) and where it stands (:class:`LoopState`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from torch import nn

from mrc_ner.errors import InputError

#: learning-rate shapes after the warmup (``TrainArgs.schedule``)
SCHEDULES = ("linear", "cosine", "constant")


@dataclass
class TrainArgs:
    """Hyper-parameters of a training run (saved as ``training_args.json``)."""

    epochs: int = 3
    batch_size: int = 16
    encoder_lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    #: the learning rate after the warmup (:data:`SCHEDULES`): "linear" decay to zero at the last
    #: allowed step, "cosine" (half a cosine to zero) or "constant"
    schedule: str = "linear"
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    seed: int = 42
    bf16: bool = False
    patience: int = 3
    eval_batch_size: int = 32
    max_steps: int | None = None
    freeze_embeddings: bool = True
    gradient_checkpointing: bool = False
    #: dropout on the encoder's attention probabilities while training (None: the encoder's own, 0.1 for
    #: BERTs); 0 trains 23-42 % more tokens/s in 2 GB less memory, F1 on par (BENCHMARKS.md, "Attention dropout")
    attention_dropout: float | None = 0.0
    negative_ratio: float = 1.0
    #: each epoch, replace each gold mention of the training set by another training name of its type
    #: with this probability (0: never); teaches context over memorised names (corpus/augmentation.py)
    mention_replacement: float = 0.0
    max_tokens: int | None = None
    out_dir: str | None = None
    resume: bool = False
    log_every: int = 10
    #: after training, tune prediction options on dev (MRC: the start/end threshold, saved in config.json)
    calibrate: bool = True

    def __post_init__(self) -> None:
        """Refuse values no run can use, naming the setting (a bad ``--batch-size`` or compare row key
        fails here, not deep inside the loop)."""
        at_least_one = ("epochs", "batch_size", "grad_accum", "patience", "eval_batch_size", "log_every")
        for name in at_least_one:
            _check(name, getattr(self, name), lambda v: v >= 1, "at least 1")
        for name in ("max_steps", "max_tokens"):
            value = getattr(self, name)
            if value is not None:
                _check(name, value, lambda v: v >= 1, "at least 1 (or unset)")
        for name in ("encoder_lr", "head_lr", "weight_decay", "max_grad_norm"):
            _check(name, getattr(self, name), lambda v: v >= 0, "at least 0")
        for name in ("warmup_ratio", "negative_ratio", "mention_replacement"):
            _check(name, getattr(self, name), lambda v: 0 <= v <= 1, "in [0, 1]")
        if self.attention_dropout is not None:
            _check("attention_dropout", self.attention_dropout, lambda v: 0 <= v < 1, "in [0, 1)")
        check_schedule(self.schedule)


def check_schedule(schedule: str) -> None:
    """Refuse a learning-rate schedule name that is not one of :data:`SCHEDULES`."""
    if schedule not in SCHEDULES:
        raise InputError(f"unknown learning-rate schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")


def _check(name: str, value: Any, ok: Callable[[float], bool], expected: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
        raise InputError(f"training setting {name} must be {expected}, got {value!r}")


@dataclass
class LoopState:
    """Where a run stands; saved in every checkpoint."""

    epoch: int = 0
    step: int = 0
    best_f1: float = -1.0
    best_epoch: int = -1
    bad_epochs: int = 0
    history: list[dict] = field(default_factory=list)
    # seconds spent training and scoring the epochs done so far, over every run that resumed
    # this loop, so a resumed run can report what the whole training cost
    seconds: float = 0.0


class Trainable(Protocol):
    """What the optimizer and the memory settings need of a model: a :class:`~mrc_ner.models.base.Tagger`
    or pretraining's masked-LM objective (a protocol, so training imports nothing from the models)."""

    @property
    def encoder(self) -> Any:
        """The transformers encoder (its input embeddings, its gradient checkpointing)."""

    def head_parameters(self) -> Iterable[nn.Parameter]:
        """Parameters outside the encoder: they learn at the head learning rate."""
        ...

    def named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """Every parameter with its name (``nn.Module``'s)."""
        ...


class LabelledFeature(Protocol):
    """A :class:`~mrc_ner.models.base.Feature` as negative sampling sees it: a length and its labels."""

    labels: dict[str, list[int]]

    def __len__(self) -> int:
        """Input positions."""
        ...


#: a :class:`~mrc_ner.models.base.Tagger` (training sits above the models but the models' ``fit``
#: calls :func:`~mrc_ner.training.loop.train`; importing ``Tagger`` here would close that cycle)
TaggerLike = Any
