"""The CPU facts (``mrc_ner.hardware``) and the warning before bf16 autocast on a CPU without bf16 instructions."""

from __future__ import annotations

import warnings

import pytest
import torch
from typer.testing import CliRunner

from mrc_ner import hardware
from mrc_ner.cli import app
from mrc_ner.errors import MrcNerWarning
from mrc_ner.models import tagger_class
from mrc_ner.training import TrainArgs

ICE_LAKE = (
    "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor @ 2.80GHz\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"
)
SAPPHIRE = "model name\t: Intel(R) Xeon(R) Platinum 8480\nflags\t\t: avx512f avx512_bf16 amx_bf16 amx_tile\n"


def test_cpu_facts_come_from_cpuinfo(tmp_path):
    ice, sapphire, empty = tmp_path / "ice", tmp_path / "sapphire", tmp_path / "empty"
    ice.write_text(ICE_LAKE, encoding="utf-8")
    sapphire.write_text(SAPPHIRE, encoding="utf-8")
    empty.write_text("processor\t: 0\n", encoding="utf-8")
    assert hardware.cpu_model(ice) == "Intel(R) Xeon(R) Processor @ 2.80GHz"
    assert hardware.cpu_flags(ice) == {"fpu", "sse2", "avx2", "avx512f", "avx512_vnni"}
    assert hardware.bf16_units(hardware.cpu_flags(ice)) is False
    assert hardware.bf16_units(hardware.cpu_flags(sapphire)) is True
    assert hardware.cpu_flags(empty) is None and hardware.cpu_flags(tmp_path / "missing") is None
    assert hardware.bf16_units(None) is None  # unknown stays unknown: no warning is built on a guess


@pytest.mark.parametrize(
    ("flags", "device", "warns"),
    [
        ({"avx512f"}, "cpu", True),
        ({"avx512f", "avx512_bf16"}, "cpu", False),
        (None, "cpu", False),
        ({"sse2"}, "cuda", False),
    ],
)
def test_bf16_warning_only_where_the_cpu_lacks_bf16_instructions(monkeypatch, flags, device, warns):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: None if flags is None else frozenset(flags))
    note = hardware.bf16_cpu_warning(device, model="Test CPU")
    assert (note is not None) == warns
    if warns:
        assert note is not None and "Test CPU" in note and "avx512_bf16" in note


@pytest.fixture()
def softmax_model(tmp_path, tiny_encoder):
    tagger = tagger_class("softmax").create(str(tiny_encoder), ["disease", "gene", "protein"], max_length=64)
    return tagger.save(tmp_path / "model")


@pytest.mark.parametrize("flags", [{"avx512f"}, {"avx512f", "amx_bf16"}])
def test_predict_quantize_bf16_warns_in_one_line_on_a_cpu_without_bf16(
    monkeypatch, tmp_path, softmax_model, sample_cbp_corpus, flags
):
    from mrc_ner.corpus.conll import write_conll

    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(flags))
    gold = tmp_path / "gold.bio"
    write_conll(sample_cbp_corpus.documents[:1], gold)
    out = tmp_path / "p.jsonl"
    args = ["predict", gold, "--model", softmax_model, "--out", out, "--quantize", "bf16", "--device", "cpu"]
    r = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if line.startswith("warning: bf16 autocast")]
    assert len(lines) == (0 if "amx_bf16" in flags else 1), r.output
    assert "Traceback" not in r.output and "MrcNerWarning" not in r.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(sample_cbp_corpus.documents[0].sentences)


@pytest.mark.slow
def test_runs_in_one_process_change_precision_and_bf16_warns(monkeypatch, tmp_path, tiny_encoder, sample_cbp_corpus):
    """accelerate keeps one state per process: a float run, then a bf16 run (compare's next row), then a float
    one each train in the precision asked, and only the bf16 run warns on a CPU without bf16 instructions."""
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512f"}))
    seen = []
    for k, bf16 in enumerate([False, True, False]):
        t = tagger_class("softmax").create(str(tiny_encoder), ["disease", "gene", "protein"], max_length=64)
        dtypes: set[torch.dtype] = set()
        hook = t.classifier.register_forward_hook(lambda module, inputs, output, d=dtypes: d.add(output.dtype))
        args = TrainArgs(epochs=1, batch_size=4, max_steps=1, bf16=bf16, out_dir=str(tmp_path / f"run{k}"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t.fit(sample_cbp_corpus.sentences[:4], None, args, progress=False)
        hook.remove()
        seen.append((dtypes, [str(w.message) for w in caught if issubclass(w.category, MrcNerWarning)]))
        assert all(torch.isfinite(p).all() for p in t.head_parameters())
    note = hardware.bf16_cpu_warning("cpu")
    assert note is not None
    assert seen == [({torch.float32}, []), ({torch.bfloat16}, [note]), ({torch.float32}, [])]
