"""Tiny models for tests, doctests and examples: built offline in seconds, deterministic.

:func:`build_tiny_encoder` writes a small random BERT whose vocabulary is made from
some texts; :func:`tiny_model` trains a ``softmax`` tagger on top of it until it
remembers a handful of sentences, and saves it as a model directory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: the sentences :func:`tiny_model` learns: ``(text, [(start, end, label), ...])``
EXAMPLES: tuple[tuple[str, tuple[tuple[int, int, str], ...]], ...] = (
    ("检测BRCA1突变", ((2, 7, "gene"),)),
    ("BRCA1突变导致乳腺癌", ((0, 5, "gene"), (9, 12, "disease"))),
    ("TP53基因与肺癌相关", ((0, 4, "gene"), (7, 9, "disease"))),
    ("本发明涉及检测方法", ()),
)

#: English sentences for a word-level tiny model (``tiny_model(..., examples=EXAMPLES_EN, align="word")``)
EXAMPLES_EN: tuple[tuple[str, tuple[tuple[int, int, str], ...]], ...] = (
    ("BRCA1 mutations cause breast cancer .", ((0, 5, "gene"), (22, 35, "disease"))),
    ("The TP53 gene is mutated in lung cancer .", ((4, 8, "gene"), (28, 39, "disease"))),
    ("We tested the method .", ()),
)


def build_tiny_encoder(
    path: Path, texts: list[str], *, hidden: int = 32, layers: int = 2, max_positions: int = 128, seed: int = 0
) -> Path:
    """A tiny BERT (random weights) with a WordPiece vocab made from ``texts``.

    The vocab holds every character (bare and ``##``-prefixed) and every
    whitespace-separated word, so character and word alignment both work.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]  # lazy alias

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for t in texts for c in t if not c.isspace()})
    words = sorted({w for t in texts for w in t.split() if len(w) > 1})
    vocab = (
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        + chars
        + [f"##{c}" for c in chars]
        + [w for w in words if w not in chars]
    )
    vocab = list(dict.fromkeys(vocab))
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # positional: transformers 5 calls the argument `vocab` and ignores `vocab_file=`
    BertTokenizerFast(
        str(path / "vocab.txt"), do_lower_case=False, tokenize_chinese_chars=True, model_max_length=max_positions
    ).save_pretrained(str(path))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=max_positions,
    )
    BertModel(config).save_pretrained(str(path))
    return path


def tiny_model(
    directory: str | Path,
    *,
    examples: Sequence[tuple[str, Sequence[tuple[int, int, str]]]] = EXAMPLES,
    align: str = "char",
    method: str = "softmax",
    epochs: int = 25,
    extra_texts: Sequence[str] = (),
    seed: int = 0,
) -> Path:
    """Train a tiny tagger on ``examples`` (it learns them by heart) and save it to ``directory``.

    ``extra_texts`` only widen the vocabulary. About ten seconds on one CPU core.
    """
    from mrc_ner.corpus.model import Sentence, Span, word_tokens
    from mrc_ner.models import tagger_class
    from mrc_ner.training import TrainArgs

    sentences = []
    for text, spans in examples:
        sp = [Span(a, b, lab) for a, b, lab in spans]
        if align == "word":
            sentences.append(Sentence(text, word_tokens(text), sp, char_level=False))
        else:
            sentences.append(Sentence.from_text(text, sp))
    labels = sorted({s.label for sent in sentences for s in sent.spans})
    work = Path(tempfile.mkdtemp(prefix="mrc-ner-tiny-"))
    try:
        enc = build_tiny_encoder(work / "encoder", [t for t, _ in examples] + list(extra_texts), seed=seed)
        tagger = tagger_class(method).create(str(enc), labels, align_mode=align, max_length=64)
        args = TrainArgs(
            epochs=epochs,
            batch_size=4,
            encoder_lr=3e-3,
            head_lr=3e-2,
            warmup_ratio=0.0,
            seed=seed,
            patience=epochs,
            freeze_embeddings=False,
            log_every=10**6,
        )
        tagger.fit(sentences, None, args, progress=False)
        return tagger.save(directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
