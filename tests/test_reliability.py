"""One test per defect of issue 17: nothing stale or invalid is accepted silently, every failure is one line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from conftest import input_error
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.jsonl import read_jsonl
from mrc_ner.errors import InputError

GOOD = Path(__file__).resolve().parents[1] / "data" / "sample_en.tsv"
RAW = Path(__file__).resolve().parents[1] / "data" / "sample_raw"
runner = CliRunner()


def one_line(result, code: int = 2) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code and len(lines) == 1 and "Traceback" not in result.output, (
        result.exit_code,
        result.output,
        result.exception,
    )
    return lines[0]


# ----------------------------------------------------------------------------- 1, 5: JSONL shape and gold


@pytest.mark.parametrize(
    "line, needle",
    [
        ('{"id": "a", "text": "abcdef", "entities": 5}', '"entities" must be a list'),
        ('{"sentences": 5}', '"sentences" must be a list'),
        ('{"sentences": ["abc"]}', "each sentence must be a JSON object"),
        ('{"id": "a", "text": "abcdef", "entities": [5]}', "each entity must be a JSON object"),
        (
            '{"id": "a", "text": "abcdef", "entities": [{"start": 0, "end": 2, "label": ""}]}',
            '"label" must be a non-empty string',
        ),
        (
            '{"id": "a", "text": "abcdef", "entities": [{"start": 0, "end": 2, "label": null}]}',
            '"label" must be a non-empty string',
        ),
        ('{"id": "a", "text": "abcdef", "entities": [{"start": 0.7, "end": 2.9, "label": "g"}]}', "0.7, 2.9"),
        ('{"id": "a", "text": "abcdef", "entities": [{"start": "0", "end": 2, "label": "g"}]}', "character offsets"),
        ('{"id": "a", "text": "abcdef", "entities": [{"start": 3, "end": 3, "label": "g"}]}', "start < end"),
        ('{"id": "a", "text": "abcdef", "entities": [{"start": 2, "end": 9, "label": "g"}]}', "outside a text of 6"),
    ],
)
def test_jsonl_shape_and_gold_are_checked_with_path_and_line(tmp_path, line, needle):
    f = tmp_path / "c.jsonl"
    error = input_error(read_jsonl, f, '{"id": "ok", "text": "abc", "entities": []}\n' + line + "\n")
    assert error.line == 2 and needle in error.message and error.location_message().startswith(f"{f}:2: ")


def test_valid_gold_still_reads(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text(
        '{"id": "a", "text": "BRCA1 gene", "entities": [{"start": 0, "end": 5, "label": "Gene", "text": "BRCA1", "score": 0.5}]}\n',
        encoding="utf-8",
    )
    (doc,) = read_jsonl(f)
    assert [(s.start, s.end, s.label) for s in doc.sentences[0].spans] == [(0, 5, "Gene")]


def test_entity_records_share_the_schema(tmp_path):
    from mrc_ner.corpus.entities import EntityRecord, parse_record_line

    rec = EntityRecord("d", 0, 3, 8, "gene", "BRCA1", 0.9)
    assert parse_record_line(rec.to_line()) == rec
    for bad in (
        '{"doc": "d", "sentence": 0, "start": 3, "end": 8, "label": "", "text": "BRCA1"}',
        '{"doc": "d", "sentence": 0, "start": 3.0, "end": 8, "label": "g", "text": "BRCA1"}',
        '{"doc": "d", "sentence": 0, "start": 3, "end": 7, "label": "g", "text": "BRCA1"}',
    ):
        with pytest.raises(InputError):
            parse_record_line(bad)


# ----------------------------------------------------------------------------- 3: a full disk in extract


@pytest.mark.slow
def test_full_disk_in_extract_leaves_no_torn_line_and_one_error_line(tmp_path, monkeypatch, tiny_encoder):
    from mrc_ner.mining.extract import store as ex
    from mrc_ner.models import tagger_class

    model = tagger_class("softmax").create(str(tiny_encoder), ["gene"], max_length=64, align_mode="char")
    with __import__("torch").no_grad():
        model.classifier.bias.copy_(__import__("torch").tensor([-5.0, 5.0, 5.0]))  # every character an entity
    model_dir = model.save(tmp_path / "model")
    calls = {"n": 0}
    real = ex._write_all

    def write_some(f, data):
        calls["n"] += 1
        if calls["n"] == 1:  # the first buffer's entities: half written, then the disk is full
            real(f, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real(f, data)

    monkeypatch.setattr(ex, "_write_all", write_some)
    out = tmp_path / "x"
    line = one_line(
        runner.invoke(app, ["extract", str(RAW), "--model", str(model_dir), "--out", str(out), "--no-network"])
    )
    assert "No space left on device" in line and str(out) in line
    data = (out / "entities.jsonl").read_bytes()
    assert data == b"" or data.endswith(b"\n")  # cut back: no torn last line
    monkeypatch.setattr(ex, "_write_all", real)
    r = runner.invoke(app, ["extract", str(RAW), "--model", str(model_dir), "--out", str(out), "--no-network"])
    assert r.exit_code == 0, r.output
    assert "repaired" not in r.output


# ----------------------------------------------------------------------------- 4: compare settings


def test_compare_refuses_a_finished_cell_made_with_other_settings(tmp_path):
    from mrc_ner.corpus.readers import read_corpus
    from mrc_ner.experiments.compare import FoldData, Settings, parse_methods, run_comparison
    from mrc_ner.training import TrainArgs

    sents = read_corpus(GOOD).sentences
    fold = FoldData("f0", sents, [], sents, ["Disease"])
    runs = []

    def fake(spec, fold, settings, directory, **kw):
        from mrc_ner.io import atomic_write_json

        runs.append(settings.train.epochs)
        from mrc_ner.evaluation.metrics import score_spans

        scores = score_spans([s.spans for s in fold.test], [s.spans for s in fold.test]).to_dict()
        cell = {
            "fold": fold.name,
            "method": spec.name,
            "base_method": spec.method,
            "wall_seconds": 1.0,
            "scores": scores,
        }
        atomic_write_json(Path(directory) / "result.json", cell)
        return cell

    methods = parse_methods("softmax")
    run_comparison([fold], methods, Settings(encoder="e", train=TrainArgs(epochs=1)), tmp_path, runner=fake)
    run_comparison(
        [fold], methods, Settings(encoder="e", train=TrainArgs(epochs=1), keep_models=False), tmp_path, runner=fake
    )  # same result-relevant settings
    assert runs == [1]
    for changed in (
        dict(train=TrainArgs(epochs=2)),
        dict(train=TrainArgs(epochs=1, seed=7)),
        dict(max_length=128),
        dict(encoder="other"),
    ):
        with pytest.raises(InputError, match="other settings") as e:
            run_comparison(
                [fold],
                methods,
                Settings(**{"encoder": "e", "train": TrainArgs(epochs=1), **changed}),
                tmp_path,
                runner=fake,
            )
        assert "delete" in e.value.message
    # a setting added to mrc-ner after the cell was recorded: no difference while None, one when set
    import json

    recorded = tmp_path / "cells" / "f0" / "softmax" / "settings.json"
    old = json.loads(recorded.read_text(encoding="utf-8"))
    del old["settings"]["train.attention_dropout"]
    old["fingerprint"] = "recorded-before-the-field"
    recorded.write_text(json.dumps(old), encoding="utf-8")
    before = Settings(encoder="e", train=TrainArgs(epochs=1, attention_dropout=None))
    run_comparison([fold], methods, before, tmp_path, runner=fake)
    with pytest.raises(InputError, match=r"train\.attention_dropout None → 0\.0"):  # today's default
        run_comparison([fold], methods, Settings(encoder="e", train=TrainArgs(epochs=1)), tmp_path, runner=fake)
    other = FoldData("f0", sents[:3], [], sents, ["Disease"])
    with pytest.raises(InputError, match="fold's data"):
        run_comparison([other], methods, Settings(encoder="e", train=TrainArgs(epochs=1)), tmp_path, runner=fake)
    assert runs == [1]


# ----------------------------------------------------------------------------- 6: quarantine on resume


def _store(tmp_path: Path):
    from mrc_ner.corpus.entities import EntityRecord
    from mrc_ner.mining.extract import DoneRecord, OutputStore

    d = tmp_path / "x"
    d.mkdir()
    lines = [
        EntityRecord("a", 0, 0, 5, "gene", "BRCA1", 1.0).to_line(),
        EntityRecord("a", 1, 9, 13, "gene", "TP53", 1.0).to_line(),
        EntityRecord("b", 0, 0, 4, "gene", "KRAS", 1.0).to_line(),
    ]
    (d / "entities.jsonl").write_bytes(lines[0] + b'{"doc": "a", "sentence": 1, "start": 9, "en\n' + lines[2])
    (d / "done.txt").write_bytes(
        DoneRecord("a", {"index": 0, "entities": 2}).line() + DoneRecord("b", {"index": 1, "entities": 1}).line()
    )
    return OutputStore(d), lines


def test_corrupt_entity_line_is_quarantined_and_its_document_redone(tmp_path):
    store, lines = _store(tmp_path)
    records = store.repair()
    assert [r.id for r in records] == ["b"]  # "a" lost a line: taken out of done.txt, so it is extracted again
    assert (store.dir / "entities.rejected.jsonl").read_bytes() == b'{"doc": "a", "sentence": 1, "start": 9, "en\n'
    assert store.entities.read_bytes() == lines[2]  # consistent with done.txt
    assert store.done.read_text().startswith("b\t")
    assert len(store.notes) == 1 and "1 corrupt line(s) (2)" in store.notes[0] and "extracted again" in store.notes[0]
    store.notes.clear()
    store.repair()
    assert store.notes == []  # nothing left to do


# ----------------------------------------------------------------------------- 7: resume edges


class FakeAccelerator:
    """save_state/load_state of a directory, as accelerate does."""

    def save_state(self, path: str, **kw) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / "model.safetensors").write_text("w")

    def load_state(self, path: str) -> None:
        assert (Path(path) / "model.safetensors").is_file()


@pytest.mark.parametrize("left", [".checkpoint.old", ".checkpoint.tmp"])
def test_checkpoint_left_in_the_rename_window_is_recovered(tmp_path, left):
    from mrc_ner.training import LoopState, load_checkpoint, save_checkpoint

    save_checkpoint(FakeAccelerator(), tmp_path, LoopState(epoch=2, step=10))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
    os.replace(tmp_path / "checkpoint", tmp_path / left)  # killed between the two renames
    state = load_checkpoint(FakeAccelerator(), tmp_path)
    assert (state.epoch, state.step) == (2, 10) and (tmp_path / "checkpoint" / "loop_state.json").is_file()


def test_incomplete_tmp_checkpoint_is_not_taken(tmp_path):
    from mrc_ner.training import LoopState, load_checkpoint, save_checkpoint

    save_checkpoint(FakeAccelerator(), tmp_path, LoopState(epoch=1, step=5))
    os.replace(tmp_path / "checkpoint", tmp_path / ".checkpoint.old")
    (tmp_path / ".checkpoint.tmp").mkdir()  # the next one, killed before its loop state was written
    assert load_checkpoint(FakeAccelerator(), tmp_path).epoch == 1
    for p in (tmp_path / "checkpoint", tmp_path / ".checkpoint.tmp"):
        __import__("shutil").rmtree(p, ignore_errors=True)
    with pytest.raises(InputError, match="nothing to resume"):
        load_checkpoint(FakeAccelerator(), tmp_path)


def test_resume_keeps_one_log_line_per_epoch_and_no_fake_dev_f1(tmp_path, tiny_encoder):
    out = tmp_path / "m"
    base = [
        "train",
        "--train",
        str(GOOD),
        "--out",
        str(out),
        "--method",
        "softmax",
        "--encoder",
        str(tiny_encoder),
        "--max-length",
        "64",
        "--batch-size",
        "8",
    ]
    assert runner.invoke(app, base + ["--epochs", "1"]).exit_code == 0
    log = out / "train_log.jsonl"
    log.write_text(
        log.read_text() + json.dumps({"epoch": 2, "step": 99}) + "\n"
    )  # killed after epoch 2's line, before its checkpoint
    os.replace(out / "checkpoint", out / ".checkpoint.old")  # …and inside the rename window of epoch 1's
    r = runner.invoke(app, base + ["--epochs", "2", "--resume"])
    assert r.exit_code == 0, r.output
    assert "resumed after epoch 1" in r.output and "best dev F1" not in r.output
    assert [json.loads(ln)["epoch"] for ln in log.read_text().splitlines()] == [1, 2]
    assert oct((out / "model.safetensors").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----------------------------------------------------------------------------- 8: smaller


def test_predict_on_an_empty_directory_exits_2(tmp_path, tiny_encoder):
    from mrc_ner.models import tagger_class

    model = tagger_class("softmax").create(str(tiny_encoder), ["gene"], max_length=64).save(tmp_path / "model")
    (tmp_path / "in").mkdir()
    line = one_line(
        runner.invoke(app, ["predict", str(tmp_path / "in"), "--model", str(model), "--out", str(tmp_path / "p.jsonl")])
    )
    assert "no files" in line and str(tmp_path / "in") in line
    assert not (tmp_path / "p.jsonl").exists()


def test_stats_on_extraction_output_is_refused(tmp_path):
    f = tmp_path / "entities.jsonl"
    f.write_text(
        '{"doc": "d1", "sentence": 0, "start": 0, "end": 5, "label": "Gene", "text": "BRCA1", "score": 0.9}\n',
        encoding="utf-8",
    )
    line = one_line(runner.invoke(app, ["stats", str(f)]))
    assert "written by extraction" in line and "mrc-ner network" in line


def test_debug_shows_the_traceback(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text('{"sentences": 5}\n', encoding="utf-8")
    r = runner.invoke(app, ["--debug", "stats", str(f)])
    assert isinstance(r.exception, InputError)
    assert runner.invoke(app, ["stats", str(f)]).exit_code == 2  # --debug does not stick to the next command


def test_a_bug_is_one_line_with_exit_1(monkeypatch, tmp_path):
    import mrc_ner.commands.stats as stats_cmd

    monkeypatch.setattr(stats_cmd, "corpus_stats", lambda *a, **k: {}["boom"])
    line = one_line(runner.invoke(app, ["stats", str(GOOD)]), code=1)
    assert "internal error: KeyError" in line and "--debug" in line
