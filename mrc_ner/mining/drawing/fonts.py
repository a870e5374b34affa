"""Fonts for the drawings: a CJK font when one is installed, and labels shortened to what the fonts can show."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

import networkx as nx

BASE_FONT = "DejaVu Sans"
CJK_NAME_HINTS = re.compile(
    r"CJK|Han ?Sans|Han ?Serif|WenQuanYi|WQY|Hei|Song|Kai|Ming|Droid Sans Fallback|Noto Sans SC|Noto Sans TC|AR PL|Sarasa|PingFang|YaHei|SimSun|Fang",
    re.I,
)
PROBE = "基因蛋白"  # a font must have these to count as Chinese


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except Exception:  # an unreadable font file is just not a candidate
        return frozenset()


def _fc_list_zh() -> list[str]:
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})


@functools.cache
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs (registered with matplotlib), or None.

    ``MRC_NER_CJK_FONT`` may name a font file to use; ``MRC_NER_CJK_FONT=none`` disables CJK fonts.
    """
    from matplotlib import font_manager

    forced = os.environ.get("MRC_NER_CJK_FONT", "")
    if forced.lower() == "none":
        return None
    candidates = [forced] if forced else []
    candidates += _fc_list_zh()
    candidates += [f.fname for f in font_manager.fontManager.ttflist if CJK_NAME_HINTS.search(f.name)]
    for path in candidates:
        if path and os.path.isfile(path) and all(ord(c) in _charmap(path) for c in PROBE):
            try:
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
            except Exception:
                continue
    return None


@functools.cache
def _renderable() -> frozenset[int]:
    from matplotlib import font_manager

    chars = set(_charmap(font_manager.findfont(BASE_FONT, fallback_to_default=True)))
    family = cjk_font()
    if family:
        chars |= _charmap(font_manager.findfont(family))
    return frozenset(chars)


def font_family() -> list[str]:
    """DejaVu Sans, with the CJK font (when there is one) as fallback."""
    family = cjk_font()
    return [BASE_FONT, family] if family else [BASE_FONT]


def displayable(text: str) -> tuple[str, bool]:
    """``text`` with each run of characters no font can show replaced by ``…``; whether any was."""
    ok = _renderable()
    out, lost, gap = [], False, False
    for ch in text:
        if ord(ch) in ok or ch.isspace():
            out.append(ch)
            gap = False
        else:
            lost = True
            if not gap:
                out.append("…")
            gap = True
    return "".join(out), lost


def node_text(graph: nx.Graph, node: str, rank: int) -> tuple[str, bool]:
    """The label to draw for ``node``: its label, shortened when no font shows all of it."""
    raw = str(graph.nodes[node].get("label", node))
    if len(raw) > 28:
        raw = raw[:27] + "…"
    text, lost = displayable(raw)
    if lost and not any(c.isalnum() for c in text):
        text = f"#{rank}"
    return text, lost
