"""Training: the one accelerate loop shared by every method (:mod:`.loop`), its arguments
(:mod:`.args`), preparation (:mod:`.preparation`), batches (:mod:`.batches`) and
checkpoints (:mod:`.checkpoints`), the other processes' load on the cores
(:mod:`.contention`) and the machine and code a run used (:mod:`.provenance`); continued masked-LM pretraining of an encoder is
:mod:`mrc_ner.training.pretraining` (imported on its own: it is not re-exported here).
"""

from mrc_ner.training.args import LoopState, TrainArgs
from mrc_ner.training.batches import FeatureBatches, is_negative, make_loader, sample_negatives
from mrc_ner.training.checkpoints import (
    CHECKPOINT,
    LOOP_STATE,
    TRAIN_LOG,
    checkpoint_seconds,
    find_checkpoint,
    load_checkpoint,
    save_checkpoint,
    trim_train_log,
)
from mrc_ner.training.contention import CpuMeter
from mrc_ner.training.loop import calibrate, evaluate_epoch, select_best, train, train_epoch
from mrc_ner.training.preparation import (
    build_optimizer,
    build_scheduler,
    disable_gradient_checkpointing,
    enable_gradient_checkpointing,
    freeze_word_embeddings,
    prepare_for_training,
    set_attention_dropout,
    set_seed,
)

__all__ = [
    "CHECKPOINT",
    "LOOP_STATE",
    "TRAIN_LOG",
    "CpuMeter",
    "FeatureBatches",
    "LoopState",
    "TrainArgs",
    "build_optimizer",
    "build_scheduler",
    "calibrate",
    "checkpoint_seconds",
    "disable_gradient_checkpointing",
    "enable_gradient_checkpointing",
    "evaluate_epoch",
    "find_checkpoint",
    "freeze_word_embeddings",
    "is_negative",
    "load_checkpoint",
    "make_loader",
    "prepare_for_training",
    "sample_negatives",
    "save_checkpoint",
    "select_best",
    "set_attention_dropout",
    "set_seed",
    "train",
    "train_epoch",
    "trim_train_log",
]
