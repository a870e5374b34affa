"""The prediction side of a tagger: settings, ``predict`` and the batched forward passes.

:class:`PredictingModule` is the base of :class:`~mrc_ner.models.base.Tagger`. It holds
what turns sentences into spans once a model exists: the prediction settings
(:meth:`~PredictingModule.configure`, :meth:`~PredictingModule.using`; see
:mod:`mrc_ner.models.settings`), :meth:`~PredictingModule.predict`, and the batched,
length-sorted forward passes over every feature (:meth:`~PredictingModule.run_features`).
The steps it calls — ``features``, ``collate``, ``decode_sentence``, ``make_sentence`` —
are the tagger's own (:class:`~mrc_ner.models.base.Tagger` and its methods).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import numpy as np
import torch
from torch import nn

from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.encoding.alignment import Aligned
from mrc_ner.errors import InputError
from mrc_ner.models.features import Feature, FeatureOutputs, outputs_by_sentence
from mrc_ner.models.settings import PredictSettings

#: what :meth:`PredictingModule.predict` calls with the number of features done after each batch
Progress = Callable[[int], object]

P = TypeVar("P", bound="PredictingModule")


class PredictingModule(nn.Module):
    """A module with the prediction surface of a tagger (``configure``, ``using``, ``predict``)."""

    method: ClassVar[str]
    takes_queries: ClassVar[bool]
    labels: list[str]
    #: dtype of the autocast that :meth:`predict` runs the model under (None: plain float32)
    autocast_dtype: torch.dtype | None
    #: prediction-time defaults (:meth:`configure`) and the settings of the call in progress
    predict_defaults: PredictSettings
    settings: PredictSettings

    if TYPE_CHECKING:  # the tagger's own steps (mrc_ner.models.base.Tagger)

        def make_sentence(self, text: str, **kw: Any) -> Sentence: ...

        def features(
            self, sentences: Sequence[Sentence], *, with_labels: bool
        ) -> tuple[list[Feature], list[Aligned]]: ...

        def collate(self, feats: Sequence[Feature]) -> dict[str, torch.Tensor]: ...

        def decode_sentence(
            self, sentence: Sentence, aligned: Aligned, outputs: list[tuple[Feature, dict[str, np.ndarray]]]
        ) -> list[Span]: ...

    def configure(
        self: P,
        *,
        types: Sequence[str] | None = None,
        queries: dict[str, str] | None = None,
        nested: bool | None = None,
        threshold: float | None = None,
    ) -> P:
        """Set the defaults of later :meth:`predict` calls (see :mod:`mrc_ner.models.settings`); returns self."""
        settings = self.predict_defaults.merged(types=types, queries=queries, nested=nested, threshold=threshold)
        settings.check(self.labels, method=self.method, takes_queries=self.takes_queries)
        self.predict_defaults = self.settings = settings
        self.apply_settings(settings)
        return self

    def apply_settings(self, settings: PredictSettings) -> None:
        """Make ``settings`` the ones features and decoding use (query methods rebuild their queries)."""
        self.settings = settings

    @contextmanager
    def using(self, **overrides: Any) -> Iterator[PredictSettings]:
        """Within the block, features and decoding use the current settings with ``overrides`` (checked) applied.

        Blocks nest, and :meth:`predict` inside a block keeps the block's settings (its own
        keyword arguments apply on top); leaving a block restores the settings it found.
        """
        previous = self.settings
        settings = previous.merged(**overrides)
        settings.check(self.labels, method=self.method, takes_queries=self.takes_queries)
        if settings != self.settings:
            self.apply_settings(settings)
        try:
            yield settings
        finally:
            if self.settings != previous:
                self.apply_settings(previous)

    def as_sentences(self, items: Sequence[Sentence | str]) -> list[Sentence]:
        """Sentences as given, and each string as :meth:`make_sentence` of it; InputError otherwise."""
        out: list[Sentence] = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                out.append(self.make_sentence(item))
            elif isinstance(item, Sentence):
                out.append(item)
            else:
                raise InputError(f"item {i} is a {type(item).__name__}, not a string or a Sentence: {item!r:.80}")
        return out

    def predict(
        self,
        sentences: Sequence[Sentence | str] | Sentence | str,
        *,
        batch_size: int = 32,
        progress: Progress | None = None,
        types: Sequence[str] | None = None,
        queries: dict[str, str] | None = None,
        nested: bool | None = None,
        threshold: float | None = None,
    ) -> list[list[Span]] | list[Span]:
        """Predicted spans for every sentence (character offsets, end exclusive).

        Features are batched by length with dynamic padding; long sentences are
        windowed and merged, so every sentence gets an output and nothing is truncated.
        ``progress`` is an optional callable taking the number of features done.

        ``types`` (a subset of the trained types), ``queries`` (``{"TYPE": "question"}``,
        also for types the model was not trained on), ``nested`` and ``threshold``
        (MRC start/end probability) override :meth:`configure`'s defaults for this call;
        see :mod:`mrc_ner.models.settings`. A string is a sentence made by
        :meth:`make_sentence` (offsets into the string); one sentence or string alone
        gives that sentence's spans, not a list of lists.
        """
        single = isinstance(sentences, (str, Sentence))
        if not single and not isinstance(sentences, Sequence):
            raise InputError(f"predict takes a string, a Sentence or a list of them, not a {type(sentences).__name__}")
        items = [sentences] if isinstance(sentences, (str, Sentence)) else sentences
        sentences = self.as_sentences(items)
        with self.using(types=types, queries=queries, nested=nested, threshold=threshold) as settings:
            result = self.predict_with_settings(sentences, batch_size=batch_size, progress=progress)
        if settings.types is not None:
            keep = set(settings.types)
            result = [[sp for sp in spans if sp.label in keep] for spans in result]
        return result[0] if single else result

    @torch.inference_mode()
    def run_features(
        self, sentences: Sequence[Sentence], *, batch_size: int = 32, progress: Progress | None = None
    ) -> tuple[list[Aligned], list[list[FeatureOutputs]]]:
        """Each sentence's alignment and its features' outputs (over their context positions)."""
        was_training = self.training
        self.eval()
        feats, aligned = self.features(sentences, with_labels=False)
        device = next(self.parameters()).device

        def run_batch(chunk: list[Feature]) -> dict[str, torch.Tensor]:
            batch = {k: v.to(device) for k, v in self.collate(chunk).items()}
            dtype = self.autocast_dtype or torch.bfloat16
            with torch.autocast(device.type, dtype=dtype, enabled=self.autocast_dtype is not None):
                return self(batch)

        by_sentence = outputs_by_sentence(feats, len(sentences), run_batch, batch_size=batch_size, progress=progress)
        self.train(was_training)
        return aligned, by_sentence

    def predict_with_settings(
        self, sentences: Sequence[Sentence], *, batch_size: int = 32, progress: Progress | None = None
    ) -> list[list[Span]]:
        """:meth:`predict` under the current :attr:`settings`."""
        aligned, by_sentence = self.run_features(sentences, batch_size=batch_size, progress=progress)
        return [
            self.decode_sentence(s, al, outs) if al.units else []
            for s, al, outs in zip(sentences, aligned, by_sentence)
        ]

    def predict_sentences(self, sentences: Sequence[Sentence | str], **kw: Any) -> list[Sentence]:
        """Copies of the sentences (strings made into sentences) carrying predicted spans."""
        sentences = self.as_sentences(sentences)
        return [s.with_spans(sp) for s, sp in zip(sentences, cast("list[list[Span]]", self.predict(sentences, **kw)))]
