"""The Python face: ``mrc_ner.load(...)`` → a callable pipeline with original offsets, on tiny trained models."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import mrc_ner
from mrc_ner.errors import InputError
from mrc_ner.inference import Entity, Pipeline

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def char_model(tiny_char_model) -> Path:
    return tiny_char_model


@pytest.fixture(scope="session")
def word_model(tiny_word_model) -> Path:
    return tiny_word_model


@pytest.fixture(scope="session")
def tagger(char_model) -> Pipeline:
    return mrc_ner.load(char_model, device="cpu")


def test_three_lines(tagger: Pipeline) -> None:
    ents = tagger("检测BRCA1突变")
    assert [(e.start, e.end, e.label, e.text) for e in ents] == [(2, 7, "gene", "BRCA1")]
    assert isinstance(ents[0], Entity) and 0.5 < ents[0].score <= 1.0
    assert ents[0].to_dict() == {"start": 2, "end": 7, "label": "gene", "text": "BRCA1", "score": ents[0].score}
    assert tagger.labels == ["disease", "gene"] and tagger.device == "cpu"


def test_list_gives_one_list_per_text(tagger: Pipeline) -> None:
    texts = ["BRCA1突变导致乳腺癌", "", "TP53基因与肺癌相关", "检测BRCA1突变"]
    together = tagger(texts)
    assert len(together) == 4 and together[1] == []
    assert together == [tagger(t) for t in texts]
    assert [(e.text, e.label) for e in together[0]] == [("BRCA1", "gene"), ("乳腺癌", "disease")]
    assert tagger(tuple(texts)) == together


def test_multi_line_document_offsets_into_the_original(tagger: Pipeline) -> None:
    text = "\ufeff本发明涉及检测方法\r\n\r\n\u3000\u3000检测 BRCA1 突变\n\tTP53 基因与\u200b肺癌相关  \n"
    ents = tagger(text)
    assert [(text[e.start : e.end], e.label) for e in ents] == [
        ("BRCA1", "gene"),
        ("TP53", "gene"),
        ("肺癌", "disease"),
    ]
    assert all(text[e.start : e.end] == e.text for e in ents)


def test_same_entities_as_extract(tmp_path: Path, char_model: Path, tagger: Pipeline) -> None:
    """The API and ``extract`` share one pipeline: same text → same entities (extract post-processes)."""
    from mrc_ner.mining.extract import ExtractOptions, run_extraction

    text = "本发明涉及检测方法\r\n  检测 BRCA1 突变。BRCA1突变导致乳腺癌\n\nTP53基因与肺癌相关"
    (tmp_path / "doc.txt").write_bytes(text.encode("utf-8"))
    run_extraction([tmp_path / "doc.txt"], char_model, tmp_path / "out", ExtractOptions(network=False))
    import json

    mined = [json.loads(ln) for ln in (tmp_path / "out" / "entities.jsonl").read_text(encoding="utf-8").splitlines()]
    post = mrc_ner.load(char_model, device="cpu", postprocess=True)(text)
    assert [(m["start"], m["end"], m["label"], m["text"]) for m in mined] == [
        (e.start, e.end, e.label, e.text) for e in post
    ]
    assert len(post) == 5


def test_word_level_model(word_model: Path) -> None:
    tagger = mrc_ner.load(word_model, device="cpu")
    text = "BRCA1  mutations cause\nbreast \u00a0cancer ."
    ents = tagger(text)
    assert [(text[e.start : e.end], e.label) for e in ents] == [("BRCA1", "gene"), ("breast \u00a0cancer", "disease")]
    assert tagger.model.make_sentence("a b").char_level is False


@pytest.mark.parametrize("bad", [5, None, b"bytes", {"text": "x"}])
def test_non_string_input_is_an_input_error(tagger: Pipeline, bad) -> None:
    with pytest.raises(InputError):
        tagger(bad)
    with pytest.raises(InputError, match="text 1 is a"):
        tagger(["ok", bad])


def test_tagger_predict_takes_strings(tagger: Pipeline) -> None:
    model = tagger.model
    one = model.predict("检测BRCA1突变")
    assert [(s.start, s.end, s.label) for s in one] == [(2, 7, "gene")]
    many = model.predict(["检测BRCA1突变", model.make_sentence("TP53基因与肺癌相关")])
    assert many[0] == one and len(many[1]) == 2
    assert model.predict_sentences(["检测BRCA1突变"])[0].spans == one
    with pytest.raises(InputError, match="not a string or a Sentence"):
        model.predict(["检测", 3])
    with pytest.raises(InputError):
        model.predict(42)


def test_device_batch_size_and_quantize_pass_through(char_model: Path, tagger: Pipeline) -> None:
    import torch

    small = mrc_ner.load(char_model, device="cpu", batch_size=1)
    assert small.batch_size == 1 and small("BRCA1突变导致乳腺癌") == tagger("BRCA1突变导致乳腺癌")
    assert mrc_ner.load(char_model, device="auto").device == ("cuda:0" if torch.cuda.is_available() else "cpu")
    q = mrc_ner.load(char_model, device="cpu", quantize="int8")
    assert q.model.quantization == "int8"
    assert [(e.start, e.end, e.label) for e in q("检测BRCA1突变")] == [(2, 7, "gene")]
    with pytest.raises(InputError, match="quantize"):
        mrc_ner.load(char_model, quantize="fp4")
    with pytest.raises(InputError, match="unknown device"):
        mrc_ner.load(char_model, device="banana")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            mrc_ner.load(char_model, device="cuda")
    else:  # on a GPU: the same entities as on the CPU
        assert mrc_ner.load(char_model, device="cuda")("检测BRCA1突变")[0].text == "BRCA1"


def test_missing_local_paths(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such model directory"):
        mrc_ner.load(tmp_path / "a" / "b" / "c")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(InputError, match="a file"):
        mrc_ner.load(tmp_path / "f.txt")
    with pytest.raises(InputError, match="not an mrc-ner model directory"):
        mrc_ner.load(tmp_path)


def test_hub_id_offline_fails_fast(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="HF_HUB_OFFLINE"):
        mrc_ner.load("nobody-here/no-such-model")
    assert time.perf_counter() - t0 < 10


def test_hub_id_unreachable_host_fails_fast(monkeypatch) -> None:
    import huggingface_hub.constants as hc

    import mrc_ner.inference as inf

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hc, "ENDPOINT", "http://192.0.2.1:9")  # TEST-NET-1: never answers
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="did not answer"):
        inf.fetch_from_hub("nobody-here/no-such-model", timeout=1.0)
    assert time.perf_counter() - t0 < 8
    assert inf.hub_reachable("http://192.0.2.1:9", 0.5) is False


def test_hub_id_uses_the_snapshot(monkeypatch, char_model: Path) -> None:
    """A hub id resolves through ``snapshot_download`` (here a stand-in returning the local model)."""
    import huggingface_hub

    calls = []

    def fake_snapshot(repo_id, **kw):
        calls.append((repo_id, kw))
        return str(char_model)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    tagger = mrc_ner.load("someone/tiny-mrc-ner", device="cpu")
    assert calls == [("someone/tiny-mrc-ner", {"local_files_only": True})]
    assert tagger("检测BRCA1突变")[0].text == "BRCA1"


def test_package_face() -> None:
    assert mrc_ner.__version__ == "0.1.0"
    assert {"load", "Entity", "Pipeline", "InputError", "__version__"} <= set(mrc_ner.__all__)
    assert "load" in dir(mrc_ner)
    with pytest.raises(AttributeError):
        mrc_ner.no_such_thing  # noqa: B018
    code = "import sys, mrc_ner; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.split() == ["False", "False"]


def test_model_card_shows_the_python_lines(char_model: Path, word_model: Path) -> None:
    card = (char_model / "README.md").read_text(encoding="utf-8")
    assert "import mrc_ner" in card and "mrc_ner.load('THIS_DIR')" in card and "tagger('检测BRCA1突变')" in card
    assert "BRCA1 mutations cause breast cancer." in (word_model / "README.md").read_text(encoding="utf-8")


def test_consistency_tags_every_occurrence_of_a_found_name(monkeypatch, char_model: Path) -> None:
    """The model's entities kept in the first sentence only; ``consistency`` finds the rest, original offsets."""
    import mrc_ner.inference as inference

    real = inference.predict_cleaned

    def first_sentence_only(*args, **kwargs):
        sentences, preds = real(*args, **kwargs)
        return sentences, [list(p) if i == 0 else [] for i, p in enumerate(preds)]

    monkeypatch.setattr(inference, "predict_cleaned", first_sentence_only)
    text = "检测BRCA1突变\n\n另  检测 BRCA1 突变"
    found = {mode: mrc_ner.load(char_model, device="cpu", consistency=mode)(text) for mode in ("none", "propagate")}
    assert [(text[e.start : e.end], e.label) for e in found["none"]] == [("BRCA1", "gene")]
    assert [(text[e.start : e.end], e.label) for e in found["propagate"]] == [("BRCA1", "gene"), ("BRCA1", "gene")]
    assert found["propagate"][1].score == found["none"][0].score
    with pytest.raises(InputError, match="consistency must be one of"):
        mrc_ner.load(char_model, device="cpu", consistency="all")
