"""Extraction: run a trained tagger over a corpus of any size and write what it finds.

Inputs
------
Plain-text files (one document per file, id = file stem), JSONL files (one document
per line: ``{"id": ..., "text": ...}``; without an id, ``<stem>#<k>``), column files
(``.bio``, ``.tsv``, ``.conll``, …: the document text is its sentences joined by
``"\\n"``, as :class:`~mrc_ner.corpus.model.Document` does), brat, PubTator and BioC
documents (their text; annotations are not used) and directories of them
(searched recursively, sorted by path); a file's format is
:func:`mrc_ner.corpus.readers.detect_format`'s, for text to tag. Documents are numbered 0, 1, … in that order.
Every input is checked first (:func:`scan_inputs`): a bad line is an
:class:`~mrc_ner.errors.InputError` naming ``path:line`` before anything is written.

The pipeline
------------
Documents are read lazily (plain text line by line, JSONL object by object), cleaned
into sentences (:func:`~mrc_ner.inference.clean_document`: :func:`~mrc_ner.corpus.cleaning.clean_text`,
split at line breaks and, in lines longer than ``max_sentence_chars``, after
``。！？；``; long sentences are windowed by the model, never truncated), and buffered
up to ``buffer_sentences`` sentences across documents, so that
:meth:`~mrc_ner.models.base.Tagger.predict` batches similar lengths together. The
predicted spans get the paper's post-processing
(:func:`~mrc_ner.corpus.postprocess.postprocess_spans`), are mapped back to the
*original* document text and appended to the output. Memory holds one buffer.

Offsets
-------
``start``/``end`` are character offsets into the original document text, ``end``
exclusive, and ``text`` is ``original[start:end]`` — so it may hold a tab or two
spaces where the cleaned sentence had one ``-`` (leading or trailing whitespace is
trimmed). The original text of a plain-text file is the file decoded as
``open(path, encoding="utf-8-sig", newline="")`` reads it (BOM dropped, CRLF kept);
of a JSONL document its ``text``; of a column-file document ``Document.text``.
``sentence`` is the index of the cleaned sentence in its document.

Output directory
----------------
* ``entities.jsonl`` — one entity per line:
  ``{"doc", "sentence", "start", "end", "label", "text", "score"}``, documents in input
  order (what :func:`mrc_ner.mining.network.read_entities_jsonl` reads);
* ``done.txt`` — one finished document per line: ``<id><TAB><json>``, the JSON holding
  its input ``index`` and its ``sentences``, ``tokens``, ``characters``, ``entities``,
  ``postprocess`` removals and, with ``--iob``, its byte range in ``predictions.bio``;
* ``predictions.bio`` (``iob``) — the cleaned sentences with predicted IOB2 tags, a
  ``-DOCSTART- O`` line before each document;
* ``stats.json`` — :func:`compute_stats`; ``network/`` — the gene–gene network;
* ``extract.json`` — the model and options the results were made with.

Both files are append-only: after each buffer, entities are written and fsynced,
then the finished documents' ``done.txt`` lines. A rerun skips the documents in
``done.txt`` and first drops every entity line of a document that is not there
(:meth:`OutputStore.repair`), so a crash or Ctrl-C between the two writes never
duplicates anything and loses nothing marked done.

Several processes
-----------------
Under ``accelerate launch --multi_gpu --num_processes N`` or ``torchrun
--nproc_per_node N`` (CPU processes with gloo when there is no GPU), document ``k``
goes to process ``k % N``; process ``r`` writes ``shards/rank-<r>/`` the same way.
When all are done, the main process merges the shards into the top-level files in
input order (:func:`merge_stores`, crash-safe through a small journal), removes
them and computes statistics and the network once.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import resource
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from mrc_ner.corpus.cleaning import LINE_BREAKS, CleanSentence
from mrc_ner.corpus.conll import format_conll
from mrc_ner.corpus.entities import EntityRecord, parse_record_line
from mrc_ner.corpus.postprocess import RULES, PostprocessReport, postprocess_spans
from mrc_ner.corpus.readers import InputFile, list_inputs, read_file
from mrc_ner.errors import InputError
from mrc_ner.inference import (  # noqa: F401 (re-exported)
    clean_document,
    clean_keep_spaces,
    original_span,
    predict_cleaned,
    resolve_whitespace,
    to_entity,
)
from mrc_ner.io import atomic_write, atomic_write_json

ENTITIES = "entities.jsonl"
DONE = "done.txt"
PREDICTIONS = "predictions.bio"
REJECTED = "entities.rejected.jsonl"
STATS = "stats.json"
CONFIG = "extract.json"
SHARDS = "shards"
NETWORK = "network"
RUN_SUMMARY = "run.json"
JOURNAL = ".merge.json"
LOCK = ".lock"

WHITESPACE_MODES = ("auto", "dash", "space")


# ----------------------------------------------------------------------------- options


@dataclass
class ExtractOptions:
    """What :func:`run_extraction` does; the command's options, with the same defaults.

    ``whitespace``: ``dash`` cleans as the cbp corpus (a whitespace run inside a Latin
    run becomes ``-``, other whitespace goes), ``space`` keeps one space per
    whitespace run (for word-level English models), ``auto`` picks ``space`` for
    word-level models and ``dash`` otherwise.
    """

    whitespace: str = "auto"
    max_sentence_chars: int = 2000
    min_length: int = 2
    batch_size: int = 32
    buffer_sentences: int = 2000
    iob: bool = False
    network: bool = True
    network_types: tuple[str, ...] = ("gene",)
    window: int = 2
    min_edge_weight: int = 1
    top: int = 10
    #: the inputs' format (``auto``: :func:`mrc_ner.corpus.readers.detect_format`)
    input_format: str = "auto"
    #: also write the results as brat, pubtator, bioc-xml or bioc-json (:mod:`mrc_ner.mining.export`)
    export: str | None = None

    def check(self) -> None:
        """Raise :class:`InputError` for an impossible value."""
        if self.whitespace not in WHITESPACE_MODES:
            raise InputError(f"--whitespace must be one of {', '.join(WHITESPACE_MODES)}, not {self.whitespace!r}")
        for name in ("max_sentence_chars", "min_length", "batch_size", "buffer_sentences", "window", "min_edge_weight"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(self, name)}")
        if self.network and not [t for t in self.network_types if t.strip()]:
            raise InputError("--network-types must name at least one entity type")
        from mrc_ner.mining.export import check_export

        check_export(self.export)


# ----------------------------------------------------------------------------- inputs


def collect_inputs(
    paths: Iterable[str | os.PathLike], *, exclude: Path | None = None, format: str = "auto"
) -> list[InputFile]:
    """The input files, in order: files as given, directories searched recursively (sorted).

    Formats by :func:`mrc_ner.corpus.readers.detect_format` for text to tag (a ``.txt``
    is plain text unless it is half of a brat pair, PubTator or columns), or ``format``;
    hidden files and anything under ``exclude`` (the output directory) are skipped.
    """
    return list_inputs(paths, format=format, purpose="raw", recursive=True, exclude=exclude)


@dataclass
class SourceDocument:
    """One input document: its number in input order, id, where it is, and its text lazily.

    ``pieces()`` yields ``(chunk, base)``: consecutive pieces of the original text
    (whole lines for plain text, so a huge file never sits in memory at once) with
    the offset of each piece in the document.
    """

    index: int
    id: str
    path: Path
    line: int | None
    pieces: Callable[[], Iterator[tuple[str, int]]]


def _text_pieces(path: Path) -> Iterator[tuple[str, int]]:
    base = 0
    with path.open(encoding="utf-8-sig", newline="") as f:
        for line in f:
            yield line, base
            base += len(line)


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines of a JSONL file with their line numbers, read lazily."""
    try:
        f = path.open("rb")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    with f:
        for lineno, data in enumerate(f, start=1):
            if lineno == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"not valid UTF-8 (byte {data[e.start]:#04x})", path=path, line=lineno) from None
            if line.strip():
                yield lineno, line


def _jsonl_document(path: Path, lineno: int, line: str, default_id: str) -> tuple[str, str]:
    """``(id, text)`` of one JSONL line, or an InputError naming ``path:line``."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=lineno) from None
    if not isinstance(obj, dict):
        raise InputError('each line must be a JSON object {"id": ..., "text": ...}', path=path, line=lineno)
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError(
            'each object needs a string "text"' + ("" if "text" not in obj else f", not {type(text).__name__}"),
            path=path,
            line=lineno,
        )
    did = obj.get("id", default_id)
    if isinstance(did, bool) or not isinstance(did, (str, int)):
        raise InputError(f'"id" must be a string or an integer, not {did!r}', path=path, line=lineno)
    return str(did), text


def iter_documents(files: Sequence[InputFile], *, own: Callable[[int], bool] | None = None) -> Iterator[SourceDocument]:
    """The documents of ``files`` in input order; with ``own``, only those whose index it accepts.

    Documents not owned are counted but not parsed (JSONL) or opened (plain text).
    """
    k = 0
    for f in files:
        if f.format == "text":
            if own is None or own(k):
                yield SourceDocument(k, f.path.stem, f.path, None, lambda p=f.path: _text_pieces(p))
            k += 1
        elif f.format == "jsonl":
            for j, (lineno, line) in enumerate(_jsonl_lines(f.path)):
                if own is None or own(k):
                    did, text = _jsonl_document(f.path, lineno, line, f"{f.path.stem}#{j}")
                    yield SourceDocument(k, did, f.path, lineno, lambda t=text: iter([(t, 0)]))
                k += 1
        else:  # an annotated corpus format: its documents' text (annotations are not used)
            for doc in read_file(f, discontinuous="join"):
                if own is None or own(k):
                    yield SourceDocument(k, doc.id, f.path, None, lambda t=doc.text: iter([(t, 0)]))
                k += 1


def _check_utf8(path: Path) -> None:
    """Raise InputError naming ``path:line`` when a plain-text file is not UTF-8 (read in 1 MiB chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    line = lines + chunk[: max(e.start, 0)].count(b"\n") + 1
                    raise InputError("not valid UTF-8", path=path, line=line) from None
                lines += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    except UnicodeDecodeError:
        raise InputError("not valid UTF-8 (truncated character at the end)", path=path, line=lines + 1) from None


@dataclass
class Scan:
    """What :func:`scan_inputs` found: the document ids in input order."""

    ids: list[str]

    @property
    def documents(self) -> int:
        return len(self.ids)


def scan_inputs(files: Sequence[InputFile]) -> Scan:
    """Check every input and list the document ids (cheap: nothing is cleaned or predicted).

    Raises :class:`InputError` for unreadable or malformed input, for an id holding a
    tab or a line break, and for an id given twice.
    """
    ids: list[str] = []
    first: dict[str, str] = {}
    for f in files:
        if f.format == "text":
            _check_utf8(f.path)
    for doc in iter_documents(files):
        where = f"{doc.path}" + (f":{doc.line}" if doc.line is not None else "")
        if "\t" in doc.id or any(ch in LINE_BREAKS for ch in doc.id):
            raise InputError(f"document id {doc.id!r} holds a tab or a line break", path=doc.path, line=doc.line)
        if doc.id in first:
            raise InputError(
                f"document id {doc.id!r} occurs twice (first in {first[doc.id]}); ids must be unique",
                path=doc.path,
                line=doc.line,
            )
        first[doc.id] = where
        ids.append(doc.id)
    if not ids:
        raise InputError("the inputs hold no documents")
    return Scan(ids)


# ----------------------------------------------------------------------------- the output store


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


def _entity_doc(data: bytes) -> str | None:
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


def _fsync_dir(directory: Path) -> None:
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
                clean = all(_entity_doc(line) in done for line in f)
            if not clean:

                def write(tmp: Path) -> None:
                    with self.entities.open("rb") as src, tmp.open("wb") as dst:
                        for line in src:
                            if _entity_doc(line) in done:
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
                doc = _entity_doc(line)
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
            atomic_write(self.done, lambda tmp: tmp.write_bytes(b"".join(r.line() for r in records)))
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


# ----------------------------------------------------------------------------- merging shards


def _entity_ranges(path: Path, ids: set[str]) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges of each finished document's entity lines (consecutive lines joined into one range)."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    if not path.is_file():
        return ranges
    pos = 0
    with path.open("rb") as f:
        for line in f:
            doc = _entity_doc(line)
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
        for f in [*ents_in.values(), *bio_in.values()]:
            f.close()
    renames = [[str(tmp[ENTITIES]), str(target.entities)], [str(tmp[DONE]), str(target.done)]]
    if with_bio:
        renames.insert(1, [str(tmp[PREDICTIONS]), str(target.bio)])
    else:
        tmp[PREDICTIONS].unlink()
    atomic_write_json(out_dir / JOURNAL, {"renames": renames, "remove": [str(st.dir) for st in shards]})
    _fsync_dir(out_dir)
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
        _fsync_dir(out_dir)
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


def _remove_empty_shards_dir(out_dir: Path) -> None:
    try:
        (out_dir / SHARDS).rmdir()
    except OSError:
        pass


# ----------------------------------------------------------------------------- the run


class SingleProcess:
    """The process-state protocol of :func:`run_extraction` for one process (what PartialState offers)."""

    num_processes = 1
    process_index = 0
    is_main_process = True

    def wait_for_everyone(self) -> None:
        pass


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


def _settings(tagger: Any, options: ExtractOptions, whitespace: str, model: Any) -> dict[str, Any]:
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


def _check_settings(out_dir: Path, settings: dict[str, Any], *, write: bool) -> None:
    path = out_dir / CONFIG
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
        keys = ("model_fingerprint", "whitespace", "sentence_split", "max_sentence_chars", "min_length", "prediction")
        # before sentence_split was recorded, every run split at line breaks only
        defaults = {"sentence_split": "lines", "prediction": {}}
        changed = [k for k in keys if old.get(k, defaults.get(k)) != settings[k]]
        if changed:
            raise InputError(
                f"this output holds results made with other settings ({', '.join(changed)} differ); use another --out",
                path=out_dir,
            )
    elif write:
        atomic_write_json(path, settings)


@dataclass
class _DocState:
    source: SourceDocument
    sentences: int = 0
    tokens: int = 0
    characters: int = 0
    entities: int = 0
    report: PostprocessReport = field(default_factory=PostprocessReport)
    bio_start: int | None = None


@dataclass
class _SentenceItem:
    doc: _DocState
    index: int
    clean: CleanSentence
    raw: str
    base: int


@dataclass
class RunCounts:
    """What one process did in this run."""

    documents: int = 0
    skipped: int = 0
    sentences: int = 0
    characters: int = 0
    entities: int = 0
    elapsed_s: float = 0.0
    peak_rss_mb: float = 0.0
    postprocess: dict[str, dict[str, int]] = field(default_factory=dict)


def _report_dict(report: PostprocessReport) -> dict[str, dict[str, int]]:
    return {r: dict(sorted(getattr(report, r).items())) for r in RULES if getattr(report, r)}


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1 << 20 if os.uname().sysname == "Darwin" else 1 << 10), 1)


class Extractor:
    """Buffers sentences across documents, predicts, post-processes, maps back and writes."""

    def __init__(
        self,
        tagger: Any,
        store: OutputStore,
        options: ExtractOptions,
        whitespace: str,
        *,
        on_buffer: Callable[[int, int], None] | None = None,
        on_features: Callable[[int], None] | None = None,
    ) -> None:
        self.tagger = tagger
        self.store = store
        self.options = options
        self.whitespace = whitespace
        self.on_buffer = on_buffer
        self.on_features = on_features
        self.counts = RunCounts()
        self.report = PostprocessReport()

    def events(self, documents: Iterable[SourceDocument]) -> Iterator[_SentenceItem | _DocState]:
        """Sentence items, and each document's state after its last sentence."""
        for src in documents:
            doc = _DocState(src)
            i = 0
            for chunk, base in src.pieces():
                doc.characters += len(chunk)
                for cs in clean_document(
                    chunk, whitespace=self.whitespace, max_sentence_chars=self.options.max_sentence_chars
                ):
                    yield _SentenceItem(doc, i, cs, chunk, base)
                    i += 1
            yield doc

    def run(self, documents: Iterable[SourceDocument]) -> RunCounts:
        """Process every document; buffers are written as they fill."""
        buf: list[_SentenceItem | _DocState] = []
        n_sent = n_chars = 0
        limit = self.options.buffer_sentences
        for ev in self.events(documents):
            buf.append(ev)
            if isinstance(ev, _SentenceItem):
                n_sent += 1
                n_chars += len(ev.clean.text)
            if n_sent >= limit or n_chars >= 200 * limit or len(buf) >= 4 * limit:
                self.flush(buf)
                buf, n_sent, n_chars = [], 0, 0
        if buf:
            self.flush(buf)
        self.counts.postprocess = _report_dict(self.report)
        return self.counts

    def flush(self, buf: list[_SentenceItem | _DocState]) -> None:
        """Predict one buffer (length-sorted batches inside) and append its results."""
        items = [e for e in buf if isinstance(e, _SentenceItem)]
        sentences, preds = predict_cleaned(
            self.tagger, [it.clean for it in items], batch_size=self.options.batch_size, progress=self.on_features
        )
        ents = bytearray()
        bio = bytearray()
        done: list[DoneRecord] = []
        k = 0
        finished_chars = 0
        for ev in buf:
            doc = ev.doc if isinstance(ev, _SentenceItem) else ev
            if self.options.iob and doc.bio_start is None:
                doc.bio_start = self.store.bio_size + len(bio)
                bio += b"-DOCSTART- O\n\n"
            if isinstance(ev, _DocState):
                done.append(self._done_record(ev, self.store.bio_size + len(bio)))
                finished_chars += ev.characters
                continue
            sentence, spans = sentences[k], preds[k]
            k += 1
            kept, rep = postprocess_spans(sentence, spans, min_length=self.options.min_length)
            doc.report = doc.report + rep
            doc.sentences += 1
            doc.tokens += len(sentence.tokens)
            for sp in kept:
                ent = to_entity(ev.clean, ev.raw, sp, base=ev.base)
                if ent is None:
                    continue
                record = EntityRecord(
                    doc.source.id, ev.index, ent.start, ent.end, ent.label, ent.text, round(ent.score, 6)
                )
                ents += record.to_line()
                doc.entities += 1
            if self.options.iob:
                bio += format_conll([sentence.with_spans(kept)]).encode("utf-8")
        self.store.append(bytes(ents), bytes(bio), done)
        c = self.counts
        for r in done:
            c.documents += 1
            c.sentences += r.info["sentences"]
            c.characters += r.info["characters"]
            c.entities += r.info["entities"]
        if self.on_buffer is not None:
            self.on_buffer(len(done), finished_chars)

    def _done_record(self, doc: _DocState, bio_end: int) -> DoneRecord:
        self.report = self.report + doc.report
        info: dict[str, Any] = {
            "index": doc.source.index,
            "sentences": doc.sentences,
            "tokens": doc.tokens,
            "characters": doc.characters,
            "entities": doc.entities,
            "postprocess": _report_dict(doc.report),
        }
        if self.options.iob and doc.bio_start is not None:
            info["bio"] = [doc.bio_start, bio_end]
        return DoneRecord(doc.source.id, info)


def run_extraction(
    inputs: Sequence[str | os.PathLike],
    model: Any,
    out: str | os.PathLike,
    options: ExtractOptions | None = None,
    *,
    state: Any = None,
    console: Any = None,
    load: Callable[[Any], Any] | None = None,
) -> dict[str, Any] | None:
    """Extract entities from ``inputs`` into the directory ``out``; return the statistics.

    ``model`` is a tagger or a model directory (loaded with ``load``, by default
    :func:`~mrc_ner.inference.load_model` on the CPU, after the inputs are checked). ``state`` is an
    ``accelerate.PartialState`` (or anything with ``num_processes``, ``process_index``,
    ``is_main_process`` and ``wait_for_everyone()``); each process takes documents
    ``k % num_processes == process_index``. ``console`` (rich) shows a progress bar
    on the main process. Non-main processes return None.
    """
    t0 = time.perf_counter()
    options = options or ExtractOptions()
    options.check()
    state = state or SingleProcess()
    n, rank, main = int(state.num_processes), int(state.process_index), bool(state.is_main_process)
    out_dir = Path(out)
    files = collect_inputs(inputs, exclude=out_dir, format=options.input_format)
    scan = scan_inputs(files)
    if isinstance(model, (str, os.PathLike)):
        if load is None:
            from mrc_ner.inference import load_model

            def load(path: Any) -> Any:
                return load_model(path, device="cpu")

        tagger = load(model)
    else:
        tagger = model
    whitespace = resolve_whitespace(options.whitespace, tagger)
    settings = _settings(tagger, options, whitespace, model)
    out_dir.mkdir(parents=True, exist_ok=True)

    base = OutputStore(out_dir)
    if main:
        _prepare_output(base, settings, single=n == 1)
        for note in base.notes:
            if console is not None:
                console.print(f"[yellow]repaired:[/] {escape(note)}", soft_wrap=True)
    state.wait_for_everyone()
    if not main:
        _check_settings(out_dir, settings, write=False)
    store = base if n == 1 else OutputStore(out_dir / SHARDS / f"rank-{rank}")
    counts = _process_share(
        tagger, store, base, files, scan, options, whitespace, n=n, rank=rank, console=console if main else None
    )
    counts.elapsed_s = round(time.perf_counter() - t0, 3)
    counts.peak_rss_mb = peak_rss_mb()
    if n > 1:
        atomic_write_json(store.dir / RUN_SUMMARY, asdict(counts))
        state.wait_for_everyone()
        if not main:
            return None
        counts = _merge_shards(base, n)
    run = asdict(counts)
    run["elapsed_s"] = round(time.perf_counter() - t0, 3)
    run["processes"] = n
    run["documents_per_s"] = round(run["documents"] / run["elapsed_s"], 3) if run["elapsed_s"] else 0.0
    run["characters_per_s"] = round(run["characters"] / run["elapsed_s"], 1) if run["elapsed_s"] else 0.0
    run["whitespace"] = whitespace
    if base.notes:
        run["repairs"] = list(base.notes)
    stats = compute_stats(out_dir, top=options.top)
    stats["run"] = run
    stats["network"] = build_network_outputs(out_dir, options) if options.network else None
    if options.export:
        from mrc_ner.mining.export import export_documents

        stats["export"] = str(export_documents(out_dir, files, options.export, entities=ENTITIES).relative_to(out_dir))
    atomic_write_json(out_dir / STATS, stats)
    return stats


def _prepare_output(base: OutputStore, settings: dict[str, Any], *, single: bool) -> None:
    """Main process, before any work: finish an interrupted merge, check the settings, repair.

    A single-process run also takes in the shards an interrupted multi-process run left.
    """
    recover_merge(base.dir)
    _check_settings(base.dir, settings, write=True)
    if not single:
        base.repair()
        return
    base.lock()
    try:
        base.repair()
        leftovers = shard_stores(base.dir)
        if leftovers:
            merge_stores(base, leftovers)
            _remove_empty_shards_dir(base.dir)
    finally:
        base.close()


def _process_share(
    tagger: Any,
    store: OutputStore,
    base: OutputStore,
    files: Sequence[InputFile],
    scan: Scan,
    options: ExtractOptions,
    whitespace: str,
    *,
    n: int,
    rank: int,
    console: Any,
) -> RunCounts:
    """This process's documents (``k % n == rank``) not finished anywhere yet, into ``store``."""
    store.lock()
    try:
        if n > 1:
            (store.dir / RUN_SUMMARY).unlink(missing_ok=True)
        store.repair()
        done_ids = store.done_ids()
        if n > 1:
            done_ids |= base.done_ids()
            for other in shard_stores(base.dir):
                if other.dir != store.dir:
                    done_ids |= other.done_ids()
        mine = [i for k, i in enumerate(scan.ids) if k % n == rank]
        todo = sum(1 for i in mine if i not in done_ids)
        store.open(iob=options.iob)
        own = (lambda k: k % n == rank) if n > 1 else None
        documents = (d for d in iter_documents(files, own=own) if d.id not in done_ids)
        counts = _run_with_progress(
            tagger,
            store,
            options,
            whitespace,
            documents,
            todo=todo,
            console=console,
            label=f"rank {rank}/{n}" if n > 1 else "",
        )
        counts.skipped = len(mine) - todo
        if n == 1 and not in_input_order(store):  # leftover shards were taken in before
            merge_stores(store, [])
        return counts
    finally:
        store.close()


def _merge_shards(base: OutputStore, n: int) -> RunCounts:
    """Main process, after everyone finished: the shards into ``base``; the processes' summed counts."""
    summaries = [base.dir / SHARDS / f"rank-{r}" / RUN_SUMMARY for r in range(n)]
    per_rank = [json.loads(p.read_text(encoding="utf-8")) for p in summaries if p.is_file()]
    base.lock()
    try:
        merge_stores(base, shard_stores(base.dir))
    finally:
        base.close()
    _remove_empty_shards_dir(base.dir)
    return _sum_counts(per_rank)


def _sum_counts(per_rank: list[dict[str, Any]]) -> RunCounts:
    total = RunCounts()
    report: dict[str, Counter] = {}
    for r in per_rank:
        for key in ("documents", "skipped", "sentences", "characters", "entities"):
            setattr(total, key, getattr(total, key) + int(r.get(key, 0)))
        total.peak_rss_mb = max(total.peak_rss_mb, float(r.get("peak_rss_mb", 0.0)))
        for rule, by_type in r.get("postprocess", {}).items():
            report.setdefault(rule, Counter()).update(by_type)
    total.postprocess = {rule: dict(sorted(c.items())) for rule, c in report.items()}
    return total


def _run_with_progress(
    tagger: Any,
    store: OutputStore,
    options: ExtractOptions,
    whitespace: str,
    documents: Iterable[SourceDocument],
    *,
    todo: int,
    console: Any,
    label: str,
) -> RunCounts:
    if console is None:
        return Extractor(tagger, store, options, whitespace).run(documents)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            if "chars" not in task.fields:
                return Text("")
            elapsed = task.elapsed or 0.0
            if not elapsed:
                return Text("")
            return Text(
                f"{task.completed / elapsed:,.2f} docs/s · {task.fields['chars'] / elapsed:,.0f} chars/s", style="cyan"
            )

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        docs_task = progress.add_task(f"documents {label}".strip(), total=todo, chars=0)
        feat_task = progress.add_task("model inputs of this buffer", total=None, visible=False)
        state = {"chars": 0}

        def on_buffer(n_docs: int, n_chars: int) -> None:
            state["chars"] += n_chars
            progress.update(docs_task, advance=n_docs, chars=state["chars"])
            progress.update(feat_task, completed=0, visible=False)

        def on_features(n: int) -> None:
            progress.update(feat_task, advance=n, visible=True)

        return Extractor(tagger, store, options, whitespace, on_buffer=on_buffer, on_features=on_features).run(
            documents
        )


# ----------------------------------------------------------------------------- statistics and network


def iter_entities(path: Path) -> Iterator[dict[str, Any]]:
    """The entity objects of an ``entities.jsonl``, read lazily."""
    if not path.is_file():
        return
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _mention_key(text: str) -> str:
    return " ".join(text.split())


def compute_stats(out_dir: str | os.PathLike, *, top: int = 10) -> dict[str, Any]:
    """Totals over everything in the output (resumed runs included), from its files.

    ``documents``, ``sentences``, ``tokens``, ``characters`` and the post-processing
    removals come from ``done.txt``; ``mentions``/``unique``/``top`` per type (the
    paper's Table 5) from ``entities.jsonl`` (mention texts with whitespace runs as one
    space).
    """
    from mrc_ner.corpus.stats import top_mentions

    out_dir = Path(out_dir)
    records = read_done(out_dir / DONE)[0]
    totals = {k: sum(int(r.info.get(k, 0)) for r in records) for k in ("sentences", "tokens", "characters")}
    report: dict[str, Counter] = {}
    for r in records:
        for rule, by_type in r.info.get("postprocess", {}).items():
            report.setdefault(rule, Counter()).update(by_type)
    counts: dict[str, Counter] = {}
    n = 0
    for obj in iter_entities(out_dir / ENTITIES):
        counts.setdefault(obj["label"], Counter())[_mention_key(obj["text"])] += 1
        n += 1
    types = sorted(counts)
    return {
        "documents": len(records),
        **totals,
        "entities": n,
        "mentions": {t: sum(counts[t].values()) for t in types},
        "unique": {t: len(counts[t]) for t in types},
        "top": {t: top_mentions(counts[t], top) for t in types},
        "postprocess": {rule: dict(sorted(report[rule].items())) for rule in RULES if rule in report},
    }


def build_network_outputs(out_dir: str | os.PathLike, options: ExtractOptions) -> dict[str, Any]:
    """The co-occurrence network of ``entities.jsonl`` written to ``out/network/``; its summary.

    Without any mention of the chosen types nothing is written and the summary says why.
    """
    import importlib.util

    from mrc_ner.mining.network import Mention, build_network, summary, write_network

    out_dir = Path(out_dir)
    wanted = {t.strip().casefold() for t in options.network_types if t.strip()}
    mentions = (
        Mention(str(o["doc"]), int(o["sentence"]), o["label"], o["text"])
        for o in iter_entities(out_dir / ENTITIES)
        if str(o["label"]).casefold() in wanted
    )
    graph = build_network(
        mentions, types=tuple(sorted(wanted)), window=options.window, min_edge_weight=options.min_edge_weight
    )
    if not graph.graph.get("nodes_before_threshold"):
        return {"skipped": f"no mention of type {', '.join(sorted(wanted))}"}
    draw = graph.number_of_nodes() > 0 and importlib.util.find_spec("mrc_ner.mining.drawing") is not None
    paths = write_network(graph, out_dir / NETWORK, draw=draw)
    result = summary(graph)
    result["files"] = sorted(p.name for p in paths.values())
    return result


def extraction_tables(stats: dict[str, Any]) -> list[Table]:
    """Rich tables for a run: corpus summary, Table 5 (top mentions), speed, post-processing."""
    from mrc_ner.corpus.stats import stats_tables

    tables = stats_tables(stats, name="extracted")
    run = stats.get("run") or {}
    if run:
        t = Table(title="this run", title_justify="left")
        t.add_column("", style="bold")
        t.add_column("value", justify="right")
        rows = [
            ("documents processed", f"{run['documents']:,}"),
            ("already done (skipped)", f"{run['skipped']:,}"),
            ("sentences", f"{run['sentences']:,}"),
            ("characters", f"{run['characters']:,}"),
            ("entities written", f"{run['entities']:,}"),
            ("processes", str(run.get("processes", 1))),
            ("elapsed", f"{run['elapsed_s']:,.1f} s"),
            ("documents/s", f"{run['documents_per_s']:,.2f}"),
            ("characters/s", f"{run['characters_per_s']:,.0f}"),
            ("peak RSS", f"{run['peak_rss_mb']:,.0f} MiB"),
        ]
        for k, v in rows:
            t.add_row(k, v)
        tables.append(t)
    pp = stats.get("postprocess") or {}
    if pp:
        types = sorted({t for by_type in pp.values() for t in by_type})
        t = Table(title="post-processing (all documents)", title_justify="left")
        t.add_column("rule", style="bold")
        for ty in types:
            t.add_column(ty, justify="right")
        for rule, by_type in pp.items():
            t.add_row(rule, *[f"{by_type.get(ty, 0):,}" for ty in types])
        tables.append(t)
    return tables
