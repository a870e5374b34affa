"""``bilstm-crf``: encoder → BiLSTM → linear → CRF (BioBERT-BiLSTM-CRF).

The BiLSTM reads every token of a window (specials and sub-tokens included; padding is
packed away so the backward direction starts at the window's real end). ``lstm_hidden``
is the *total* size of both directions (default 256 = 2 × 128). Training and decoding
are those of :class:`~mrc_ner.models.crf.CRFTagger`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mrc_ner.errors import InputError
from mrc_ner.models.base import register
from mrc_ner.models.crf import CRFTagger


@register("bilstm-crf")
class BiLSTMCRFTagger(CRFTagger):
    """A bidirectional LSTM between the encoder and the CRF's emission layer."""

    default_options: ClassVar[dict[str, Any]] = {**CRFTagger.default_options, "lstm_hidden": 256, "lstm_layers": 1}

    def build_emission_head(self) -> None:
        """BiLSTM (``lstm_hidden`` total, ``lstm_layers`` deep) + linear emissions."""
        hidden = int(self.options["lstm_hidden"])
        if hidden < 2 or hidden % 2:
            raise InputError(f"lstm_hidden must be an even number ≥ 2 (both directions together), got {hidden}")
        layers = int(self.options["lstm_layers"])
        self.lstm = nn.LSTM(
            self.hidden_size,
            hidden // 2,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=self.options["dropout"] if layers > 1 else 0.0,
        )
        self.classifier = nn.Linear(hidden, self.num_tags)

    def emissions(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Encoder → dropout → BiLSTM (packed by the attention mask) → dropout → linear."""
        h = self.dropout(self.encode(batch))
        lengths = batch["attention_mask"].sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=h.size(1))
        return self.classifier(self.dropout(out))
