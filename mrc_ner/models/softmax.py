"""``softmax``: encoder + linear token classifier, full fine-tuning.

The patents paper's "Supervised Original", BioBERT-Softmax, the PharmaCoNER baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.encoding.alignment import Aligned
from mrc_ner.models.base import register
from mrc_ner.models.features import Feature
from mrc_ner.models.token_classification import TokenClassificationTagger


@register("softmax")
class SoftmaxTagger(TokenClassificationTagger):
    """Linear layer over the encoder's hidden states, cross-entropy over IOB2 tags."""

    default_options: ClassVar[dict[str, Any]] = {
        **TokenClassificationTagger.default_options,
        "dropout": 0.1,
        "prior_bias": False,
    }

    def build_heads(self) -> None:
        """Dropout + linear classifier."""
        self.dropout = nn.Dropout(self.options["dropout"])
        self.classifier = nn.Linear(self.hidden_size, self.num_tags)

    def prepare_heads(self, feats: Sequence[Feature]) -> None:
        """With ``prior_bias``: the classifier's bias at the log share of each tag in the training features."""
        if not self.options.get("prior_bias"):
            return
        counts = torch.ones(self.num_tags)  # add-one: a tag absent from the data keeps a finite bias
        for f in feats:
            for v in f.labels.get("labels", ()):
                if v >= 0:
                    counts[v] += 1
        with torch.no_grad():
            self.classifier.bias.copy_(torch.log(counts / counts.sum()).to(self.classifier.bias.dtype))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``logits`` (batch, length, tags), and ``loss`` with labels."""
        logits = self.classifier(self.dropout(self.encode(batch)))
        out = {"logits": logits}
        if "labels" in batch:
            out["loss"] = nn.functional.cross_entropy(
                logits.reshape(-1, self.num_tags), batch["labels"].reshape(-1), ignore_index=-100
            )
        return out

    def decode_sentence(
        self, sentence: Sentence, aligned: Aligned, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]
    ) -> list[Span]:
        """Argmax tag per unit, chunks by IOB2, scored by mean tag probability."""
        em = self.unit_emissions(aligned, outputs)
        probs = np.exp(em - em.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ids = em.argmax(-1)
        return self.tags_to_spans(aligned, ids.tolist(), probs[np.arange(len(ids)), ids].tolist())
