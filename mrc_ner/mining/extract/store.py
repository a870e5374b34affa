"""The crash-safe output store: append-only ``entities.jsonl``, ``done.txt`` and ``predictions.bio``, and their repair."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrc_ner.corpus.entities import parse_record_line
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write
from mrc_ner.mining.extract.options import (
    DONE,
    ENTITIES,
    LOCK,
    PREDICTIONS,
    REJECTED,
)


@dataclass
class DoneRecord:
    """A finished document: its id and what ``done.txt`` says about it."""

    id: str
    info: dict[str, Any]

    def line(self) -> bytes:
        return f"{self.id}\t{json.dumps(self.info, ensure_ascii=False, sort_keys=True)}\n".encode()


def read_done(path: Path) -> tuple[list[DoneRecord], int]:
    """The records of a ``done.txt`` and the byte length of its complete lines.

    A last line without its newline (a crash while writing it) is not a record.
    """
    records: list[DoneRecord] = []
    valid = 0
    if not path.is_file():
        return records, 0
    with path.open("rb") as f:
        for lineno, data in enumerate(f, start=1):
            if not data.endswith(b"\n"):
                break
            try:
                did, _, info = data.decode("utf-8").rstrip("\n").partition("\t")
                records.append(DoneRecord(did, json.loads(info) if info else {}))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise InputError(
                    "corrupt line in the list of finished documents; remove the output directory to start over",
                    path=path,
                    line=lineno,
                ) from None
            valid += len(data)
    return records, valid


def entity_doc(data: bytes) -> str | None:
    """The ``doc`` of an entity line, or None for a partial line or one that is not a valid record."""
    if not data.endswith(b"\n"):
        return None
    try:
        return parse_record_line(data).doc
    except InputError:
        return None


def _write_all(f: Any, data: bytes) -> None:
    """Write all of ``data`` to an unbuffered file (short writes continued), then fsync it."""
    view = memoryview(data)
    while view:
        n = f.write(view)
        view = view[n:]
    os.fsync(f.fileno())


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class OutputStore:
    """One directory's append-only results: ``entities.jsonl``, ``done.txt``, ``predictions.bio``."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.entities = self.dir / ENTITIES
        self.done = self.dir / DONE
        self.bio = self.dir / PREDICTIONS
        self.rejected = self.dir / REJECTED
        #: what :meth:`repair` had to do beyond the ordinary (corrupt lines quarantined), for the user
        self.notes: list[str] = []
        self._files: dict[str, Any] = {}
        self._lock_fd: int | None = None
        self.bio_size = 0

    # -- state
    def records(self) -> list[DoneRecord]:
        """The finished documents, in the order they were finished."""
        return read_done(self.done)[0]

    def done_ids(self) -> set[str]:
        return {r.id for r in self.records()}

    def repair(self) -> list[DoneRecord]:
        """Make the files agree with ``done.txt``; return its records.

        A partial last ``done.txt`` line is cut; entity lines of documents not in
        ``done.txt`` (and a partial last line) are dropped, rewriting the file atomically;
        ``predictions.bio`` is cut after the last finished document. A complete entity
        line that is not a valid record is never dropped silently: it is moved to
        ``entities.rejected.jsonl`` and noted in :attr:`notes`, and the finished
        document it belonged to (the one whose entity count no longer agrees with
        ``done.txt``) is taken out of ``done.txt`` so that this run extracts it again
        (with ``predictions.bio``, every document finished after it too, as the tags
        are cut there).
        """
        records, valid = read_done(self.done)
        if self.done.is_file() and self.done.stat().st_size != valid:
            os.truncate(self.done, valid)
        if self.entities.is_file():
            records = self._quarantine(records)
        done = {r.id for r in records}
        if self.entities.is_file():
            with self.entities.open("rb") as f:
                clean = all(entity_doc(line) in done for line in f)
            if not clean:

                def write(tmp: Path) -> None:
                    with self.entities.open("rb") as src, tmp.open("wb") as dst:
                        for line in src:
                            if entity_doc(line) in done:
                                dst.write(line)
                        dst.flush()
                        os.fsync(dst.fileno())

                atomic_write(self.entities, write)
        if self.bio.is_file():
            end = max((r.info["bio"][1] for r in records if "bio" in r.info), default=0)
            if self.bio.stat().st_size > end:
                os.truncate(self.bio, end)
        return records

    def _quarantine(self, records: list[DoneRecord]) -> list[DoneRecord]:
        """Move corrupt complete entity lines to ``entities.rejected.jsonl``; return the records still finished."""
        rejected: list[tuple[int, bytes]] = []
        counts: dict[str, int] = {}
        with self.entities.open("rb") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.endswith(b"\n") or not line.strip():
                    continue  # a partial last line: its document is not finished (done.txt is written after)
                doc = entity_doc(line)
                if doc is None:
                    rejected.append((lineno, line))
                else:
                    counts[doc] = counts.get(doc, 0) + 1
        if not rejected:
            return records
        with self.rejected.open("ab") as side:
            side.write(b"".join(line for _, line in rejected))
            side.flush()
            os.fsync(side.fileno())
        short = [i for i, r in enumerate(records) if counts.get(r.id, 0) != r.info.get("entities", counts.get(r.id, 0))]
        redo: set[str] = set()
        if short:
            redo = {r.id for r in (records[short[0] :] if self.bio.is_file() else [records[i] for i in short])}
            records = [r for r in records if r.id not in redo]
            kept = b"".join(r.line() for r in records)

            def write_done(tmp: Path) -> None:
                tmp.write_bytes(kept)

            atomic_write(self.done, write_done)
        lines = ", ".join(str(i) for i, _ in rejected[:5]) + (" …" if len(rejected) > 5 else "")
        self.notes.append(
            f"{self.entities}: {len(rejected)} corrupt line(s) ({lines}) moved to {self.rejected.name}"
            + (f"; {len(redo)} document(s) they belonged to are extracted again" if redo else "")
        )
        return records

    # -- writing
    def lock(self) -> None:
        """Take the directory's lock (one writer at a time) or raise InputError."""
        import fcntl

        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError("another extraction is writing to this directory", path=self.dir) from None
        self._lock_fd = fd

    def open(self, *, iob: bool) -> None:
        """Open the files for appending (after :meth:`repair`)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        # Unbuffered: a failed write leaves nothing pending that a later flush could append.
        self._files["entities"] = self.entities.open("ab", buffering=0)
        self._files["done"] = self.done.open("ab", buffering=0)
        if iob:
            self._files["bio"] = self.bio.open("ab", buffering=0)
            self.bio_size = self.bio.stat().st_size

    def append(self, entities: bytes, bio: bytes, done: Sequence[DoneRecord]) -> None:
        """Append one buffer: entities (and tags), fsynced, then the finished documents.

        When a write fails (a full disk), every file is cut back to where this buffer
        began before the error goes up: no torn last line is left behind.
        """
        sizes = {key: os.fstat(f.fileno()).st_size for key, f in self._files.items()}
        try:
            for key, data in (("entities", entities), ("bio", bio)):
                f = self._files.get(key)
                if f is not None and data:
                    _write_all(f, data)
            if done:
                _write_all(self._files["done"], b"".join(r.line() for r in done))
        except OSError:
            self._cut_back(sizes)
            raise
        self.bio_size += len(bio)

    def _cut_back(self, sizes: dict[str, int]) -> None:
        """Truncate the open files to ``sizes`` (their lengths before a failed append)."""
        for key, size in sizes.items():
            try:
                os.ftruncate(self._files[key].fileno(), size)
            except OSError:
                pass  # repair() cuts what is left at the next run

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
