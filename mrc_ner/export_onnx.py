"""Export any mrc-ner tagger's forward pass to ONNX (``mrc-ner export --format onnx``).

What is exported is the *model* step of every method — the encoder and heads, from
``input_ids``, ``attention_mask``, ``token_type_ids`` (and ``query_start``, where the
packed query block begins, for ``mrc-packed``) to the outputs its decoder reads:

========================  ==========================================
method                    outputs
========================  ==========================================
softmax, lm-mixed models  ``logits`` (batch, sequence, tags)
crf, partbert-crf,        ``logits``: the CRF's emissions; Viterbi and the
bilstm-crf                marginals stay in Python (``heads.safetensors``)
mrc                       ``start_logits``, ``end_logits`` (batch, sequence, 2)
mrc-packed                the same with a type axis (batch, sequence, types, 2)
========================  ==========================================

Batch and sequence axes are dynamic. The graph is traced with ``torch.onnx.export``
(the ``torch.export``-based exporter) on a padded batch of probe features, then
onnxruntime runs a second batch of another shape and the export is refused when any
output differs from the tagger's by more than :data:`TOLERANCE`.

One part of a model is rewritten for the export: ``bilstm-crf`` packs padded
sequences, which cannot be traced; :class:`UnpackedBiLSTM` computes the same thing
(each direction as its own LSTM, the backward one reading every row reversed within
its length), and the parity check holds it to the packed original.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from mrc_ner.corpus.model import Sentence
from mrc_ner.errors import InputError
from mrc_ner.models.base import Tagger
from mrc_ner.models.onnx_tagger import FORWARD_INPUTS, HEADS_NAME, ONNX_MANIFEST, ONNX_NAME, head_state, onnx_session
from mrc_ner.models.saving import CONFIG_NAME, portable_tokenizer_config

#: the largest |output difference| tolerated between the tagger and onnxruntime
TOLERANCE = 1e-4
OPSET = 18
#: above this many bytes of weights the graph keeps them in an external ``model.onnx.data`` (protobuf's 2 GB limit)
EXTERNAL_DATA_BYTES = 1_500_000_000


@dataclass(frozen=True)
class OnnxExportResult:
    """What :func:`export_onnx` wrote."""

    path: Path
    method: str
    inputs: list[str]
    outputs: list[str]
    max_difference: float


class UnpackedBiLSTM(nn.Module):
    """A bidirectional ``nn.LSTM`` over right-padded rows without packed sequences.

    The forward direction over a right-padded row already ignores the padding (it comes
    last); the backward one reads each row reversed within its length. Outputs at
    padded positions are zero, as ``pad_packed_sequence`` leaves them.
    """

    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__()
        if not (lstm.bidirectional and lstm.batch_first):
            raise ValueError("UnpackedBiLSTM mirrors a bidirectional, batch_first LSTM")
        self.directions = nn.ModuleList()
        for layer in range(lstm.num_layers):
            pair = nn.ModuleList()
            for suffix in ("", "_reverse"):
                size = lstm.input_size if layer == 0 else 2 * lstm.hidden_size
                one = nn.LSTM(size, lstm.hidden_size, batch_first=True, bias=lstm.bias)
                for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if lstm.bias else ()):
                    getattr(one, f"{name}_l0").data = getattr(lstm, f"{name}_l{layer}{suffix}").data
                pair.append(one)
            self.directions.append(pair)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` (batch, length, input) and its 0/1 ``mask`` → (batch, length, 2 × hidden)."""
        lengths = mask.sum(1, keepdim=True).clamp(min=1)  # (B, 1)
        pos = torch.arange(x.size(1), device=x.device)[None, :]
        reverse = torch.where(pos < lengths, lengths - 1 - pos, pos)  # an involution: applying it twice is the identity
        keep = mask[:, :, None].to(x.dtype)
        for pair in self.directions:
            forward_lstm, backward_lstm = cast(nn.ModuleList, pair)
            idx = reverse[:, :, None].expand(-1, -1, x.size(-1))
            fwd, _ = forward_lstm(x)
            bwd, _ = backward_lstm(torch.gather(x, 1, idx))
            bwd = torch.gather(bwd, 1, reverse[:, :, None].expand(-1, -1, bwd.size(-1)))
            x = torch.cat([fwd, bwd], dim=-1) * keep
        return x


class OnnxForward(nn.Module):
    """The tagger's forward pass with positional tensor inputs and a tuple of outputs (what ONNX traces)."""

    def __init__(self, tagger: Tagger, inputs: list[str], outputs: list[str]) -> None:
        super().__init__()
        self.tagger = tagger
        self.inputs = inputs
        self.outputs = outputs
        lstm = getattr(tagger, "lstm", None)
        self.lstm = UnpackedBiLSTM(lstm) if isinstance(lstm, nn.LSTM) else None

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Outputs in :attr:`outputs` order for inputs in :attr:`inputs` order."""
        batch = dict(zip(self.inputs, tensors))
        if self.lstm is not None:  # bilstm-crf's emissions, unpacked
            h = self.tagger.encode(batch)
            classifier = cast(nn.Module, self.tagger.classifier)
            return (classifier(self.lstm(h, batch["attention_mask"])),)
        out = self.tagger(batch)
        return tuple(out[k] for k in self.outputs)


def probe_sentences(tagger: Tagger, n: int = 4) -> list[Sentence]:
    """Sentences of ordinary vocabulary of different lengths (one longer than a window) to trace and check with."""
    tok = tagger.tokenizer
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    special = set(tok.all_special_tokens)
    char_level = tagger.align_mode != "word"
    words = [w for w, _ in vocab if w not in special and re.fullmatch(r"\w" if char_level else r"\w{2,}", w)][:400]
    if len(words) < 4:
        words = ["a", "b", "c", "d"] if char_level else ["ab", "cd", "ef", "gh"]
    lengths = [5, 13, 29, 2 * tagger.max_length + 7][:n]
    sep = "" if char_level else " "
    texts = [sep.join(words[(i * 7 + k) % len(words)] for k in range(length)) for i, length in enumerate(lengths)]
    return [tagger.make_sentence(t) for t in texts]


def probe_batches(tagger: Tagger) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Two padded batches of different shapes: one to trace the graph with, one to check it on."""
    feats, _ = tagger.features(probe_sentences(tagger), with_labels=False)
    feats = sorted(feats, key=len)
    # trace on a padded batch of 3 short features; check on every feature (another batch and length)
    trace = [feats[0], feats[len(feats) // 3], feats[len(feats) // 2]]
    return tagger.collate(trace), tagger.collate(feats)


def forward_names(tagger: Tagger, batch: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    """The graph's input names (present in the batch) and output names (the forward's non-loss outputs)."""
    inputs = [k for k in FORWARD_INPUTS if k in batch]
    with torch.inference_mode():
        out = tagger(batch)
    return inputs, [k for k in out if k != "loss"]


def trace_to_onnx(tagger: Tagger, path: Path) -> tuple[list[str], list[str]]:
    """Write ``tagger``'s forward pass to ``path`` as ONNX; returns its input and output names."""
    import warnings

    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401  (torch's exporter translates through it)
    except ImportError as e:
        raise InputError(f"ONNX export needs onnx and onnxscript ({e}): pip install 'mrc-ner[onnx]'") from None
    tagger.eval()
    trace, _ = probe_batches(tagger)
    inputs, outputs = forward_names(tagger, trace)
    module = OnnxForward(tagger, inputs, outputs).eval()
    batch_dim = torch.export.Dim("batch")
    seq_dim = torch.export.Dim("sequence", max=max(int(tagger.max_length), trace["input_ids"].shape[1]))
    shapes = tuple({0: batch_dim} if k == "query_start" else {0: batch_dim, 1: seq_dim} for k in inputs)
    args = tuple(trace[k] for k in inputs)
    n_bytes = sum(p.numel() * p.element_size() for p in tagger.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module,
            args,
            None,
            input_names=inputs,
            output_names=outputs,
            dynamic_shapes=(shapes,),
            dynamo=True,
            opset_version=OPSET,
            verbose=False,
        )
    if program is None:  # only the legacy (dynamo=False) exporter returns nothing
        raise RuntimeError("torch.onnx.export returned no program")
    program.save(str(path), external_data=n_bytes > EXTERNAL_DATA_BYTES)
    return inputs, outputs


def max_output_difference(tagger: Tagger, session, batch: dict[str, torch.Tensor], outputs: list[str]) -> float:
    """Largest |tagger − onnxruntime| over the real (unpadded) positions of a batch, over all outputs."""
    with torch.inference_mode():
        ours = tagger(batch)
    feed = {i.name: batch[i.name].numpy() for i in session.get_inputs()}
    theirs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feed)))
    mask = batch["attention_mask"].bool().numpy()
    worst = 0.0
    for name in outputs:
        a, b = ours[name].float().numpy(), theirs[name]
        if a.shape != b.shape:
            return float("inf")
        worst = max(worst, float(np.abs(a[mask] - b[mask]).max()) if mask.any() else 0.0)
    return worst


def export_onnx(tagger: Tagger, out: str | Path, *, source: str = "") -> OnnxExportResult:
    """Write ``tagger`` as an ONNX directory that :func:`~mrc_ner.models.onnx_tagger.load_onnx_tagger` loads.

    Refuses (``RuntimeError``, nothing written) when onnxruntime's outputs differ from
    the tagger's by more than :data:`TOLERANCE` on a batch of another shape than the traced one.
    """
    from safetensors.torch import save_file

    from mrc_ner.models.card import model_card

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("the output exists and is not a directory", path=out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        inputs, outputs = trace_to_onnx(tagger, tmp / ONNX_NAME)
        _, check = probe_batches(tagger)
        diff = max_output_difference(tagger, onnx_session(tmp / ONNX_NAME), check, outputs)
        if not diff <= TOLERANCE:
            raise RuntimeError(
                f"onnxruntime's outputs differ from the tagger's by {diff:.2e} (> {TOLERANCE}); not written"
            )
        (tmp / CONFIG_NAME).write_text(
            json.dumps(tagger.saved_config(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        save_file(head_state(tagger), str(tmp / HEADS_NAME), metadata={"format": "pt"})
        tagger.tokenizer.save_pretrained(str(tmp))
        portable_tokenizer_config(tmp / "tokenizer_config.json")
        manifest: dict[str, Any] = {
            "source": source,
            "method": tagger.method,
            "format": "onnx",
            "opset": OPSET,
            "inputs": inputs,
            "outputs": outputs,
            "dynamic_axes": {k: ["batch"] if k == "query_start" else ["batch", "sequence"] for k in inputs},
            "max_difference": diff,
            "tolerance": TOLERANCE,
            "torch": torch.__version__,
        }
        (tmp / ONNX_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        (tmp / "README.md").write_text(
            model_card(tagger.config_dict(), _source_extras(source), backend="onnx"), encoding="utf-8"
        )
        out.mkdir(parents=True, exist_ok=True)
        for f in sorted(tmp.iterdir(), key=lambda p: p.name.startswith(ONNX_NAME)):  # the graph last
            os.replace(f, out / f.name)
        shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return OnnxExportResult(out, tagger.method, inputs, outputs, diff)


def _source_extras(source: str) -> dict[str, Any]:
    """The source model's dev scores and training arguments, for the exported card."""
    extras: dict[str, Any] = {}
    for name in ("dev_scores.json", "training_args.json"):
        p = Path(source) / name if source else None
        if p is not None and p.is_file():
            try:
                extras[name] = json.loads(p.read_text(encoding="utf-8"))
            except ValueError:
                pass
    return extras
