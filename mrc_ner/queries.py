"""MRC queries: one natural-language question per entity type.

Three kinds, as in the BioBERT-MRC paper's ablation:

* ``examples`` – "Can you detect gene entities like BRCA1 or HER2 or p53?", the
  examples drawn from the training set (``k`` most frequent, ``k`` at random
  with the seed, or ``k`` ``distinct`` ones: unambiguous and from different documents);
* ``simple`` – "Can you detect gene entities?";
* ``none`` – the literal query "none".

Templates are JSON files in the repository's ``queries/`` folder (installed as
``mrc_ner.templates``): ``en`` and ``zh`` by language, ``cbp`` for the Chinese
patents. A user can pass the path of their own file. The query texts actually used
are stored in the trained model's config.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from mrc_ner.corpus.model import Sentence, document_of
from mrc_ner.errors import InputError

QueryKind = Literal["examples", "simple", "none"]
QUERY_KINDS = ("examples", "simple", "none")
#: how a query tagger's queries are built (its ``create`` arguments; :func:`build_queries`'s kind, template, k, select)
QUERY_OPTIONS = ("query_kind", "query_template", "query_k", "query_select")
_REPO_QUERIES = Path(__file__).resolve().parents[1] / "queries"


def template_path(name: str) -> Path:
    """The template file for a built-in name (``en``, ``zh``, ``cbp``) or a user path."""
    p = Path(name)
    if p.suffix == ".json" and p.exists():
        return p
    try:
        cand = resources.files("mrc_ner.templates").joinpath(f"{name}.json")
        if cand.is_file():
            return Path(str(cand))
    except ModuleNotFoundError:
        pass
    if (_REPO_QUERIES / f"{name}.json").is_file():
        return _REPO_QUERIES / f"{name}.json"
    raise InputError(f"query template {name!r} not found (built-ins: en, zh, cbp; or give a .json path)")


def load_template(name: str) -> dict:
    """Read and check a query template file."""
    path = template_path(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", path=path, line=e.lineno) from None
    missing = [k for k in ("examples", "simple") if k not in data.get("templates", {})]
    if missing:
        raise InputError(f"template file lacks templates.{missing[0]}", path=path)
    return data


def guess_language(sentences: Sequence[Sentence]) -> str:
    """``zh`` when the text is mostly CJK characters, else ``en``."""
    text = "".join(s.text for s in sentences[:200])
    cjk = sum("\u4e00" <= c <= "\u9fff" for c in text)
    return "zh" if text and cjk > 0.2 * len(text) else "en"


EXAMPLE_SELECTIONS = ("frequency", "random", "distinct")


def _distinct_examples(sentences: Sequence[Sentence], label: str, counts: Counter[str], k: int) -> list[str]:
    """Unambiguous, widespread examples: no other type annotates the string (ignoring case);
    ranked by how many documents mention it, then frequency; one per document while others remain."""
    other: set[str] = set()  # strings (casefolded) annotated with another type
    docs: dict[str, set[str]] = {}  # this type's strings → the documents mentioning them
    for s in sentences:
        for sp in s.spans:
            if sp.label == label:
                docs.setdefault(s.mention(sp), set()).add(document_of(s))
            else:
                other.add(s.mention(sp).casefold())
    ranked = sorted((m for m in counts if m.casefold() not in other), key=lambda m: (-len(docs[m]), -counts[m], m))
    picked: list[str] = []
    used: set[str] = set()
    for m in ranked:  # first pass: each example from documents not yet represented
        if len(picked) < k and not docs[m] & used:
            picked.append(m)
            used |= docs[m]
    picked += [m for m in ranked if m not in picked][: k - len(picked)]
    return picked


def pick_examples(
    sentences: Sequence[Sentence], label: str, *, k: int = 3, select: str = "frequency", seed: int = 0
) -> list[str]:
    """``k`` mention strings of ``label`` from the training sentences.

    ``frequency``: the most frequent (ties by text); ``random``: a seeded sample of distinct mentions;
    ``distinct``: strings no other type annotates (case-insensitive), mentioned in the most
    documents, each from a document the others do not come from while there are such — so that
    one patent's names, or a name another type shares (``ksdA`` gene, ``KsdA`` protein), do not
    make the query.

    >>> from mrc_ner.corpus.model import Span
    >>> s = [Sentence.from_text("ksdA KsdA TP53", [Span(0, 4, "gene"), Span(5, 9, "protein"), Span(10, 14, "gene")])]
    >>> pick_examples(s, "gene", k=2, select="frequency"), pick_examples(s, "gene", k=2, select="distinct")
    (['TP53', 'ksdA'], ['TP53'])
    """
    counts = Counter(s.mention(sp) for s in sentences for sp in s.spans if sp.label == label)
    if select == "frequency":
        return [m for m, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]
    if select == "random":
        pool = sorted(counts)
        return random.Random(seed).sample(pool, min(k, len(pool)))
    if select == "distinct":
        return _distinct_examples(sentences, label, counts, k)
    raise InputError(f"unknown example selection {select!r}; choose {', '.join(EXAMPLE_SELECTIONS)}")


def build_queries(
    labels: Sequence[str],
    sentences: Sequence[Sentence],
    *,
    kind: str = "examples",
    template: str | None = None,
    k: int = 3,
    select: str = "frequency",
    seed: int = 0,
) -> dict[str, str]:
    """One query text per label.

    >>> s = [Sentence.from_text("BRCA1 and p53", [])]
    >>> build_queries(["gene"], s, kind="simple", template="en")
    {'gene': 'Can you detect gene entities?'}
    """
    if kind not in QUERY_KINDS:
        raise InputError(f"unknown query kind {kind!r}; choose one of {', '.join(QUERY_KINDS)}")
    data = load_template(template or guess_language(sentences))
    types = data.get("types", {})
    joiner = data.get("joiner", " or ")
    out = {}
    for label in labels:
        info = types.get(label, {})
        name = info.get("name", label)
        if kind == "none":
            out[label] = data["templates"].get("none", "none")
            continue
        fields = {"type": name, "description": info.get("description", name), "examples": ""}
        if kind == "examples":
            ex = pick_examples(sentences, label, k=k, select=select, seed=seed)
            if not ex:
                out[label] = data["templates"]["simple"].format(**fields)
                continue
            fields["examples"] = joiner.join(ex)
        out[label] = data["templates"][kind].format(**fields)
    return out
