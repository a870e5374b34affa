"""The tagger base class every method shares: ``fit / predict / evaluate / save / load``.

A tagger is a ``torch.nn.Module`` made of a pretrained encoder and method-specific
heads. The pipeline for every method is the same three steps, each testable alone:

1. *processor* – :meth:`Tagger.features`: sentences → model inputs. Each sentence is
   aligned (:mod:`mrc_ner.encoding.alignment`), split into windows that fit the
   encoder (:mod:`mrc_ner.encoding.windows`), and each window becomes one or more
   :class:`~mrc_ner.models.features.Feature` (one per entity type for MRC).
2. *model* – :meth:`Tagger.forward`: a padded batch → logits (and the loss when
   labels are given).
3. *decoder* – :meth:`Tagger.decode_sentence`: per-feature outputs, merged back over windows
   to one output per unit, → character spans.

Running the three steps over many sentences (prediction settings, batching) is
:mod:`mrc_ner.models.prediction`, the base class of :class:`Tagger`.

A saved model is a directory: ``config.json`` (method, labels, options, the
encoder's config), ``model.safetensors``, the tokenizer files, ``README.md`` (model
card) and, after training, ``training_args.json`` and ``dev_scores.json``.
:meth:`Tagger.save` writes it (:mod:`mrc_ner.models.saving`) and :meth:`Tagger.load`
restores it offline in one call (:mod:`mrc_ner.models.loading`). The method registry
(:func:`register`, :func:`tagger_class`) maps ``config.json``'s ``method`` to its class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import numpy as np
import torch
from torch import nn

from mrc_ner.corpus.model import Sentence, Span, word_sentence
from mrc_ner.encoding.alignment import Aligned, AlignMode, align, sentence_mode
from mrc_ner.encoding.windows import plan_windows
from mrc_ner.errors import InputError
from mrc_ner.models.features import Feature, collate_features, merge_windows, unit_rows
from mrc_ner.models.prediction import PredictingModule
from mrc_ner.models.saving import FORMAT_VERSION, write_model_dir
from mrc_ner.models.settings import PredictSettings

if TYPE_CHECKING:
    from mrc_ner.evaluation.metrics import Match, Scores
    from mrc_ner.training import LoopState, TrainArgs

_REGISTRY: dict[str, type[Tagger]] = {}
T = TypeVar("T", bound="Tagger")


def register(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: make a tagger class available under a method name."""

    def deco(cls: type[T]) -> type[T]:
        cls.method = name
        _REGISTRY[name] = cls
        return cls

    return deco


def method_names() -> list[str]:
    """Registered method names.

    Every method module registers itself on import, and :mod:`mrc_ner.models` imports
    them all; Python runs a package's ``__init__`` before any of its modules, so by the
    time this module is importable every method is registered.
    """
    return sorted(_REGISTRY)


def tagger_class(method: str) -> type[Tagger]:
    """The tagger class for a method name, or an InputError listing the known ones."""
    names = method_names()
    if method not in _REGISTRY:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(names)}")
    return _REGISTRY[method]


class Tagger(PredictingModule):
    """Base class: an encoder plus heads, with the shared predict/evaluate/save/load logic.

    Subclasses set ``method`` (via :func:`register`), implement :meth:`build_heads`,
    :meth:`sentence_features`, :meth:`forward` and :meth:`decode_sentence`. The prediction
    side (``configure``, ``using``, ``predict``) is inherited from
    :class:`~mrc_ner.models.prediction.PredictingModule`.
    """

    method: ClassVar[str] = ""
    #: True for the query methods: they take queries, nested decoding and a threshold at prediction time
    takes_queries: ClassVar[bool] = False
    #: options a subclass understands, with their defaults (saved in config.json)
    default_options: ClassVar[dict[str, Any]] = {}
    #: :class:`~mrc_ner.training.TrainArgs` fields this method always trains with (``train`` and
    #: ``compare`` apply them over the shared settings; a ``compare`` row may still override them)
    train_recipe: ClassVar[dict[str, Any]] = {}
    #: the pretrained transformers model (its ``config`` is read and saved)
    encoder: Any
    #: the heads' digest kept by int8 quantization (:func:`mrc_ner.models.quantize.quantize_dynamic_int8`)
    _head_digest: str
    #: how prediction arithmetic was made cheaper (``int8``, ``bf16``; :mod:`mrc_ner.models.quantize`), when it was
    quantization: str
    #: False when the heads were taken from a trained model (``--init-from``): training keeps them
    fresh_heads: bool = True

    def __init__(
        self,
        encoder: nn.Module,
        tokenizer: Any,
        *,
        labels: Sequence[str],
        encoder_name: str,
        align_mode: str = "auto",
        max_length: int = 512,
        overlap: int = 64,
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not labels:
            raise InputError("no entity types: the training data has no labelled mentions")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.encoder_name = encoder_name
        self.align_mode = align_mode
        limit = int(getattr(encoder.config, "max_position_embeddings", 512))
        self.max_length = min(int(max_length), limit)
        self.overlap = int(overlap)
        self.options = {**self.default_options, **(options or {})}
        unknown = set(self.options) - set(self.default_options)
        if unknown:
            raise InputError(f"method {self.method!r} has no option(s) {', '.join(sorted(unknown))}")
        self.hidden_size = int(self.encoder.config.hidden_size)
        #: dtype of the autocast that :meth:`predict` runs the model under (None: plain float32)
        self.autocast_dtype: torch.dtype | None = None
        #: prediction-time defaults (:meth:`configure`) and the settings of the call in progress
        self.predict_defaults = PredictSettings()
        self.settings = self.predict_defaults
        # Heads are initialised from a fixed seed, not from whatever the global RNG
        # holds, so the same command builds the same model.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.build_heads()

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, encoder: str, labels: Sequence[str], **kwargs: Any) -> Tagger:
        """A new tagger on a pretrained encoder (name, hub id or directory)."""
        from mrc_ner.encoding.encoders import load_encoder

        enc = load_encoder(encoder)
        return cls(enc.model, enc.tokenizer, labels=labels, encoder_name=str(encoder), **kwargs)

    def build_heads(self) -> None:
        """Create the method's layers (called from ``__init__``)."""
        raise NotImplementedError

    def prepare_heads(self, feats: Sequence[Feature]) -> None:
        """Data-dependent head initialisation from the training features, before a fresh run (default: none)."""

    # ------------------------------------------------------------------ processor
    def mode_for(self, sentence: Sentence) -> AlignMode:
        """The alignment mode for a sentence: the saved mode, or char/word by corpus type."""
        return sentence_mode(self.align_mode, sentence)

    def make_sentence(self, text: str, **kw: Any) -> Sentence:
        """A sentence from raw text, tokenized the way this tagger was trained.

        Word-level models (``align_mode == "word"``) get words and punctuation as
        tokens; character-level models get one token per character.
        """
        if self.align_mode == "word":
            return word_sentence(text, **kw)
        return Sentence.from_text(text, **kw)

    def align(self, sentence: Sentence) -> Aligned:
        """Tokenize a sentence with this tagger's alignment mode."""
        return align(sentence, self.tokenizer, self.mode_for(sentence))

    def context_budget(self, extra_tokens: int = 0) -> int:
        """How many context tokens fit in one window next to the specials and ``extra_tokens``."""
        n_special = self.tokenizer.num_special_tokens_to_add(pair=extra_tokens > 0)
        return self.max_length - n_special - extra_tokens

    def windows(self, n_tokens: int, extra_tokens: int = 0) -> list[tuple[int, int]]:
        """Window plan for a context of ``n_tokens`` tokens."""
        size = self.context_budget(extra_tokens)
        if size < 8:
            raise InputError(f"max_length {self.max_length} leaves only {size} context tokens per window")
        return plan_windows(n_tokens, size=size, overlap=min(self.overlap, size // 2))

    def features(self, sentences: Sequence[Sentence], *, with_labels: bool) -> tuple[list[Feature], list[Aligned]]:
        """All features of all sentences, and each sentence's alignment."""
        feats: list[Feature] = []
        aligned: list[Aligned] = []
        for i, s in enumerate(sentences):
            al = self.align(s)
            aligned.append(al)
            feats.extend(self.sentence_features(i, s, al, with_labels=with_labels))
        return feats, aligned

    def sentence_features(
        self, index: int, sentence: Sentence, aligned: Aligned, *, with_labels: bool
    ) -> list[Feature]:
        """The features of one sentence."""
        raise NotImplementedError

    def collate(self, feats: Sequence[Feature]) -> dict[str, torch.Tensor]:
        """Pad a list of features into a batch of tensors (dynamic padding)."""
        return collate_features(feats, self.tokenizer.pad_token_id)

    def encode(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Run the encoder; returns the last hidden states ``(batch, length, hidden)``."""
        kwargs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        if getattr(self.encoder.config, "type_vocab_size", 0) > 1:
            kwargs["token_type_ids"] = batch["token_type_ids"]
        return self.encoder(**kwargs).last_hidden_state

    # ------------------------------------------------------------------ model
    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Logits for a batch, plus ``loss`` when the batch carries labels."""
        raise NotImplementedError

    # ------------------------------------------------------------------ decoder
    #: per-window arrays → one array over the sentence's tokens (:func:`mrc_ner.models.features.merge_windows`)
    merge_windows = staticmethod(merge_windows)
    #: rows at each unit's first token (:func:`mrc_ner.models.features.unit_rows`)
    unit_rows = staticmethod(unit_rows)

    def decode_sentence(
        self, sentence: Sentence, aligned: Aligned, outputs: list[tuple[Feature, dict[str, np.ndarray]]]
    ) -> list[Span]:
        """Spans of one sentence from the outputs of its features."""
        raise NotImplementedError

    def evaluate(
        self, sentences: Sequence[Sentence], *, batch_size: int = 32, match: Match = "strict", **settings: Any
    ) -> Scores:
        """Entity-level scores of this tagger's predictions against the sentences' gold spans.

        A sentence with ``annotated_types`` is scored on those types only (its corpus
        says nothing about the others). ``settings`` are :meth:`predict`'s keywords.
        """
        from mrc_ner.evaluation.metrics import annotated_only, score_spans

        pred = cast("list[list[Span]]", self.predict(list(sentences), batch_size=batch_size, **settings))
        return score_spans([s.spans for s in sentences], annotated_only(sentences, pred), match=match)

    def calibrate(self, dev: Sequence[Sentence], *, batch_size: int = 32) -> dict[str, Any] | None:
        """Tune prediction options on dev after training (MRC: the threshold); None when there is nothing to tune."""
        return None

    def fit(
        self, train: Sequence[Sentence], dev: Sequence[Sentence] | None = None, args: TrainArgs | None = None, **kw: Any
    ) -> LoopState:
        """Train on ``train``, selecting on ``dev`` (see :func:`mrc_ner.training.train`)."""
        from mrc_ner import training

        return training.train(self, train, dev, args or training.TrainArgs(), **kw)

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters outside the encoder (they get the head learning rate)."""
        enc = {id(p) for p in self.encoder.parameters()}
        return [p for p in self.parameters() if id(p) not in enc]

    # ------------------------------------------------------------------ persistence
    def head_digest(self) -> str:
        """A hash of the heads' weights (kept from before int8 quantization, which hides them)."""
        import hashlib

        if getattr(self, "_head_digest", None):
            return self._head_digest
        h = hashlib.sha256()
        for p in self.head_parameters():
            h.update(p.detach().float().cpu().numpy().tobytes())
        return h.hexdigest()

    def config_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this tagger (without weights)."""
        return {
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "encoder_name": self.encoder_name,
            "encoder_config": self.encoder.config.to_dict(),
            "labels": self.labels,
            "align_mode": self.align_mode,
            "max_length": self.max_length,
            "overlap": self.overlap,
            "options": self.options,
        }

    def saved_config(self) -> dict[str, Any]:
        """``config.json``: :meth:`config_dict` followed by the encoder's own fields at the top level.

        The copy of the encoder's fields (``model_type``, ``hidden_size``, …) lets
        ``transformers.AutoConfig.from_pretrained(model_dir)`` read the encoder's config;
        :meth:`load` reads ``encoder_config``. On a name clash our field wins.
        """
        ours = self.config_dict()
        return {**ours, **{k: v for k, v in ours["encoder_config"].items() if k not in ours}}

    def save(self, directory: str | Path, *, extra_files: dict[str, Any] | None = None) -> Path:
        """Write the model directory atomically (:func:`mrc_ner.models.saving.write_model_dir`; weights last)."""
        from mrc_ner.models.card import model_card

        config = self.saved_config()
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        card = model_card(config, extra_files or {})
        return write_model_dir(
            Path(directory), config=config, state=state, tokenizer=self.tokenizer, card=card, extra_files=extra_files
        )

    @classmethod
    def load(cls, directory: str | Path) -> Tagger:
        """Restore a saved tagger from its directory, offline, in one call (files checked: :mod:`mrc_ner.models.loading`)."""
        from mrc_ner.models.loading import load_tagger_dir

        return load_tagger_dir(directory, tagger_class)


def load_tagger(directory: str | Path) -> Tagger:
    """Load any saved mrc-ner model directory."""
    return Tagger.load(directory)
