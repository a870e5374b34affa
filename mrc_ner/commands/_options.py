"""The training options ``train`` and ``compare`` share: one ``Annotated`` alias per option, one help text.

Options whose help differs between the two commands (``--head-lr``, ``--seed``,
``--max-steps``, ``--negative-ratio``, ``--freeze-embeddings``) stay in each command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mrc_ner.commands._common import DISCONTINUOUS_HELP, INPUT_FORMAT_HELP, QUANTIZE_HELP, postprocess_option_help
from mrc_ner.errors import InputError

if TYPE_CHECKING:
    from mrc_ner.training import TrainArgs


class Align(str, Enum):
    """``--align``: how a sentence is cut into units (``auto``: word for word-level data; for character-level
    data char for the labelers, mixed for the MRC methods)."""

    auto = "auto"
    char = "char"
    mixed = "mixed"
    subword = "subword"
    word = "word"


EncoderOpt = Annotated[
    str, typer.Option("--encoder", help="Built-in offline encoder name, HF hub id or local directory.")
]
EpochsOpt = Annotated[int, typer.Option(help="Training epochs.")]
BatchSizeOpt = Annotated[int, typer.Option(min=1, help="Batch size (features per step).")]
EncoderLrOpt = Annotated[float, typer.Option(help="Learning rate of the encoder.")]
WarmupRatioOpt = Annotated[float, typer.Option(help="Share of steps with linear warmup.")]


class Schedule(str, Enum):
    """``--schedule``: the learning rate after the warmup (``TrainArgs.schedule``)."""

    linear = "linear"
    cosine = "cosine"
    constant = "constant"


ScheduleOpt = Annotated[
    Schedule,
    typer.Option(
        help="Learning rate after the warmup: linear or cosine decay to zero at the last allowed epoch, or constant."
    ),
]
GradAccumOpt = Annotated[int, typer.Option(help="Gradient accumulation steps.")]
MaxLengthOpt = Annotated[int, typer.Option(help="Encoder input length; longer contexts are windowed.")]
OverlapOpt = Annotated[
    int, typer.Option(min=0, help="Overlap between windows, in tokens (at most half a window is used).")
]
AlignOpt = Annotated[
    Align,
    typer.Option(
        help="auto, char, mixed, subword or word (mixed: CJK characters one unit each, Latin/digit runs in tokenizer pieces; "
        "auto: word for word-level data, else char for the labelers and mixed for mrc / mrc-packed)."
    ),
]
PatienceOpt = Annotated[int, typer.Option(help="Early stopping: epochs without dev improvement.")]
GradientCheckpointingOpt = Annotated[
    bool,
    typer.Option(
        "--gradient-checkpointing",
        help="Recompute encoder activations in the backward pass: much less memory for about a third more time.",
    ),
]
AttentionDropoutOpt = Annotated[
    float,
    typer.Option(
        help="Dropout on the encoder's attention probabilities while training. 0 trains 23-42 % more tokens/s in 2 GB "
        "less memory than BERT's usual 0.1 (BENCHMARKS.md); hf-softmax keeps the encoder's own."
    ),
]
Bf16Opt = Annotated[
    bool,
    typer.Option(
        help="bf16 autocast while training (for GPUs: on a CPU with torch 2.13 a step measured 18x slower, BENCHMARKS.md)."
    ),
]
QueryKindOpt = Annotated[str, typer.Option(help="MRC queries: examples, simple or none.")]
QueryTemplateOpt = Annotated[Optional[str], typer.Option(help="MRC query template: en, zh, cbp or a JSON path.")]
QueryKOpt = Annotated[int, typer.Option(min=0, help="MRC: examples per query.")]
QuerySelectOpt = Annotated[
    str,
    typer.Option(
        help="MRC examples: frequency, random, or distinct (no other type shares the string; from different documents)."
    ),
]
EndHeadOpt = Annotated[str, typer.Option(help="MRC end head: start_aware (eq. 6) or linear (eq. 5).")]
LambdaOpt = Annotated[float, typer.Option("--lambda", min=0.0, max=1.0, help="MRC loss weight of the end head.")]
JSON_HELP = "Print {} as JSON on stdout instead of tables; messages go to stderr, no progress bar."
FoldSeedOpt = Annotated[int, typer.Option(help="Shuffle seed of k=N folds.")]
DevDocsOpt = Annotated[str, typer.Option(help="k=N folds: dev documents per fold, a count or a fraction.")]


def dev_docs_value(text: str) -> int | float:
    """``--dev-docs`` as a count (``"1"``) or a fraction (``"0.1"``)."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"--dev-docs must be a count or a fraction, got {text!r}") from None
    return int(value) if value >= 1 and value.is_integer() else value


ThreadsOpt = Annotated[Optional[int], typer.Option(min=1, help="torch CPU threads (default: all cores).")]


def train_args(values: dict[str, Any], **extra: Any) -> TrainArgs:
    """The :class:`~mrc_ner.training.TrainArgs` of a command: its options named as ``TrainArgs`` fields
    (``values``: the command's ``locals()``), and ``extra`` fields.
    """
    from mrc_ner.training import TrainArgs

    names = {f.name for f in fields(TrainArgs)}
    plain = {k: v.value if isinstance(v, Enum) else v for k, v in values.items() if k in names}
    return TrainArgs(**plain, **extra)


def start_run(out: Path, *, json_: bool, threads: int | None) -> Callable[..., None]:
    """Before any work: torch's thread count and a writable ``out``; returns the message printer
    (stderr under ``--json``, so stdout holds only the JSON)."""
    from mrc_ner.commands._common import console, err_console
    from mrc_ner.io import writable_dir

    if threads:
        import torch

        torch.set_num_threads(threads)
    writable_dir(out)
    return err_console.print if json_ else console.print


# --------------------------------------------------------------------------- reading and prediction choices
class CorpusFormat(str, Enum):
    """``--format`` of the commands that read annotated corpora (train, evaluate, stats)."""

    auto = "auto"
    conll = "conll"
    jsonl = "jsonl"
    brat = "brat"
    pubtator = "pubtator"
    bioc_xml = "bioc-xml"
    bioc_json = "bioc-json"


class Discontinuous(str, Enum):
    """``--discontinuous``: what to do with a discontinuous brat/BioC mention."""

    error = "error"
    skip = "skip"
    joined = "join"


class Quantize(str, Enum):
    """``--quantize``: cheaper prediction arithmetic (:mod:`mrc_ner.models.quantize`)."""

    none = "none"
    int8 = "int8"
    bf16 = "bf16"


class Orphan(str, Enum):
    """``--orphan``: what post-processing does with a run that starts with ``I-``."""

    repair = "repair"
    drop = "drop"


class Consistency(str, Enum):
    """``--consistency``: document-level rules on predictions (:mod:`mrc_ner.corpus.consistency`)."""

    none = "none"
    retype = "retype"
    propagate = "propagate"
    both = "both"


CONSISTENCY_HELP = (
    "Per document, on the predictions: retype gives every predicted name the type the document's "
    "predictions give it most often; propagate also tags every further occurrence of a predicted name "
    "(whole tokens, never inside a Latin run); both does both. On the Chinese patents (five folds, "
    "converged) propagate lifted mrc-packed's micro F1 by 3.2 points and lowered softmax's by 2.1: "
    "see BENCHMARKS.md."
)


DiscontinuousOpt = Annotated[Discontinuous, typer.Option("--discontinuous", help=DISCONTINUOUS_HELP)]
QuantizeOpt = Annotated[Quantize, typer.Option("--quantize", help=QUANTIZE_HELP)]
ModelQuantizeOpt = Annotated[Quantize, typer.Option("--quantize", help="With --model: " + QUANTIZE_HELP)]
PostprocessOpt = Annotated[bool, typer.Option("--postprocess", help=postprocess_option_help())]
OrphanOpt = Annotated[
    Orphan, typer.Option("--orphan", help="With --postprocess: repair or drop runs that start with I-.")
]
ConsistencyOpt = Annotated[Consistency, typer.Option("--consistency", help=CONSISTENCY_HELP)]
InvalidSymbolsOpt = Annotated[str, typer.Option(help="With --postprocess: characters that invalidate an entity.")]

CorpusFormatOpt = Annotated[CorpusFormat, typer.Option("--format", help=INPUT_FORMAT_HELP)]
