"""Length-sorted batching and dynamic padding.

Padding every batch to the longest sequence *of that batch* (not a global maximum)
and grouping sequences of similar length is what makes CPU inference fast: a
batch of 32 in arrival order pads short sentences to the longest one of 32.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, *, shuffle: bool = False, seed: int = 0, max_tokens: int | None = None
) -> list[list[int]]:
    """Group indices into batches of similar length.

    For inference (``shuffle=False``) the indices are sorted by length. For training
    (``shuffle=True``) they are sorted within random buckets of 50 batches, then the
    batches are shuffled, so batches stay homogeneous without a fixed order.
    ``max_tokens`` caps ``batch_len × longest`` so long windows get smaller batches.

    >>> length_sorted_batches([5, 1, 3, 2], 2)
    [[1, 3], [2, 0]]
    """
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
        bucket = batch_size * 50
        order = [
            i for k in range(0, len(order), bucket) for i in sorted(order[k : k + bucket], key=lambda i: lengths[i])
        ]
    else:
        order.sort(key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    longest = 0
    for i in order:
        new_longest = max(longest, lengths[i])
        too_many = len(cur) >= batch_size or (
            max_tokens is not None and cur and new_longest * (len(cur) + 1) > max_tokens
        )
        if too_many:
            batches.append(cur)
            cur, new_longest = [], lengths[i]
        cur.append(i)
        longest = new_longest
    if cur:
        batches.append(cur)
    if shuffle:
        rng.shuffle(batches)
    return batches


def pad_sequences(seqs: Sequence[Sequence[int]], pad: int) -> torch.Tensor:
    """Stack integer sequences into a ``(batch, longest)`` LongTensor padded with ``pad``."""
    longest = max((len(s) for s in seqs), default=0)
    out = torch.full((len(seqs), longest), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        if len(s):
            out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out
