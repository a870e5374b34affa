"""Sequence labeling on top of the encoder: the shared part of softmax, CRF and friends.

Each window is ``[CLS] context [SEP]``; every unit's first token carries an IOB2
tag id (``O``, ``B-type``, ``I-type``), all other positions are ignored (-100).
Subclasses add the head: :class:`~mrc_ner.models.softmax.SoftmaxTagger` a linear
layer, the CRF taggers a CRF on top.

Decoding (option ``decode``): ``runs`` (the default) gives a run of non-``O`` tags that
switches type one entity of the type with the largest summed score
(:func:`~mrc_ner.decoding.merge_type_switches`), so a one-unit type slip
(``S``/B-protein ``MAD2``/gene) no longer cuts the mention (10.49 → 15.22 test micro F1 on a
cbp fold, ``BENCHMARKS.md``); ``seqeval`` reads the tags exactly as seqeval does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.corpus.schemes import chunks_to_tags
from mrc_ner.decoding import merge_type_switches, tags_to_candidates
from mrc_ner.encoding.alignment import Aligned, spans_to_unit_chunks, unit_chunks_to_spans
from mrc_ner.errors import InputError
from mrc_ner.models.base import Tagger
from mrc_ner.models.features import Feature

DECODINGS = ("runs", "seqeval")


class TokenClassificationTagger(Tagger):
    """Base for methods that tag every unit with IOB2."""

    default_options: ClassVar[dict[str, Any]] = {"decode": "runs"}

    @property
    def tag_names(self) -> list[str]:
        """``["O", "B-t1", "I-t1", ...]`` in label order."""
        return ["O"] + [f"{p}-{t}" for t in self.labels for p in ("B", "I")]

    @property
    def num_tags(self) -> int:
        """Number of IOB2 tags."""
        return 1 + 2 * len(self.labels)

    def unit_tag_ids(self, sentence: Sentence, aligned: Aligned) -> list[int]:
        """Gold tag id of every unit."""
        index = {t: i for i, t in enumerate(self.tag_names)}
        chunks = [c for c in spans_to_unit_chunks(aligned.units, sentence.spans) if c[2] in self.labels]
        flat, last = [], -1
        for c in sorted(chunks):
            if c[0] >= last:
                flat.append(c)
                last = c[1]
        return [index[t] for t in chunks_to_tags(flat, len(aligned.units), "IOB2")]

    def sentence_features(
        self, index: int, sentence: Sentence, aligned: Aligned, *, with_labels: bool
    ) -> list[Feature]:
        """``[CLS] window [SEP]`` features; tags at unit-first tokens when ``with_labels``."""
        tok = self.tokenizer
        unit_tags = self.unit_tag_ids(sentence, aligned) if with_labels else None
        feats = []
        for a, b in self.windows(len(aligned.input_ids)):
            ids = [tok.cls_token_id] + aligned.input_ids[a:b] + [tok.sep_token_id]
            f = Feature(ids, [0] * len(ids), index, (a, b))
            if unit_tags is not None:
                labels = [-100] + [unit_tags[u] if u >= 0 else -100 for u in aligned.token_unit[a:b]] + [-100]
                f.labels["labels"] = labels
            feats.append(f)
        return feats

    def unit_emissions(self, aligned: Aligned, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]) -> np.ndarray:
        """Per-unit logits ``(units, tags)`` merged over the sentence's windows."""
        merged = self.merge_windows(len(aligned.input_ids), [(f.window, o["logits"]) for f, o in outputs])
        return self.unit_rows(aligned, merged)

    def tags_to_spans(self, aligned: Aligned, tag_ids: Sequence[int], scores: Sequence[float]) -> list[Span]:
        """Unit tag ids → character spans (IOB2, orphan I- repaired as in seqeval)."""
        names = self.tag_names
        decode = self.options.get("decode", "seqeval")
        if decode not in DECODINGS:
            raise InputError(f"unknown decoding {decode!r}; choose one of {', '.join(DECODINGS)}")
        tags = [names[i] for i in tag_ids]
        cands = merge_type_switches(tags, scores) if decode == "runs" else tags_to_candidates(tags, scores)
        return unit_chunks_to_spans(aligned.units, [(c.start, c.end, c.label) for c in cands], [c.score for c in cands])
