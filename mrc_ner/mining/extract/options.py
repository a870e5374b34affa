"""The output directory's file names and :class:`ExtractOptions`, what a run does."""

from __future__ import annotations

from dataclasses import dataclass

from mrc_ner.corpus.consistency import MODES
from mrc_ner.errors import InputError
from mrc_ner.mining.extract.export import check_export

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
    #: also write the results as brat, pubtator, bioc-xml or bioc-json (:mod:`mrc_ner.mining.extract.export`)
    export: str | None = None
    #: document-level rules after post-processing: none, retype, propagate, both (:mod:`mrc_ner.corpus.consistency`)
    consistency: str = "none"

    def check(self) -> None:
        """Raise :class:`InputError` for an impossible value."""
        if self.whitespace not in WHITESPACE_MODES:
            raise InputError(f"--whitespace must be one of {', '.join(WHITESPACE_MODES)}, not {self.whitespace!r}")
        for name in ("max_sentence_chars", "min_length", "batch_size", "buffer_sentences", "window", "min_edge_weight"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(self, name)}")
        if self.network and not [t for t in self.network_types if t.strip()]:
            raise InputError("--network-types must name at least one entity type")
        check_export(self.export)
        if self.consistency not in MODES:
            raise InputError(f"--consistency must be one of {', '.join(MODES)}, not {self.consistency!r}")
