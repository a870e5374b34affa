"""``mrc``: NER as machine reading comprehension (Sun et al., BioBERT-MRC).

Each entity type is a query. The encoder reads ``[CLS] context [SEP] query [SEP]``
(context first, token type 0; the query and last ``[SEP]`` type 1). Two binary heads
mark start and end positions over the context units:

* start: ``linear(h) → 2``;
* end, ``end_head="linear"`` (paper eq. 5): ``linear(h) → 2``;
* end, ``end_head="start_aware"`` (paper eq. 6, default): ``linear([h; softmax(start_logits)]) → 2``.

Design decision for eq. 6: the end head sees ``softmax(start_logits)`` in training
*and* inference. The reference implementation feeds the gold one-hot start during
training (teacher forcing), which makes the end head rely on perfect starts it never
gets at test time; using the model's own start distribution in both phases keeps
training and inference identical and lets the end loss also shape the start head.

Loss: ``(1 − λ)·CE(start) + λ·CE(end)`` over context units only (λ = 0.5).
Decoding: a unit is a start (end) when its probability is above ``threshold``
(option, 0.5 = argmax; tuned on dev after training, :meth:`MRCTagger.calibrate`);
each start is paired with the nearest end at or after it with no later start in
between (:func:`mrc_ner.decoding.nearest_match`); spans of different types that
overlap are resolved to a flat labelling by span score
(:func:`mrc_ner.decoding.resolve_flat`). With ``nested=True`` the pairs of
:func:`mrc_ner.decoding.nested_pairs` (at most ``max_span_units`` units) are kept
without resolution.

What only a query buys (:mod:`mrc_ner.models.settings`): the types asked can be
chosen at prediction time, a free-text query asks for a type never trained, and a
sentence with ``annotated_types`` (one corpus of a joint training set) gets
features for its corpus's types only, so its silence about other types is not
learnt as "no entity".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.decoding import mrc_candidates, resolve_flat
from mrc_ner.encoding.alignment import Aligned, spans_to_unit_chunks, unit_chunks_to_spans
from mrc_ner.errors import InputError
from mrc_ner.models.base import Tagger, register
from mrc_ner.models.features import Feature
from mrc_ner.models.settings import PredictSettings
from mrc_ner.models.threshold import best_threshold, sweep_rows

END_HEADS = ("start_aware", "linear")


@register("mrc")
class MRCTagger(Tagger):
    """Per-type queries with start/end binary heads over the context."""

    default_options: ClassVar[dict[str, Any]] = {
        "queries": {},
        "query_kind": "examples",
        "lambda": 0.5,
        "end_head": "start_aware",
        "dropout": 0.1,
        "prior_bias": True,
        "pos_weight": 1.0,
        "threshold": 0.5,
        "max_span_units": 30,
    }
    takes_queries = True

    @classmethod
    def create(
        cls,
        encoder: str,
        labels: Sequence[str],
        *,
        train_sentences: Sequence[Sentence] = (),
        query_kind: str = "examples",
        query_template: str | None = None,
        query_k: int = 3,
        query_select: str = "frequency",
        seed: int = 0,
        **kwargs,
    ):
        """A new MRC tagger; queries are built from ``train_sentences`` unless ``options['queries']`` is given."""
        from mrc_ner.queries import build_queries

        options = dict(kwargs.pop("options", {}) or {})
        if not options.get("queries"):
            options["queries"] = build_queries(
                labels,
                train_sentences,
                kind=query_kind,
                template=query_template,
                k=query_k,
                select=query_select,
                seed=seed,
            )
        options["query_kind"] = query_kind
        return super().create(encoder, labels, options=options, **kwargs)

    def build_heads(self) -> None:
        """Start and end heads; the query token ids of every type."""
        self.build_start_end_heads(self.hidden_size)

    def build_start_end_heads(self, width: int) -> None:
        """Check the options; dropout, start head ``width → 2`` and end head (``+2`` when start-aware); query ids."""
        if self.options["end_head"] not in END_HEADS:
            raise InputError(f"unknown end head {self.options['end_head']!r}; choose one of {', '.join(END_HEADS)}")
        missing = [t for t in self.labels if t not in self.options["queries"]]
        if missing:
            raise InputError(f"no query for type(s) {', '.join(missing)}")
        self.dropout = nn.Dropout(self.options["dropout"])
        self.start_head = nn.Linear(width, 2)
        extra = 2 if self.options["end_head"] == "start_aware" else 0
        self.end_head = nn.Linear(width + extra, 2)
        self.query_ids = {t: self.tokenize_query(self.options["queries"][t]) for t in self.labels}
        self.apply_settings(self.settings)

    def tokenize_query(self, text: str) -> list[int]:
        """A query's token ids (no special tokens)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def apply_settings(self, settings: PredictSettings) -> None:
        """The types to ask (``asked_types``) and their query ids under ``settings``."""
        self.settings = settings
        self.asked_types = settings.asked_types(self.labels)
        self.asked_query_ids = {
            t: self.tokenize_query(settings.queries[t]) if t in settings.queries else self.query_ids[t]
            for t in self.asked_types
        }

    def sentence_types(self, sentence: Sentence) -> list[tuple[int, str]]:
        """``(type_index, type)`` of the asked types this sentence's corpus annotates."""
        keep = sentence.annotated_types
        return [(ti, t) for ti, t in enumerate(self.asked_types) if keep is None or t in keep]

    # ------------------------------------------------------------------ processor
    def unit_start_end(self, sentence: Sentence, aligned: Aligned, label: str) -> tuple[list[int], list[int]]:
        """Gold 0/1 start and end flags per unit for one type."""
        n = len(aligned.units)
        starts, ends = [0] * n, [0] * n
        for a, b, lab in spans_to_unit_chunks(aligned.units, sentence.spans):
            if lab == label:
                starts[a] = 1
                ends[b - 1] = 1
        return starts, ends

    def sentence_features(
        self, index: int, sentence: Sentence, aligned: Aligned, *, with_labels: bool
    ) -> list[Feature]:
        """One feature per window × asked type (of the sentence's corpus): ``[CLS] window [SEP] query [SEP]``."""
        tok = self.tokenizer
        longest_query = max(len(q) for q in self.asked_query_ids.values())
        windows = self.windows(len(aligned.input_ids), longest_query)
        feats = []
        for ti, label in self.sentence_types(sentence):
            q = self.asked_query_ids[label]
            gold = self.unit_start_end(sentence, aligned, label) if with_labels else None
            for a, b in windows:
                ctx = aligned.input_ids[a:b]
                ids = [tok.cls_token_id] + ctx + [tok.sep_token_id] + q + [tok.sep_token_id]
                types = [0] * (len(ctx) + 2) + [1] * (len(q) + 1)
                f = Feature(ids, types, index, (a, b), context_start=1, type_index=ti)
                if gold is not None:
                    units = aligned.token_unit[a:b]
                    tail = [-100] * (len(q) + 2)
                    f.labels["start_labels"] = [-100] + [gold[0][u] if u >= 0 else -100 for u in units] + tail
                    f.labels["end_labels"] = [-100] + [gold[1][u] if u >= 0 else -100 for u in units] + tail
                feats.append(f)
        return feats

    # ------------------------------------------------------------------ model
    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``start_logits`` and ``end_logits`` (batch, length, 2), and ``loss`` with labels."""
        h = self.dropout(self.encode(batch))
        start_logits, end_logits = self.start_end_logits(h)
        out = {"start_logits": start_logits, "end_logits": end_logits}
        if "start_labels" in batch:
            out["loss"] = self.span_loss(start_logits, end_logits, batch["start_labels"], batch["end_labels"])
        return out

    def start_end_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The start head on ``x``; the end head on ``x`` (with ``softmax(start_logits)`` appended when start-aware)."""
        start_logits = self.start_head(x)
        if self.options["end_head"] == "start_aware":
            return start_logits, self.end_head(torch.cat([x, start_logits.softmax(-1)], dim=-1))
        return start_logits, self.end_head(x)

    def span_loss(
        self, start_logits: torch.Tensor, end_logits: torch.Tensor, start_labels: torch.Tensor, end_labels: torch.Tensor
    ) -> torch.Tensor:
        """``(1 − λ)·CE(start) + λ·CE(end)`` over labelled positions; positives weighted ``pos_weight``."""
        weight = torch.tensor(
            [1.0, float(self.options["pos_weight"])], device=start_logits.device, dtype=start_logits.dtype
        )
        ce = nn.functional.cross_entropy
        ls = ce(start_logits.reshape(-1, 2), start_labels.reshape(-1), weight=weight, ignore_index=-100)
        le = ce(end_logits.reshape(-1, 2), end_labels.reshape(-1), weight=weight, ignore_index=-100)
        lam = float(self.options["lambda"])
        return (1 - lam) * ls + lam * le

    def prepare_heads(self, feats: Sequence[Feature]) -> None:
        """With ``prior_bias``: start/end biases at the training set's share of positive positions.

        A fresh head predicts P(start) = 0.5 everywhere, while about one context unit in
        fifty starts a mention; the first hundreds of steps then only learn "no". Starting
        at the prior (as RetinaNet does for its rare class) leaves the steps to the encoder.
        """
        if not self.options["prior_bias"]:
            return
        for head, prefix in ((self.start_head, "start_labels"), (self.end_head, "end_labels")):
            pos = total = 0
            for f in feats:
                for key, labels in f.labels.items():
                    if key.startswith(prefix):
                        pos += sum(v == 1 for v in labels)
                        total += sum(v >= 0 for v in labels)
            if total and 0 < pos < total:
                p = pos / total
                with torch.no_grad():
                    head.bias.copy_(torch.tensor([0.0, math.log(p / (1 - p))], dtype=head.bias.dtype))

    # ------------------------------------------------------------------ decoder
    def decode_sentence(
        self, sentence: Sentence, aligned: Aligned, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]
    ) -> list[Span]:
        """Start/end pairs per type; one flat labelling by span score unless nested."""
        per_type = {
            label: [(f.window, o["start_logits"], o["end_logits"]) for f, o in outputs if f.type_index == ti]
            for ti, label in enumerate(self.asked_types)
        }
        return self.decode_types(aligned, per_type)

    def type_probabilities(
        self, aligned: Aligned, per_type: dict[str, list[tuple[tuple[int, int], np.ndarray, np.ndarray]]]
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per type, the start and end probabilities of each unit (windows merged)."""
        n_tokens = len(aligned.input_ids)
        out = {}
        for label, pieces in per_type.items():
            if not pieces:
                continue
            probs = []
            for rows in ([(w, s) for w, s, _ in pieces], [(w, e) for w, _, e in pieces]):
                merged = self.merge_windows(n_tokens, rows)
                units = self.unit_rows(aligned, merged)
                probs.append(1.0 / (1.0 + np.exp(units[:, 0] - units[:, 1])))  # softmax over 2 classes → P(1)
            out[label] = (probs[0], probs[1])
        return out

    def decode_probabilities(
        self,
        aligned: Aligned,
        probs: dict[str, tuple[np.ndarray, np.ndarray]],
        *,
        threshold: float | None = None,
        nested: bool | None = None,
    ) -> list[Span]:
        """Spans from per-type unit probabilities; ``threshold`` and ``nested`` default to the current settings."""
        if threshold is None:
            threshold = (
                self.settings.threshold if self.settings.threshold is not None else float(self.options["threshold"])
            )
        nested = self.settings.nested if nested is None else nested
        max_len = int(self.options["max_span_units"])
        candidates = []
        for label, (start, end) in probs.items():
            candidates.extend(mrc_candidates(start, end, label, threshold=threshold, nested=nested, max_length=max_len))
        kept = sorted(candidates, key=lambda c: (c.start, c.end, c.label)) if nested else resolve_flat(candidates)
        return unit_chunks_to_spans(aligned.units, [(c.start, c.end, c.label) for c in kept], [c.score for c in kept])

    def decode_types(
        self, aligned: Aligned, per_type: dict[str, list[tuple[tuple[int, int], np.ndarray, np.ndarray]]]
    ) -> list[Span]:
        """Spans from each type's ``(window, start_logits, end_logits)`` pieces (logits ``(n, 2)``)."""
        return self.decode_probabilities(aligned, self.type_probabilities(aligned, per_type))

    def decode_outputs(
        self, aligned: Aligned, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """One sentence's feature outputs → per-type unit probabilities (for sweeps that decode many times)."""
        per_type = {
            label: [(f.window, o["start_logits"], o["end_logits"]) for f, o in outputs if f.type_index == ti]
            for ti, label in enumerate(self.asked_types)
        }
        return self.type_probabilities(aligned, per_type)

    # ------------------------------------------------------------------ threshold
    def threshold_sweep(
        self, sentences: Sequence[Sentence], thresholds: Sequence[float] = (), *, batch_size: int = 32, **settings
    ) -> list[dict[str, float]]:
        """Micro P/R/F1 on ``sentences`` at each start/end threshold, from one prediction pass.

        The encoder runs once; only decoding is repeated (:func:`mrc_ner.models.threshold.sweep_rows`).
        ``settings`` are :meth:`predict`'s keywords (types, queries, nested).
        """
        with self.using(**settings) as chosen:
            aligned, outputs = self.run_features(sentences, batch_size=batch_size)
            probs = [self.decode_outputs(al, outs) if al.units else {} for al, outs in zip(aligned, outputs)]
            keep = set(chosen.types) if chosen.types is not None else None

            def decode_at(t: float) -> list[list[Span]]:
                pred = [
                    self.decode_probabilities(al, p, threshold=t) if al.units else [] for al, p in zip(aligned, probs)
                ]
                return pred if keep is None else [[sp for sp in spans if sp.label in keep] for spans in pred]

            return sweep_rows(sentences, decode_at, thresholds)

    def calibrate(self, dev: Sequence[Sentence], *, batch_size: int = 32) -> dict:
        """Set ``options["threshold"]`` to the one that maximises dev micro F1; returns the sweep."""
        rows = self.threshold_sweep(dev, batch_size=batch_size)
        self.options["threshold"] = best_threshold(rows)
        return {"threshold": self.options["threshold"], "sweep": rows}
