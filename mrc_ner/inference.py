"""Inference: load a saved model and tag raw text, with offsets into the string given.

The one home of "load a model for inference" (:func:`load_model`: a local directory or
a Hugging Face hub id, a device, ``--quantize``) and of document tagging, which
``predict``, ``extract`` and the Python API (:func:`mrc_ner.load`) share:

raw text → cleaning (:func:`clean_document`, keeping a map back to the raw text) →
one sentence per line (long lines split after ``。！？；``) → the tagger's windows and
batches (:meth:`~mrc_ner.models.base.Tagger.predict`) → spans mapped back to
character offsets into the raw text (:func:`original_span`), ``end`` exclusive.

>>> import tempfile, mrc_ner
>>> from mrc_ner.testing import tiny_model
>>> path = tiny_model(tempfile.mkdtemp() + "/model")   # a tiny model trained on four sentences
>>> tagger = mrc_ner.load(path)
>>> [e.to_dict() | {"score": round(e.score, 1)} for e in tagger("检测BRCA1突变")]
[{'start': 2, 'end': 7, 'label': 'gene', 'text': 'BRCA1', 'score': 1.0}]
>>> text = "本发明涉及检测方法\\n  检测 BRCA1 突变"      # lines are cleaned; offsets stay in ``text``
>>> [(e.start, e.end, e.label, text[e.start:e.end]) for e in tagger(text)]
[(15, 20, 'gene', 'BRCA1')]
>>> [len(ents) for ents in tagger(["TP53基因与肺癌相关", "", "检测BRCA1突变"])]
[2, 0, 1]
>>> import shutil; shutil.rmtree(path.parent)
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

from mrc_ner.corpus.cleaning import LINE_BREAKS, CleanSentence, clean_text, is_blank, split_at_punct
from mrc_ner.corpus.model import Sentence, Span
from mrc_ner.corpus.sentences import sentence_bounds
from mrc_ner.errors import InputError

if TYPE_CHECKING:
    from mrc_ner.models.base import Tagger
    from mrc_ner.models.onnx_tagger import OnnxTagger

    #: a tagger that predicts: a torch one, or one whose forward pass runs in onnxruntime
    Predictor = Tagger | OnnxTagger

#: values of ``device``: ``auto`` is CUDA when torch sees a GPU (and ``quantize`` is not int8), else the CPU
DEVICE_HELP = "cpu, cuda, cuda:N, mps or auto (a GPU when there is one)."


@dataclass(frozen=True)
class Entity:
    """A mention found in a text: ``text[start:end]`` of the string tagged (``end`` exclusive)."""

    start: int
    end: int
    label: str
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """``{"start", "end", "label", "text", "score"}``."""
        return asdict(self)


# ----------------------------------------------------------------------------- loading


def resolve_device(device: str | None = "auto", *, quantize: str = "none") -> str:
    """The torch device to run on; InputError for a malformed or unavailable one.

    >>> resolve_device("cpu"), resolve_device("auto", quantize="int8")
    ('cpu', 'cpu')
    """
    import torch

    name = str(device or "auto").strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() and quantize != "int8" else "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise InputError(f"unknown device {device!r}; use {DEVICE_HELP}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r}: torch sees no CUDA GPU here; use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError(f"device {device!r}: MPS is not available here; use --device cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise InputError(f"unsupported device {device!r}; use {DEVICE_HELP}")
    return str(dev)


_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def hub_reachable(endpoint: str, timeout: float) -> bool:
    """Whether a TCP connection to the hub's host opens within ``timeout`` seconds (name lookup included)."""
    import socket

    url = urlparse(endpoint)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    ok: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)  # getaddrinfo ignores socket timeouts: bound it here
    t.start()
    t.join(timeout)
    return bool(ok)


def fetch_from_hub(repo_id: str, *, timeout: float = 10.0) -> Path:
    """The local snapshot of a hub model: the Hugging Face cache first, then a download.

    Never hangs offline: with ``HF_HUB_OFFLINE`` set, or when the hub's host does not
    answer within ``timeout`` seconds, only the cache is tried, else an InputError.
    """
    try:
        from huggingface_hub import constants, snapshot_download
    except ImportError:
        raise InputError(
            f"{repo_id!r} is not a local directory, and fetching it from the hub needs huggingface_hub"
        ) from None
    where = f"{repo_id!r} is not a local model directory, and as a Hugging Face hub id it cannot be fetched"
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not in the cache (huggingface_hub raises several types for that)
        pass
    offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in (
        "1",
        "true",
        "yes",
        "on",
    )
    if offline:
        raise InputError(f"{where}: the hub is switched off (HF_HUB_OFFLINE) and it is not in the cache")
    if not hub_reachable(constants.ENDPOINT, timeout):
        raise InputError(f"{where}: {constants.ENDPOINT} did not answer within {timeout:g} s (offline?)")
    try:
        return Path(snapshot_download(repo_id, etag_timeout=timeout))
    except Exception as e:  # missing repo, gated repo, network error: all the user's to fix
        raise InputError(f"{where}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A model directory: the path itself when it exists, else a hub id's snapshot (:func:`fetch_from_hub`)."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InputError("not a model directory (a file)", path=path)
        return path
    if _HUB_ID.fullmatch(name) and not name.startswith((".", "~")):
        return fetch_from_hub(name)
    raise InputError("no such model directory", path=path)


def load_model(name_or_path: str | os.PathLike, *, device: str | None = "auto", quantize: str = "none") -> Tagger:
    """A saved tagger ready to predict: from a directory or hub id, on ``device``, quantized as asked."""
    from mrc_ner.models.quantize import QUANTIZE_CHOICES, load_for_inference

    if quantize not in QUANTIZE_CHOICES:  # before any download
        raise InputError(f"--quantize must be one of {', '.join(QUANTIZE_CHOICES)}, not {quantize!r}")
    dev = resolve_device(device, quantize=quantize)
    return load_for_inference(resolve_model(name_or_path), quantize=quantize, device=dev)


# ----------------------------------------------------------------------------- cleaning


def clean_keep_spaces(raw: str, *, max_len: int | None = None, sentences: bool = True) -> list[CleanSentence]:
    """Like :func:`~mrc_ner.corpus.cleaning.clean_text`, but a whitespace run becomes one space.

    For word-level (English) models: words stay words. Leading and trailing whitespace
    and zero-width characters go; each line is split into sentences
    (:func:`~mrc_ner.corpus.sentences.sentence_bounds`, unless ``sentences`` is False),
    and sentences longer than ``max_len`` after ``。！？；``.

    >>> [s.text for s in clean_keep_spaces("  BRCA1 \\t is\\u200b mutated \\r\\n\\nin cancer")]
    ['BRCA1 is mutated', 'in cancer']
    >>> [s.text for s in clean_keep_spaces("TP53 (Fig. 2) rose 3.5-fold. Smith et al. agree.")]
    ['TP53 (Fig. 2) rose 3.5-fold.', 'Smith et al. agree.']
    """
    out: list[CleanSentence] = []
    start = 0
    for i in range(len(raw) + 1):
        if i < len(raw) and raw[i] not in LINE_BREAKS:
            continue
        chars: list[str] = []
        offsets: list[int] = []
        pending_space: int | None = None
        for j in range(start, i):
            ch = raw[j]
            if is_blank(ch):
                if ch.isspace() and pending_space is None and chars:
                    pending_space = j
                continue
            if pending_space is not None:
                chars.append(" ")
                offsets.append(pending_space)
                pending_space = None
            chars.append(ch)
            offsets.append(j)
        start = i + 1
        if not chars:
            continue
        text = "".join(chars)
        for a, b in sentence_bounds(text, char_level=False) if sentences else [(0, len(text))]:
            pieces = split_at_punct(text[a:b]) if max_len is not None and b - a > max_len else [(0, b - a)]
            out.extend(CleanSentence(text[a + p : a + q], offsets[a + p : a + q]) for p, q in pieces)
    return out


def resolve_whitespace(mode: str, tagger: Predictor) -> str:
    """``dash`` or ``space``: ``auto`` is ``space`` for word-level models, ``dash`` otherwise."""
    if mode != "auto":
        return mode
    return "space" if getattr(tagger, "align_mode", "") == "word" else "dash"


def clean_document(
    text: str, *, whitespace: str = "dash", max_sentence_chars: int | None = 2000
) -> list[CleanSentence]:
    """The cleaned sentences of a piece of original text, with offsets into it.

    >>> [s.text for s in clean_document("检测 TP53 gene 突变。\\n\\n甲")]
    ['检测TP53-gene突变。', '甲']
    """
    if whitespace == "space":
        return clean_keep_spaces(text, max_len=max_sentence_chars)
    return clean_text(text, max_len=max_sentence_chars).sentences


def original_span(sentence: CleanSentence, raw: str, start: int, end: int) -> tuple[int, int] | None:
    """``[start, end)`` of a cleaned sentence → the range in ``raw`` (whitespace at the edges trimmed).

    None when nothing but whitespace is left (a span over an inserted ``-`` alone).
    """
    a, b = sentence.to_original(start, end)
    while a < b and is_blank(raw[a]):
        a += 1
    while b > a and is_blank(raw[b - 1]):
        b -= 1
    return (a, b) if a < b else None


# ----------------------------------------------------------------------------- tagging


def predict_cleaned(
    tagger: Predictor,
    cleaned: Sequence[CleanSentence],
    *,
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Sentence], list[list[Span]]]:
    """Sentences made from cleaned text the way the tagger was trained, and their predicted spans."""
    sentences = [tagger.make_sentence(c.text) for c in cleaned]
    preds = cast(
        "list[list[Span]]", tagger.predict(sentences, batch_size=batch_size, progress=progress) if sentences else []
    )
    if len(preds) != len(sentences):
        raise RuntimeError(f"the tagger returned {len(preds)} outputs for {len(sentences)} sentences")
    return sentences, preds


def to_entity(clean: CleanSentence, raw: str, span: Span, *, base: int = 0) -> Entity | None:
    """A span of a cleaned sentence as an entity of ``raw`` (offsets shifted by ``base``); None if only whitespace."""
    rng = original_span(clean, raw, span.start, span.end)
    if rng is None:
        return None
    a, b = rng
    return Entity(base + a, base + b, span.label, raw[a:b], float(span.score if span.score is not None else 1.0))


def tag_texts(
    tagger: Predictor,
    texts: Sequence[str],
    *,
    whitespace: str = "auto",
    max_sentence_chars: int = 2000,
    batch_size: int = 32,
    postprocess: bool = False,
    min_length: int = 2,
    consistency: str = "none",
) -> list[list[Entity]]:
    """The entities of each text, offsets into that text; all texts' sentences batched together.

    ``postprocess`` applies the patents paper's rules as ``extract`` does (single characters
    and entities with invalid symbols dropped; ``min_length``). ``consistency`` (none,
    retype, propagate, both) applies :mod:`mrc_ner.corpus.consistency` to each text as one
    document, after ``postprocess``.
    """
    from mrc_ner.corpus.consistency import MODES, consistent_by_mode

    if consistency not in MODES:
        raise InputError(f"unknown consistency mode {consistency!r}; choose one of {', '.join(MODES)}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(f"text {i} is a {type(t).__name__}, not a string: {t!r:.80}")
    ws = resolve_whitespace(whitespace, tagger)
    cleaned = [
        (k, c)
        for k, t in enumerate(texts)
        for c in clean_document(t, whitespace=ws, max_sentence_chars=max_sentence_chars)
    ]
    sentences, preds = predict_cleaned(tagger, [c for _, c in cleaned], batch_size=batch_size)
    if postprocess:
        from mrc_ner.corpus.postprocess import postprocess_spans

        preds = [postprocess_spans(s, p, min_length=min_length)[0] for s, p in zip(sentences, preds)]
    if consistency != "none":
        by_text: dict[int, list[int]] = {}
        for i, (owner, _) in enumerate(cleaned):
            by_text.setdefault(owner, []).append(i)
        for members in by_text.values():
            consistent, _ = consistent_by_mode(
                consistency, [sentences[i] for i in members], [preds[i] for i in members], document=lambda _: ""
            )
            for i, p in zip(members, consistent):
                preds[i] = p
    out: list[list[Entity]] = [[] for _ in texts]
    for (k, clean), spans in zip(cleaned, preds):
        out[k].extend(e for e in (to_entity(clean, texts[k], sp) for sp in spans) if e is not None)
    return out


class Pipeline:
    """A loaded model as a function of text: ``pipeline("…")`` → entities; a list → one list per text.

    ``model`` is the :class:`~mrc_ner.models.base.Tagger`; the other attributes are the
    defaults of :func:`tag_texts`.
    """

    def __init__(
        self,
        model: Any,
        *,
        batch_size: int = 32,
        whitespace: str = "auto",
        max_sentence_chars: int = 2000,
        postprocess: bool = False,
        min_length: int = 2,
        consistency: str = "none",
    ) -> None:
        if batch_size < 1 or max_sentence_chars < 1:
            raise InputError("batch_size and max_sentence_chars must be at least 1")
        if whitespace not in ("auto", "dash", "space"):
            raise InputError(f"whitespace must be auto, dash or space, not {whitespace!r}")
        from mrc_ner.corpus.consistency import MODES

        if consistency not in MODES:
            raise InputError(f"consistency must be one of {', '.join(MODES)}, not {consistency!r}")
        self.model = model
        self.batch_size = batch_size
        self.whitespace = whitespace
        self.max_sentence_chars = max_sentence_chars
        self.postprocess = postprocess
        self.min_length = min_length
        self.consistency = consistency

    @property
    def labels(self) -> list[str]:
        """The entity types the model predicts."""
        return list(self.model.labels)

    @property
    def device(self) -> str:
        """Where the model runs."""
        return str(next(self.model.parameters()).device)

    def __call__(self, texts: str | Sequence[str]) -> list[Entity] | list[list[Entity]]:
        """Entities of one text, or one list per text of a list; InputError for anything else."""
        if isinstance(texts, str):
            return self.tag([texts])[0]
        if not isinstance(texts, (list, tuple)):
            raise InputError(f"expected a string or a list of strings, not a {type(texts).__name__}: {texts!r:.80}")
        return self.tag(texts)

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """One list of entities per text (see :func:`tag_texts`)."""
        return tag_texts(
            self.model,
            texts,
            whitespace=self.whitespace,
            max_sentence_chars=self.max_sentence_chars,
            batch_size=self.batch_size,
            postprocess=self.postprocess,
            min_length=self.min_length,
            consistency=self.consistency,
        )

    def __repr__(self) -> str:
        return f"Pipeline({self.model.method}, labels={self.labels}, device={self.device!r})"


def load(
    name_or_path: str | os.PathLike,
    *,
    device: str | None = "auto",
    quantize: str = "none",
    batch_size: int = 32,
    **options: Any,
) -> Pipeline:
    """A model directory or hub id as a :class:`Pipeline` (``options``: whitespace, max_sentence_chars, postprocess, min_length, consistency)."""
    return Pipeline(load_model(name_or_path, device=device, quantize=quantize), batch_size=batch_size, **options)
