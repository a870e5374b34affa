"""What a comparison cell was computed with, so a re-run never reuses scores made with other settings.

Each cell directory of ``mrc-ner compare`` keeps ``settings.json``: every setting that
changes its result (encoder, training arguments such as epochs, batch size and seed, the
input shape, MRC and LM options, the method variant) and a hash of the fold's data,
with one fingerprint over all of them. It is written when the cell starts, so a
half-trained cell is covered too. A re-run with the same ``--out`` reuses a cell only
when the fingerprints agree; otherwise it is refused, naming what differs (the way
``extract`` refuses changed settings).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrc_ner.corpus.model import Sentence
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_json

if TYPE_CHECKING:
    from mrc_ner.experiments.compare.cells import Settings
    from mrc_ner.experiments.compare.folds import FoldData
    from mrc_ner.experiments.compare.methods import MethodSpec

SETTINGS_NAME = "settings.json"
#: fields of the shared settings that do not change a cell's result
IGNORED = {"keep_checkpoints", "keep_models", "progress", "train.out_dir", "train.resume"}
#: settings added to mrc-ner after cells were first recorded, each with the value that does what those
#: cells did: a recorded cell without the key counts as having that value
ADDED_LATER: dict[str, Any] = {"train.mention_replacement": 0.0, "train.schedule": "linear"}


def data_hash(sentences: Sequence[Sentence]) -> str:
    """A hash of sentences' texts and gold spans (a changed fold gives another hash)."""
    h = hashlib.sha256()
    for s in sentences:
        h.update(s.text.encode("utf-8") + b"\0")
        h.update(repr([sp.key for sp in s.spans]).encode("utf-8") + b"\1")
    return h.hexdigest()[:16]


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k in ("train", "lm", "variant"):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def cell_settings(spec: MethodSpec, fold: FoldData, settings: Settings) -> dict[str, Any]:
    """The flat dict of everything that determines one cell's result."""
    shared = _flatten(asdict(settings))
    values = {k: v for k, v in shared.items() if k not in IGNORED}
    values.update(
        _flatten(
            {
                "variant": {
                    "method": spec.method,
                    "options": spec.options,
                    "create": spec.create,
                    "train": spec.train,
                    "lm": spec.lm,
                }
            }
        )
    )
    values["align_resolved"] = _auto_align_change(spec, fold, settings)
    values["data"] = {
        "train": data_hash(fold.train),
        "dev": data_hash(fold.dev),
        "test": data_hash(fold.test),
        "labels": list(fold.labels),
    }
    return json.loads(json.dumps(values, sort_keys=True, default=str))  # plain JSON values, as read back


def _auto_align_change(spec: MethodSpec, fold: FoldData, settings: Settings) -> str | None:
    """The alignment ``auto`` picks for this cell where it differs from the older rule (``char`` for
    every method on character data), else None, so cells recorded before MRC rows moved to
    ``mixed`` stay reusable wherever the choice is unchanged, and are refused where it changed."""
    from mrc_ner.encoding.alignment import resolve_align
    from mrc_ner.models import tagger_class

    align = spec.create.get("align", settings.align)
    if align != "auto":
        return None
    resolved = resolve_align(align, fold.train, queries=tagger_class(spec.tagger_method).takes_queries)
    return resolved if resolved != resolve_align(align, fold.train) else None


def fingerprint(values: dict[str, Any]) -> str:
    """A short hash of a settings dict."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]


def check_cell(directory: Path, values: dict[str, Any], *, finished: bool) -> str | None:
    """Refuse a cell directory made with other settings; return a note for an unrecorded finished cell.

    A finished cell from before settings were recorded is reused with a note (its
    result is kept); any recorded difference is an :class:`InputError` naming the
    settings that differ. A setting added to mrc-ner after the cell was recorded is no
    difference while its value is ``None`` or its :data:`ADDED_LATER` value (either then means
    "as before").
    """
    path = directory / SETTINGS_NAME
    if not path.is_file():
        return "its settings were not recorded (older mrc-ner): reused as it is" if finished else None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError("unreadable cell settings (delete the cell directory to recompute it)", path=path) from None
    if not isinstance(old, dict) or old.get("fingerprint") == fingerprint(values):
        return None
    before = old.get("settings", {}) if isinstance(old.get("settings"), dict) else {}
    before = {**ADDED_LATER, **before}
    changed = sorted(
        k
        for k in set(before) | set(values)
        if before.get(k) != values.get(k) and not (k not in before and values.get(k) is None)
    )
    if not changed:
        return None
    shown = ", ".join(
        f"{k} {before.get(k)!r} → {values.get(k)!r}" if k != "data" else "the fold's data" for k in changed[:4]
    )
    more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
    raise InputError(
        f"this cell was computed with other settings ({shown}{more}); use another --out, or delete {directory} to recompute it",
        path=directory,
    )


def record_cell(directory: Path, values: dict[str, Any]) -> None:
    """Write the cell's ``settings.json`` (before it trains)."""
    atomic_write_json(directory / SETTINGS_NAME, {"fingerprint": fingerprint(values), "settings": values})


def model_files_stamp(model_dir: Path) -> dict[str, Any]:
    """Size and modification time of a model directory's config and weights (a retrained model differs)."""
    stamp: dict[str, Any] = {}
    for name in ("config.json", "model.safetensors"):
        try:
            st = (model_dir / name).stat()
        except OSError:
            continue
        stamp[name] = [st.st_size, st.st_mtime_ns]
    return stamp
