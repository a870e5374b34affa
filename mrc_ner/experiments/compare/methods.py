"""The rows of a comparison: ``--methods`` text → :class:`MethodSpec` (a tagger method, its variant
settings, and for ``lm-mixed`` the encoder preparation before it)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from mrc_ner.errors import InputError
from mrc_ner.queries import QUERY_OPTIONS
from mrc_ner.training import TrainArgs

LM_MIXED = "lm-mixed"
ALIASES = {
    "query": "query_kind",
    "end": "end_head",
    "template": "query_template",
    "k": "query_k",
    "select": "query_select",
    "layers": "trainable_layers",
    "hidden": "lstm_hidden",
}


@dataclass(frozen=True)
class Recipe:
    """What a row's method name stands for: the tagger method it trains and whether its
    encoder is first adapted by continued masked-LM pretraining on the fold's text
    (:func:`mrc_ner.training.pretraining.pretrain`, with the row's ``lm_*`` settings)."""

    tagger_method: str
    continued_mlm: bool = False


#: row methods that are more than a tagger class: ``lm-mixed`` is the paper's "BERT LM mixed"
RECIPES: dict[str, Recipe] = {LM_MIXED: Recipe("softmax", continued_mlm=True)}


def recipe(method: str) -> Recipe:
    """The recipe of a row method: a registered tagger method stands for itself."""
    return RECIPES.get(method, Recipe(method))


@dataclass(frozen=True)
class MethodSpec:
    """One row of the comparison: a method and its variant settings.

    ``options`` go to the tagger class, ``create`` to its ``create`` (the row's ``align``;
    query building for query methods), ``train`` override :class:`TrainArgs` fields,
    ``lm`` override :class:`~mrc_ner.training.pretraining.PretrainSettings` fields (rows
    whose recipe pretrains the encoder: ``lm-mixed``).
    """

    name: str
    method: str
    options: dict[str, Any] = field(default_factory=dict)
    create: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    lm: dict[str, Any] = field(default_factory=dict)

    @property
    def tagger_method(self) -> str:
        """The registered tagger trained for this row (``softmax`` for ``lm-mixed``)."""
        return recipe(self.method).tagger_method

    @property
    def continued_mlm(self) -> bool:
        """True when the row's encoder is first pretrained on the fold's text (``lm-mixed``)."""
        return recipe(self.method).continued_mlm

    @property
    def slug(self) -> str:
        """The row's directory name: ``mrc:query=simple`` → ``mrc_query=simple``."""
        return slugify(self.name)


def slugify(name: str) -> str:
    """A file-system-safe name: anything but ``[A-Za-z0-9._=+-]`` becomes ``_``.

    >>> slugify("mrc:end=linear")
    'mrc_end=linear'
    """
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", name).strip("_") or "_"


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_method(text: str) -> MethodSpec:
    """``"mrc:query=simple:end=linear"`` → a :class:`MethodSpec` (see :mod:`mrc_ner.experiments.compare`).

    >>> s = parse_method("partbert-crf:layers=2:head_lr=0.01")
    >>> s.method, s.options, s.train
    ('partbert-crf', {'trainable_layers': 2}, {'head_lr': 0.01})
    """
    from mrc_ner.models import method_names, tagger_class

    name = text.strip()
    method, *parts = [p.strip() for p in name.split(":")]
    known = [*method_names(), *RECIPES]
    if method not in known:
        raise InputError(f"unknown method {method!r} in --methods; choose one of {', '.join(sorted(known))}")
    row = recipe(method)
    cls = tagger_class(row.tagger_method)
    query_keys = set(QUERY_OPTIONS) if cls.takes_queries else set()
    option_keys = {k for k in cls.default_options if k != "queries"}
    train_fields = {f.name for f in fields(TrainArgs)} - {"out_dir", "resume"}
    lm_fields = _pretrain_fields() if row.continued_mlm else set()
    spec = MethodSpec(name=name, method=method)
    for part in parts:
        key, sep, raw = part.partition("=")
        key = ALIASES.get(key.strip(), key.strip())
        if not sep or not key:
            raise InputError(f"bad method variant {part!r} in {name!r}: expected KEY=VALUE")
        value = _value(raw.strip())
        if key in query_keys or key == "align":
            spec.create[key] = value
        elif key in option_keys:
            spec.options[key] = value
        elif key in train_fields:
            spec.train[key] = value
        elif key.startswith("lm_") and key[3:] in lm_fields:
            spec.lm[key[3:]] = value
        else:
            targets = {*query_keys, *option_keys, *train_fields}
            valid = sorted(
                {*targets, *(a for a, t in ALIASES.items() if t in targets), *(f"lm_{f}" for f in lm_fields)}
            )
            raise InputError(f"method {method!r} has no setting {key!r} (in {name!r}); known: {', '.join(valid)}")
    try:
        replace(TrainArgs(), **spec.train)  # a value no run can use fails before any cell trains
    except InputError as e:
        raise InputError(f"{e.message} (in {name!r})") from None
    return spec


def parse_methods(text: str) -> list[MethodSpec]:
    """Comma-separated method specs; row names must be distinct.

    >>> [s.name for s in parse_methods("softmax, crf")]
    ['softmax', 'crf']
    """
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise InputError("--methods is empty: name at least one method")
    specs = [parse_method(t) for t in items]
    seen: set[str] = set()
    for s in specs:
        if s.slug in seen:
            raise InputError(f"method {s.name!r} is listed twice in --methods")
        seen.add(s.slug)
    return specs


def _pretrain_fields() -> set[str]:
    from mrc_ner.training.pretraining import PretrainSettings

    return {f.name for f in fields(PretrainSettings)}
