"""Small file helpers shared by every layer: atomic file and directory writes, quiet transformers,
and the one way to read a text file's lines (:func:`read_text_lines`)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mrc_ner.errors import InputError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file over ``path``.

    Readers never see a half-written file, and a crash leaves the old file intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file normal permissions
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


# --------------------------------------------------------------------------- directories


def share_tree(directory: str | os.PathLike) -> None:
    """Give ``directory`` and everything in it the permissions of ordinary new files.

    ``mkdtemp``/``mkstemp`` (and safetensors' writer) create private 0700/0600 entries; a
    model or encoder directory is shared like any other output (0755/0644 under umask 022).
    """
    mask = _umask()
    root = Path(directory)
    for path in [*root.rglob("*"), root]:
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def merge_dir(tmp: Path, target: Path, *, last: Callable[[str], bool] = lambda name: False) -> None:
    """Move every entry of ``tmp`` into ``target``, one atomic ``os.replace`` each.

    Entries of ``target`` that ``tmp`` lacks (a checkpoint, a log) survive; names for which
    ``last(name)`` is true go last (the weights: a reader that sees them sees the rest).
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in sorted((p.name for p in tmp.iterdir()), key=last):
        os.replace(tmp / name, target / name)


def replace_dir(tmp: Path, target: Path, *, aside: Path | None = None) -> None:
    """Put the directory ``tmp`` in the place of ``target``: the old one is renamed to
    ``aside`` (a fresh hidden folder beside it by default), then deleted."""
    moved: Path | None = None
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        if aside is None:
            holder = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            moved, aside = holder, holder / target.name
        else:
            shutil.rmtree(aside, ignore_errors=True)
            moved = aside
        os.replace(target, aside)
    elif target.is_dir():
        target.rmdir()
    os.replace(tmp, target)
    if moved is not None:
        shutil.rmtree(moved, ignore_errors=True)


@contextmanager
def atomic_dir(
    target: str | os.PathLike,
    *,
    merge: bool = True,
    last: Callable[[str], bool] = lambda name: False,
    install: Callable[[Path, Path], None] | None = None,
) -> Iterator[Path]:
    """Build a directory in a temporary folder beside ``target`` and move it into place on success.

    ``with atomic_dir(out) as tmp: write files into tmp``. With ``merge`` (the default)
    the files replace theirs in ``target`` one by one (see :func:`merge_dir`; ``last``
    orders them); otherwise the whole directory replaces ``target`` (:func:`replace_dir`).
    ``install(tmp, target)`` replaces both (e.g. to settle a race between two builders).
    Either way the files get ordinary permissions (:func:`share_tree`), and on any error
    the temporary folder is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        yield tmp
        share_tree(tmp)
        if install is not None:
            install(tmp, target)
        elif merge:
            merge_dir(tmp, target, last=last)
        else:
            replace_dir(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- transformers


@contextmanager
def quiet_transformers(*, logs: bool = True, progress: bool = True) -> Iterator[None]:
    """Silence transformers while loading or saving local files, then restore its settings.

    ``logs``: only errors are logged (no "newly initialized…" reports, no tokenizer
    notes that do not apply here); ``progress``: no "Loading weights" progress bars.
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    if logs:
        hf_logging.set_verbosity_error()
    if progress and bars:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if logs:
            hf_logging.set_verbosity(verbosity)
        if progress and bars:
            hf_logging.enable_progress_bar()


# --------------------------------------------------------------------------- outputs


#: the output last checked by :func:`writable_dir` / :func:`writable_file`: the CLI names it when a
#: write fails without a file name (a full disk while closing a file)
last_output: Path | None = None


def writable_dir(path: str | os.PathLike, *, option: str = "--out") -> Path:
    """Check, before any work, that the output directory ``path`` can be created and written.

    An existing file, a place inside a file, an impossible place (``/proc/x``), a read-only
    directory or a full disk is an :class:`~mrc_ner.errors.InputError` naming the path,
    not a traceback an hour into training. Nothing is created.
    """
    global last_output
    path = Path(path)
    last_output = path
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} exists and is not a directory", path=path)
    probe_in = path
    while not probe_in.exists() and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise InputError(f"{option} cannot be created: {probe_in} is a file", path=path)
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=probe_in)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise InputError(f"{option} cannot be written: {e.strerror or e}", path=path) from None
    return path


def writable_file(path: str | os.PathLike, *, option: str = "--out") -> Path:
    """Check that the output file ``path`` can be written (its folder made and writable; not a directory)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option} is a directory; give a file name", path=path)
    writable_dir(path.parent, option=f"the folder of {option}")
    global last_output
    last_output = path
    return path


def read_text_lines(path: Path) -> list[str]:
    """Decode a UTF-8 file (BOM allowed) into lines without line endings.

    Only LF, CRLF and CR end a line; U+2028, U+0085, form feed… are characters of a
    token or of a JSON string (``str.splitlines`` would break lines there).
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path=path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8 (byte {data[e.start]:#04x} at offset {e.start})", path=path, line=line
        ) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
