"""Merging the stores of several processes (``shards/rank-<r>/``) into one, in input order, crash-safe through a journal."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mrc_ner.io import atomic_write_json
from mrc_ner.mining.extract.options import (
    DONE,
    ENTITIES,
    JOURNAL,
    PREDICTIONS,
    SHARDS,
)
from mrc_ner.mining.extract.store import DoneRecord, OutputStore, entity_doc, fsync_dir


def _entity_ranges(path: Path, ids: set[str]) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges of each finished document's entity lines (consecutive lines joined into one range)."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    if not path.is_file():
        return ranges
    pos = 0
    with path.open("rb") as f:
        for line in f:
            doc = entity_doc(line)
            if doc in ids:
                spans = ranges.setdefault(doc, [])
                if spans and spans[-1][1] == pos:
                    spans[-1] = (spans[-1][0], pos + len(line))
                else:
                    spans.append((pos, pos + len(line)))
            pos += len(line)
    return ranges


def _copy_range(src: Any, dst: Any, a: int, b: int) -> int:
    src.seek(a)
    left = b - a
    while left > 0:
        chunk = src.read(min(left, 1 << 20))
        if not chunk:
            break
        dst.write(chunk)
        left -= len(chunk)
    return b - a - left


def in_input_order(store: OutputStore) -> bool:
    """True when the store's documents were finished in input order (``index`` never decreases)."""
    indices = [r.info.get("index", 0) for r in store.records()]
    return all(a <= b for a, b in zip(indices, indices[1:]))


def merge_stores(target: OutputStore, shards: Sequence[OutputStore]) -> int:
    """Merge ``shards`` into ``target``, documents ordered by input index; return how many were added.

    With no shards, this puts ``target`` itself in input order. A document finished in
    ``target`` or in several shards is taken once (the first). Only byte ranges are
    held in memory: the new files are written beside the old ones, a journal
    (``.merge.json``) names the renames, and :func:`recover_merge` completes them,
    then removes the shard directories — also after a crash.
    """
    stores = [target, *shards]
    records = [
        (r.info.get("index", 1 << 62), si, pos, r) for si, st in enumerate(stores) for pos, r in enumerate(st.records())
    ]
    records.sort(key=lambda t: t[:3])
    ranges = [_entity_ranges(st.entities, {r.id for r in st.records()}) for st in stores]
    with_bio = any("bio" in t[3].info for t in records)
    out_dir = target.dir
    tmp = {name: out_dir / f".{name}.merge" for name in (ENTITIES, PREDICTIONS, DONE)}
    emitted: set[str] = set()
    added = 0
    ents_in = {si: st.entities.open("rb") for si, st in enumerate(stores) if st.entities.is_file()}
    bio_in = {si: st.bio.open("rb") for si, st in enumerate(stores) if st.bio.is_file()}
    try:
        with tmp[ENTITIES].open("wb") as ents, tmp[DONE].open("wb") as done, tmp[PREDICTIONS].open("wb") as bio:
            bio_pos = 0
            for _, si, _, rec in records:
                if rec.id in emitted:
                    continue
                emitted.add(rec.id)
                added += si > 0
                for a, b in ranges[si].get(rec.id, []):
                    _copy_range(ents_in[si], ents, a, b)
                info = dict(rec.info)
                if "bio" in info and si in bio_in:
                    a, b = info["bio"]
                    n = _copy_range(bio_in[si], bio, a, b)
                    info["bio"] = [bio_pos, bio_pos + n]
                    bio_pos += n
                else:
                    info.pop("bio", None)
                done.write(DoneRecord(rec.id, info).line())
            for f in (ents, done, bio):
                f.flush()
                os.fsync(f.fileno())
    finally:
        for src in [*ents_in.values(), *bio_in.values()]:
            src.close()
    renames = [[str(tmp[ENTITIES]), str(target.entities)], [str(tmp[DONE]), str(target.done)]]
    if with_bio:
        renames.insert(1, [str(tmp[PREDICTIONS]), str(target.bio)])
    else:
        tmp[PREDICTIONS].unlink()
    atomic_write_json(out_dir / JOURNAL, {"renames": renames, "remove": [str(st.dir) for st in shards]})
    fsync_dir(out_dir)
    recover_merge(out_dir)
    return added


def recover_merge(out_dir: Path) -> None:
    """Finish a merge whose journal exists (renames, then shard removal); drop stray temporaries."""
    journal = out_dir / JOURNAL
    if journal.is_file():
        plan = json.loads(journal.read_text(encoding="utf-8"))
        for src, dst in plan["renames"]:  # entities, bio, done: done.txt last
            if os.path.exists(src):
                os.replace(src, dst)
        fsync_dir(out_dir)
        for d in plan["remove"]:
            shutil.rmtree(d, ignore_errors=True)
        journal.unlink()
    for name in (ENTITIES, PREDICTIONS, DONE):
        stray = out_dir / f".{name}.merge"
        if stray.exists():
            stray.unlink()


def shard_stores(out_dir: Path) -> list[OutputStore]:
    """The ``shards/rank-<r>`` stores present under ``out_dir``, by rank."""
    base = out_dir / SHARDS
    if not base.is_dir():
        return []
    dirs = [d for d in base.iterdir() if d.is_dir() and d.name.startswith("rank-") and d.name[5:].isdigit()]
    return [OutputStore(d) for d in sorted(dirs, key=lambda d: int(d.name[5:]))]


def remove_empty_shards_dir(out_dir: Path) -> None:
    try:
        (out_dir / SHARDS).rmdir()
    except OSError:
        pass
