"""Checks on the files of a local Hugging Face or mrc-ner directory, before anything loads them.

transformers and safetensors report a damaged file with their own exceptions (a
``SafetensorError``, a ``JSONDecodeError`` from deep inside the tokenizer, a ``KeyError``);
these checks name the file and what is wrong with it as an
:class:`~mrc_ner.errors.InputError`. Two things are refused outright, never loaded:
pickle weights (``*.bin``, ``*.pt``… can run code when unpickled) and ``auto_map``
entries (remote code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mrc_ner.errors import InputError, shorten

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def read_json_object(path: Path, *, what: str = "file") -> dict[str, Any]:
    """A JSON file holding one object, or an InputError naming the file (missing, unreadable, not JSON, not an object)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what} is missing", path=path) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory, not a file", path=path) from None
    except UnicodeDecodeError as e:
        raise InputError(f"{what} is not valid UTF-8 ({e.reason})", path=path) from None
    except OSError as e:
        raise InputError(f"cannot read the {what}: {e.strerror or e}", path=path) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON in the {what}: {e.msg} (column {e.colno})", path=path, line=e.lineno) from None
    if not isinstance(obj, dict):
        raise InputError(f"{what} must hold a JSON object, not {shorten(repr(obj), 60)}", path=path)
    return obj


def refuse_remote_code(config: dict[str, Any], path: Path) -> None:
    """An ``auto_map`` asks transformers to import code shipped with the files: refused."""
    if "auto_map" in config:
        raise InputError(
            "'auto_map' asks to run code shipped with the model (remote code); mrc-ner never loads it — remove the entry if you trust the files",
            path=path,
        )


def check_tokenizer_files(directory: Path) -> None:
    """The tokenizer files parse as JSON objects, ``tokenizer.json`` exists and nothing asks for remote code."""
    if not (directory / "tokenizer.json").is_file():
        raise InputError(
            "the fast tokenizer file tokenizer.json is missing (mrc-ner needs character offsets)",
            path=directory / "tokenizer.json",
        )
    for name in TOKENIZER_FILES:
        path = directory / name
        if path.exists():
            obj = read_json_object(path, what=name)
            refuse_remote_code(obj, path)
    tok = read_json_object(directory / "tokenizer.json", what="tokenizer.json")
    if not isinstance(tok.get("model"), dict) or "added_tokens" not in tok:
        raise InputError(
            "tokenizer.json is not a tokenizers file (no 'model' object or 'added_tokens')",
            path=directory / "tokenizer.json",
        )


def pickle_files(directory: Path) -> list[Path]:
    """Weight files in pickle formats."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)


def check_safetensors_weights(directory: Path, name: str | None = None) -> list[Path]:
    """The directory's safetensors files (``name`` when given), checked to open; pickle-only weights are refused."""
    files = [directory / name] if name else sorted(directory.glob("*.safetensors"))
    present = [p for p in files if p.exists()]
    if not present:
        pickles = pickle_files(directory)
        if pickles:
            raise InputError(
                f"only pickle weights ({pickles[0].name}); mrc-ner loads safetensors only (pickles can run code): convert them to model.safetensors",
                path=directory,
            )
        hint = " (an ONNX export: predict with --backend onnx)" if (directory / "model.onnx").is_file() else ""
        raise InputError(
            f"no {files[0].name if files else 'model.safetensors'}: the weights file is missing{hint}",
            path=files[0] if files else directory / "model.safetensors",
        )
    for path in present:
        check_safetensors_file(path)
    return present


def check_safetensors_file(path: Path) -> None:
    """Open ``path`` as safetensors (header and sizes only), or an InputError naming it."""
    from safetensors import safe_open

    if not path.is_file():
        raise InputError("the weights file is not a regular file", path=path)
    try:
        with safe_open(str(path), framework="pt") as f:
            f.keys()
    except Exception as e:  # SafetensorError, OSError: truncated, empty, not safetensors at all
        raise InputError(
            f"corrupt weights file (truncated or not safetensors): {shorten(str(e), 120)}", path=path
        ) from None
