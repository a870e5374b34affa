"""Loading a saved model directory, with every file checked first.

A model directory (``config.json``, ``model.safetensors``, tokenizer files) comes from
disk and may be damaged: a truncated or missing weights file, tensors of another shape,
a config without ``labels``, an unknown encoder type, a corrupt tokenizer, pickle-only
weights, an ``auto_map`` asking for remote code. Each of these is an
:class:`~mrc_ner.errors.InputError` naming the file, raised before (or instead of) the
deep exception transformers, safetensors or torch would give.

``config.json``'s ``format_version`` is read first: a model written by a newer mrc-ner
(a higher version than :data:`~mrc_ner.models.saving.FORMAT_VERSION`) is refused, and an
older one (or one without the field) goes through :func:`migrate_config`.

This module knows no tagger class: :meth:`mrc_ner.models.base.Tagger.load` passes the
method registry's lookup (``class_for``), so loading sits below the methods it builds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from mrc_ner.encoding.alignment import ALIGN_MODES
from mrc_ner.encoding.files import (
    check_safetensors_weights,
    check_tokenizer_files,
    read_json_object,
    refuse_remote_code,
)
from mrc_ner.errors import InputError, shorten
from mrc_ner.io import quiet_transformers
from mrc_ner.models.saving import CONFIG_NAME, FORMAT_VERSION, WEIGHTS_NAME

M = TypeVar("M", bound=nn.Module)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _upgrade_0_to_1(cfg: dict[str, Any]) -> dict[str, Any]:
    """Format 0 (configs written before ``format_version`` existed) has the fields of format 1."""
    return cfg


#: ``version → step`` turning a config of that format version into one of the next version
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _upgrade_0_to_1}


def migrate_config(cfg: dict[str, Any], *, path: Path | None = None) -> dict[str, Any]:
    """``cfg`` (a parsed ``config.json``) brought to :data:`FORMAT_VERSION`, one :data:`MIGRATIONS` step at a time.

    No ``format_version`` means 0. A version newer than this mrc-ner writes is an
    :class:`~mrc_ner.errors.InputError` naming ``path``: its fields may mean something else.

    >>> migrate_config({"method": "softmax"})["format_version"]
    1
    """
    version = cfg.get("format_version", 0)
    if not _is_int(version) or version < 0:
        raise InputError(
            f"config.json: 'format_version' must be an integer ≥ 0, not {shorten(repr(version), 60)}", path=path
        )
    if version > FORMAT_VERSION:
        raise InputError(
            f"config.json: format_version {version} was written by a newer mrc-ner (this one reads up to "
            f"{FORMAT_VERSION}); upgrade mrc-ner to load this model",
            path=path,
        )
    cfg = dict(cfg)
    while version < FORMAT_VERSION:
        cfg = MIGRATIONS[version](cfg)
        version += 1
    cfg["format_version"] = FORMAT_VERSION
    return cfg


def read_model_config(directory: Path, class_for: Callable[[str], object]) -> dict[str, Any]:
    """``config.json`` of a model directory, migrated and its fields checked (method, labels, encoder, input shape).

    ``class_for`` raises an InputError for an unknown method name.
    """
    from transformers import CONFIG_MAPPING

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
    cfg = migrate_config(cfg, path=path)

    def bad(field: str, want: str) -> InputError:
        return InputError(f"config.json: {field!r} must be {want}, not {shorten(repr(cfg.get(field)), 80)}", path=path)

    if not isinstance(cfg["method"], str):
        raise bad("method", "a method name")
    try:
        class_for(cfg["method"])
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


def empty_encoder(cfg: dict[str, Any], path: Path) -> nn.Module:
    """The encoder ``cfg["encoder_config"]`` describes, its parameters on the meta device (no initialisation).

    They take the saved tensors later (``load_state_dict(..., assign=True)``): no second
    copy of the weights in memory.
    """
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModel

    enc_cfg = dict(cfg["encoder_config"])
    model_type = enc_cfg.pop("model_type", "bert")
    try:
        with init_empty_weights(include_buffers=False):
            return AutoModel.from_config(AutoConfig.for_model(model_type, **enc_cfg))
    except Exception as e:  # transformers validates its configs with ValueError, TypeError, KeyError…
        raise InputError(
            f"config.json: the encoder config does not build a {model_type} model: {shorten(str(e), 160)}", path=path
        ) from None


def load_tokenizer(directory: Path) -> Any:
    """The tokenizer saved in a model directory (no remote code; transformers' notes silenced)."""
    from transformers import AutoTokenizer

    try:
        with quiet_transformers(progress=False):  # transformers 5 warns about a "Mistral regex" that does not apply
            return AutoTokenizer.from_pretrained(str(directory), trust_remote_code=False)
    except Exception as e:
        raise InputError(f"cannot load the tokenizer: {shorten(str(e), 160)}", path=directory) from None


def build_from_config(
    klass: Callable[..., M], cfg: dict[str, Any], encoder: nn.Module, tokenizer: Any, path: Path
) -> M:
    """``klass`` built on ``encoder`` and ``tokenizer`` with the config's labels, alignment, sizes and options."""
    try:
        return klass(
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
        raise InputError(e.message, path=path) from None
    except (ValueError, TypeError, KeyError) as e:
        raise InputError(
            f"config.json does not describe a {cfg['method']} model: {shorten(str(e), 160)}", path=path
        ) from None


def is_rebuilt_buffer(key: str) -> bool:
    """True for a buffer the encoder builds itself (``position_ids``), so a weights file may lack it."""
    return key.endswith("position_ids")


def load_weights(module: nn.Module, weights: Path) -> None:
    """Assign the tensors of a safetensors file to ``module``'s parameters; every mismatch an InputError."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except Exception as e:
        raise InputError(f"corrupt weights file: {shorten(str(e), 160)}", path=weights) from None
    try:
        missing, unexpected = module.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as e:  # size mismatch: tensors of another shape than config.json says
        detail = next((ln.strip() for ln in str(e).splitlines() if "size mismatch" in ln), str(e))
        raise InputError(f"weights do not match config.json: {shorten(detail, 200)}", path=weights) from None
    del state
    missing = [k for k in missing if not is_rebuilt_buffer(k)]
    missing += [k for k, p in module.named_parameters() if p.is_meta and k not in missing]
    if missing or unexpected:
        raise InputError(
            f"weights do not match the config (missing {missing[:3]}, unexpected {unexpected[:3]})", path=weights
        )


def load_tagger_dir(directory: str | Path, class_for: Callable[[str], Callable[..., M]]) -> M:
    """Restore a saved tagger from its directory, offline, with every file checked (see the module docstring).

    ``class_for`` maps the config's method name to its tagger class.
    """
    directory = Path(directory)
    cfg = read_model_config(directory, class_for)
    check_tokenizer_files(directory)
    weights = check_safetensors_weights(directory, WEIGHTS_NAME)[0]
    klass = class_for(cfg["method"])
    encoder = empty_encoder(cfg, directory / CONFIG_NAME)
    tokenizer = load_tokenizer(directory)
    tagger = build_from_config(klass, cfg, encoder, tokenizer, directory / CONFIG_NAME)
    load_weights(tagger, weights)
    tagger.eval()
    return tagger
