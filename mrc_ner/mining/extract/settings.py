"""What a run's results were made with (``extract.json``): model fingerprint and options; a rerun must match."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_json
from mrc_ner.mining.extract.options import (
    CONFIG,
    ExtractOptions,
)


def model_fingerprint(tagger: Any) -> str:
    """A hash of the tagger's config and head weights: results of two models are never mixed."""
    quantization = getattr(tagger, "quantization", None)
    config = tagger.config_dict() if quantization is None else {**tagger.config_dict(), "quantization": quantization}
    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode("utf-8"))
    if quantization is not None:  # quantized heads hide their parameters: use the digest kept from before
        h.update(tagger.head_digest().encode("ascii"))
    else:
        for p in tagger.head_parameters():
            h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def extraction_settings(tagger: Any, options: ExtractOptions, whitespace: str, model: Any) -> dict[str, Any]:
    return {
        "model": str(model) if isinstance(model, (str, os.PathLike)) else getattr(tagger, "encoder_name", ""),
        "model_fingerprint": model_fingerprint(tagger),
        "labels": list(getattr(tagger, "labels", [])),
        "quantization": getattr(tagger, "quantization", None),
        "prediction": _prediction_settings(tagger),
        "whitespace": whitespace,
        "sentence_split": "en" if whitespace == "space" else "lines",
        "max_sentence_chars": options.max_sentence_chars,
        "min_length": options.min_length,
        "consistency": options.consistency,
    }


def _prediction_settings(tagger: Any) -> dict[str, Any]:
    """``--types``, ``--query``, ``--nested``, ``--threshold`` as configured on the tagger (defaults: empty)."""
    chosen = getattr(tagger, "predict_defaults", None)
    if chosen is None:
        return {}
    out = {
        "types": list(chosen.types) if chosen.types is not None else None,
        "queries": dict(chosen.queries),
        "nested": chosen.nested,
        "threshold": chosen.threshold,
    }
    return {k: v for k, v in out.items() if v not in (None, {}, False)}


def check_settings(out_dir: Path, settings: dict[str, Any], *, write: bool) -> None:
    path = out_dir / CONFIG
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
        keys = (
            "model_fingerprint",
            "whitespace",
            "sentence_split",
            "max_sentence_chars",
            "min_length",
            "prediction",
            "consistency",
        )
        # outputs written before a setting was recorded were made with its first value
        defaults = {"sentence_split": "lines", "prediction": {}, "consistency": "none"}
        changed = [k for k in keys if old.get(k, defaults.get(k)) != settings[k]]
        if changed:
            raise InputError(
                f"this output holds results made with other settings ({', '.join(changed)} differ); use another --out",
                path=out_dir,
            )
    elif write:
        atomic_write_json(path, settings)
