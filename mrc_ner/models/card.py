"""The short model card (``README.md``) written into every saved model directory."""

from __future__ import annotations

from typing import Any


def model_card(tagger, extra: dict[str, Any]) -> str:
    """Markdown describing a saved tagger: method, encoder, labels, options, scores, how to load."""
    lines = [
        f"# mrc-ner model: `{tagger.method}`",
        "",
        f"- encoder: `{tagger.encoder_name}` ({tagger.encoder.config.model_type}, hidden {tagger.hidden_size}, "
        f"{getattr(tagger.encoder.config, 'num_hidden_layers', '?')} layers)",
        f"- entity types: {', '.join(tagger.labels)}",
        f"- alignment: `{tagger.align_mode}`; max length {tagger.max_length}, window overlap {tagger.overlap}",
        f"- options: `{tagger.options}`",
    ]
    scores = extra.get("dev_scores.json")
    if scores and "micro" in scores:
        lines.append(f"- dev micro F1: {scores['micro']['f1']:.4f}")
    args = extra.get("training_args.json")
    if args:
        lines.append(f"- trained with: `{args}`")
    lines += [
        "",
        "## Use",
        "",
        "```bash",
        "mrc-ner predict --model THIS_DIR input.txt --out predictions.jsonl",
        "```",
        "",
        "```python",
        "import mrc_ner",
        "tagger = mrc_ner.load('THIS_DIR')  # device='cpu'|'cuda'|'auto', quantize='none'|'int8'|'bf16'",
        f"tagger({_example(tagger)!r})  # [Entity(start, end, label, text, score), ...]; a list of texts → one list per text",
        "```",
        "",
        "Offsets in every output are characters into the sentence (or document) text, end exclusive.",
        "",
    ]
    return "\n".join(lines)


def _example(tagger) -> str:
    """A sample input in the model's language: English for word-level models, Chinese otherwise."""
    return "BRCA1 mutations cause breast cancer." if tagger.align_mode == "word" else "检测BRCA1突变"
