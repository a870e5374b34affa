"""Continued masked-LM pretraining of an encoder on unlabeled text.

The first stage of the "LM mixed" method of the Chinese biomedical patents paper:
adapt a pretrained encoder to the domain with the masked-language-model objective
on raw in-domain text, then fine-tune any mrc-ner method from the result
(``--encoder DIR``). Small named steps a test can call one by one:

1. :func:`read_texts` — plain text files and/or corpus files → :class:`TextLine`.
2. :func:`encode_lines` — lines → :class:`MlmExample` (token ids and maskable *units*),
   long lines split into chunks of ``max_length``.
3. :class:`Masker` — 15 % of the units of an example, 80/10/10 mask/random/keep.
4. :func:`build_masked_lm` — the encoder with an MLM head; :class:`MaskedLMObjective`
   its loss with vocabulary logits computed at the masked positions only.
5. :func:`pretrain` — held-out loss, the :mod:`mrc_ner.training` loop, held-out loss
   again, and :func:`save_encoder_dir`.

Input text
----------
A plain text file is one sentence per line (LF, CRLF, CR and the other line breaks
of :mod:`mrc_ner.corpus.cleaning`). A line with CJK characters is cleaned with
:func:`~mrc_ner.corpus.cleaning.clean_text` exactly like raw patent text (whitespace
removed, or ``-`` inside Latin runs; a line over ``max_length`` characters is split
after ``。！？；``) and is *character-level*. Any other line is *word-level*: its words
and punctuation marks (``\\w+|[^\\w\\s]``, what word-level models use for raw text)
are its words — ``clean_text`` is not applied to it, since it would join English words
with ``-``. Corpus files (column or JSONL, read by
:func:`~mrc_ner.corpus.conll.read_corpus`) give their sentences' text; labels are
ignored; the reader decides which are character-level, as it does for training.

Units and masking (``align``)
-----------------------------
=========  ==========================================  =========================
align      character-level line                        word-level line
=========  ==========================================  =========================
auto       one token per character (``CharVocab``)     tokenizer, whole words
char       one token per character                     one token per character
subword    tokenizer pieces, each a unit               tokenizer, whole words
=========  ==========================================  =========================

One token per character goes through :class:`~mrc_ner.encoding.alignment.CharVocab`,
the mapping the NER models use in ``char`` mode, so pretraining and fine-tuning see
the same tokens, and masking is naturally whole-character. For words all sub-tokens
of a chosen word are masked together (``word_ids`` of the fast tokenizer). The masker
chooses ``max(1, round(rate × units))`` units per example (never special tokens or
padding, never a unit that is only ``<unk>``: there is nothing to learn in predicting
it) and, per chosen unit, replaces all of its tokens by the mask token (80 %), by
random vocabulary tokens (10 %) or keeps them (10 %); the loss is on all of them.
Masks are drawn afresh every epoch from a seeded generator per batch.

The model
---------
If the encoder directory ships an MLM head (its checkpoint has the head weights of
the matching ``*ForMaskedLM`` class) that head is used. Otherwise — the converted
multilingual-e5-small is a bare ``BertModel`` — the ``*ForMaskedLM`` class of the
encoder's config is built around the encoder and its decoder is tied to the word
embeddings: the output vocabulary then starts as the pretrained input vocabulary,
and no 96M-parameter matrix is learned from scratch. The new head starts with an
identity transform dense and the log unigram frequencies of the training text as
decoder bias, and learns at ``head_lr`` (1e-3, as the taggers' new heads); see
:func:`init_new_head` for the measurements behind this.

Tied decoder and ``freeze_embeddings``: with a tied decoder the output projection
*is* the word-embedding matrix, so freezing the embeddings freezes it too (its bias
and the transform still train). That is what ``freeze_embeddings`` does, and it is
said in the log and recorded in ``mrc_ner_pretrain.json`` (``head.decoder_frozen``):
the head then learns to predict in the fixed pretrained embedding space, which is
also the space that fine-tuning with frozen embeddings (the training default) uses.

Output
------
A plain encoder directory: ``save_pretrained`` of the base encoder (the same class
as the input, pooler untouched) in safetensors, the tokenizer files and
``mrc_ner_pretrain.json`` (settings, steps, losses, held-out MLM loss before and
after, the files read). It is built in a temporary directory beside the target and
renamed into place. ``load_encoder(DIR)`` loads it; the MLM head is not saved.
"""

from mrc_ner.training.pretraining.masked_lm import (
    HeadInfo,
    MaskedLMObjective,
    build_masked_lm,
    heldout_loss,
    init_new_head,
)
from mrc_ner.training.pretraining.masking import IGNORE, MaskedBatches, Masker, collate_masked
from mrc_ner.training.pretraining.output import PRETRAIN_MANIFEST, check_output_dir, save_encoder_dir
from mrc_ner.training.pretraining.run import NEW_HEAD_LR, PretrainResult, pretrain
from mrc_ner.training.pretraining.settings import PRETRAIN_ALIGN_MODES, PretrainAlign, PretrainSettings
from mrc_ner.training.pretraining.text import (
    TextLine,
    corpus_lines,
    has_cjk,
    read_text_file,
    read_texts,
    split_heldout,
    text_lines,
)
from mrc_ner.training.pretraining.units import MlmExample, encode_lines, line_mode, special_frame

__all__ = [
    "IGNORE",
    "NEW_HEAD_LR",
    "PRETRAIN_ALIGN_MODES",
    "PRETRAIN_MANIFEST",
    "HeadInfo",
    "MaskedBatches",
    "MaskedLMObjective",
    "Masker",
    "MlmExample",
    "PretrainAlign",
    "PretrainResult",
    "PretrainSettings",
    "TextLine",
    "build_masked_lm",
    "check_output_dir",
    "collate_masked",
    "corpus_lines",
    "encode_lines",
    "has_cjk",
    "heldout_loss",
    "init_new_head",
    "line_mode",
    "pretrain",
    "read_text_file",
    "read_texts",
    "save_encoder_dir",
    "special_frame",
    "split_heldout",
    "text_lines",
]
