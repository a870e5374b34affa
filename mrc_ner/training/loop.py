"""The one training loop, on ``accelerate``, shared by every method.

Small named steps a test can call one by one: :func:`build_optimizer`,
:func:`build_scheduler`, :func:`train_epoch`, :func:`evaluate_epoch`,
:func:`select_best`, :func:`save_checkpoint` / :func:`load_checkpoint`; :func:`train`
strings them together.

* AdamW with a separate (larger) learning rate for the new heads — fine-tuning the
  multilingual-e5-small conversion with one learning rate predicted all ``O``.
* Linear warmup, then linear or cosine decay or a constant rate; gradient accumulation,
  gradient clipping, optional bf16.
* Model selection on the dev set by entity-level micro F1 (not by training loss),
  early stopping with patience.
* After every epoch a checkpoint (model, optimizer, scheduler, RNG states, loop state)
  is written atomically to ``OUT/checkpoint``; ``resume=True`` continues from it.
  The best model is saved to ``OUT`` as a normal model directory.
* One JSON line per epoch in ``OUT/train_log.jsonl``, with the cores other processes kept
  busy meanwhile (``other_cores``: a timing taken beside other work is marked, not mistaken).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from mrc_ner.corpus.augmentation import replace_mentions
from mrc_ner.corpus.model import Sentence
from mrc_ner.encoding.batching import length_sorted_batches
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_json
from mrc_ner.training.args import LoopState, TaggerLike, TrainArgs
from mrc_ner.training.batches import make_loader, sample_negatives
from mrc_ner.training.checkpoints import TRAIN_LOG, load_checkpoint, save_checkpoint, trim_train_log
from mrc_ner.training.contention import CpuMeter, describe
from mrc_ner.training.preparation import (
    build_optimizer,
    build_scheduler,
    disable_gradient_checkpointing,
    new_accelerator,
    prepare_for_training,
    set_seed,
)
from mrc_ner.training.progress import progress_bar
from mrc_ner.training.provenance import run_place

if TYPE_CHECKING:
    from accelerate import Accelerator


def train_epoch(
    tagger: nn.Module,
    loader: Iterable[dict[str, Any]],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    accelerator: Accelerator,
    args: TrainArgs,
    state: LoopState,
    *,
    on_step: Callable[[float, int], None] | None = None,
) -> dict:
    """One pass over the loader; returns mean loss, steps, examples/s and tokens/s."""
    tagger.train()
    total, count, examples, tokens = 0.0, 0, 0, 0
    t0 = time.perf_counter()
    for batch in loader:
        with accelerator.accumulate(tagger):
            loss = tagger(batch)["loss"]
            accelerator.backward(loss)
            if accelerator.sync_gradients and args.max_grad_norm:
                accelerator.clip_grad_norm_(tagger.parameters(), args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        if accelerator.sync_gradients:
            state.step += 1
        total += float(loss.detach())
        count += 1
        examples += int(batch["input_ids"].shape[0])
        tokens += int(batch["attention_mask"].sum())
        if on_step is not None:
            on_step(float(loss.detach()), 1)
        if args.max_steps is not None and state.step >= args.max_steps:
            break
    secs = max(time.perf_counter() - t0, 1e-9)
    return {
        "loss": total / max(count, 1),
        "batches": count,
        "examples_per_s": examples / secs,
        "tokens_per_s": tokens / secs,
        "seconds": secs,
    }


def evaluate_epoch(tagger: TaggerLike, dev: Sequence[Sentence], args: TrainArgs) -> dict:
    """Dev scores as a dict (micro/macro/per type)."""
    return tagger.evaluate(dev, batch_size=args.eval_batch_size).to_dict()


def select_best(state: LoopState, f1: float, epoch: int) -> bool:
    """Record ``f1`` for ``epoch``; True when it is a new best (ties keep the earlier epoch)."""
    if f1 > state.best_f1:
        state.best_f1, state.best_epoch, state.bad_epochs = f1, epoch, 0
        return True
    state.bad_epochs += 1
    return False


def train(
    tagger: TaggerLike,
    train_sentences: Sequence[Sentence],
    dev_sentences: Sequence[Sentence] | None,
    args: TrainArgs,
    *,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> LoopState:
    """Train ``tagger`` in place; the best epoch's model is saved to ``args.out_dir``.

    Without dev sentences the last epoch is kept. Returns the final loop state.
    """
    say = log or (lambda msg: None)
    if not train_sentences:
        raise InputError("the training set is empty")
    set_seed(args.seed)
    prepare_for_training(tagger, args)
    accelerator = new_accelerator(bf16=args.bf16, grad_accum=args.grad_accum)
    all_feats, _ = tagger.features(train_sentences, with_labels=True)
    feats = sample_negatives(all_feats, args.negative_ratio, args.seed)
    if not args.resume and getattr(tagger, "fresh_heads", True):
        tagger.prepare_heads(feats)
    say(
        f"{len(feats)} training features ({len(all_feats)} before negative sampling)"
        if len(feats) < len(all_feats)
        else f"{len(feats)} training features"
    )
    if not feats:
        raise InputError("the training set produced no model inputs (all sentences empty?)")
    steps_per_epoch = math.ceil(
        len(length_sorted_batches([len(f) for f in feats], args.batch_size, max_tokens=args.max_tokens))
        / args.grad_accum
    )
    total_steps = steps_per_epoch * args.epochs
    if args.max_steps is not None:
        total_steps = min(total_steps, args.max_steps)
    optimizer = build_optimizer(tagger, args)
    scheduler = build_scheduler(optimizer, total_steps, args.warmup_ratio, schedule=args.schedule)
    model, optimizer, scheduler = accelerator.prepare(tagger, optimizer, scheduler)
    out = Path(args.out_dir) if args.out_dir else None
    state = LoopState()
    if args.resume:
        if out is None:
            raise InputError("--resume needs an output directory")
        state = load_checkpoint(accelerator, out)
        trim_train_log(out, state.epoch)
        best = f", best dev F1 {state.best_f1:.4f}" if dev_sentences and state.best_epoch else ""
        say(f"resumed after epoch {state.epoch} (step {state.step}{best})")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    place = run_place(torch.get_num_threads())
    with progress_bar("epoch", rate=True, disable=not progress or not accelerator.is_main_process) as bar:
        for epoch in range(state.epoch, args.epochs):
            if args.max_steps is not None and state.step >= args.max_steps:
                break
            epoch_start = time.perf_counter()
            meter = CpuMeter()
            epoch_feats = feats
            if args.mention_replacement:
                epoch_feats = replaced_features(tagger, train_sentences, args, epoch, say)
            loader = accelerator.prepare(make_loader(tagger, epoch_feats, args, epoch))
            task = bar.add_task("train", total=len(loader), epoch=epoch + 1, loss=0.0, rate=0.0)
            t0, seen = time.perf_counter(), [0]

            every = max(1, len(loader) // 20)
            quiet_bar = not bar.console.is_terminal

            def on_step(
                loss: float, n: int, task=task, t0=t0, seen=seen, total=len(loader), every=every, quiet_bar=quiet_bar
            ) -> None:
                seen[0] += 1
                rate = seen[0] * args.batch_size / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, advance=n, loss=loss, rate=rate)
                if quiet_bar and seen[0] % every == 0:  # logs and pipes get a line every 5 %
                    say(f"  batch {seen[0]}/{total}: loss {loss:.4f}, {rate:.1f} ex/s")

            stats = train_epoch(model, loader, optimizer, scheduler, accelerator, args, state, on_step=on_step)
            record: dict[str, Any] = {"epoch": epoch + 1, "step": state.step, **stats, "ran_on": place}
            if dev_sentences:
                scores = evaluate_epoch(tagger, dev_sentences, args)
                record["dev"] = scores
                f1 = scores["micro"]["f1"]
            else:
                scores, f1 = None, float(epoch)  # no dev set: the last epoch wins
            improved = select_best(state, f1, epoch + 1)
            record["best"] = improved
            state.epoch = epoch + 1
            state.seconds += time.perf_counter() - epoch_start
            others = meter.other_cores()
            if others is not None:
                record["other_cores"] = round(others, 2)
            state.history.append(
                {k: v for k, v in record.items() if k != "dev"} | ({"dev_micro_f1": f1} if dev_sentences else {})
            )
            say(
                f"epoch {epoch + 1}: loss {stats['loss']:.4f}, {stats['examples_per_s']:.1f} ex/s"
                + (f", dev micro F1 {f1:.4f}" + (" (best)" if improved else "") if dev_sentences else "")
                + describe(others)
            )
            if out is not None and accelerator.is_main_process:
                with open(out / TRAIN_LOG, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                if improved:
                    extra = {"training_args.json": asdict(args)}
                    if scores is not None:
                        extra["dev_scores.json"] = scores
                    accelerator.unwrap_model(model).save(out, extra_files=extra)
                save_checkpoint(accelerator, out, state)
            if dev_sentences and state.bad_epochs >= args.patience:
                say(f"early stopping: no dev improvement for {args.patience} epochs")
                break
    if args.gradient_checkpointing:
        disable_gradient_checkpointing(tagger)
    if out is not None and state.best_epoch > 0 and dev_sentences:
        best = type(tagger).load(out)
        tagger.load_state_dict(best.state_dict())  # leave the caller holding the best model
    if args.calibrate and dev_sentences and accelerator.is_main_process:
        calibrate(tagger, dev_sentences, args, out, say)
    return state


def replaced_features(
    tagger: TaggerLike, sentences: Sequence[Sentence], args: TrainArgs, epoch: int, say: Callable[[str], None]
) -> list:
    """This epoch's training features, from the sentences with their mentions replaced (:mod:`~mrc_ner.corpus.augmentation`).

    Negative sampling draws with the run's seed, as it does without replacement (a replaced
    name of another length can shift the windows, and with them which features it keeps).
    """
    replaced, n = replace_mentions(sentences, rate=args.mention_replacement, seed=args.seed, epoch=epoch)
    feats, _ = tagger.features(replaced, with_labels=True)
    mentions = sum(len(s.spans) for s in sentences)
    say(f"epoch {epoch + 1}: {n} of {mentions} training mentions replaced by other names of their type")
    return sample_negatives(feats, args.negative_ratio, args.seed)


def calibrate(
    tagger: TaggerLike, dev: Sequence[Sentence], args: TrainArgs, out: Path | None, say: Callable[[str], None]
) -> None:
    """Tune the tagger's prediction options on dev; record them in ``out/config.json`` and ``out/calibration.json``."""
    result = tagger.calibrate(dev, batch_size=args.eval_batch_size)
    if result is None:
        return
    best = next((r for r in result["sweep"] if r["threshold"] == result["threshold"]), None)
    say(f"threshold {result['threshold']} chosen on dev" + (f" (micro F1 {best['f1']:.4f})" if best else ""))
    if out is not None and (out / "config.json").is_file():
        atomic_write_json(out / "config.json", tagger.config_dict())
        atomic_write_json(out / "calibration.json", result)
