"""``config.json``'s ``format_version``: read on load, newer versions refused, older ones migrated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrc_ner.errors import InputError
from mrc_ner.models import load_tagger, loading, tagger_class
from mrc_ner.models.saving import FORMAT_VERSION

TEXT = "BRCA1 mutations cause breast cancer ."


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_encoder) -> Path:
    tagger = tagger_class("softmax").create(str(tiny_encoder), ["Disease"], max_length=64, align_mode="word")
    return tagger.save(tmp_path_factory.mktemp("format") / "model")


def _with_config(src: Path, dst: Path, edit) -> Path:
    import shutil

    shutil.copytree(src, dst)
    cfg = json.loads((dst / "config.json").read_text(encoding="utf-8"))
    (dst / "config.json").write_text(json.dumps(edit(cfg)), encoding="utf-8")
    return dst


def test_saved_config_carries_the_current_format_version(model_dir):
    assert json.loads((model_dir / "config.json").read_text(encoding="utf-8"))["format_version"] == FORMAT_VERSION


def test_newer_format_version_is_refused_naming_the_file(model_dir, tmp_path):
    d = _with_config(model_dir, tmp_path / "m", lambda c: {**c, "format_version": FORMAT_VERSION + 1})
    with pytest.raises(InputError, match="newer mrc-ner") as err:
        load_tagger(d)
    assert str(d / "config.json") in str(err.value)


@pytest.mark.parametrize("bad", ["1", -1, 1.5, None])
def test_format_version_of_another_kind_is_refused(model_dir, tmp_path, bad):
    d = _with_config(model_dir, tmp_path / "m", lambda c: {**c, "format_version": bad})
    with pytest.raises(InputError, match="format_version") as err:
        load_tagger(d)
    assert str(d / "config.json") in str(err.value)


def test_config_without_format_version_is_migrated_and_predicts_the_same(model_dir, tmp_path, monkeypatch):
    d = _with_config(model_dir, tmp_path / "m", lambda c: {k: v for k, v in c.items() if k != "format_version"})
    steps: list[int] = []
    original = loading.MIGRATIONS[0]

    def recording(cfg):
        steps.append(cfg.get("format_version", 0))
        return original(cfg)

    monkeypatch.setitem(loading.MIGRATIONS, 0, recording)
    old = load_tagger(d)
    assert steps == [0]  # the explicit 0 → 1 step ran
    assert old.config_dict() == load_tagger(model_dir).config_dict()
    assert old.predict(TEXT) == load_tagger(model_dir).predict(TEXT)


def test_migrate_config_brings_every_older_version_to_the_current_one():
    for version in range(FORMAT_VERSION + 1):
        cfg = {"method": "softmax", "format_version": version} if version else {"method": "softmax"}
        out = loading.migrate_config(cfg)
        assert out["format_version"] == FORMAT_VERSION and out["method"] == "softmax"
        assert cfg.get("format_version", 0) == version  # the input is left as it was
