"""``extract --export FORMAT``: the extracted entities as brat, PubTator or BioC documents.

After an extraction, every input document's original text is read again and its
entities from ``entities.jsonl`` (already in original-document offsets) are put
back into it, then written with the corpus writers
(:func:`mrc_ner.corpus.readers.write_documents`): ``OUT/brat/`` (one ``.txt`` and
``.ann`` per document), ``OUT/export.pubtator``, ``OUT/export.bioc.xml`` or
``OUT/export.bioc.json``. The documents are held in memory while they are written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mrc_ner.corpus.documents import Mention, build_document
from mrc_ner.corpus.entities import parse_record_line
from mrc_ner.corpus.model import Document
from mrc_ner.corpus.readers import write_documents
from mrc_ner.errors import InputError
from mrc_ner.mining.extract.inputs import iter_documents

#: ``extract --export`` formats and where each is written inside the output directory
EXPORTS = {
    "brat": "brat",
    "pubtator": "export.pubtator",
    "bioc-xml": "export.bioc.xml",
    "bioc-json": "export.bioc.json",
}


def check_export(fmt: str | None) -> None:
    """Raise :class:`InputError` for an unknown ``--export`` format."""
    if fmt is not None and fmt not in EXPORTS:
        raise InputError(f"--export must be one of {', '.join(EXPORTS)}, not {fmt!r}")


def _entities_by_doc(path: Path) -> dict[str, list[Mention]]:
    out: dict[str, list[Mention]] = defaultdict(list)
    if not path.is_file():
        return out
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if line.strip():
                r = parse_record_line(line, path=path, line=lineno)
                if r.start is None or r.end is None:
                    raise InputError("entity without start and end: nothing to export", path=path, line=lineno)
                out[r.doc].append(Mention(r.start, r.end, r.label, lineno, r.score))
    return out


def export_documents(out_dir: Path, files: Sequence[Any], fmt: str, *, entities: str = "entities.jsonl") -> Path:
    """Write the extraction in ``out_dir`` as ``fmt`` (see :data:`EXPORTS`); return the path written."""
    check_export(fmt)
    by_doc = _entities_by_doc(out_dir / entities)
    docs: list[Document] = []
    for source in iter_documents(files):
        text = "".join(chunk for chunk, _ in source.pieces())
        docs.append(build_document(source.id, text, by_doc.get(source.id, []), path=out_dir / entities))
    target = out_dir / EXPORTS[fmt]
    write_documents(docs, target, fmt)
    return target
