"""``crf`` and ``partbert-crf``: encoder + linear emissions + a linear-chain CRF over IOB2 tags.

* ``crf`` — BioBERT-CRF: the whole encoder is fine-tuned.
* ``partbert-crf`` — the patents paper's PartBERT+CRF: the embeddings and all but the
  last ``trainable_layers`` (default 4) encoder layers are frozen.

Training: the CRF runs over each window's unit-first positions (compacted to the front
with :func:`~mrc_ner.models.crf_layer.compact`); the loss is the negative
log-likelihood summed over windows and divided by the number of tagged units, so its
scale matches the softmax tagger's per-token cross-entropy. The transition scores are
head parameters and get the head learning rate (a CRF needs a high one: 1e-3 default).

Decoding: the windows' emissions are merged to one row per unit
(:meth:`~mrc_ner.models.token_classification.TokenClassificationTagger.unit_emissions`),
then one Viterbi pass runs over the *whole sentence*, so window edges never break the
chain. With ``constrained=True`` (default) Viterbi only produces valid IOB2. A span's
score is the mean over its units of the chosen tag's posterior marginal (exact
forward-backward, not the softmax of the emissions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.encoding.alignment import Aligned
from mrc_ner.errors import InputError
from mrc_ner.models.base import register
from mrc_ner.models.crf_layer import CRF, compact
from mrc_ner.models.features import Feature
from mrc_ner.models.token_classification import TokenClassificationTagger


@register("crf")
class CRFTagger(TokenClassificationTagger):
    """Linear emissions over the encoder's hidden states, a CRF over IOB2 tags."""

    default_options: ClassVar[dict[str, Any]] = {
        **TokenClassificationTagger.default_options,
        "dropout": 0.1,
        "constrained": True,
    }

    def build_heads(self) -> None:
        """Dropout, the emission layer and the CRF."""
        self.dropout = nn.Dropout(self.options["dropout"])
        self.build_emission_head()
        self.crf = CRF(self.num_tags, tag_names=self.tag_names, constrained=bool(self.options["constrained"]))

    def build_emission_head(self) -> None:
        """The layers between the encoder and the emissions (here: one linear layer)."""
        self.classifier = nn.Linear(self.hidden_size, self.num_tags)

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-position tag scores ``(batch, length, tags)``."""
        return self.classifier(self.dropout(self.encode(batch)))

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``logits`` (the emissions), and ``loss`` (CRF NLL per tagged unit) with labels."""
        logits = self.emissions(batch)
        out = {"logits": logits}
        if "labels" in batch:
            em, tags, mask = compact(logits.float(), batch["labels"])
            nll = -self.crf.log_likelihood(em, tags, mask).sum()  # type: ignore[arg-type]
            out["loss"] = nll / mask.sum().clamp(min=1)
        return out

    def decode_sentence(
        self, sentence: Sentence, aligned: Aligned, outputs: Sequence[tuple[Feature, dict[str, np.ndarray]]]
    ) -> list[Span]:
        """Viterbi over the sentence's merged unit emissions; spans scored by mean marginal."""
        path, probs = self.crf.decode(self.unit_emissions(aligned, outputs))
        return self.tags_to_spans(aligned, path, probs)


def encoder_layers(encoder: nn.Module) -> nn.ModuleList:
    """The encoder's stack of transformer layers (``encoder.layer`` in BERT/XLM-R, ``layers`` elsewhere)."""
    for path in ("encoder.layer", "encoder.layers", "layers", "layer", "transformer.layer", "h"):
        mod: object = encoder
        for part in path.split("."):
            mod = getattr(mod, part, None)
            if mod is None:
                break
        if isinstance(mod, nn.ModuleList) and len(mod):
            return mod
    raise InputError(f"cannot find the transformer layers of a {type(encoder).__name__} encoder for partbert-crf")


@register("partbert-crf")
class PartBertCRFTagger(CRFTagger):
    """:class:`CRFTagger` training only the last ``trainable_layers`` encoder layers (PartBERT+CRF)."""

    default_options: ClassVar[dict[str, Any]] = {**CRFTagger.default_options, "trainable_layers": 4}

    def build_heads(self) -> None:
        """The CRF heads, then freeze the embeddings and the lower encoder layers."""
        super().build_heads()
        self.freeze_lower_layers()

    def freeze_lower_layers(self) -> int:
        """Freeze everything in the encoder except its last ``trainable_layers`` layers; returns that count.

        ``trainable_layers`` larger than the encoder's depth trains every layer (the
        embeddings stay frozen); 0 freezes the whole encoder.
        """
        n = int(self.options["trainable_layers"])
        if n < 0:
            raise InputError(f"trainable_layers must be ≥ 0, got {n}")
        layers = encoder_layers(self.encoder)
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        keep = list(layers)[len(layers) - n :] if n else []
        for layer in keep:
            for p in layer.parameters():
                p.requires_grad_(True)
        return len(keep)
