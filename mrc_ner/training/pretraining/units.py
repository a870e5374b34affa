"""Lines → :class:`MlmExample`: token ids and maskable units (characters, words or pieces), long lines chunked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mrc_ner.encoding.alignment import char_vocab
from mrc_ner.errors import InputError
from mrc_ner.training.pretraining.text import TextLine

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


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


def special_frame(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
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
    lines: Sequence[TextLine], tokenizer: PreTrainedTokenizerBase, *, align: str = "auto", max_length: int = 128
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
