"""Which units to mask (80/10/10 mask/random/keep) and the masked batches."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from mrc_ner.encoding.batching import pad_sequences
from mrc_ner.errors import InputError
from mrc_ner.training.pretraining.units import MlmExample

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

IGNORE = -100  # label of a position that is not predicted


@dataclass(frozen=True)
class Masker:
    """Whole-unit masking: ``rate`` of the units, 80/10/10 mask/random/keep per unit.

    ``vocab_size`` bounds the random replacement tokens (special tokens are never drawn).
    """

    mask_id: int
    vocab_size: int
    special_ids: frozenset[int] = frozenset()
    rate: float = 0.15
    mask_share: float = 0.8
    random_share: float = 0.1

    @classmethod
    def for_tokenizer(
        cls, tokenizer: PreTrainedTokenizerBase, *, rate: float = 0.15, vocab_size: int | None = None
    ) -> Masker:
        """A masker using the tokenizer's mask token; random tokens from its vocabulary."""
        if tokenizer.mask_token_id is None:
            raise InputError("the encoder's tokenizer has no mask token: it cannot be trained as a masked LM")
        size = len(tokenizer) if vocab_size is None else min(len(tokenizer), vocab_size)
        return cls(tokenizer.mask_token_id, size, frozenset(tokenizer.all_special_ids), rate)

    def n_masked(self, n_units: int) -> int:
        """How many of ``n_units`` units are chosen: ``max(1, round(rate × n))`` (0 for none)."""
        return min(n_units, max(1, round(self.rate * n_units))) if n_units else 0

    def random_token(self, rng: random.Random) -> int:
        """A uniformly drawn non-special token id."""
        while True:
            t = rng.randrange(self.vocab_size)
            if t not in self.special_ids:
                return t

    def __call__(self, example: MlmExample, rng: random.Random) -> tuple[list[int], list[int]]:
        """(input ids with masking applied, labels: the original ids at chosen positions, else -100)."""
        ids = list(example.input_ids)
        labels = [IGNORE] * len(ids)
        for u in rng.sample(range(len(example.units)), self.n_masked(len(example.units))):
            r = rng.random()
            for pos in example.units[u]:
                labels[pos] = ids[pos]
                if r < self.mask_share:
                    ids[pos] = self.mask_id
                elif r < self.mask_share + self.random_share:
                    ids[pos] = self.random_token(rng)
        return ids, labels


def collate_masked(
    examples: Sequence[MlmExample], masker: Masker, rng: random.Random, *, pad_id: int
) -> dict[str, torch.Tensor]:
    """Mask and pad a batch: ``input_ids``, ``attention_mask``, ``labels`` (dynamic padding)."""
    ids, labels = zip(*(masker(ex, rng) for ex in examples))
    return {
        "input_ids": pad_sequences(ids, pad_id),
        "attention_mask": pad_sequences([[1] * len(x) for x in ids], 0),
        "labels": pad_sequences(labels, IGNORE),
    }


class MaskedBatches(torch.utils.data.Dataset):
    """Pre-planned batches, masked on access with a generator seeded by ``(seed, batch index)``.

    The masks do not depend on the order batches are read in, so a run is reproducible.
    """

    def __init__(
        self,
        examples: Sequence[MlmExample],
        batches: Sequence[Sequence[int]],
        masker: Masker,
        *,
        pad_id: int,
        seed: str,
    ) -> None:
        self.examples, self.batches, self.masker, self.pad_id, self.seed = examples, batches, masker, pad_id, seed

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = random.Random(f"{self.seed}:{i}")
        return collate_masked([self.examples[j] for j in self.batches[i]], self.masker, rng, pad_id=self.pad_id)
