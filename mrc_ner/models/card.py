"""The model card (``README.md``) written into every saved model directory.

The card opens with Hugging Face model-card metadata — YAML front matter between
``---`` lines: ``language``, ``license``, ``library_name: mrc-ner``, ``pipeline_tag``,
``tags``, ``metrics`` and, when dev scores are known, a ``model-index`` entry holding
them — so the hub (and ``huggingface_hub.ModelCard``) can index the model.

Everything on the card comes from the saved ``config.json`` (:meth:`Tagger.config_dict
<mrc_ner.models.base.Tagger.config_dict>`: method, encoder name and config, labels,
alignment, sizes, options) and the extra files saved with it (dev scores, training
arguments), so the card says what the directory holds.

``language`` is inferred, since a tagger does not record its corpus's language:
CJK characters in the MRC queries or character alignment mean ``zh`` (the Chinese
patents), word alignment means ``en``; with neither it is left out. ``license`` is
``other``: the encoder's and the training data's terms decide it, so whoever
publishes the model sets it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def guess_language(config: dict[str, Any]) -> str | None:
    """``zh``, ``en`` or None for a model's config (see the module docstring for the rule).

    >>> guess_language({"options": {"queries": {"gene": "找出基因"}}, "align_mode": "word"})
    'zh'
    """
    queries = (config.get("options", {}) or {}).get("queries") or {}
    if any(_CJK.search(str(q)) for q in queries.values()):
        return "zh"
    return {"char": "zh", "word": "en"}.get(config.get("align_mode", ""))


def card_metadata(config: dict[str, Any], extra: dict[str, Any], *, backend: str = "torch") -> dict[str, Any]:
    """The model card's front-matter fields as a dict, for a model's config and its extra files."""
    meta: dict[str, Any] = {}
    lang = guess_language(config)
    if lang:
        meta["language"] = [lang]
    meta["license"] = "other"
    meta["library_name"] = "mrc-ner"
    meta["pipeline_tag"] = "token-classification"
    tags = ["mrc-ner", "token-classification", "named-entity-recognition", "biomedical", config["method"]]
    if backend == "onnx":
        tags.append("onnx")
    meta["tags"] = tags
    meta["metrics"] = ["precision", "recall", "f1"]
    scores = extra.get("dev_scores.json")
    micro = scores.get("micro") if isinstance(scores, dict) else None
    if isinstance(micro, dict) and all(k in micro for k in ("precision", "recall", "f1")):
        meta["model-index"] = [
            {
                "name": f"mrc-ner {config['method']} ({config['encoder_name']})",
                "results": [
                    {
                        "task": {"type": "token-classification", "name": "Named Entity Recognition"},
                        "dataset": {"type": "dev-set", "name": "development set used for model selection"},
                        "metrics": [
                            {"type": k, "value": round(float(micro[k]), 4), "name": f"dev micro {k} (strict)"}
                            for k in ("precision", "recall", "f1")
                        ],
                    }
                ],
            }
        ]
    return meta


def front_matter(meta: dict[str, Any]) -> str:
    """``---`` YAML ``---`` block for a card.

    >>> print(front_matter({"library_name": "mrc-ner"}), end="")
    ---
    library_name: mrc-ner
    ---
    """
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n"


def model_card(config: dict[str, Any], extra: dict[str, Any], *, backend: str = "torch") -> str:
    """Markdown describing a saved tagger (method, encoder, labels, options, scores, how to load) with front matter.

    ``config`` is the tagger's :meth:`~mrc_ner.models.base.Tagger.config_dict`; ``extra`` the JSON
    files saved beside it by name (``dev_scores.json``, ``training_args.json``).
    """
    enc = config["encoder_config"]
    lines = [
        f"# mrc-ner model: `{config['method']}`" + (" (ONNX)" if backend == "onnx" else ""),
        "",
        f"- encoder: `{config['encoder_name']}` ({enc['model_type']}, hidden {int(enc['hidden_size'])}, "
        f"{enc.get('num_hidden_layers', '?')} layers)",
        f"- entity types: {', '.join(config['labels'])}",
        f"- alignment: `{config['align_mode']}`; max length {config['max_length']}, window overlap {config['overlap']}",
        f"- options: `{config['options']}`",
    ]
    scores = extra.get("dev_scores.json")
    if scores and "micro" in scores:
        lines.append(f"- dev micro F1: {scores['micro']['f1']:.4f}")
    args = extra.get("training_args.json")
    if args:
        lines.append(f"- trained with: `{args}`")
    lines += ["", "## Use", ""]
    if backend == "onnx":
        lines += [
            "The encoder and heads run in onnxruntime (`model.onnx`); windows, alignment and decoding",
            "(CRF Viterbi included, from `heads.safetensors`) are mrc-ner's own.",
            "",
            "```bash",
            "mrc-ner predict --model THIS_DIR --backend onnx input.txt --out predictions.jsonl",
            "```",
            "",
            "```python",
            "from mrc_ner.models.onnx_tagger import load_onnx_tagger",
            "tagger = load_onnx_tagger('THIS_DIR')",
            "```",
        ]
    else:
        lines += [
            "```bash",
            "mrc-ner predict --model THIS_DIR input.txt --out predictions.jsonl",
            "```",
            "",
            "```python",
            "import mrc_ner",
            "tagger = mrc_ner.load('THIS_DIR')  # device='cpu'|'cuda'|'auto', quantize='none'|'int8'|'bf16'",
            f"tagger({_example(config)!r})  # [Entity(start, end, label, text, score), ...]; a list of texts → one list per text",
            "```",
        ]
    lines += ["", "Offsets in every output are characters into the sentence (or document) text, end exclusive.", ""]
    return front_matter(card_metadata(config, extra, backend=backend)) + "\n" + "\n".join(lines)


def _example(config: dict[str, Any]) -> str:
    """A sample input in the model's language: English for word-level models, Chinese otherwise."""
    return "BRCA1 mutations cause breast cancer." if config["align_mode"] == "word" else "检测BRCA1突变"
