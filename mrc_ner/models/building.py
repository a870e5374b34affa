"""The one way to build a tagger for training: ``mrc-ner train``, ``mrc-ner compare`` and the benchmarks.

What differs between methods is asked of the tagger class, not of its name:
``default_options`` says which shared options (e.g. ``end_head``, ``lambda``) it
understands, ``takes_queries`` whether it builds entity-type queries from the training
sentences (with :data:`~mrc_ner.queries.QUERY_OPTIONS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mrc_ner.corpus.model import Sentence
from mrc_ner.models.base import Tagger


def build_tagger(
    method: str,
    encoder: str,
    labels: Sequence[str],
    train_sentences: Sequence[Sentence],
    *,
    align: str = "auto",
    max_length: int = 256,
    overlap: int = 64,
    options: Mapping[str, Any] | None = None,
    shared_options: Mapping[str, Any] | None = None,
    query_options: Mapping[str, Any] | None = None,
    seed: int = 0,
    init_from: str | Path | None = None,
) -> Tagger:
    """A new tagger for ``method`` on ``encoder`` (or one initialised from a trained model directory).

    ``options`` are the method's own options; ``shared_options`` are defaults given to
    every method that has them (``options`` win); ``query_options`` (``query_kind``,
    ``query_template``, ``query_k``, ``query_select``) and ``seed`` build the queries of
    a query method from ``train_sentences``. ``align`` ``auto`` is resolved on
    ``train_sentences``.
    """
    from mrc_ner.encoding.alignment import resolve_align
    from mrc_ner.models import tagger_class

    cls = tagger_class(method)
    shared = {k: v for k, v in (shared_options or {}).items() if k in cls.default_options}
    kw: dict[str, Any] = {
        "align_mode": resolve_align(align, train_sentences, queries=cls.takes_queries),
        "max_length": max_length,
        "overlap": overlap,
        "options": {**shared, **(options or {})},
    }
    if init_from is not None:
        return _from_trained(
            cls,
            Path(init_from),
            labels,
            train_sentences,
            kw,
            dict(query_options or {}),
            seed,
            keep_align=align == "auto",
        )
    if cls.takes_queries:
        kw.update(train_sentences=train_sentences, seed=seed, **(query_options or {}))
    return cls.create(encoder, labels, **kw)


def _from_trained(
    cls: type[Tagger],
    directory: Path,
    labels: Sequence[str],
    train_sentences: Sequence[Sentence],
    kw: dict[str, Any],
    query_options: dict[str, Any],
    seed: int,
    *,
    keep_align: bool,
) -> Tagger:
    """Transfer learning: start from a trained model's weights; heads whose shape changed
    with the label set are re-initialised. A query model's heads are shared by all types,
    so it keeps the types it knew and learns the new ones beside them. With ``keep_align``
    (``--align auto``) it keeps the trained model's alignment where that fits the new data
    (``word`` for word-level sentences, a character mode for character-level ones)."""
    from transformers import AutoModel

    from mrc_ner.encoding.alignment import character_level
    from mrc_ner.models import load_tagger
    from mrc_ner.queries import build_queries

    old = load_tagger(directory)
    if keep_align and (old.align_mode != "word") == character_level(train_sentences):
        kw["align_mode"] = old.align_mode
    enc = AutoModel.from_config(old.encoder.config)
    enc.load_state_dict(old.encoder.state_dict())
    labels = list(labels)
    if cls.takes_queries:
        query_kind = query_options.get("query_kind", "examples")
        new_queries = build_queries(
            labels,
            train_sentences,
            kind=query_kind,
            template=query_options.get("query_template"),
            k=query_options.get("query_k", 3),
            select=query_options.get("query_select", "frequency"),
            seed=seed,
        )
        if old.takes_queries:
            new_queries = {**{t: q for t, q in old.options["queries"].items() if t in old.labels}, **new_queries}
            labels = sorted(set(labels) | set(old.labels))
        kw["options"] = {**kw["options"], "queries": new_queries, "query_kind": query_kind}
    new = cls(enc, old.tokenizer, labels=labels, encoder_name=old.encoder_name, **kw)
    own = new.state_dict()
    compatible = {k: v for k, v in old.state_dict().items() if k in own and own[k].shape == v.shape}
    new.load_state_dict(compatible, strict=False)
    new.fresh_heads = not any(k in compatible for k in new.state_dict() if not k.startswith("encoder."))
    return new
