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
:func:`~mrc_ner.corpus.readers.read_corpus`) give their sentences' text; labels are
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

from __future__ import annotations

import math
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from mrc_ner.corpus.cleaning import INVISIBLE, LINE_BREAKS, clean_text
from mrc_ner.corpus.model import word_tokens
from mrc_ner.corpus.readers import read_corpus
from mrc_ner.encoding.alignment import char_vocab
from mrc_ner.encoding.batching import length_sorted_batches, pad_sequences
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_dir, atomic_write_json, quiet_transformers, read_text_lines

PretrainAlign = Literal["auto", "char", "subword"]
PRETRAIN_ALIGN_MODES: tuple[str, ...] = ("auto", "char", "subword")
MANIFEST = "mrc_ner_pretrain.json"
IGNORE = -100

# Han ideographs (unified, extension A, compatibility, the supplementary planes) and kana.
_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_BREAK_RE = re.compile("[" + re.escape("".join(sorted(LINE_BREAKS))) + "]")


# --------------------------------------------------------------------------- settings


@dataclass
class PretrainSettings:
    """Hyper-parameters of a pretraining run (stored in ``mrc_ner_pretrain.json``)."""

    epochs: int = 3
    max_steps: int | None = None  # overrides epochs: as many passes as needed, then stop
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float | None = None  # MLM transform and bias; None: 1e-3 for a new head, lr for a shipped one
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    max_length: int = 128
    seed: int = 42
    align: str = "auto"
    mask_rate: float = 0.15
    freeze_embeddings: bool = False
    eval_fraction: float = 0.05
    max_eval_lines: int = 1000
    eval_batch_size: int = 32

    def check(self) -> None:
        """Raise :class:`InputError` for values no run can use."""
        if self.align not in PRETRAIN_ALIGN_MODES:
            raise InputError(f"unknown alignment mode {self.align!r}; choose one of {', '.join(PRETRAIN_ALIGN_MODES)}")
        if self.epochs < 1 or self.batch_size < 1 or (self.max_steps is not None and self.max_steps < 1):
            raise InputError("epochs, batch size and max steps must be positive")
        if not 0 < self.mask_rate < 1:
            raise InputError(f"mask rate must be between 0 and 1, got {self.mask_rate}")
        if not 0 <= self.eval_fraction < 1:
            raise InputError(f"held-out fraction must be in [0, 1), got {self.eval_fraction}")
        if self.max_length < 8:
            raise InputError(f"max length {self.max_length} is too short (at least 8 tokens)")
        if self.lr <= 0 or (self.head_lr is not None and self.head_lr <= 0):
            raise InputError("learning rates must be positive")


# --------------------------------------------------------------------------- input text


@dataclass(frozen=True)
class TextLine:
    """One line of unlabeled text.

    ``char_level`` lines are tokenized per character (in ``auto`` and ``char`` mode);
    ``words`` are the words of a word-level line (None for character-level ones).
    """

    text: str
    char_level: bool
    words: tuple[str, ...] | None = None


def has_cjk(text: str) -> bool:
    """True when ``text`` has a Han or kana character.

    >>> has_cjk("检测BRCA1突变"), has_cjk("BRCA1 mutation")
    (True, False)
    """
    return _CJK_RE.search(text) is not None


def text_lines(raw: str, *, max_chars: int | None = None) -> list[TextLine]:
    """Plain text → lines (see the module docstring: CJK lines cleaned, others split into words).

    >>> [(t.text, t.char_level) for t in text_lines("检测 BRCA1  基因\\n\\nTP53  binds DNA.")]
    [('检测BRCA1基因', True), ('TP53 binds DNA.', False)]
    """
    out: list[TextLine] = []
    for line in _BREAK_RE.split(raw):
        if has_cjk(line):
            out.extend(TextLine(s.text, True) for s in clean_text(line, max_len=max_chars).sentences)
            continue
        line = "".join(ch for ch in line if ch not in INVISIBLE)
        words = [line[a:b] for a, b in word_tokens(line)]  # the tokens of word-level sentences
        if words:
            out.append(TextLine(" ".join(line.split()), False, tuple(words)))
    return out


def _text_files(path: Path) -> list[Path]:
    """A file as given, or the plain-text files of a directory (by the package's one suffix policy)."""
    from mrc_ner.corpus.readers import list_inputs

    if path.is_file():
        return [path]
    return [f.path for f in list_inputs([path], purpose="raw", only=frozenset({"text"}))]


def read_text_file(path: str | os.PathLike, *, max_chars: int | None = None) -> list[TextLine]:
    """The lines of one plain text file (UTF-8, BOM allowed); a blank file is an InputError."""
    path = Path(path)
    lines = text_lines("\n".join(read_text_lines(path)), max_chars=max_chars)
    if not lines:
        raise InputError("no text: the file is empty or blank", path=path)
    return lines


def corpus_lines(paths: Sequence[str | os.PathLike]) -> list[TextLine]:
    """The sentences of column/JSONL files or directories as lines (labels ignored)."""
    out = []
    for s in read_corpus(list(paths)).sentences:
        if s.text.strip():
            out.append(TextLine(s.text, s.char_level, None if s.char_level else tuple(s.words)))
    return out


def read_texts(
    texts: Sequence[str | os.PathLike] = (), corpora: Sequence[str | os.PathLike] = (), *, max_chars: int | None = None
) -> tuple[list[TextLine], list[Path]]:
    """All lines of plain text files/directories (``texts``) and corpus files/directories.

    Returns the lines and the files read (corpus directories are listed as given).
    """
    if not texts and not corpora:
        raise InputError("no input: give plain text (--text) and/or corpus files (--corpus)")
    lines: list[TextLine] = []
    files: list[Path] = []
    for raw in texts:
        for f in _text_files(Path(raw)):
            lines.extend(read_text_file(f, max_chars=max_chars))
            files.append(f)
    for raw in corpora:
        got = corpus_lines([raw])
        if not got:
            raise InputError("no text in the corpus", path=raw)
        lines.extend(got)
        files.append(Path(raw))
    return lines, files


def split_heldout(
    lines: Sequence[TextLine], fraction: float, *, seed: int, max_lines: int | None = None
) -> tuple[list[TextLine], list[TextLine]]:
    """A seeded split into (train, held-out) lines; held-out is ``fraction`` of them (at least one).

    Nothing is held out when ``fraction`` is 0 or there are fewer than two lines.
    """
    if fraction <= 0 or len(lines) < 2:
        return list(lines), []
    n = max(1, round(fraction * len(lines)))
    if max_lines is not None:
        n = min(n, max_lines)
    order = list(range(len(lines)))
    random.Random(seed).shuffle(order)
    held = set(order[:n])
    return [x for i, x in enumerate(lines) if i not in held], [x for i, x in enumerate(lines) if i in held]


# --------------------------------------------------------------------------- tokens and units


@dataclass(frozen=True)
class MlmExample:
    """One model input: token ids with the special tokens, and the maskable units.

    ``units[u]`` lists the input positions of unit ``u`` (a character or a word),
    never a special token.
    """

    input_ids: tuple[int, ...]
    units: tuple[tuple[int, ...], ...]
    mode: str

    def __len__(self) -> int:
        return len(self.input_ids)


def line_mode(line: TextLine, align: str) -> str:
    """``char``, ``subword`` or ``word``: how a line is tokenized under ``align`` (module table)."""
    if align == "char":
        return "char"
    if not line.char_level:
        return "word"
    return "subword" if align == "subword" else "char"


def special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a single sequence."""
    body = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for i in range(len(full) - len(body) + 1):
        if full[i : i + len(body)] == body:
            return full[:i], full[i + len(body) :]
    return [tokenizer.cls_token_id] if tokenizer.cls_token_id is not None else [], [
        tokenizer.sep_token_id
    ] if tokenizer.sep_token_id is not None else []


def _groups_of(ids: Sequence[int], unit_of: Sequence[int | None]) -> list[list[int]]:
    """Consecutive tokens with the same unit id → one group each (None: a group of its own)."""
    groups: list[list[int]] = []
    last: object = object()
    for tid, u in zip(ids, unit_of):
        if u is None or u != last or not groups:
            groups.append([tid])
        else:
            groups[-1].append(tid)
        last = u if u is not None else object()
    return groups


def _pack(groups: list[list[int]], budget: int) -> Iterator[list[list[int]]]:
    """Chunks of whole groups, at most ``budget`` tokens each; an over-long group is cut."""
    chunk: list[list[int]] = []
    size = 0
    for g in groups:
        pieces = [g[k : k + budget] for k in range(0, len(g), budget)]
        for p in pieces:
            if size + len(p) > budget and chunk:
                yield chunk
                chunk, size = [], 0
            chunk.append(p)
            size += len(p)
    if chunk:
        yield chunk


def encode_lines(
    lines: Sequence[TextLine], tokenizer, *, align: str = "auto", max_length: int = 128
) -> list[MlmExample]:
    """Tokenize lines into examples of at most ``max_length`` tokens (long lines become chunks)."""
    prefix, suffix = special_frame(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise InputError(f"max length {max_length} leaves no room next to the special tokens")
    unk = tokenizer.unk_token_id
    modes = [line_mode(x, align) for x in lines]
    groups: list[list[list[int]] | None] = [None] * len(lines)

    cv = char_vocab(tokenizer)
    for i, (x, m) in enumerate(zip(lines, modes)):
        if m == "char":
            groups[i] = [[cv.lookup(c)] for c in x.text]
    sub = [i for i, m in enumerate(modes) if m == "subword"]
    if sub:
        enc = tokenizer([lines[i].text for i in sub], add_special_tokens=False)
        for i, ids in zip(sub, enc["input_ids"]):
            groups[i] = [[t] for t in ids]
    word = [i for i, m in enumerate(modes) if m == "word"]
    if word:
        enc = tokenizer(
            [list(lines[i].words or lines[i].text.split()) for i in word],
            is_split_into_words=True,
            add_special_tokens=False,
        )
        for k, i in enumerate(word):
            groups[i] = _groups_of(enc["input_ids"][k], enc.word_ids(k))

    out: list[MlmExample] = []
    for g, m in zip(groups, modes):
        for chunk in _pack(g or [], budget):
            ids = list(prefix)
            units = []
            for piece in chunk:
                positions = tuple(range(len(ids), len(ids) + len(piece)))
                ids.extend(piece)
                if any(t != unk for t in piece):
                    units.append(positions)
            ids.extend(suffix)
            out.append(MlmExample(tuple(ids), tuple(units), m))
    return out


# --------------------------------------------------------------------------- masking


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
    def for_tokenizer(cls, tokenizer, *, rate: float = 0.15, vocab_size: int | None = None) -> Masker:
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


# --------------------------------------------------------------------------- the model


@dataclass
class HeadInfo:
    """How the MLM head came about (recorded in the manifest)."""

    model_class: str
    shipped: bool  # the checkpoint had the head's weights
    tied: bool  # decoder weight is the word-embedding matrix
    decoder_frozen: bool = False
    masked_only_logits: bool = True  # vocabulary logits at masked positions only
    init: str = "checkpoint"  # or "identity dense, log-unigram bias" for a new head
    lr: float | None = None


def build_masked_lm(encoder) -> tuple[nn.Module, HeadInfo]:
    """The ``*ForMaskedLM`` model around ``encoder.model`` (a :class:`LoadedEncoder`'s base model).

    The MLM model's base is *replaced by* ``encoder.model`` itself, so training updates
    the object that :func:`save_encoder_dir` saves (same class, pooler included; the
    pooler is frozen — the MLM loss does not reach it). The head is the checkpoint's
    when it ships one; otherwise it is new (see :func:`init_new_head`) and its decoder
    is tied to the word embeddings.
    """
    from transformers import AutoModelForMaskedLM

    try:
        with quiet_transformers():
            mlm, info = AutoModelForMaskedLM.from_pretrained(encoder.path, output_loading_info=True)
    except (OSError, ValueError, KeyError) as e:
        model_type = getattr(encoder.model.config, "model_type", "?")
        raise InputError(
            f"cannot build a masked-LM model for this encoder (model type {model_type!r}): {str(e).splitlines()[0] if str(e) else type(e).__name__}",
            path=encoder.path,
        ) from None
    prefix = mlm.base_model_prefix
    shipped = not any(not k.startswith(prefix + ".") for k in info.get("missing_keys", ()))
    setattr(mlm, prefix, encoder.model)  # one copy of the encoder: the one that is saved
    for name, p in encoder.model.named_parameters():
        if name.startswith("pooler."):
            p.requires_grad_(False)
    decoder = mlm.get_output_embeddings()
    text_config = mlm.config.get_text_config() if hasattr(mlm.config, "get_text_config") else mlm.config
    tie = decoder is not None and (not shipped or bool(getattr(text_config, "tie_word_embeddings", True)))
    if tie:
        decoder.weight = encoder.model.get_input_embeddings().weight
    return mlm, HeadInfo(model_class=type(mlm).__name__, shipped=shipped, tied=tie)


def init_new_head(mlm: nn.Module, examples: Sequence[MlmExample], *, smoothing: float = 0.01) -> None:
    """Initialise a new MLM head: identity transform dense, log-unigram decoder bias.

    The decoder is tied, so the head must map final hidden states into the input
    embedding space; an identity dense reads them there directly (the residual stream
    carries the input embeddings forward), a random one scrambles them. The bias is
    ``log((count + s) / (N + s·V))`` over the tokens of the maskable units of
    ``examples`` (the training text), so the head starts as a unigram model instead of
    a uniform guess. Measured on 479 masked held-out tokens of a cbp_gold patent with
    multilingual-e5-small (uniform guess: 12.43 nats): default init (dense ~ N(0, 0.02),
    zero bias) 13.33; identity dense 12.47; default dense + unigram bias 6.75;
    identity + unigram bias 6.22. A lower start means smaller, less random
    gradients into the pretrained encoder in the first steps, which matters most
    in short adaptation runs.
    """
    head = getattr(mlm, _head_name(mlm) or "", None)
    hidden = int(
        mlm.config.get_text_config().hidden_size if hasattr(mlm.config, "get_text_config") else mlm.config.hidden_size
    )
    decoder = mlm.get_output_embeddings()
    with torch.no_grad():
        if head is not None:
            for module in head.modules():
                if isinstance(module, nn.Linear) and module is not decoder and module.weight.shape == (hidden, hidden):
                    module.weight.copy_(torch.eye(hidden, dtype=module.weight.dtype))
                    if module.bias is not None:
                        module.bias.zero_()
        if decoder is not None and decoder.bias is not None:
            vocab = decoder.bias.shape[0]
            counts = torch.zeros(vocab, dtype=torch.float64)
            ids = [x.input_ids[p] for x in examples for unit in x.units for p in unit]
            if ids:
                counts += torch.bincount(torch.tensor(ids), minlength=vocab)[:vocab].double()
            bias = torch.log((counts + smoothing) / (counts.sum() + smoothing * vocab))
            decoder.bias.copy_(bias.to(decoder.bias.dtype))


def _head_name(mlm: nn.Module) -> str | None:
    """The one child module besides the base model (``cls``, ``lm_head``), else None."""
    names = [n for n, _ in mlm.named_children() if n != mlm.base_model_prefix]
    return names[0] if len(names) == 1 else None


class MaskedLMObjective(nn.Module):
    """The MLM loss of a ``*ForMaskedLM`` model, as a module ``accelerate`` can prepare.

    The vocabulary logits are computed only at the labelled (masked) positions: the
    hidden states there are gathered before the head, which is exact (the head acts
    per position). With multilingual-e5-small's 250k vocabulary and a batch of 8 × 128
    tokens, logits everywhere would be a 1 GB float32 tensor (its gradient as much
    again) and ~200 GFLOP; at the ~65 masked positions they are 65 MB and ~13 GFLOP,
    which makes the whole forward pass ~4× cheaper. Models
    whose head is not one child module (DistilBERT, ELECTRA) fall back to the full forward.

    ``forward(batch)`` returns ``loss`` (mean over masked tokens), ``loss_sum`` and ``count``.
    """

    def __init__(self, mlm: nn.Module) -> None:
        super().__init__()
        self.mlm = mlm
        self.head_name = _head_name(mlm)

    @property
    def encoder(self) -> nn.Module:
        """The base encoder (what is saved)."""
        return self.mlm.base_model

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters outside the encoder: the MLM transform and the decoder bias."""
        enc = {id(p) for p in self.encoder.parameters()}
        return [p for p in self.parameters() if id(p) not in enc]

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        labels = batch["labels"]
        selected = labels != IGNORE
        if self.head_name is None:
            logits = self.mlm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[selected]
        else:
            hidden = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
            logits = getattr(self.mlm, self.head_name)(hidden[selected])
        target = labels[selected]
        loss_sum = nn.functional.cross_entropy(logits.float(), target, reduction="sum")
        count = target.numel()
        return {"loss": loss_sum / max(count, 1), "loss_sum": loss_sum.detach(), "count": torch.tensor(count)}


def freeze_embeddings(objective: MaskedLMObjective) -> int:
    """Freeze the word embeddings (a tied decoder with them); returns the frozen parameter count."""
    n = 0
    for p in objective.encoder.get_input_embeddings().parameters():
        if p.requires_grad:
            p.requires_grad_(False)
            n += p.numel()
    return n


# --------------------------------------------------------------------------- evaluation


@torch.no_grad()
def heldout_loss(
    objective: MaskedLMObjective,
    examples: Sequence[MlmExample],
    masker: Masker,
    *,
    pad_id: int,
    batch_size: int = 32,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[float | None, int]:
    """(mean MLM loss per masked token, masked tokens) on ``examples``, masks fixed by ``seed``.

    The same seed gives the same masks, so a before/after comparison is like for like.
    """
    if not examples:
        return None, 0
    was_training = objective.training
    objective.eval()
    total, count = 0.0, 0
    batches = length_sorted_batches([len(x) for x in examples], batch_size)
    data = MaskedBatches(examples, batches, masker, pad_id=pad_id, seed=f"eval:{seed}")
    for i in range(len(data)):
        batch = {k: v.to(device) for k, v in data[i].items()}
        out = objective(batch)
        total += float(out["loss_sum"])
        count += int(out["count"])
    objective.train(was_training)
    return (total / count if count else None), count


# --------------------------------------------------------------------------- output


def check_output_dir(out: str | os.PathLike, *, overwrite: bool) -> Path:
    """Fail early (before any training) when ``out`` cannot be written."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise InputError("output exists and is not a directory", path=out)
        if any(out.iterdir()) and not overwrite:
            raise InputError("output directory exists and is not empty (pass --overwrite to replace it)", path=out)
    return out


def save_encoder_dir(
    model, tokenizer, out: str | os.PathLike, manifest: dict[str, Any], *, overwrite: bool = False
) -> Path:
    """Write an encoder directory atomically: weights, tokenizer files and ``mrc_ner_pretrain.json``.

    Built in a temporary directory beside ``out`` and renamed into place; a replaced
    directory is moved aside first and deleted after.
    """
    out = check_output_dir(out, overwrite=overwrite)
    with atomic_dir(out, merge=False) as tmp:  # a replaced directory is moved aside first, deleted after
        with quiet_transformers():
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        atomic_write_json(tmp / MANIFEST, manifest)
    return out


# --------------------------------------------------------------------------- the run


@dataclass
class PretrainResult:
    """What a run did; ``to_manifest()`` is ``mrc_ner_pretrain.json``."""

    out: Path
    encoder: str
    encoder_path: str
    settings: PretrainSettings
    files: list[str]
    lines: dict[str, int]
    examples: dict[str, int]
    head: HeadInfo
    steps: int = 0
    epochs_run: int = 0
    final_loss: float | None = None  # mean of the last 10 step losses
    first_losses: list[float] = field(default_factory=list)  # the first 10 step losses
    last_losses: list[float] = field(default_factory=list)  # the last 10
    heldout: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    steps_per_second: float = 0.0
    unk_chars: int = 0

    def to_manifest(self) -> dict[str, Any]:
        import transformers

        from mrc_ner import __version__

        return {
            "format": 1,
            "method": "masked-lm continued pretraining (LM mixed, stage 1)",
            "encoder": self.encoder,
            "encoder_path": self.encoder_path,
            "settings": asdict(self.settings),
            "files": self.files,
            "lines": self.lines,
            "examples": self.examples,
            "unk_chars": self.unk_chars,
            "head": asdict(self.head),
            "steps": self.steps,
            "epochs_run": self.epochs_run,
            "final_loss": self.final_loss,
            "first_losses": self.first_losses,
            "last_losses": self.last_losses,
            "heldout": self.heldout,
            "train_seconds": round(self.seconds, 3),
            "steps_per_second": round(self.steps_per_second, 4),
            "versions": {"mrc_ner": __version__, "torch": torch.__version__, "transformers": transformers.__version__},
        }


NEW_HEAD_LR = 1e-3  # as TrainArgs.head_lr: a new head learns faster than the pretrained encoder


def _training_args(settings: PretrainSettings, total_steps: int, *, new_head: bool):
    from mrc_ner.training import TrainArgs

    head_lr = settings.head_lr if settings.head_lr is not None else (NEW_HEAD_LR if new_head else settings.lr)
    return TrainArgs(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        encoder_lr=settings.lr,
        head_lr=head_lr,
        weight_decay=settings.weight_decay,
        warmup_ratio=settings.warmup_ratio,
        max_grad_norm=settings.max_grad_norm,
        seed=settings.seed,
        max_steps=total_steps,
        freeze_embeddings=settings.freeze_embeddings,
    )


def pretrain(
    encoder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    texts: Sequence[str | os.PathLike] = (),
    corpora: Sequence[str | os.PathLike] = (),
    settings: PretrainSettings | None = None,
    overwrite: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> PretrainResult:
    """Continue masked-LM training of ``encoder`` on the text; save the encoder to ``out``.

    ``log`` receives one-line messages (sizes, the held-out losses, notes).
    """
    from accelerate import Accelerator
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from mrc_ner.encoding.encoders import load_encoder
    from mrc_ner.training import LoopState, build_optimizer, build_scheduler, set_seed, train_epoch

    settings = settings or PretrainSettings()
    settings.check()
    say = log or (lambda msg: None)
    out = check_output_dir(out, overwrite=overwrite)
    lines, files = read_texts(texts, corpora, max_chars=settings.max_length - 2)

    enc = load_encoder(encoder)
    limit = int(getattr(enc.model.config, "max_position_embeddings", 512))
    max_length = min(settings.max_length, limit)
    masker = Masker.for_tokenizer(enc.tokenizer, rate=settings.mask_rate, vocab_size=int(enc.model.config.vocab_size))
    pad_id = enc.tokenizer.pad_token_id if enc.tokenizer.pad_token_id is not None else 0

    train_lines, eval_lines = split_heldout(
        lines, settings.eval_fraction, seed=settings.seed, max_lines=settings.max_eval_lines
    )
    train_ex = encode_lines(train_lines, enc.tokenizer, align=settings.align, max_length=max_length)
    eval_ex = encode_lines(eval_lines, enc.tokenizer, align=settings.align, max_length=max_length)
    train_ex = [x for x in train_ex if x.units]
    eval_ex = [x for x in eval_ex if x.units]
    if not train_ex:
        raise InputError(
            "no trainable text: every line is empty or unknown to the tokenizer", path=files[0] if files else None
        )
    cv = char_vocab(enc.tokenizer)
    unk_chars = sum(cv.lookup(c) == cv.unk_id for x in lines if line_mode(x, settings.align) == "char" for c in x.text)
    modes: dict[str, int] = {}
    for x in train_ex + eval_ex:
        modes[x.mode] = modes.get(x.mode, 0) + 1
    say(
        f"{len(lines)} lines from {len(files)} file(s): {len(train_lines)} for training, {len(eval_lines)} held out; "
        f"{len(train_ex)} + {len(eval_ex)} examples ("
        + ", ".join(f"{n} {m}" for m, n in sorted(modes.items()))
        + ")"
        + (f"; {unk_chars} characters unknown to the vocabulary" if unk_chars else "")
    )

    set_seed(settings.seed)
    mlm, head = build_masked_lm(enc)
    objective = MaskedLMObjective(mlm)
    if settings.freeze_embeddings:
        n = freeze_embeddings(objective)
        head.decoder_frozen = head.tied
        say(
            f"froze {n / 1e6:.1f}M embedding parameters"
            + (
                "; the MLM decoder is tied to them and stays frozen too (its bias and transform train)"
                if head.tied
                else ""
            )
        )
    if not head.shipped:
        init_new_head(mlm, train_ex)
        head.init = "identity dense, log-unigram bias"
        say(f"new MLM head ({head.model_class})" + (", decoder tied to the word embeddings" if head.tied else ""))

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    batches_per_epoch = len(length_sorted_batches([len(x) for x in train_ex], settings.batch_size))
    total_steps = settings.max_steps if settings.max_steps is not None else batches_per_epoch * settings.epochs
    args = _training_args(settings, total_steps, new_head=not head.shipped)
    head.lr = args.head_lr
    optimizer = build_optimizer(objective, args)
    scheduler = build_scheduler(optimizer, total_steps, settings.warmup_ratio)
    model, optimizer, scheduler = accelerator.prepare(objective, optimizer, scheduler)

    result = PretrainResult(
        out=out,
        encoder=str(encoder),
        encoder_path=str(enc.path),
        settings=settings,
        files=[str(f) for f in files],
        lines={"total": len(lines), "train": len(train_lines), "heldout": len(eval_lines)},
        examples={
            "train": len(train_ex),
            "heldout": len(eval_ex),
            **{f"mode_{m}": n for m, n in sorted(modes.items())},
        },
        head=head,
        unk_chars=unk_chars,
    )
    before, n_eval = heldout_loss(
        objective,
        eval_ex,
        masker,
        pad_id=pad_id,
        batch_size=settings.eval_batch_size,
        seed=settings.seed,
        device=accelerator.device,
    )
    if before is not None:
        say(f"held-out MLM loss before: {before:.4f} ({n_eval} masked tokens)")

    state = LoopState()
    losses: list[float] = []
    columns = [
        TextColumn("[bold]pretrain epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    t0 = time.perf_counter()
    set_seed(settings.seed)  # dropout does not depend on how the head was built
    with Progress(*columns, disable=not progress or not accelerator.is_main_process) as bar:
        task = bar.add_task("pretrain", total=total_steps, epoch=1, loss=math.nan)
        live = progress and bar.console.is_terminal
        every = max(1, total_steps // 10)

        def on_step(loss: float, n: int) -> None:
            losses.append(loss)
            bar.update(task, advance=n, loss=loss)
            if not live and len(losses) % every == 0:  # no live bar (a log file): a line every 10 %
                say(
                    f"step {len(losses)}/{total_steps}: loss {loss:.4f}, {len(losses) / (time.perf_counter() - t0):.3f} steps/s"
                )

        epoch = 0
        while state.step < total_steps:
            batches = length_sorted_batches(
                [len(x) for x in train_ex], settings.batch_size, shuffle=True, seed=settings.seed + epoch
            )
            data = MaskedBatches(train_ex, batches, masker, pad_id=pad_id, seed=f"train:{settings.seed}:{epoch}")
            loader = accelerator.prepare(torch.utils.data.DataLoader(data, batch_size=None, shuffle=False))
            bar.update(task, epoch=epoch + 1)
            train_epoch(model, loader, optimizer, scheduler, accelerator, args, state, on_step=on_step)
            epoch += 1
    seconds = time.perf_counter() - t0
    after, _ = heldout_loss(
        objective,
        eval_ex,
        masker,
        pad_id=pad_id,
        batch_size=settings.eval_batch_size,
        seed=settings.seed,
        device=accelerator.device,
    )
    if after is not None:
        say(f"held-out MLM loss after:  {after:.4f}")

    result.steps, result.epochs_run = state.step, epoch
    result.first_losses = [round(x, 4) for x in losses[:10]]
    result.last_losses = [round(x, 4) for x in losses[-10:]]
    result.final_loss = sum(losses[-10:]) / len(losses[-10:]) if losses else None
    result.seconds, result.steps_per_second = seconds, state.step / max(seconds, 1e-9)
    result.heldout = {
        "lines": len(eval_lines),
        "examples": len(eval_ex),
        "masked_tokens": n_eval,
        "loss_before": before,
        "loss_after": after,
    }
    if accelerator.is_main_process:
        enc.model.eval()
        save_encoder_dir(
            accelerator.unwrap_model(model).encoder, enc.tokenizer, out, result.to_manifest(), overwrite=overwrite
        )
    say(
        f"saved the encoder to {out} ({state.step} steps, {result.steps_per_second:.2f} steps/s, final loss {result.final_loss:.4f})"
    )
    return result
