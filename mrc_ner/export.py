"""Export a trained tagger to a format other tools load.

``hf`` — a standard Hugging Face ``AutoModelForTokenClassification`` directory.
A ``softmax`` tagger *is* such a model: the encoder plus one linear layer over its
hidden states, one output per IOB2 tag. The export copies the encoder weights into the
token-classification model's base model (the encoder's pooler, unused for tagging, is
dropped), our ``classifier`` into its ``classifier``, writes ``id2label`` /
``label2id`` from :attr:`~mrc_ner.models.token_classification.TokenClassificationTagger.tag_names`,
and saves the tokenizer with ``model_max_length`` set to the tagger's window length, so

    transformers.pipeline("token-classification", model=OUT, aggregation_strategy="simple")

loads it offline. Before writing, the export runs one input through both models and
refuses to write when their logits differ (that would be a bug, not bad input).

MRC and CRF taggers have no equivalent there (start/end heads over a query pair; a
Viterbi decoder), so exporting them to ``hf`` is an :class:`~mrc_ner.errors.InputError`.

``onnx`` — every method's encoder and heads as an ONNX graph that mrc-ner runs through
onnxruntime (:mod:`mrc_ner.export_onnx`, :mod:`mrc_ner.models.onnx_tagger`).

What differs from ``mrc-ner predict``: the pipeline tokenizes raw text with the
tokenizer's own pieces and predicts per piece. A character-level model (``align_mode``
``char``, the Chinese patents) was trained on one token per character, so the pipeline
feeds it inputs it never saw and its predictions can be worse; a word-level model sees
nearly what it was trained on.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mrc_ner.errors import InputError
from mrc_ner.io import atomic_dir, quiet_transformers

if TYPE_CHECKING:
    from mrc_ner.models.base import Tagger
    from mrc_ner.models.softmax import SoftmaxTagger

EXPORT_FORMATS = ("hf", "onnx")
EXPORT_MANIFEST = "mrc_ner_export.json"
#: the largest |logit difference| tolerated between the tagger and the exported model
TOLERANCE = 1e-4


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_model` wrote."""

    path: Path
    format: str
    architecture: str
    tag_names: list[str]
    align_mode: str
    max_logit_difference: float


def to_hf_token_classification(tagger: Tagger):
    """An ``AutoModelForTokenClassification`` (eval mode) holding the tagger's weights.

    Raises :class:`InputError` for a tagger that is not ``softmax`` or an encoder type
    without a standard token-classification model.
    """
    import torch
    from torch import nn
    from transformers import AutoModelForTokenClassification

    if tagger.method != "softmax":
        raise InputError(
            f"cannot export a {tagger.method!r} model to Hugging Face format: only softmax models have a "
            "token-classification equivalent (MRC start/end heads and CRF decoding do not)"
        )
    softmax = cast("SoftmaxTagger", tagger)
    names = list(softmax.tag_names)
    config = copy.deepcopy(tagger.encoder.config)
    config.id2label = dict(enumerate(names))
    config.label2id = {n: i for i, n in enumerate(names)}
    try:
        model = AutoModelForTokenClassification.from_config(config)
    except ValueError as e:
        raise InputError(
            f"encoder type {config.model_type!r} has no token-classification model in transformers ({e})"
        ) from None
    base = model.base_model
    if base is model:
        raise InputError(f"{type(model).__name__} has no separate base model to copy the encoder into")
    missing, unexpected = base.load_state_dict(tagger.encoder.state_dict(), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    unexpected = [k for k in unexpected if not k.startswith("pooler.")]
    if missing or unexpected:
        raise InputError(
            f"the encoder's weights do not fit {type(model).__name__} (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    head = getattr(model, "classifier", None)
    ours = softmax.classifier
    if not isinstance(head, nn.Linear) or head.weight.shape != ours.weight.shape:
        raise InputError(f"{type(model).__name__} has no linear `classifier` of shape {tuple(ours.weight.shape)}")
    with torch.no_grad():
        head.weight.copy_(ours.weight)
        head.bias.copy_(ours.bias)
    model.config.architectures = [type(model).__name__]
    model.eval()
    return model


def probe_input_ids(tagger: Tagger, n: int = 12) -> list[int]:
    """A short ``[CLS] … [SEP]`` input of ordinary vocabulary ids (for comparing logits)."""
    tok = tagger.tokenizer
    special = set(tok.all_special_ids)
    ids = [i for i in range(min(tok.vocab_size, 4 * n + len(special))) if i not in special][:n]
    return [tok.cls_token_id] + ids + [tok.sep_token_id]


def max_logit_difference(tagger: Tagger, model, input_ids: list[int]) -> float:
    """Largest |difference| between the tagger's and the exported model's logits on one input."""
    import torch

    ids = torch.tensor([input_ids])
    mask = torch.ones_like(ids)
    tagger.eval()
    with torch.inference_mode():
        ours = tagger({"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)})["logits"]
        theirs = model(input_ids=ids, attention_mask=mask).logits
    return float((ours - theirs).abs().max())


def _card(tagger: SoftmaxTagger, source: str, architecture: str) -> str:
    return "\n".join(
        [
            f"# Token-classification model exported from mrc-ner (`{tagger.method}`)",
            "",
            f"- source model: `{source}`",
            f"- architecture: `{architecture}`; encoder `{tagger.encoder_name}`",
            f"- labels (IOB2): {', '.join(tagger.tag_names)}",
            f"- trained with alignment `{tagger.align_mode}`, windows of {tagger.max_length} tokens",
            "",
            "```python",
            "from transformers import pipeline",
            'ner = pipeline("token-classification", model="THIS_DIR", aggregation_strategy="simple")',
            "```",
            "",
            "The pipeline tokenizes text with the tokenizer's own pieces. A model trained at "
            "character level (alignment `char`) gets the same predictions only from `mrc-ner predict`.",
            "",
        ]
    )


def export_hf(tagger: Tagger, out: str | Path, *, source: str = "") -> ExportResult:
    """Write the tagger as a Hugging Face token-classification directory (atomically, file by file)."""
    model = to_hf_token_classification(tagger)  # refuses every method but softmax
    softmax = cast("SoftmaxTagger", tagger)
    diff = max_logit_difference(tagger, model, probe_input_ids(tagger))
    if not diff <= TOLERANCE:
        raise RuntimeError(
            f"exported model's logits differ from the tagger's by {diff:.2e} (> {TOLERANCE}); not written"
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("the output exists and is not a directory", path=out)
    with atomic_dir(out, last=lambda name: name.endswith(".safetensors")) as tmp:  # weights last
        with quiet_transformers(logs=False):
            model.save_pretrained(str(tmp))
        tagger.tokenizer.save_pretrained(str(tmp))
        tok_cfg = tmp / "tokenizer_config.json"
        cfg: dict[str, Any] = json.loads(tok_cfg.read_text(encoding="utf-8")) if tok_cfg.is_file() else {}
        cfg["model_max_length"] = int(tagger.max_length)  # the pipeline truncates/strides at this length
        tok_cfg.write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")
        architecture = type(model).__name__
        manifest = {
            "source": source,
            "method": tagger.method,
            "encoder_name": tagger.encoder_name,
            "align_mode": tagger.align_mode,
            "max_length": tagger.max_length,
            "overlap": tagger.overlap,
            "tag_names": list(softmax.tag_names),
            "architecture": architecture,
            "max_logit_difference": diff,
        }
        (tmp / EXPORT_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        (tmp / "README.md").write_text(_card(softmax, source, architecture), encoding="utf-8")
    return ExportResult(out, "hf", architecture, list(softmax.tag_names), tagger.align_mode, diff)


def export_model(model_dir: str | Path, out: str | Path, *, format: str = "hf"):
    """Load a saved mrc-ner model directory and export it in ``format`` (see :data:`EXPORT_FORMATS`).

    Returns an :class:`ExportResult` (``hf``) or an
    :class:`~mrc_ner.export_onnx.OnnxExportResult` (``onnx``).
    """
    from mrc_ner.models import load_tagger

    if format not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if Path(out).resolve() == Path(model_dir).resolve():
        raise InputError(
            "--out must differ from --model (the export would overwrite the model's config.json)", path=out
        )
    if format == "onnx":
        from mrc_ner.export_onnx import export_onnx
        from mrc_ner.models.onnx_tagger import is_onnx_dir

        if _saved_method(Path(out)) is not None and not is_onnx_dir(out):
            raise InputError(
                "--out holds an mrc-ner model; the export would overwrite it: choose another directory", path=out
            )
        return export_onnx(load_tagger(model_dir), out, source=str(model_dir))
    method = _saved_method(Path(model_dir))
    if method is not None and method != "softmax":  # refuse before loading the weights
        raise InputError(
            f"cannot export a {method!r} model to Hugging Face format: only softmax models have a "
            "token-classification equivalent (MRC start/end heads and CRF decoding do not)",
            path=model_dir,
        )
    if _saved_method(Path(out)) is not None:
        raise InputError(
            "--out holds an mrc-ner model; the export would overwrite it: choose another directory", path=out
        )
    tagger = load_tagger(model_dir)
    return export_hf(tagger, out, source=str(model_dir))


def _saved_method(model_dir: Path) -> str | None:
    """The ``method`` in a model directory's config.json, None when it cannot be read (load reports why)."""
    try:
        return json.loads((model_dir / "config.json").read_text(encoding="utf-8")).get("method")
    except (OSError, ValueError, AttributeError):
        return None
