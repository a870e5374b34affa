"""Prediction through onnxruntime: a saved tagger whose forward pass is an ONNX graph.

``mrc-ner export --format onnx`` (:mod:`mrc_ner.export_onnx`) writes a directory with

* ``model.onnx`` — the encoder and heads: ``input_ids``, ``attention_mask``,
  ``token_type_ids`` (and ``query_start`` for ``mrc-packed``) → the outputs the
  decoder reads (``logits``, or ``start_logits`` / ``end_logits``), batch and
  sequence axes dynamic;
* ``heads.safetensors`` — the weights outside the encoder (the CRF's transitions are
  needed by Viterbi decoding, which stays in Python);
* ``config.json`` and the tokenizer files of the mrc-ner model, ``README.md`` and
  ``mrc_ner_onnx.json`` (what was exported and how closely it matched).

:class:`OnnxTagger` rebuilds the tagger from that config with its encoder on the meta
device (no encoder weights in memory), so the processor (``features``, windows,
``collate``) and the decoder (``decode_sentence``) are the tagger's own code; only
the forward pass runs in onnxruntime.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.errors import InputError
from mrc_ner.models.base import Tagger, tagger_class
from mrc_ner.models.features import Feature, outputs_by_sentence
from mrc_ner.models.loading import build_from_config, empty_encoder, load_tokenizer, migrate_config
from mrc_ner.models.saving import CONFIG_NAME, WEIGHTS_NAME

if TYPE_CHECKING:
    pass

ONNX_NAME = "model.onnx"
HEADS_NAME = "heads.safetensors"
ONNX_MANIFEST = "mrc_ner_onnx.json"
#: the batch entries a forward pass may read (labels and ``type_index`` are not inputs of the graph)
FORWARD_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "query_start")


def is_onnx_dir(directory: str | Path) -> bool:
    """True when ``directory`` is an ``export --format onnx`` directory (``model.onnx`` and the mrc-ner config)."""
    d = Path(directory)
    return (d / ONNX_NAME).is_file() and (d / CONFIG_NAME).is_file() and not (d / WEIGHTS_NAME).is_file()


def head_state(tagger: Tagger) -> dict[str, torch.Tensor]:
    """The tagger's saved tensors outside the encoder (what :data:`HEADS_NAME` holds)."""
    return {k: v.detach().cpu().contiguous() for k, v in tagger.state_dict().items() if not k.startswith("encoder.")}


def skeleton_tagger(directory: str | Path) -> Tagger:
    """The tagger of an ONNX directory: heads from ``heads.safetensors``, the encoder on the meta device."""
    from safetensors.torch import load_file

    directory = Path(directory)
    cfg_path = directory / CONFIG_NAME
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except OSError:
        raise InputError("not an mrc-ner ONNX directory (no config.json)", path=directory) from None
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", path=cfg_path, line=e.lineno) from None
    if not isinstance(cfg, dict) or "method" not in cfg or "encoder_config" not in cfg:
        raise InputError("config.json is not an mrc-ner tagger config (no 'method')", path=cfg_path)
    cfg = migrate_config(cfg, path=cfg_path)
    klass = tagger_class(cfg["method"])
    encoder = empty_encoder(cfg, cfg_path)
    tagger = build_from_config(klass, cfg, encoder, load_tokenizer(directory), cfg_path)
    heads_path = directory / HEADS_NAME
    if not heads_path.is_file():
        raise InputError(f"no {HEADS_NAME} (the weights outside the encoder)", path=directory)
    heads = load_file(str(heads_path))
    expected = set(head_state(tagger))
    if set(heads) != expected:
        missing, unexpected = sorted(expected - set(heads)), sorted(set(heads) - expected)
        raise InputError(
            f"head weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})",
            path=heads_path,
        )
    tagger.load_state_dict(heads, strict=False, assign=True)
    tagger.eval()
    return tagger


class OnnxTagger:
    """A tagger whose forward pass runs in onnxruntime; everything else is the tagger's own code.

    Attributes it does not define (``labels``, ``method``, ``make_sentence``,
    ``features``, …) come from the rebuilt tagger, so it stands in for a
    :class:`~mrc_ner.models.base.Tagger` wherever one only predicts.
    """

    def __init__(self, tagger: Tagger, session) -> None:
        self.tagger = tagger
        self.session = session
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]
        unknown = [n for n in self.input_names if n not in FORWARD_INPUTS]
        if unknown:
            raise InputError(f"the ONNX graph expects inputs mrc-ner does not produce: {', '.join(unknown)}")
        self.quantization = "onnx"

    def __getattr__(self, name: str) -> Any:
        if name in ("tagger", "session"):  # not set yet (during unpickling or a failed __init__)
            raise AttributeError(name)
        return getattr(self.tagger, name)

    def run(self, batch: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        """The graph's outputs for a collated batch, by output name."""
        feed = {name: batch[name].numpy() for name in self.input_names}
        return dict(zip(self.output_names, self.session.run(None, feed)))

    def configure(self, **settings: Any) -> OnnxTagger:
        """:meth:`Tagger.configure <mrc_ner.models.base.Tagger.configure>` on the rebuilt tagger; returns this wrapper."""
        self.tagger.configure(**settings)
        return self

    def predict(
        self,
        sentences: Sequence[Sentence | str] | Sentence | str,
        *,
        batch_size: int = 32,
        progress=None,
        **settings: Any,
    ) -> list[list[Span]] | list[Span]:
        """Predicted spans for every sentence, as :meth:`Tagger.predict <mrc_ner.models.base.Tagger.predict>` gives them
        (strings too; ``types``, ``queries``, ``nested`` and ``threshold`` as there)."""
        t = self.tagger
        single = isinstance(sentences, (str, Sentence))
        sentences = t.as_sentences([sentences] if isinstance(sentences, (str, Sentence)) else sentences)
        with t.using(**settings) as chosen:
            feats, aligned = t.features(sentences, with_labels=False)

            def run_batch(chunk: list[Feature]) -> dict[str, torch.Tensor]:
                return {k: torch.from_numpy(v) for k, v in self.run(t.collate(chunk)).items()}

            by_sentence = outputs_by_sentence(
                feats, len(sentences), run_batch, batch_size=batch_size, progress=progress
            )
            result = [
                t.decode_sentence(s, al, outs) if al.units else []
                for s, al, outs in zip(sentences, aligned, by_sentence)
            ]
        if chosen.types is not None:
            keep = set(chosen.types)
            result = [[sp for sp in spans if sp.label in keep] for spans in result]
        return result[0] if single else result

    def predict_sentences(self, sentences: Sequence[Sentence], **kw: Any) -> list[Sentence]:
        """Copies of the sentences carrying predicted spans."""
        return [s.with_spans(sp) for s, sp in zip(sentences, cast("list[list[Span]]", self.predict(sentences, **kw)))]

    def evaluate(self, sentences: Sequence[Sentence], *, batch_size: int = 32, match: str = "strict"):
        """Entity-level scores of the predictions against the sentences' gold spans."""
        from mrc_ner.evaluation import score_spans

        pred = self.predict(sentences, batch_size=batch_size)
        return score_spans([s.spans for s in sentences], pred, match=match)  # type: ignore[arg-type]


def onnx_session(path: str | Path, *, threads: int | None = None, providers: Sequence[str] | None = None):
    """An onnxruntime session over ``path`` (CPU unless ``providers`` says otherwise)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise InputError("onnxruntime is not installed: pip install 'mrc-ner[onnx]'") from None
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = int(threads)
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=list(providers or ["CPUExecutionProvider"]))


def load_onnx_tagger(
    directory: str | Path, *, threads: int | None = None, providers: Sequence[str] | None = None
) -> OnnxTagger:
    """Load an ``export --format onnx`` directory for prediction through onnxruntime."""
    directory = Path(directory)
    if not (directory / ONNX_NAME).is_file():
        raise InputError(f"no {ONNX_NAME} here: export the model first (mrc-ner export --format onnx)", path=directory)
    tagger = skeleton_tagger(directory)
    return OnnxTagger(tagger, onnx_session(directory / ONNX_NAME, threads=threads, providers=providers))
