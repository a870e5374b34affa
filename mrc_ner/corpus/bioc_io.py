"""BioC XML and BioC JSON through the ``bioc`` package (bionlplab's reference implementation).

A BioC collection holds documents; a document holds passages (``offset``, ``text``,
``infons`` such as ``type: title``), and annotations with ``infons["type"]`` (the
entity type), one or more ``locations`` (``offset``, ``length``) and their ``text``.
Offsets are characters into the *document*: a passage's text starts at its
``offset``. Here a document's text is its passages placed at their offsets (gaps
filled with line breaks), so ``document.text[offset:offset + length]`` is the
mention; it must equal the annotation's text. Several locations are a
discontinuous mention (``discontinuous``: ``error``, ``skip`` or ``join``, as for
brat). Passages given as sentences without a passage text are read from the
sentences. A BioC JSON file may also be a list of documents or one document.

Writers keep the passages (and their infons) a reader found, or write one passage
holding the whole text; each entity is an annotation ``T<k>`` with infons
``type`` (and ``score`` for predictions).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mrc_ner.corpus.documents import (
    DISCONTINUOUS,
    Level,
    Mention,
    ReadReport,
    build_document,
    check_mention_text,
    document_mentions,
    document_text,
    passages_of,
    resolve_fragments,
)
from mrc_ner.corpus.model import Document, Passage
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_text


def _passage_pieces(passage: Any) -> list[tuple[int, str]]:
    if passage.text is not None:
        return [(int(passage.offset), passage.text)]
    return [(int(s.offset), s.text or "") for s in passage.sentences]


def _annotations(doc: Any) -> Iterable[Any]:
    yield from doc.annotations
    for p in doc.passages:
        yield from p.annotations
        for s in p.sentences:
            yield from s.annotations


def _to_document(bdoc: Any, path: Path, *, level: Level, discontinuous: str, report: ReadReport | None) -> Document:
    doc_id = str(bdoc.id) if bdoc.id is not None else ""
    where = f"document {doc_id!r}"
    text = ""
    passages: list[Passage] = []
    for passage in sorted(bdoc.passages, key=lambda p: int(p.offset)):
        start = None
        for offset, piece in _passage_pieces(passage):
            if offset < len(text):
                raise InputError(
                    f"{where}: a passage or sentence at offset {offset} overlaps the text before it (which ends at {len(text)})",
                    path=path,
                )
            text += "\n" * (offset - len(text)) + piece
            start = offset if start is None else start
        if start is not None:
            passages.append(Passage(start, len(text), {str(k): str(v) for k, v in passage.infons.items()}))
    mentions = []
    for ann in _annotations(bdoc):
        what = f"{where}, annotation {ann.id!r}"
        label = ann.infons.get("type")
        if not label:
            raise InputError(f"{what} has no infon 'type' (the entity type)", path=path)
        fragments = [(int(loc.offset), int(loc.offset) + int(loc.length)) for loc in ann.locations]
        if not fragments:
            raise InputError(f"{what} has no location", path=path)
        for a, b in fragments:
            check_mention_text(text, a, b, ann.text if len(fragments) == 1 else None, path=path, line=None, what=what)
        rng = resolve_fragments(fragments, discontinuous, path=path, line=None, what=what)
        if rng is None:
            if report is not None:
                report.note(path, None, f"discontinuous {what}")
            continue
        mentions.append(Mention(rng[0], rng[1], str(label)))
    return build_document(doc_id, text, mentions, path=path, passages=passages, level=level)


def _check_policy(discontinuous: str) -> None:
    if discontinuous not in DISCONTINUOUS:
        raise InputError(f"--discontinuous must be one of {', '.join(DISCONTINUOUS)}, not {discontinuous!r}")


def read_bioc_xml(
    path: str | os.PathLike, *, level: Level = "auto", discontinuous: str = "error", report: ReadReport | None = None
) -> list[Document]:
    """Read a BioC XML collection into documents."""
    from bioc import biocxml
    from lxml import etree

    path = Path(path)
    _check_policy(discontinuous)
    try:
        with path.open("rb") as f:
            collection = biocxml.load(f)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    except etree.XMLSyntaxError as e:
        raise InputError(f"not well-formed XML: {e.msg}", path=path, line=e.lineno) from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"not a BioC collection ({type(e).__name__}: {e})", path=path) from None
    return _documents(collection, path, level=level, discontinuous=discontinuous, report=report)


def _documents(collection: Any, path: Path, **kw: Any) -> list[Document]:
    docs = [_to_document(d, path, **kw) for d in collection.documents]
    if not docs:
        raise InputError("empty collection: no BioC documents found", path=path)
    return docs


_DEFAULTS: dict[str, dict[str, Any]] = {
    "collection": {"source": "", "date": "", "key": "", "infons": {}, "documents": []},
    "document": {"infons": {}, "passages": [], "annotations": [], "relations": []},
    "passage": {"infons": {}, "sentences": [], "annotations": [], "relations": []},
    "sentence": {"infons": {}, "annotations": [], "relations": [], "text": ""},
    "annotation": {"id": "", "infons": {}, "text": None, "locations": []},
}


def _fill(obj: Any, kind: str) -> Any:
    """Add the optional keys the ``bioc`` decoder insists on (files in the wild often leave them out)."""
    if not isinstance(obj, dict):
        raise InputError(f"a BioC {kind} must be a JSON object, not {type(obj).__name__}")
    obj = {**_DEFAULTS[kind], **obj}
    children = {
        "collection": [("documents", "document")],
        "document": [("passages", "passage"), ("annotations", "annotation")],
        "passage": [("sentences", "sentence"), ("annotations", "annotation")],
        "sentence": [("annotations", "annotation")],
    }
    for key, child in children.get(kind, []):
        obj[key] = [_fill(x, child) for x in obj[key]]
    return obj


def read_bioc_json(
    path: str | os.PathLike, *, level: Level = "auto", discontinuous: str = "error", report: ReadReport | None = None
) -> list[Document]:
    """Read a BioC JSON collection (or a list of documents, or one document) into documents."""
    from bioc.biocjson.decoder import parse_collection

    path = Path(path)
    _check_policy(discontinuous)
    try:
        obj = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    except UnicodeDecodeError as e:
        raise InputError(f"not valid UTF-8 (at byte offset {e.start})", path=path) from None
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    if isinstance(obj, list):
        obj = {"documents": obj}
    elif isinstance(obj, dict) and "passages" in obj:
        obj = {"documents": [obj]}
    try:
        collection = parse_collection(_fill(obj, "collection"))
    except InputError as e:
        raise InputError(e.message, path=path) from None
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"not a BioC collection ({type(e).__name__}: {e})", path=path) from None
    return _documents(collection, path, level=level, discontinuous=discontinuous, report=report)


def to_collection(documents: Iterable[Document], *, source: str = "mrc-ner") -> Any:
    """A ``bioc.BioCCollection`` of the documents, their passages and their spans as annotations."""
    import bioc

    collection = bioc.BioCCollection()
    collection.source = source
    collection.date = ""  # no timestamp: the same input gives the same file
    collection.key = ""
    for doc in documents:
        text = document_text(doc)
        bdoc = bioc.BioCDocument()
        bdoc.id = doc.id
        parts = passages_of(doc)
        bpassages = []
        for p in parts:
            bp = bioc.BioCPassage.of_text(text[p.start : p.end], p.start)
            bp.infons.update(p.infons)
            bpassages.append(bp)
            bdoc.add_passage(bp)
        for k, (sp, mention) in enumerate(document_mentions(doc), start=1):
            ann = bioc.BioCAnnotation()
            ann.id = f"T{k}"
            ann.infons["type"] = sp.label
            if sp.score is not None:
                ann.infons["score"] = f"{sp.score:.4f}"
            ann.text = mention
            ann.add_location(bioc.BioCLocation(sp.start, sp.end - sp.start))
            owner = next((bp for p, bp in zip(parts, bpassages) if p.start <= sp.start and sp.end <= p.end), None)
            (owner or bdoc).add_annotation(ann)
        collection.add_document(bdoc)
    return collection


def write_bioc_xml(documents: Iterable[Document], path: str | os.PathLike) -> None:
    """Write documents as a BioC XML collection, atomically."""
    from bioc import biocxml

    atomic_write_text(path, biocxml.dumps(to_collection(documents)))


def write_bioc_json(documents: Iterable[Document], path: str | os.PathLike) -> None:
    """Write documents as a BioC JSON collection, atomically."""
    from bioc import biocjson

    atomic_write_text(path, biocjson.dumps(to_collection(documents), indent=2, ensure_ascii=False) + "\n")
