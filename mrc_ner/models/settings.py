"""What a prediction call may choose without retraining: types, queries, nested decoding, threshold.

:class:`PredictSettings` is what :meth:`mrc_ner.models.base.Tagger.predict` takes as
keyword arguments (``types=``, ``queries=``, ``nested=``, ``threshold=``) and what
:meth:`~mrc_ner.models.base.Tagger.configure` keeps as a tagger's defaults (the CLI's
``--types``, ``--query``, ``--nested``, ``--threshold``).

The rule for which types are asked:

* ``types`` given: exactly these; each must be a trained type or have a query in ``queries``;
* ``types`` not given: every trained type, plus every type named in ``queries``.

A query for a trained type replaces its trained question; a query for another type
asks the model zero-shot. Queries, nested decoding and the threshold need a query
method (``mrc``, ``mrc-packed``); a sequence labeller can only be restricted to a
subset of its types (its other predictions are dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mrc_ner.errors import InputError


@dataclass(frozen=True)
class PredictSettings:
    """Prediction-time choices; None / empty = the model's own (trained) behaviour."""

    types: tuple[str, ...] | None = None
    queries: dict[str, str] = field(default_factory=dict)
    nested: bool = False
    threshold: float | None = None

    def merged(
        self,
        *,
        types: Sequence[str] | None = None,
        queries: dict[str, str] | None = None,
        nested: bool | None = None,
        threshold: float | None = None,
    ) -> PredictSettings:
        """These settings with the given (non-None) values replacing them.

        >>> PredictSettings(nested=True).merged(threshold=0.3)
        PredictSettings(types=None, queries={}, nested=True, threshold=0.3)
        """
        out = self
        if types is not None:
            out = replace(out, types=tuple(types))
        if queries is not None:
            out = replace(out, queries=dict(queries))
        if nested is not None:
            out = replace(out, nested=bool(nested))
        if threshold is not None:
            out = replace(out, threshold=float(threshold))
        return out

    def asked_types(self, trained: Sequence[str]) -> list[str]:
        """The types a query model asks (see the module docstring).

        >>> PredictSettings(queries={"gene": "Which genes?"}).asked_types(["disease"])
        ['disease', 'gene']
        >>> PredictSettings(types=("gene",), queries={"gene": "Which genes?"}).asked_types(["disease"])
        ['gene']
        """
        if self.types is not None:
            return list(self.types)
        return list(trained) + [t for t in self.queries if t not in trained]

    def check(self, trained: Sequence[str], *, method: str, takes_queries: bool) -> None:
        """Raise :class:`InputError` for settings this model cannot honour."""
        if not takes_queries:
            what = [
                name
                for name, used in (
                    ("queries", bool(self.queries)),
                    ("nested decoding", self.nested),
                    ("a threshold", self.threshold is not None),
                )
                if used
            ]
            if what:
                raise InputError(
                    f"{' and '.join(what)} need an MRC model (mrc, mrc-packed); this model's method is {method!r}"
                )
        if self.threshold is not None and not 0.0 < self.threshold < 1.0:
            raise InputError(f"threshold must be between 0 and 1, got {self.threshold}")
        for t, q in self.queries.items():
            if not t or not isinstance(q, str) or not q.strip():
                raise InputError(f'query for type {t!r} is empty; give TYPE="question"')
        if self.types is not None:
            if not self.types:
                raise InputError("no entity types asked (types is empty)")
            unknown = [t for t in self.types if t not in trained and t not in self.queries]
            if unknown:
                hint = f'; give a query for it (--query {unknown[0]}="…")' if takes_queries else ""
                raise InputError(f"type(s) {', '.join(unknown)} not trained (trained: {', '.join(trained)}){hint}")


def parse_types(text: str | None) -> list[str] | None:
    """``"gene,disease"`` → ``["gene", "disease"]``; None or blank → None.

    >>> parse_types(" gene, disease ")
    ['gene', 'disease']
    """
    if text is None or not text.strip():
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_queries(items: Sequence[str]) -> dict[str, str] | None:
    """``['gene=Which genes are mentioned?']`` → ``{"gene": "Which genes are mentioned?"}``; none → None.

    >>> parse_queries(['gene="Which genes?"'])
    {'gene': 'Which genes?'}
    """
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        label, sep, question = item.partition("=")
        question = question.strip()
        if len(question) >= 2 and question[0] == question[-1] and question[0] in "\"'":
            question = question[1:-1]
        if not sep or not label.strip() or not question.strip():
            raise InputError(f'--query expects TYPE="question", got {item!r}')
        out[label.strip()] = question
    return out
