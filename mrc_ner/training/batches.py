"""Training features into batches: negative sampling, length-sorted shuffled loaders."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

import torch

from mrc_ner.encoding.batching import length_sorted_batches
from mrc_ner.training.args import LabelledFeature, TaggerLike, TrainArgs

F = TypeVar("F", bound=LabelledFeature)


class FeatureBatches(torch.utils.data.Dataset):
    """Pre-built batches of features (length-sorted buckets), collated on access."""

    def __init__(self, tagger: TaggerLike, feats: Sequence[LabelledFeature], batches: list[list[int]]) -> None:
        self.tagger, self.feats, self.batches = tagger, feats, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.tagger.collate([self.feats[j] for j in self.batches[i]])


def is_negative(feature: LabelledFeature) -> bool:
    """True when a feature holds no entity at all (every label is 0, O or ignored)."""
    return all(v <= 0 for labels in feature.labels.values() for v in labels)


def sample_negatives(feats: list[F], ratio: float, seed: int) -> list[F]:
    """Keep every feature with an entity and a seeded ``ratio`` of those without.

    On CPU this is what makes MRC training affordable: most (window, type) pairs
    contain no mention of that type. ``ratio=1`` keeps everything.
    """
    if ratio >= 1.0:
        return feats
    rng = random.Random(seed)
    return [f for f in feats if not is_negative(f) or rng.random() < ratio]


def make_loader(
    tagger: TaggerLike, feats: Sequence[LabelledFeature], args: TrainArgs, epoch: int
) -> torch.utils.data.DataLoader:
    """A loader over length-bucketed batches, reshuffled per epoch with the seed."""
    batches = length_sorted_batches(
        [len(f) for f in feats], args.batch_size, shuffle=True, seed=args.seed + epoch, max_tokens=args.max_tokens
    )
    return torch.utils.data.DataLoader(FeatureBatches(tagger, feats, batches), batch_size=None, shuffle=False)
