"""``hf-softmax``: the plain Hugging Face token-classification fine-tune, as a reference row.

What a user would write instead of mrc-ner (``run_ner_no_trainer.py``): the tokenizer's
standard handling of pre-split words (``is_split_into_words``, the label on each
word's first sub-token — for a character corpus every character is a word), the
``*ForTokenClassification`` head (dropout at the encoder's ``classifier_dropout`` or
``hidden_dropout_prob``, a linear layer initialised ``N(0, initializer_range)`` with a
zero bias), cross-entropy, and the usual recipe: every window kept, embeddings
trained, the encoder's own attention dropout, 10 % warmup then linear decay (:attr:`HFSoftmaxTagger.train_recipe`).

It shares the training loop, windowing and evaluator with every other method, so
``compare`` measures mrc-ner's own choices against it instead of remembering a figure.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from mrc_ner.corpus.model import Sentence
from mrc_ner.encoding.alignment import AlignMode
from mrc_ner.models.base import register
from mrc_ner.models.softmax import SoftmaxTagger
from mrc_ner.models.token_classification import TokenClassificationTagger


@register("hf-softmax")
class HFSoftmaxTagger(SoftmaxTagger):
    """``AutoModelForTokenClassification`` with the tokenizer's word handling and the usual recipe."""

    default_options: ClassVar[dict[str, Any]] = dict(
        TokenClassificationTagger.default_options
    )  # the dropout comes from the encoder's config
    #: training settings of the reference recipe; they override the shared ones for this method
    train_recipe: ClassVar[dict[str, Any]] = {
        "freeze_embeddings": False,
        "negative_ratio": 1.0,
        "warmup_ratio": 0.1,
        "schedule": "linear",
        "attention_dropout": None,  # the encoder's own, as transformers trains it
    }

    def mode_for(self, sentence: Sentence) -> AlignMode:
        """Always the tokenizer's own handling of words (characters, in a character corpus)."""
        return "word"

    def build_heads(self) -> None:
        """The ``*ForTokenClassification`` head: dropout and a linear layer, initialised as transformers does."""
        cfg = self.encoder.config
        p = getattr(cfg, "classifier_dropout", None)
        self.dropout = nn.Dropout(p if p is not None else getattr(cfg, "hidden_dropout_prob", 0.1))
        self.classifier = nn.Linear(self.hidden_size, self.num_tags)
        nn.init.normal_(self.classifier.weight, std=float(getattr(cfg, "initializer_range", 0.02)))
        nn.init.zeros_(self.classifier.bias)
