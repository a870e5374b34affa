"""Hostile inputs: every reading command over bad files, every model-loading command over damaged
models, every writing command over unwritable outputs. Each must end with exit code 2, exactly
one line on stderr and no traceback (the files are in tests/data/hostile/)."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.models import tagger_class

HOSTILE = Path(__file__).parent / "data" / "hostile"
GOOD = Path(__file__).resolve().parents[1] / "data" / "sample_en.tsv"
RAW = Path(__file__).resolve().parents[1] / "data" / "sample_raw"
runner = CliRunner()


def assert_one_clean_line(result, code: int = 2) -> str:
    """Exit ``code``, exactly one non-empty stderr line, no traceback; returns the line."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, (SystemExit, type(None))), repr(result.exception)
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_encoder) -> Path:
    """A saved (untrained) softmax tagger on the tiny encoder."""
    tagger = tagger_class("softmax").create(str(tiny_encoder), ["Disease"], max_length=64, align_mode="word")
    return tagger.save(tmp_path_factory.mktemp("hostile") / "model")


# ----------------------------------------------------------------------------- bad data files

#: (command, file) pairs that are not bad input: network reads extraction's entities.jsonl
VALID = {("network", "extract_output.jsonl")}


def reading_commands(f: Path, out: Path, model: Path, encoder: Path) -> dict[str, list]:
    """Every command that reads a data file, with ``f`` in the place of that file."""
    small = ["--encoder", encoder, "--epochs", "1", "--max-steps", "1", "--max-length", "64"]
    return {
        "stats": ["stats", f],
        "train": ["train", "--train", f, "--out", out / "train", "--method", "softmax", *small],
        "predict": ["predict", f, "--model", model, "--out", out / "p.jsonl"],
        "evaluate-gold": ["evaluate", f, GOOD],
        "evaluate-pred": ["evaluate", GOOD, f],
        "network": ["network", f, "--out", out / "net", "--types", "Gene"],
        "compare": ["compare", "--folds", f"{f},,{f}", "--methods", "softmax", "--out", out / "cmp", *small],
        "compare-test": ["compare", "--models", model, "--test", f, "--out", out / "cmpm"],
    }


@pytest.mark.parametrize("name", sorted(p.name for p in HOSTILE.iterdir()))
def test_bad_file_gives_one_line_and_exit_2_in_every_reading_command(name, tmp_path, model_dir, tiny_encoder):
    f = HOSTILE / name
    for command, argv in reading_commands(f, tmp_path, model_dir, tiny_encoder).items():
        if (command, name) in VALID:
            continue
        line = assert_one_clean_line(runner.invoke(app, [str(a) for a in argv]))
        assert name in line or "hostile" in line, (command, line)  # the file is named


def test_huge_line_is_cut_in_the_error(tmp_path):
    f = tmp_path / "long.jsonl"
    f.write_text('{"sentences": ["' + "x" * 200_000 + '"]}\n', encoding="utf-8")
    line = assert_one_clean_line(runner.invoke(app, ["stats", str(f)]))
    assert len(line) < 1000 and "…" in line and f"{f}:1:" in line


# ----------------------------------------------------------------------------- damaged models


def _edit_json(path: Path, fn) -> None:
    path.write_text(json.dumps(fn(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")


def _edit_weights(d: Path, fn) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(d / "model.safetensors"))
    fn(state)
    save_file(state, str(d / "model.safetensors"))


def _grow(state: dict, key: str) -> None:
    k = next(k for k in state if key in k)
    state[k] = torch.zeros(state[k].shape[0] + 1, *state[k].shape[1:])


def _pickle_only(d: Path) -> None:
    from safetensors.torch import load_file

    torch.save(load_file(str(d / "model.safetensors")), d / "pytorch_model.bin")
    (d / "model.safetensors").unlink()


def _cut(path: Path, n: int) -> None:
    path.write_bytes(path.read_bytes()[:n])


TAMPER = {
    "no_weights": lambda d: (d / "model.safetensors").unlink(),
    "weights_empty": lambda d: _cut(d / "model.safetensors", 0),
    "weights_truncated": lambda d: _cut(d / "model.safetensors", (d / "model.safetensors").stat().st_size // 2),
    "weights_garbage": lambda d: (d / "model.safetensors").write_bytes(struct.pack("<Q", 10**12) + b"{}"),
    "weights_wrong_shape": lambda d: _edit_weights(d, lambda s: _grow(s, "classifier")),
    "weights_missing_tensor": lambda d: _edit_weights(d, lambda s: s.pop(sorted(s)[0])),
    "pickle_only": _pickle_only,
    "config_invalid_json": lambda d: (d / "config.json").write_text("{"),
    "config_no_labels": lambda d: _edit_json(
        d / "config.json", lambda c: {k: v for k, v in c.items() if k != "labels"}
    ),
    "config_empty_label": lambda d: _edit_json(d / "config.json", lambda c: {**c, "labels": [""]}),
    "config_unknown_method": lambda d: _edit_json(d / "config.json", lambda c: {**c, "method": "nope"}),
    "config_unknown_model_type": lambda d: _edit_json(
        d / "config.json", lambda c: {**c, "encoder_config": {**c["encoder_config"], "model_type": "nope"}}
    ),
    "config_bad_encoder_config": lambda d: _edit_json(
        d / "config.json", lambda c: {**c, "encoder_config": {**c["encoder_config"], "num_attention_heads": 5}}
    ),
    "config_max_length_text": lambda d: _edit_json(d / "config.json", lambda c: {**c, "max_length": "long"}),
    "config_auto_map": lambda d: _edit_json(
        d / "config.json", lambda c: {**c, "encoder_config": {**c["encoder_config"], "auto_map": {"AutoModel": "x.Y"}}}
    ),
    "tokenizer_missing": lambda d: (d / "tokenizer.json").unlink(),
    "tokenizer_corrupt": lambda d: _cut(d / "tokenizer.json", 100),
    "tokenizer_auto_map": lambda d: _edit_json(
        d / "tokenizer_config.json", lambda c: {**c, "auto_map": {"AutoTokenizer": ["x.Tok", None]}}
    ),
    "model_is_a_file": lambda d: (shutil.rmtree(d), d.write_text("x")),
    "model_dir_empty": lambda d: (shutil.rmtree(d), d.mkdir()),
}


@pytest.mark.parametrize("damage", sorted(TAMPER))
def test_damaged_model_gives_one_line_naming_the_path(damage, tmp_path, model_dir, tiny_encoder):
    d = tmp_path / "model"
    shutil.copytree(model_dir, d)
    TAMPER[damage](d)
    commands = {
        "predict": ["predict", GOOD, "--model", d, "--out", tmp_path / "p.jsonl"],
        "evaluate": ["evaluate", GOOD, "--model", d],
        "extract": ["extract", RAW, "--model", d, "--out", tmp_path / "x", "--no-network"],
        "export": ["export", "--model", d, "--out", tmp_path / "hf"],
        "compare-models": ["compare", "--models", d, "--test", GOOD, "--out", tmp_path / "cmp"],
        "train-init": [
            "train",
            "--train",
            GOOD,
            "--out",
            tmp_path / "t",
            "--method",
            "softmax",
            "--encoder",
            tiny_encoder,
            "--init-from",
            d,
            "--max-length",
            "64",
        ],
    }
    for command, argv in commands.items():
        line = assert_one_clean_line(runner.invoke(app, [str(a) for a in argv]))
        assert str(d) in line, (command, line)


def test_pickle_only_encoder_is_refused(tmp_path, tiny_encoder):
    enc = tmp_path / "enc"
    shutil.copytree(tiny_encoder, enc)
    _pickle_only(enc)
    line = assert_one_clean_line(
        runner.invoke(
            app,
            ["train", "--train", str(GOOD), "--out", str(tmp_path / "m"), "--method", "softmax", "--encoder", str(enc)],
        )
    )
    assert "pickle" in line and str(enc) in line


# ----------------------------------------------------------------------------- unwritable outputs


@pytest.mark.parametrize("where", ["proc", "file", "inside_file"])
def test_unwritable_output_gives_one_line(where, tmp_path, model_dir, tiny_encoder):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    out = {"proc": Path("/proc/mrc-ner-x"), "file": a_file, "inside_file": a_file / "sub"}[where]
    small = ["--encoder", tiny_encoder, "--epochs", "1", "--max-steps", "1", "--max-length", "64"]
    commands = {
        "extract": ["extract", RAW, "--model", model_dir, "--out", out, "--no-network"],
        "train": ["train", "--train", GOOD, "--out", out, "--method", "softmax", *small],
        "network": ["network", GOOD, "--out", out, "--types", "Disease"],
        "compare": ["compare", "--folds", f"{GOOD},,{GOOD}", "--methods", "softmax", "--out", out, *small],
        "compare-models": ["compare", "--models", model_dir, "--test", GOOD, "--out", out],
        "export": ["export", "--model", model_dir, "--out", out],
    }
    if where != "file":  # predict --out names a file: replacing one is its job
        commands["predict"] = ["predict", GOOD, "--model", model_dir, "--out", out / "p.jsonl"]
    for command, argv in commands.items():
        line = assert_one_clean_line(runner.invoke(app, [str(a) for a in argv]))
        assert str(out) in line or str(a_file) in line, (command, line)


def test_read_only_output_gives_one_line(tmp_path, model_dir, monkeypatch):
    import errno
    import tempfile

    def refuse(*a, **kw):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    line = assert_one_clean_line(
        runner.invoke(app, ["network", str(GOOD), "--out", str(tmp_path / "net"), "--types", "Disease"])
    )
    assert "Read-only file system" in line and str(tmp_path / "net") in line
