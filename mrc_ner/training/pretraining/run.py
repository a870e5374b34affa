"""The pretraining run: read, encode, build the masked LM, train with the shared loop, save."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from mrc_ner.encoding.alignment import char_vocab
from mrc_ner.encoding.batching import length_sorted_batches
from mrc_ner.errors import InputError
from mrc_ner.training.args import LoopState, TrainArgs
from mrc_ner.training.loop import train_epoch
from mrc_ner.training.preparation import (
    build_optimizer,
    build_scheduler,
    freeze_word_embeddings,
    new_accelerator,
    set_seed,
)
from mrc_ner.training.pretraining.masked_lm import (
    HeadInfo,
    MaskedLMObjective,
    build_masked_lm,
    heldout_loss,
    init_new_head,
)
from mrc_ner.training.pretraining.masking import MaskedBatches, Masker
from mrc_ner.training.pretraining.output import check_output_dir, save_encoder_dir
from mrc_ner.training.pretraining.settings import PretrainSettings
from mrc_ner.training.pretraining.text import read_texts, split_heldout
from mrc_ner.training.pretraining.units import encode_lines, line_mode
from mrc_ner.training.progress import progress_bar


@dataclass
class PretrainResult:
    """What a run did; ``to_manifest()`` is ``mrc_ner_pretrain.json``."""

    out: Path
    encoder: str
    encoder_path: str
    settings: PretrainSettings
    files: list[str]
    lines: dict[str, int]
    examples: dict[str, int]
    head: HeadInfo
    steps: int = 0
    epochs_run: int = 0
    final_loss: float | None = None  # mean of the last 10 step losses
    first_losses: list[float] = field(default_factory=list)  # the first 10 step losses
    last_losses: list[float] = field(default_factory=list)  # the last 10
    heldout: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    steps_per_second: float = 0.0
    unk_chars: int = 0

    def to_manifest(self) -> dict[str, Any]:
        import transformers

        from mrc_ner import __version__

        return {
            "format": 1,
            "method": "masked-lm continued pretraining (LM mixed, stage 1)",
            "encoder": self.encoder,
            "encoder_path": self.encoder_path,
            "settings": asdict(self.settings),
            "files": self.files,
            "lines": self.lines,
            "examples": self.examples,
            "unk_chars": self.unk_chars,
            "head": asdict(self.head),
            "steps": self.steps,
            "epochs_run": self.epochs_run,
            "final_loss": self.final_loss,
            "first_losses": self.first_losses,
            "last_losses": self.last_losses,
            "heldout": self.heldout,
            "train_seconds": round(self.seconds, 3),
            "steps_per_second": round(self.steps_per_second, 4),
            "versions": {"mrc_ner": __version__, "torch": torch.__version__, "transformers": transformers.__version__},
        }


NEW_HEAD_LR = 1e-3  # as TrainArgs.head_lr: a new head learns faster than the pretrained encoder


def _training_args(settings: PretrainSettings, total_steps: int, *, new_head: bool):
    head_lr = settings.head_lr if settings.head_lr is not None else (NEW_HEAD_LR if new_head else settings.lr)
    return TrainArgs(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        encoder_lr=settings.lr,
        head_lr=head_lr,
        weight_decay=settings.weight_decay,
        warmup_ratio=settings.warmup_ratio,
        max_grad_norm=settings.max_grad_norm,
        seed=settings.seed,
        max_steps=total_steps,
        freeze_embeddings=settings.freeze_embeddings,
        attention_dropout=None,  # masked-LM training keeps the encoder's own dropout
    )


def pretrain(
    encoder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    texts: Sequence[str | os.PathLike] = (),
    corpora: Sequence[str | os.PathLike] = (),
    settings: PretrainSettings | None = None,
    overwrite: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> PretrainResult:
    """Continue masked-LM training of ``encoder`` on the text; save the encoder to ``out``.

    ``log`` receives one-line messages (sizes, the held-out losses, notes).
    """
    from mrc_ner.encoding.encoders import load_encoder

    settings = settings or PretrainSettings()
    settings.check()
    say = log or (lambda msg: None)
    out = check_output_dir(out, overwrite=overwrite)
    lines, files = read_texts(texts, corpora, max_chars=settings.max_length - 2)

    enc = load_encoder(encoder)
    limit = int(getattr(enc.model.config, "max_position_embeddings", 512))
    max_length = min(settings.max_length, limit)
    masker = Masker.for_tokenizer(enc.tokenizer, rate=settings.mask_rate, vocab_size=int(enc.model.config.vocab_size))
    pad_id = enc.tokenizer.pad_token_id if enc.tokenizer.pad_token_id is not None else 0

    train_lines, eval_lines = split_heldout(
        lines, settings.eval_fraction, seed=settings.seed, max_lines=settings.max_eval_lines
    )
    train_ex = encode_lines(train_lines, enc.tokenizer, align=settings.align, max_length=max_length)
    eval_ex = encode_lines(eval_lines, enc.tokenizer, align=settings.align, max_length=max_length)
    train_ex = [x for x in train_ex if x.units]
    eval_ex = [x for x in eval_ex if x.units]
    if not train_ex:
        raise InputError(
            "no trainable text: every line is empty or unknown to the tokenizer", path=files[0] if files else None
        )
    cv = char_vocab(enc.tokenizer)
    unk_chars = sum(cv.lookup(c) == cv.unk_id for x in lines if line_mode(x, settings.align) == "char" for c in x.text)
    modes: dict[str, int] = {}
    for x in train_ex + eval_ex:
        modes[x.mode] = modes.get(x.mode, 0) + 1
    say(
        f"{len(lines)} lines from {len(files)} file(s): {len(train_lines)} for training, {len(eval_lines)} held out; "
        f"{len(train_ex)} + {len(eval_ex)} examples ("
        + ", ".join(f"{n} {m}" for m, n in sorted(modes.items()))
        + ")"
        + (f"; {unk_chars} characters unknown to the vocabulary" if unk_chars else "")
    )

    set_seed(settings.seed)
    mlm, head = build_masked_lm(enc)
    objective = MaskedLMObjective(mlm)
    if settings.freeze_embeddings:
        n = freeze_word_embeddings(objective)
        head.decoder_frozen = head.tied
        say(
            f"froze {n / 1e6:.1f}M embedding parameters"
            + (
                "; the MLM decoder is tied to them and stays frozen too (its bias and transform train)"
                if head.tied
                else ""
            )
        )
    if not head.shipped:
        init_new_head(mlm, train_ex)
        head.init = "identity dense, log-unigram bias"
        say(f"new MLM head ({head.model_class})" + (", decoder tied to the word embeddings" if head.tied else ""))

    accelerator = new_accelerator()
    batches_per_epoch = len(length_sorted_batches([len(x) for x in train_ex], settings.batch_size))
    total_steps = settings.max_steps if settings.max_steps is not None else batches_per_epoch * settings.epochs
    args = _training_args(settings, total_steps, new_head=not head.shipped)
    head.lr = args.head_lr
    optimizer = build_optimizer(objective, args)
    scheduler = build_scheduler(optimizer, total_steps, settings.warmup_ratio)
    model, optimizer, scheduler = accelerator.prepare(objective, optimizer, scheduler)

    result = PretrainResult(
        out=out,
        encoder=str(encoder),
        encoder_path=str(enc.path),
        settings=settings,
        files=[str(f) for f in files],
        lines={"total": len(lines), "train": len(train_lines), "heldout": len(eval_lines)},
        examples={
            "train": len(train_ex),
            "heldout": len(eval_ex),
            **{f"mode_{m}": n for m, n in sorted(modes.items())},
        },
        head=head,
        unk_chars=unk_chars,
    )

    def heldout() -> tuple[float | None, int]:  # the same masks before and after: like for like
        return heldout_loss(
            objective,
            eval_ex,
            masker,
            pad_id=pad_id,
            batch_size=settings.eval_batch_size,
            seed=settings.seed,
            device=accelerator.device,
        )

    before, n_eval = heldout()
    if before is not None:
        say(f"held-out MLM loss before: {before:.4f} ({n_eval} masked tokens)")

    state = LoopState()
    losses: list[float] = []
    t0 = time.perf_counter()
    set_seed(settings.seed)  # dropout does not depend on how the head was built
    with progress_bar("pretrain epoch", disable=not progress or not accelerator.is_main_process) as bar:
        task = bar.add_task("pretrain", total=total_steps, epoch=1, loss=math.nan)
        live = progress and bar.console.is_terminal
        every = max(1, total_steps // 10)

        def on_step(loss: float, n: int) -> None:
            losses.append(loss)
            bar.update(task, advance=n, loss=loss)
            if not live and len(losses) % every == 0:  # no live bar (a log file): a line every 10 %
                say(
                    f"step {len(losses)}/{total_steps}: loss {loss:.4f}, {len(losses) / (time.perf_counter() - t0):.3f} steps/s"
                )

        epoch = 0
        while state.step < total_steps:
            batches = length_sorted_batches(
                [len(x) for x in train_ex], settings.batch_size, shuffle=True, seed=settings.seed + epoch
            )
            data = MaskedBatches(train_ex, batches, masker, pad_id=pad_id, seed=f"train:{settings.seed}:{epoch}")
            loader = accelerator.prepare(torch.utils.data.DataLoader(data, batch_size=None, shuffle=False))
            bar.update(task, epoch=epoch + 1)
            train_epoch(model, loader, optimizer, scheduler, accelerator, args, state, on_step=on_step)
            epoch += 1
    seconds = time.perf_counter() - t0
    after, _ = heldout()
    if after is not None:
        say(f"held-out MLM loss after:  {after:.4f}")

    result.steps, result.epochs_run = state.step, epoch
    result.first_losses = [round(x, 4) for x in losses[:10]]
    result.last_losses = [round(x, 4) for x in losses[-10:]]
    result.final_loss = sum(losses[-10:]) / len(losses[-10:]) if losses else None
    result.seconds, result.steps_per_second = seconds, state.step / max(seconds, 1e-9)
    result.heldout = {
        "lines": len(eval_lines),
        "examples": len(eval_ex),
        "masked_tokens": n_eval,
        "loss_before": before,
        "loss_after": after,
    }
    if accelerator.is_main_process:
        enc.model.eval()
        save_encoder_dir(
            accelerator.unwrap_model(model).encoder, enc.tokenizer, out, result.to_manifest(), overwrite=overwrite
        )
    say(
        f"saved the encoder to {out} ({state.step} steps, {result.steps_per_second:.2f} steps/s, final loss {result.final_loss:.4f})"
    )
    return result
