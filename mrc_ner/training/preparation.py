"""Before the loop: seed, memory settings (frozen embeddings, gradient checkpointing), optimizer and schedule."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mrc_ner.errors import InputError
from mrc_ner.hardware import warn_if_bf16_is_slow
from mrc_ner.training.args import Trainable, TrainArgs, check_schedule

if TYPE_CHECKING:
    from accelerate import Accelerator


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def freeze_word_embeddings(model: Trainable) -> int:
    """Freeze ``model.encoder``'s word embeddings (a tagger's, or the masked-LM objective's, whose
    decoder may be tied to them); returns the number of parameters it froze.

    On multilingual-e5-small 96M of 117.7M parameters are the word-embedding matrix:
    freezing it saves the optimizer state and most of the update time.
    """
    n = 0
    for p in model.encoder.get_input_embeddings().parameters():
        if p.requires_grad:
            p.requires_grad_(False)
            n += p.numel()
    return n


def enable_gradient_checkpointing(tagger: Trainable) -> None:
    """Recompute each encoder layer's activations in the backward pass instead of keeping them.

    Trades about a third more compute for activation memory that no longer grows with
    the number of layers. Non-reentrant checkpointing restores the RNG state, so with
    the same seed the gradients equal those of a plain run.
    """
    enc = tagger.encoder
    if not getattr(enc, "supports_gradient_checkpointing", False):
        raise InputError(f"encoder {type(enc).__name__} does not support gradient checkpointing")
    if hasattr(enc, "activation_checkpointing_enable"):  # transformers >= 5
        enc.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        enc.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def disable_gradient_checkpointing(tagger: Trainable) -> None:
    """Undo :func:`enable_gradient_checkpointing` (inference never needs it)."""
    enc = tagger.encoder
    if hasattr(enc, "activation_checkpointing_disable"):
        enc.activation_checkpointing_disable()
    else:
        enc.gradient_checkpointing_disable()


_QUERY_PROJECTIONS = ("query", "q_proj", "q_lin")
_ATTENTION_CONFIG_KEYS = ("attention_probs_dropout_prob", "attention_dropout")


def set_attention_dropout(model: Trainable, p: float) -> int:
    """Set the dropout on ``model.encoder``'s attention probabilities to ``p``; returns how many
    attention modules it changed.

    On a CPU that dropout is not cheap: it draws and keeps a random mask of batch × heads ×
    length² per layer. Measured on multilingual-e5-small, cbp_gold, batch 16, 2 cores
    (BENCHMARKS.md, "Attention dropout"), turning it off trains softmax 23 % and mrc-packed
    42 % more tokens per second, and takes 2 GB off the training peak.
    The attention modules are those with a query projection and a ``dropout`` child; the
    dropout after each sub-layer's output (``hidden_dropout_prob``) is left alone. The
    encoder's config is updated too, so a saved model says what it was trained with.
    """
    if not 0.0 <= p < 1.0:
        raise InputError(f"attention dropout must be in [0, 1), got {p}")
    changed = 0
    for module in model.encoder.modules():
        drop = getattr(module, "dropout", None)
        if isinstance(drop, torch.nn.Dropout) and any(hasattr(module, q) for q in _QUERY_PROJECTIONS):
            drop.p = p
            changed += 1
    for key in _ATTENTION_CONFIG_KEYS:
        if hasattr(model.encoder.config, key):
            setattr(model.encoder.config, key, p)
    return changed


def prepare_for_training(tagger: Trainable, args: TrainArgs) -> None:
    """Apply the settings of ``args`` that change the model for training: frozen embeddings,
    checkpointing, attention dropout."""
    if args.freeze_embeddings:
        freeze_word_embeddings(tagger)
    if args.gradient_checkpointing:
        enable_gradient_checkpointing(tagger)
    if args.attention_dropout is not None:
        set_attention_dropout(tagger, args.attention_dropout)


def build_optimizer(tagger: Trainable, args: TrainArgs) -> torch.optim.Optimizer:
    """AdamW: encoder parameters at ``encoder_lr``, heads at ``head_lr``; no decay on biases/LayerNorm."""
    head_ids = {id(p) for p in tagger.head_parameters()}
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in tagger.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        groups.setdefault((id(p) in head_ids, no_decay), []).append(p)
    param_groups = [
        {
            "params": ps,
            "lr": args.head_lr if is_head else args.encoder_lr,
            "weight_decay": 0.0 if no_decay else args.weight_decay,
        }
        for (is_head, no_decay), ps in groups.items()
    ]
    kwargs: dict[str, Any] = {}
    if "fused" in torch.optim.AdamW.__init__.__code__.co_varnames:
        kwargs["fused"] = True  # measured: 0.57 s → 0.08 s per step on the 117.7M-parameter encoder
    return torch.optim.AdamW(param_groups, **kwargs)


def build_scheduler(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float, *, schedule: str = "linear"
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup for ``warmup_ratio`` of the steps, then ``schedule``: linear or cosine decay to
    zero at ``total_steps``, or the peak rate held (constant)."""
    check_schedule(schedule)
    warmup = int(total_steps * warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        left = max(0.0, (total_steps - step) / max(1, total_steps - warmup))
        if schedule == "constant":
            return 1.0
        if schedule == "cosine":
            return 0.5 * (1.0 - math.cos(math.pi * left))
        return left

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def new_accelerator(*, bf16: bool = False, grad_accum: int = 1) -> Accelerator:
    """An ``Accelerator`` for one training run in this process, float32 or bf16 autocast as asked.

    accelerate keeps one state per process and refuses (or silently keeps) another mixed
    precision than the first ``Accelerator``'s; a second run in the same process (compare's
    next row, a user's second ``fit``) may ask for another, so a single-process state with a
    different precision is reset first, as accelerate's own tests do. A distributed launch's
    state is never touched. On a CPU without bf16 instructions ``bf16`` warns
    (:func:`mrc_ner.hardware.warn_if_bf16_is_slow`).
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedType

    wanted = "bf16" if bf16 else "no"
    shared = AcceleratorState._shared_state
    if shared.get("_mixed_precision") not in (None, wanted) and shared.get("distributed_type") == DistributedType.NO:
        AcceleratorState._reset_state()
    accelerator = Accelerator(
        gradient_accumulation_steps=grad_accum, mixed_precision=wanted, cpu=not torch.cuda.is_available()
    )
    if bf16:
        warn_if_bf16_is_slow(str(accelerator.device), stacklevel=3)
    return accelerator
