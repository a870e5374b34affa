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
Every input is checked first (:func:`~.inputs.scan_inputs`): a bad line is an
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
With ``consistency`` (``--consistency retype|propagate|both``) a document's
predicted sentences are held until its last one is predicted, the document-level
rules of :mod:`mrc_ner.corpus.consistency` run over the whole document (after
post-processing), and its entities are written together with its ``done.txt`` line;
memory then also holds the document being finished.

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
  ``postprocess`` removals, with ``--consistency`` the mentions it retyped and added per
  type, and, with ``--iob``, its byte range in ``predictions.bio``;
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

Modules
-------
:mod:`.options` (file names, :class:`ExtractOptions`), :mod:`.inputs` (files → documents,
the check), :mod:`.store` (the crash-safe output store), :mod:`.merge` (shards → one
store), :mod:`.settings` (what results were made with), :mod:`.extractor` (the loop),
:mod:`.progress` (the loop under a progress bar), :mod:`.processes` (process state),
:mod:`.run` (:func:`run_extraction`), :mod:`.stats` (statistics, network, tables) and
:mod:`.export` (``--export``).
"""

from mrc_ner.inference import (
    clean_document,
    clean_keep_spaces,
    original_span,
    predict_cleaned,
    resolve_whitespace,
    to_entity,
)
from mrc_ner.mining.extract.export import EXPORTS, check_export, export_documents
from mrc_ner.mining.extract.extractor import Extractor, RunCounts, peak_rss_mb
from mrc_ner.mining.extract.inputs import Scan, SourceDocument, collect_inputs, iter_documents, scan_inputs
from mrc_ner.mining.extract.merge import in_input_order, merge_stores, recover_merge, shard_stores
from mrc_ner.mining.extract.options import (
    CONFIG,
    DONE,
    ENTITIES,
    JOURNAL,
    LOCK,
    NETWORK,
    PREDICTIONS,
    REJECTED,
    RUN_SUMMARY,
    SHARDS,
    STATS,
    WHITESPACE_MODES,
    ExtractOptions,
)
from mrc_ner.mining.extract.processes import SingleProcess, process_state
from mrc_ner.mining.extract.run import run_extraction
from mrc_ner.mining.extract.settings import model_fingerprint
from mrc_ner.mining.extract.stats import (
    build_network_outputs,
    compute_stats,
    extraction_tables,
    iter_entities,
    output_files,
)
from mrc_ner.mining.extract.store import DoneRecord, OutputStore, read_done

__all__ = [
    "CONFIG",
    "DONE",
    "ENTITIES",
    "EXPORTS",
    "JOURNAL",
    "LOCK",
    "NETWORK",
    "PREDICTIONS",
    "REJECTED",
    "RUN_SUMMARY",
    "SHARDS",
    "STATS",
    "WHITESPACE_MODES",
    "DoneRecord",
    "ExtractOptions",
    "Extractor",
    "OutputStore",
    "RunCounts",
    "Scan",
    "SingleProcess",
    "SourceDocument",
    "build_network_outputs",
    "check_export",
    "clean_document",
    "clean_keep_spaces",
    "collect_inputs",
    "compute_stats",
    "export_documents",
    "extraction_tables",
    "in_input_order",
    "iter_documents",
    "iter_entities",
    "merge_stores",
    "model_fingerprint",
    "original_span",
    "output_files",
    "peak_rss_mb",
    "predict_cleaned",
    "process_state",
    "read_done",
    "recover_merge",
    "resolve_whitespace",
    "run_extraction",
    "scan_inputs",
    "shard_stores",
    "to_entity",
]
