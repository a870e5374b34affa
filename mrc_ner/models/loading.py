"""Loading a saved model directory, with every file checked first.

A model directory (``config.json``, ``model.safetensors``, tokenizer files) comes from
disk and may be damaged: a truncated or missing weights file, tensors of another shape,
a config without ``labels``, an unknown encoder type, a corrupt tokenizer, pickle-only
weights, an ``auto_map`` asking for remote code. Each of these is an
:class:`~mrc_ner.errors.InputError` naming the file, raised before (or instead of) the
deep exception transformers, safetensors or torch would give.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrc_ner.encoding.alignment import ALIGN_MODES
from mrc_ner.encoding.files import (
    check_safetensors_weights,
    check_tokenizer_files,
    read_json_object,
    refuse_remote_code,
)
from mrc_ner.errors import InputError, shorten
from mrc_ner.io import quiet_transformers

if TYPE_CHECKING:
    from mrc_ner.models.base import Tagger


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def read_model_config(directory: Path) -> dict[str, Any]:
    """``config.json`` of a model directory, its fields checked (method, labels, encoder, input shape)."""
    from transformers import CONFIG_MAPPING

    from mrc_ner.models.base import CONFIG_NAME, tagger_class

    if not directory.is_dir():
        raise InputError(
            "no such model directory" if not directory.exists() else "a model is a directory, not a file",
            path=directory,
        )
    path = directory / CONFIG_NAME
    if not path.exists():
        raise InputError("not an mrc-ner model directory (no config.json)", path=directory)
    cfg = read_json_object(path, what="config.json")
    if "method" not in cfg or "encoder_config" not in cfg:
        raise InputError("config.json is not an mrc-ner tagger config (no 'method')", path=path)

    def bad(field: str, want: str) -> InputError:
        return InputError(f"config.json: {field!r} must be {want}, not {shorten(repr(cfg.get(field)), 80)}", path=path)

    if not isinstance(cfg["method"], str):
        raise bad("method", "a method name")
    try:
        tagger_class(cfg["method"])
    except InputError as e:
        raise InputError(f"config.json: {e.message}", path=path) from None
    labels = cfg.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x.strip() for x in labels):
        raise bad("labels", "a non-empty list of non-empty entity type names")
    enc = cfg["encoder_config"]
    if not isinstance(enc, dict):
        raise bad("encoder_config", "an object (the encoder's transformers config)")
    refuse_remote_code(enc, path)
    model_type = enc.get("model_type", "bert")
    if model_type not in CONFIG_MAPPING:
        raise InputError(
            f"config.json: unknown encoder model_type {shorten(repr(model_type), 60)} (not a transformers architecture)",
            path=path,
        )
    if cfg.get("align_mode", "auto") not in ("auto", *ALIGN_MODES):
        raise bad("align_mode", f"one of auto, {', '.join(ALIGN_MODES)}")
    for field, low in (("max_length", 1), ("overlap", 0)):
        if field not in cfg or not _is_int(cfg[field]) or cfg[field] < low:
            raise bad(field, f"an integer ≥ {low}")
    if not isinstance(cfg.get("options", {}), dict):
        raise bad("options", "an object")
    if not isinstance(cfg.get("encoder_name", ""), str):
        raise bad("encoder_name", "a string")
    return cfg


def load_tagger_dir(directory: str | Path) -> Tagger:
    """Restore a saved tagger from its directory, offline, with every file checked (see the module docstring)."""
    from accelerate import init_empty_weights
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from mrc_ner.models.base import CONFIG_NAME, WEIGHTS_NAME, _is_tied, tagger_class

    directory = Path(directory)
    cfg = read_model_config(directory)
    check_tokenizer_files(directory)
    weights = check_safetensors_weights(directory, WEIGHTS_NAME)[0]
    klass = tagger_class(cfg["method"])
    enc_cfg = dict(cfg["encoder_config"])
    model_type = enc_cfg.pop("model_type", "bert")
    # Parameters are built on the meta device and then take the saved tensors
    # (assign=True): no random initialisation, no second copy of the weights.
    try:
        with init_empty_weights(include_buffers=False):
            encoder = AutoModel.from_config(AutoConfig.for_model(model_type, **enc_cfg))
    except Exception as e:  # transformers validates its configs with ValueError, TypeError, KeyError…
        raise InputError(
            f"config.json: the encoder config does not build a {model_type} model: {shorten(str(e), 160)}",
            path=directory / CONFIG_NAME,
        ) from None
    try:
        with quiet_transformers(
            progress=False
        ):  # transformers 5 warns about a "Mistral regex" that does not apply here
            tokenizer = AutoTokenizer.from_pretrained(str(directory), trust_remote_code=False)
    except Exception as e:
        raise InputError(f"cannot load the tokenizer: {shorten(str(e), 160)}", path=directory) from None
    try:
        tagger = klass(
            encoder,
            tokenizer,
            labels=cfg["labels"],
            encoder_name=cfg.get("encoder_name", ""),
            align_mode=cfg.get("align_mode", "auto"),
            max_length=cfg["max_length"],
            overlap=cfg["overlap"],
            options=cfg.get("options", {}),
        )
    except InputError as e:
        raise InputError(e.message, path=directory / CONFIG_NAME) from None
    except (ValueError, TypeError, KeyError) as e:
        raise InputError(
            f"config.json does not describe a {cfg['method']} model: {shorten(str(e), 160)}",
            path=directory / CONFIG_NAME,
        ) from None
    try:
        state = load_file(str(weights))
    except Exception as e:
        raise InputError(f"corrupt weights file: {shorten(str(e), 160)}", path=weights) from None
    try:
        missing, unexpected = tagger.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as e:  # size mismatch: tensors of another shape than config.json says
        detail = next((ln.strip() for ln in str(e).splitlines() if "size mismatch" in ln), str(e))
        raise InputError(f"weights do not match config.json: {shorten(detail, 200)}", path=weights) from None
    del state
    missing = [k for k in missing if not _is_tied(tagger, k)]
    missing += [k for k, p in tagger.named_parameters() if p.is_meta and k not in missing]
    if missing or unexpected:
        raise InputError(
            f"weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})", path=weights
        )
    tagger.eval()
    return tagger
