"""``mrc-packed``: every type's query in one input, so one encoder pass per window.

Per-type MRC (:mod:`mrc_ner.models.mrc`) reads each window once per entity type:
three types cost three encoder passes. This variant packs all queries after the
context::

    [CLS] context [SEP] q_1 [SEP] q_2 [SEP] … q_K [SEP]

(context token type 0, queries type 1) and conditions type-specific heads on each
query's representation ``r_k``, the mean of the final hidden states over the tokens
of ``q_k``:

* start: ``linear([h_i; r_k; h_i ⊙ r_k]) → 2`` for every context token ``i`` and type ``k``;
* end: the same with ``softmax(start_k)`` appended when ``end_head="start_aware"``.

Loss, decoding and flat resolution are per-type MRC's. A sentence with
``annotated_types`` (one corpus of a joint training set) keeps every query in its
block, but the heads of the types its corpus does not annotate get no loss. The cost is that of a
sequence labeller (one feature per window); whether the query conditioning is as
good as a separate pass per type is measured, not assumed (``BENCHMARKS.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.encoding.alignment import Aligned
from mrc_ner.errors import InputError
from mrc_ner.models.base import register
from mrc_ner.models.features import Feature
from mrc_ner.models.mrc import MRCTagger


@register("mrc-packed")
class PackedMRCTagger(MRCTagger):
    """All entity-type queries in one input; query-conditioned start/end heads."""

    def build_heads(self) -> None:
        """Query-conditioned start/end heads; the packed query block of the asked types."""
        self.build_start_end_heads(3 * self.hidden_size)  # input [h_i; r_k; h_i ⊙ r_k]
        empty = [t for t, q in self.query_ids.items() if not q]
        if empty:
            raise InputError(
                f"mrc-packed needs a non-empty query for every type (query_kind 'none' gives none): {', '.join(empty)}"
            )

    def apply_settings(self, settings) -> None:
        """The asked types' queries packed into one block, and each query's offset in it."""
        super().apply_settings(settings)
        sep = self.tokenizer.sep_token_id
        block: list[int] = []
        self.query_offsets: list[tuple[int, int]] = []  # (start, length) inside the block
        for t in self.asked_types:
            q = self.asked_query_ids[t]
            if not q:
                raise InputError(f"mrc-packed needs a non-empty query for type {t!r}")
            self.query_offsets.append((len(block), len(q)))
            block += q + [sep]
        self.query_block = block

    # ------------------------------------------------------------------ processor
    def sentence_features(
        self, index: int, sentence: Sentence, aligned: Aligned, *, with_labels: bool
    ) -> list[Feature]:
        """One feature per window: ``[CLS] window [SEP] q_1 [SEP] … q_K [SEP]``."""
        tok = self.tokenizer
        # the pair template counts [CLS] x [SEP] y [SEP]; the block brings K−1 more [SEP]s
        windows = self.windows(len(aligned.input_ids), len(self.query_block) - 1)
        # a type the sentence's corpus does not annotate gets no loss (all labels ignored)
        keep = sentence.annotated_types
        gold = (
            [
                self.unit_start_end(sentence, aligned, label) if keep is None or label in keep else None
                for label in self.asked_types
            ]
            if with_labels
            else None
        )
        feats = []
        for a, b in windows:
            ctx = aligned.input_ids[a:b]
            ids = [tok.cls_token_id] + ctx + [tok.sep_token_id] + self.query_block
            types = [0] * (len(ctx) + 2) + [1] * len(self.query_block)
            f = Feature(ids, types, index, (a, b), context_start=1)
            if gold is not None:
                units = aligned.token_unit[a:b]
                tail = [-100] * (len(self.query_block) + 1)
                for k, flags in enumerate(gold):
                    if flags is None:
                        f.labels[f"start_labels_{k}"] = f.labels[f"end_labels_{k}"] = [-100] * len(ids)
                        continue
                    starts, ends = flags
                    f.labels[f"start_labels_{k}"] = [-100] + [starts[u] if u >= 0 else -100 for u in units] + tail
                    f.labels[f"end_labels_{k}"] = [-100] + [ends[u] if u >= 0 else -100 for u in units] + tail
            feats.append(f)
        return feats

    def collate(self, feats: Sequence[Feature]) -> dict[str, torch.Tensor]:
        """The base batch plus ``query_start``: where each feature's query block begins."""
        batch = super().collate(feats)
        batch["query_start"] = torch.tensor([len(f) - len(self.query_block) for f in feats], dtype=torch.long)
        return batch

    # ------------------------------------------------------------------ model
    def query_vectors(self, h: torch.Tensor, query_start: torch.Tensor) -> torch.Tensor:
        """``(batch, K, hidden)``: the mean hidden state over each query's tokens."""
        vecs = []
        for offset, length in self.query_offsets:
            idx = query_start[:, None] + offset + torch.arange(length, device=h.device)[None, :]  # (B, len)
            tokens = torch.gather(h, 1, idx[:, :, None].expand(-1, -1, h.size(-1)))
            vecs.append(tokens.mean(dim=1))
        return torch.stack(vecs, dim=1)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``start_logits`` and ``end_logits`` ``(batch, length, K, 2)``, and ``loss`` with labels."""
        h = self.dropout(self.encode(batch))
        r = self.query_vectors(h, batch["query_start"])  # (B, K, H)
        hk = h[:, :, None, :].expand(-1, -1, r.size(1), -1)  # (B, L, K, H)
        rk = r[:, None, :, :].expand_as(hk)
        start_logits, end_logits = self.start_end_logits(torch.cat([hk, rk, hk * rk], dim=-1))
        out = {"start_logits": start_logits, "end_logits": end_logits}
        if "start_labels_0" in batch:
            starts = torch.stack([batch[f"start_labels_{k}"] for k in range(len(self.asked_types))], dim=-1)
            ends = torch.stack([batch[f"end_labels_{k}"] for k in range(len(self.asked_types))], dim=-1)
            out["loss"] = self.span_loss(start_logits, end_logits, starts, ends)
        return out

    # ------------------------------------------------------------------ decoder
    def decode_sentence(
        self, sentence: Sentence, aligned: Aligned, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]
    ) -> list[Span]:
        """Per-type MRC decoding on each type's slice of the packed outputs."""
        return self.decode_types(aligned, self.packed_pieces(outputs))

    def packed_pieces(self, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]) -> dict[str, list]:
        """Each asked type's ``(window, start_logits, end_logits)`` slices of the packed outputs."""
        return {
            label: [(f.window, o["start_logits"][:, k], o["end_logits"][:, k]) for f, o in outputs]
            for k, label in enumerate(self.asked_types)
        }

    def decode_outputs(
        self, aligned: Aligned, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """One sentence's packed outputs → per-type unit probabilities."""
        return self.type_probabilities(aligned, self.packed_pieces(outputs))
