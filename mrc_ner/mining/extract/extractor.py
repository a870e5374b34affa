"""The extraction loop: sentences buffered across documents, predicted, post-processed, mapped back and written.

With ``--consistency`` a document's sentences are held back until its last one is
predicted (a document may span buffers), so that the document-level rules of
:mod:`mrc_ner.corpus.consistency` see all of it; its entities, IOB lines and done record
are then written together.
"""

from __future__ import annotations

import os
import resource
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mrc_ner.corpus.cleaning import CleanSentence
from mrc_ner.corpus.conll import format_conll
from mrc_ner.corpus.consistency import ConsistencyReport, consistent_by_mode
from mrc_ner.corpus.entities import EntityRecord
from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.corpus.postprocess import RULES, PostprocessReport, postprocess_spans
from mrc_ner.inference import clean_document, predict_cleaned, to_entity
from mrc_ner.mining.extract.inputs import SourceDocument
from mrc_ner.mining.extract.options import (
    ExtractOptions,
)
from mrc_ner.mining.extract.store import DoneRecord, OutputStore


@dataclass
class _DocState:
    source: SourceDocument
    sentences: int = 0
    tokens: int = 0
    characters: int = 0
    entities: int = 0
    report: PostprocessReport = field(default_factory=PostprocessReport)
    bio_start: int | None = None
    #: sentences predicted but not yet written (``--consistency``: until the document ends)
    held: list[tuple[_SentenceItem, Sentence, list[Span]]] = field(default_factory=list)
    consistency: ConsistencyReport = field(default_factory=ConsistencyReport)


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
    consistency: dict[str, dict[str, int]] = field(default_factory=dict)


def sum_by_type(records: Iterable[dict[str, dict[str, int]]]) -> dict[str, Counter]:
    """``{rule or change: {type: n}}`` records summed, keys in order of first appearance.

    >>> sum_by_type([{"added": {"gene": 2}}, {"added": {"gene": 1, "protein": 1}, "retyped": {}}])
    {'added': Counter({'gene': 3, 'protein': 1}), 'retyped': Counter()}
    """
    total: dict[str, Counter] = {}
    for record in records:
        for key, by_type in record.items():
            total.setdefault(key, Counter()).update(by_type)
    return total


def report_dict(report: PostprocessReport) -> dict[str, dict[str, int]]:
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
        self.consistency = ConsistencyReport()

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
        self.counts.postprocess = report_dict(self.report)
        if self.options.consistency != "none":
            self.counts.consistency = self.consistency.as_dict()
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
        hold = self.options.consistency != "none"
        for ev in buf:
            doc = ev.doc if isinstance(ev, _SentenceItem) else ev
            if self.options.iob and doc.bio_start is None:
                doc.bio_start = self.store.bio_size + len(bio)
                bio += b"-DOCSTART- O\n\n"
            if isinstance(ev, _DocState):
                if hold:
                    self._apply_consistency(ev)
                    for item, sentence, kept in ev.held:
                        self._write_sentence(item, sentence, kept, ents, bio)
                    ev.held = []
                done.append(self._done_record(ev, self.store.bio_size + len(bio)))
                finished_chars += ev.characters
                continue
            sentence, spans = sentences[k], preds[k]
            k += 1
            kept, rep = postprocess_spans(sentence, spans, min_length=self.options.min_length)
            doc.report = doc.report + rep
            doc.sentences += 1
            doc.tokens += len(sentence.tokens)
            if hold:
                doc.held.append((ev, sentence, kept))
            else:
                self._write_sentence(ev, sentence, kept, ents, bio)
        self.store.append(bytes(ents), bytes(bio), done)
        c = self.counts
        for r in done:
            c.documents += 1
            c.sentences += r.info["sentences"]
            c.characters += r.info["characters"]
            c.entities += r.info["entities"]
        if self.on_buffer is not None:
            self.on_buffer(len(done), finished_chars)

    def _write_sentence(
        self, item: _SentenceItem, sentence: Sentence, kept: list[Span], ents: bytearray, bio: bytearray
    ) -> None:
        """One sentence's entities (original offsets) and, with ``--iob``, its tagged lines."""
        doc = item.doc
        for sp in kept:
            ent = to_entity(item.clean, item.raw, sp, base=item.base)
            if ent is None:
                continue
            record = EntityRecord(
                doc.source.id, item.index, ent.start, ent.end, ent.label, ent.text, round(ent.score, 6)
            )
            ents += record.to_line()
            doc.entities += 1
        if self.options.iob:
            bio += format_conll([sentence.with_spans(kept)]).encode("utf-8")

    def _apply_consistency(self, doc: _DocState) -> None:
        """The document-level rules over the document's held sentences (all of them: it has ended)."""
        sentences = [sentence for _, sentence, _ in doc.held]
        spans, report = consistent_by_mode(
            self.options.consistency, sentences, [kept for _, _, kept in doc.held], document=lambda _: ""
        )
        doc.held = [(item, sentence, kept) for (item, sentence, _), kept in zip(doc.held, spans, strict=True)]
        doc.consistency = report

    def _done_record(self, doc: _DocState, bio_end: int) -> DoneRecord:
        self.report = self.report + doc.report
        self.consistency = self.consistency + doc.consistency
        info: dict[str, Any] = {
            "index": doc.source.index,
            "sentences": doc.sentences,
            "tokens": doc.tokens,
            "characters": doc.characters,
            "entities": doc.entities,
            "postprocess": report_dict(doc.report),
        }
        if self.options.consistency != "none":
            info["consistency"] = doc.consistency.as_dict()
        if self.options.iob and doc.bio_start is not None:
            info["bio"] = [doc.bio_start, bio_end]
        return DoneRecord(doc.source.id, info)
