"""The accelerate training loop: optimizer groups, selection, checkpoints, resume, learning."""

from __future__ import annotations

import json

import pytest
import torch

from mrc_ner.commands._options import Schedule
from mrc_ner.errors import InputError
from mrc_ner.models import load_tagger, tagger_class
from mrc_ner.training import (
    LoopState,
    TrainArgs,
    build_optimizer,
    build_scheduler,
    freeze_word_embeddings,
    prepare_for_training,
    sample_negatives,
    select_best,
    set_attention_dropout,
)
from mrc_ner.training.args import SCHEDULES


def tagger(tiny_encoder, method="softmax", sents=()):
    kw = {"train_sentences": list(sents)} if method == "mrc" else {}
    return tagger_class(method).create(str(tiny_encoder), ["disease", "gene", "protein"], max_length=64, **kw)


def encoder_moved(before: dict, after: dict) -> bool:
    """True when training changed some encoder weight (a loop that updates nothing would pass the equality tests)."""
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))


def test_optimizer_groups_use_head_lr_and_skip_frozen(tiny_encoder):
    t = tagger(tiny_encoder)
    n = freeze_word_embeddings(t)
    assert n >= t.encoder.get_input_embeddings().weight.numel()
    opt = build_optimizer(t, TrainArgs(encoder_lr=1e-5, head_lr=1e-2))
    head = {id(p) for p in t.head_parameters()}
    for g in opt.param_groups:
        is_head = {id(p) in head for p in g["params"]}
        assert len(is_head) == 1
        assert g["lr"] == (1e-2 if is_head.pop() else 1e-5)
        assert all(p.requires_grad for p in g["params"])
    emb = t.encoder.get_input_embeddings().weight
    assert all(emb is not p for g in opt.param_groups for p in g["params"])


def test_attention_dropout_changes_only_the_attention_probabilities(tiny_encoder):
    t = tagger(tiny_encoder)
    layers = t.encoder.config.num_hidden_layers
    hidden = {n: m.p for n, m in t.encoder.named_modules() if isinstance(m, torch.nn.Dropout) and ".self." not in n}
    assert set_attention_dropout(t, 0.0) == layers
    attention = [m for n, m in t.encoder.named_modules() if n.endswith("attention.self.dropout")]
    assert len(attention) == layers and all(m.p == 0.0 for m in attention)
    after = {n: m.p for n, m in t.encoder.named_modules() if isinstance(m, torch.nn.Dropout) and ".self." not in n}
    assert after == hidden and t.encoder.config.attention_probs_dropout_prob == 0.0
    # in train mode the forward pass is random only through dropout: with the hidden dropout off,
    # two passes agree when the attention dropout is 0 and differ when it is 0.5
    for m in t.encoder.modules():
        if isinstance(m, torch.nn.Dropout) and m not in attention:
            m.p = 0.0
    t.train()
    batch = {"input_ids": torch.tensor([[2, 5, 6, 7, 3]]), "attention_mask": torch.ones(1, 5, dtype=torch.long)}
    batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
    assert torch.equal(t.encode(batch), t.encode(batch))
    prepare_for_training(t, TrainArgs(attention_dropout=0.5, freeze_embeddings=False))
    assert all(m.p == 0.5 for m in attention)
    assert not torch.equal(t.encode(batch), t.encode(batch))
    with pytest.raises(Exception, match=r"attention dropout must be in \[0, 1\)"):
        set_attention_dropout(t, 1.0)


def lr_curve(t, schedule: str = "linear", steps: int = 10) -> list[float]:
    """The learning rate at each of ``steps`` steps with 20 % warmup and a peak of 1."""
    opt = torch.optim.SGD(t.parameters(), lr=1.0)
    sched = build_scheduler(opt, total_steps=steps, warmup_ratio=0.2, schedule=schedule)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_scheduler_warms_up_then_decays(tiny_encoder):
    lrs = lr_curve(tagger(tiny_encoder))
    assert lrs[0] == 0.5 and lrs[1] == 1.0 and lrs[-1] < lrs[2]


def test_schedule_shapes_after_the_warmup(tiny_encoder):
    t = tagger(tiny_encoder)
    linear, cosine, constant = (lr_curve(t, s) for s in ("linear", "cosine", "constant"))
    assert linear[:2] == cosine[:2] == constant[:2] == [0.5, 1.0]  # the same warmup
    assert constant[2:] == [1.0] * 8
    assert linear[2:] == pytest.approx([1 - i / 8 for i in range(8)])
    assert cosine[2] == pytest.approx(1.0) and cosine[6] == pytest.approx(0.5)  # half way down at mid-decay
    assert all(c >= lin for c, lin in zip(cosine[2:6], linear[2:6])) and cosine[-1] < linear[-1]
    with pytest.raises(InputError, match="unknown learning-rate schedule 'step'; choose one of linear, cosine"):
        build_scheduler(torch.optim.SGD(t.parameters(), lr=1.0), total_steps=10, warmup_ratio=0.1, schedule="step")
    # the CLI's choices (an Enum, so that parsing the command line imports no torch) are the loop's
    assert [s.value for s in Schedule] == list(SCHEDULES)


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("batch_size", 0, "batch_size must be at least 1, got 0"),
        ("epochs", -1, "epochs must be at least 1"),
        ("patience", 0, "patience must be at least 1"),
        ("max_steps", 0, r"max_steps must be at least 1 \(or unset\), got 0"),
        ("encoder_lr", -1e-5, "encoder_lr must be at least 0"),
        ("negative_ratio", 2.0, r"negative_ratio must be in \[0, 1\], got 2.0"),
        ("warmup_ratio", "0.1", r"warmup_ratio must be in \[0, 1\], got '0.1'"),
        ("attention_dropout", 1.0, r"attention_dropout must be in \[0, 1\)"),
        ("schedule", "step", "unknown learning-rate schedule 'step'"),
    ],
)
def test_train_args_refuse_values_no_run_can_use(setting, value, expected):
    with pytest.raises(InputError, match=expected):
        TrainArgs(**{setting: value})
    # the edges are allowed
    TrainArgs(epochs=1, negative_ratio=0.0, warmup_ratio=1.0, encoder_lr=0.0, max_steps=None, attention_dropout=None)


def test_select_best_and_patience():
    st = LoopState()
    assert select_best(st, 0.3, 1) and not select_best(st, 0.3, 2) and select_best(st, 0.5, 3)
    assert (st.best_epoch, st.bad_epochs) == (3, 0)
    select_best(st, 0.1, 4)
    assert st.bad_epochs == 1


def test_negative_sampling_keeps_all_positives(tiny_encoder, sample_cbp_corpus):
    t = tagger(tiny_encoder, "mrc", sample_cbp_corpus.sentences)
    feats, _ = t.features(sample_cbp_corpus.sentences, with_labels=True)
    kept = sample_negatives(feats, 0.0, 1)
    positives = [f for f in feats if any(v > 0 for lab in f.labels.values() for v in lab)]
    assert kept == positives and 0 < len(kept) < len(feats)
    assert sample_negatives(feats, 1.0, 1) == feats


@pytest.mark.slow
def test_training_learns_and_saves_best(tmp_path, tiny_encoder, sample_cbp_corpus):
    """A tiny model memorises a handful of sentences: dev (= train) F1 climbs well above 0."""
    sents = [s for s in sample_cbp_corpus.sentences if s.spans][:12]
    t = tagger(tiny_encoder)
    args = TrainArgs(
        epochs=25,
        batch_size=4,
        encoder_lr=3e-3,
        head_lr=3e-2,
        warmup_ratio=0.0,
        out_dir=str(tmp_path / "m"),
        patience=25,
        freeze_embeddings=False,
        seed=1,
    )
    state = t.fit(sents, sents, args, progress=False)
    assert state.best_f1 > 0.5
    log = [json.loads(x) for x in (tmp_path / "m" / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == state.epoch and log[0]["loss"] > log[-1]["loss"]
    assert all(e["other_cores"] >= 0 for e in log)  # other processes' load during each epoch (Linux)
    saved = json.loads((tmp_path / "m" / "dev_scores.json").read_text())
    assert abs(saved["micro"]["f1"] - state.best_f1) < 1e-12
    assert abs(load_tagger(tmp_path / "m").evaluate(sents).micro.f1 - state.best_f1) < 1e-12
    assert (tmp_path / "m" / "checkpoint" / "loop_state.json").is_file()


@pytest.mark.slow
def test_resume_continues_where_it_stopped(tmp_path, tiny_encoder, sample_cbp_corpus, monkeypatch):
    """A run killed after epoch 2 and resumed ends with the same weights as an uninterrupted one."""
    import mrc_ner.training.loop as training

    sents = sample_cbp_corpus.sentences[:16]
    kw = dict(batch_size=4, encoder_lr=1e-3, head_lr=1e-2, seed=3, freeze_embeddings=False)
    straight = tagger(tiny_encoder)
    straight.fit(sents, None, TrainArgs(epochs=4, out_dir=str(tmp_path / "a"), **kw), progress=False)

    real_save = training.save_checkpoint
    calls = []

    def crash_after_second(*a, **k):
        real_save(*a, **k)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C after epoch 2 was checkpointed

    monkeypatch.setattr(training, "save_checkpoint", crash_after_second)
    part = tagger(tiny_encoder)
    with pytest.raises(KeyboardInterrupt):
        part.fit(sents, None, TrainArgs(epochs=4, out_dir=str(tmp_path / "b"), **kw), progress=False)
    monkeypatch.setattr(training, "save_checkpoint", real_save)
    state = json.loads((tmp_path / "b" / "checkpoint" / "loop_state.json").read_text())
    assert state["epoch"] == 2  # 16 sentences / 4 = 4 steps an epoch
    resumed = tagger(tiny_encoder)
    assert encoder_moved(resumed.state_dict(), straight.state_dict())  # the runs compared did train
    final = resumed.fit(
        sents, None, TrainArgs(epochs=4, resume=True, out_dir=str(tmp_path / "b"), **kw), progress=False
    )
    assert 0 < state["seconds"] < final.seconds  # the resumed run's time adds to the checkpoint's
    for k, v in straight.state_dict().items():
        assert torch.allclose(v, resumed.state_dict()[k], atol=1e-5), (
            k,
            [n for n, w in straight.state_dict().items() if not torch.allclose(w, resumed.state_dict()[n], atol=1e-5)],
            (v - resumed.state_dict()[k]).abs().max(),
        )


@pytest.mark.slow
def test_same_seed_same_weights(tmp_path, tiny_encoder, sample_cbp_corpus):
    sents = sample_cbp_corpus.sentences[:8]
    runs = []
    for k in range(2):
        t = tagger(tiny_encoder)
        before = {n: w.clone() for n, w in t.state_dict().items()}
        t.fit(sents, None, TrainArgs(epochs=1, batch_size=4, seed=7, out_dir=str(tmp_path / f"r{k}")), progress=False)
        runs.append(t.state_dict())
        assert encoder_moved(before, runs[-1])
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


@pytest.mark.slow
def test_gradient_checkpointing_gives_the_same_training(tmp_path, tiny_encoder, sample_cbp_corpus):
    """Same seed with and without checkpointing: the same weights (dropout included), and the flag is off afterwards."""
    sents = sample_cbp_corpus.sentences[:8]
    runs, used = [], []
    for k, ckpt in enumerate((False, True)):
        t = tagger(tiny_encoder, "mrc", sents)
        before = {n: w.clone() for n, w in t.state_dict().items()}
        calls = []
        t.encoder.encoder.layer[0].intermediate.register_forward_hook(lambda *_, calls=calls: calls.append(1))
        t.fit(
            sents,
            None,
            TrainArgs(epochs=1, batch_size=4, seed=7, gradient_checkpointing=ckpt, out_dir=str(tmp_path / f"g{k}")),
            progress=False,
        )
        runs.append(t.state_dict())
        assert encoder_moved(before, runs[-1])
        used.append(calls)
        assert not (
            t.encoder.is_activation_checkpointing
            if hasattr(t.encoder, "is_activation_checkpointing")
            else t.encoder.is_gradient_checkpointing
        )
    # with checkpointing each layer runs again (recomputed) in every backward pass
    assert len(used[1]) > len(used[0]) > 0
    assert all(torch.allclose(runs[0][k].float(), runs[1][k].float(), atol=1e-5) for k in runs[0])


def test_provenance_names_this_checkout_and_machine() -> None:
    """A cell's ``code`` is the commit of the checkout the package runs from (None outside one)."""
    import subprocess
    from pathlib import Path

    import mrc_ner
    from mrc_ner.training.provenance import code_version, machine_facts

    checkout = Path(mrc_ner.__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    top = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    in_checkout = head.returncode == 0 and Path(top.stdout.strip()).resolve() == checkout
    code = code_version()
    assert code["commit"] == (head.stdout.strip() if in_checkout else None)
    assert code["dirty"] in ((True, False) if in_checkout else (None,))
    facts = machine_facts(3)
    assert facts["torch_threads"] == 3 and facts["cpu"] and facts["cores"] >= 1 and facts["torch"] == torch.__version__
