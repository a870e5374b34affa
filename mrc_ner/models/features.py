"""Model inputs and per-feature outputs: :class:`Feature`, padding into batches, batched runs,
and merging window outputs back to one row per token and per unit.

A sentence longer than the encoder's window is cut into overlapping windows
(:mod:`mrc_ner.encoding.windows`); each window (and, for MRC, each entity type)
is one :class:`Feature`. After the model has run, :class:`OutputPool` keeps each
feature's rows over its context positions, :func:`merge_windows` joins a
sentence's windows (each token from the window where it is farthest from an
edge) and :func:`unit_rows` reads one row per alignment unit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from mrc_ner.encoding.alignment import Aligned
from mrc_ner.encoding.batching import length_sorted_batches, pad_sequences
from mrc_ner.encoding.windows import owner_of_positions


@dataclass
class Feature:
    """One model input: a window of one sentence (and, for MRC, one entity type).

    ``input_ids`` include the special tokens. Context token ``window[0] + k`` of the
    sentence sits at input position ``context_start + k``. ``labels`` holds per-input
    position label lists (-100 = ignored), keyed by name.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    sentence: int
    window: tuple[int, int]
    context_start: int = 1
    type_index: int = -1
    labels: dict[str, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)


#: one feature and its outputs over its context positions, by output name
FeatureOutputs = tuple[Feature, dict[str, np.ndarray]]


def collate_features(feats: Sequence[Feature], pad_token_id: int | None) -> dict[str, torch.Tensor]:
    """Pad features into a batch of tensors (dynamic padding; labels padded with -100)."""
    ids = pad_sequences([f.input_ids for f in feats], pad_token_id if pad_token_id is not None else 0)
    batch = {
        "input_ids": ids,
        "attention_mask": pad_sequences([[1] * len(f) for f in feats], 0),
        "token_type_ids": pad_sequences([f.token_type_ids for f in feats], 0),
    }
    if feats and feats[0].labels:
        for key in feats[0].labels:
            batch[key] = pad_sequences([f.labels[key] for f in feats], -100)
    if any(f.type_index >= 0 for f in feats):
        batch["type_index"] = torch.tensor([f.type_index for f in feats], dtype=torch.long)
    return batch


def batch_arrays(out: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """A batch's per-position outputs (the loss left out) as float32 numpy arrays."""
    return {k: v.float().cpu().numpy() for k, v in out.items() if k != "loss" and v.dim() >= 2}


def context_rows(array: np.ndarray, row: int, feat: Feature) -> np.ndarray:
    """The rows of one batch row that belong to the feature's context window."""
    return array[row, feat.context_start : feat.context_start + feat.window[1] - feat.window[0]]


class OutputPool:
    """The per-feature outputs of one prediction pass, in one block per output.

    Each batch's context rows are copied into a block allocated once, at the first
    batch. Keeping views of every batch's tensors instead left thousands of small
    blocks alive between the encoder's large transient ones until decoding, which
    pinned glibc's heap: 2,477 instead of 1,706 MB for 1,200 cbp sentences with
    glibc's default settings (``BENCHMARKS.md``, *Extraction memory*).

    >>> f = Feature([0, 5, 6, 0], [0] * 4, sentence=0, window=(0, 2))
    >>> pool = OutputPool([f])
    >>> pool.store([0], {"logits": torch.arange(8.0).reshape(1, 4, 2)})
    >>> pool.outputs(0)["logits"].tolist()
    [[2.0, 3.0], [4.0, 5.0]]
    """

    def __init__(self, feats: Sequence[Feature]) -> None:
        self.feats = feats
        self.offsets = np.zeros(len(feats) + 1, dtype=np.int64)
        np.cumsum([f.window[1] - f.window[0] for f in feats], out=self.offsets[1:])
        self.blocks: dict[str, np.ndarray] = {}

    def store(self, indices: Sequence[int], out: dict[str, torch.Tensor]) -> None:
        """Copy batch row ``r``'s context rows in as feature ``indices[r]``'s outputs."""
        arrays = batch_arrays(out)
        if not self.blocks:
            total = int(self.offsets[-1])
            self.blocks = {k: np.empty((total,) + a.shape[2:], dtype=a.dtype) for k, a in arrays.items()}
        for row, i in enumerate(indices):
            a, b = self.offsets[i], self.offsets[i + 1]
            for k, arr in arrays.items():
                self.blocks[k][a:b] = context_rows(arr, row, self.feats[i])

    def outputs(self, index: int) -> dict[str, np.ndarray]:
        """Feature ``index``'s outputs over its context positions (views into the blocks)."""
        a, b = self.offsets[index], self.offsets[index + 1]
        return {k: block[a:b] for k, block in self.blocks.items()}


def outputs_by_sentence(
    feats: Sequence[Feature],
    n_sentences: int,
    run_batch: Callable[[list[Feature]], dict[str, torch.Tensor]],
    *,
    batch_size: int = 32,
    progress: Callable[[int], object] | None = None,
) -> list[list[FeatureOutputs]]:
    """Run ``run_batch`` on length-sorted batches of ``feats``; each sentence's features with their outputs.

    ``progress`` (optional) is called with the number of features of each batch done.
    """
    pool = OutputPool(feats)
    for b in length_sorted_batches([len(f) for f in feats], batch_size):
        pool.store(b, run_batch([feats[i] for i in b]))
        if progress is not None:
            progress(len(b))
    by_sentence: list[list[FeatureOutputs]] = [[] for _ in range(n_sentences)]
    for i, f in enumerate(feats):
        by_sentence[f.sentence].append((f, pool.outputs(i)))
    return by_sentence


def merge_windows(n_tokens: int, pieces: Sequence[tuple[tuple[int, int], np.ndarray]]) -> np.ndarray:
    """Per-window arrays → one array over the sentence's tokens.

    Each token takes the row from the window in which it is farthest from an edge.
    """
    windows = [w for w, _ in pieces]
    first = pieces[0][1]
    out = np.zeros((n_tokens,) + first.shape[1:], dtype=first.dtype)
    owner = owner_of_positions(n_tokens, windows)
    for t in range(n_tokens):
        (a, _), arr = pieces[owner[t]]
        out[t] = arr[t - a]
    return out


def unit_rows(aligned: Aligned, per_token: np.ndarray) -> np.ndarray:
    """Rows of ``per_token`` at each unit's first token, in unit order."""
    idx = np.zeros(len(aligned.units), dtype=np.int64)
    for t, u in enumerate(aligned.token_unit):
        if u >= 0:
            idx[u] = t
    return per_token[idx] if len(idx) else per_token[:0]
