"""Writing a model directory: ``config.json``, ``model.safetensors``, tokenizer files, extra JSON files
and the model card, atomically (:func:`mrc_ner.io.atomic_dir`).

The names and the format version live here; :mod:`mrc_ner.models.loading` reads what
this module writes. :meth:`mrc_ner.models.base.Tagger.save` gathers a tagger's config,
tensors and card and hands them to :func:`write_model_dir`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from mrc_ner.io import atomic_dir

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: the saved-model format this version writes (``config.json``'s ``format_version``); raise it when
#: the format changes, and teach :func:`mrc_ner.models.loading.migrate_config` the older one
FORMAT_VERSION = 1


def write_model_dir(
    directory: Path,
    *,
    config: dict[str, Any],
    state: dict[str, torch.Tensor],
    tokenizer: Any,
    card: str,
    extra_files: dict[str, Any] | None = None,
) -> Path:
    """Write a model directory: config, weights (last), tokenizer, each extra file as JSON, ``README.md``.

    Files replace theirs one by one (each ``os.replace`` is atomic) so that other files
    in the directory – a training checkpoint, the training log – survive.
    """
    from safetensors.torch import save_file

    with atomic_dir(directory, last=lambda name: name == WEIGHTS_NAME) as tmp:
        (tmp / CONFIG_NAME).write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        save_file(untie(state), str(tmp / WEIGHTS_NAME), metadata={"format": "pt"})
        tokenizer.save_pretrained(str(tmp))
        portable_tokenizer_config(tmp / "tokenizer_config.json")
        for name, obj in (extra_files or {}).items():
            (tmp / name).write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
        (tmp / "README.md").write_text(card, encoding="utf-8")
    return directory


def portable_tokenizer_config(path: Path) -> None:
    """transformers 5 records ``TokenizersBackend``, which older releases cannot load; name the
    equivalent ``PreTrainedTokenizerFast`` instead."""
    if not path.is_file():
        return
    cfg = json.loads(path.read_text(encoding="utf-8"))
    if cfg.get("tokenizer_class") == "TokenizersBackend":
        cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
        path.write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")


def untie(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses shared storage: give every tensor its own copy when needed."""
    seen: set[int] = set()
    out = {}
    for k, v in state.items():
        ptr = v.untyped_storage().data_ptr()
        out[k] = v.clone() if ptr in seen else v
        seen.add(ptr)
    return out
