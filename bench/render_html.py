"""Render the HTML entity view in a real headless browser and save a screenshot.

Writes the page that ``mrc-ner predict --format html`` writes — from the gold spans of
a corpus (default ``data/sample_cbp``, the Chinese patent sample) or, with ``--model``,
from a model's predictions — then runs Chromium headless on it and saves a PNG, so a
person can look at what the view really looks like (fonts, colours, CJK text).

Needs Chromium and a CJK font from the system packages (Debian/Ubuntu)::

    apt-get install -y chromium fonts-wqy-microhei

    python bench/render_html.py                                         # gold spans of data/sample_cbp → runs/html_view/
    python bench/render_html.py --model MODEL_DIR --corpus data/sample_en.tsv --out-dir /tmp/view
    python bench/render_html.py --html-only --out-dir /tmp/view         # the page without a browser
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser(given: str | None) -> str | None:
    """The Chromium executable: ``given`` when it exists, else the first of :data:`BROWSERS` on PATH."""
    if given:
        return given if Path(given).is_file() or shutil.which(given) else None
    return next((b for b in BROWSERS if shutil.which(b)), None)


def write_page(corpus: str, out: Path, *, sentences: int, model: str | None = None) -> tuple[int, int]:
    """Write the HTML view of the first ``sentences`` sentences; returns (sentences, entities) shown."""
    from mrc_ner.corpus import read_corpus
    from mrc_ner.corpus.html import write_html
    from mrc_ner.corpus.model import Document

    docs, n = [], 0
    for d in read_corpus(corpus).documents:
        if n >= sentences:
            break
        take = d.sentences[: sentences - n]
        docs.append(Document(d.id, take, d.text))
        n += len(take)
    title = f"{Path(corpus).name}: gold spans"
    if model:
        from mrc_ner.models import load_tagger

        tagger = load_tagger(model)
        flat = [s for d in docs for s in d.sentences]
        preds = iter(tagger.predict_sentences(flat))
        docs = [Document(d.id, [next(preds) for _ in d.sentences], d.text) for d in docs]
        title = f"{Path(corpus).name}: entities found by {Path(model).name}"
    write_html(docs, out, title=title)
    return n, sum(len(s.spans) for d in docs for s in d.sentences)


def screenshot(browser: str, page: Path, png: Path, *, width: int, height: int, timeout: float = 120) -> None:
    """Chromium headless: load ``page`` and write a ``width`` × ``height`` PNG."""
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        f"--screenshot={png.resolve()}",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not png.is_file():
        raise RuntimeError(f"{browser} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--corpus",
        default=str(REPO / "data" / "sample_cbp"),
        help="Column file(s) or JSONL (gold spans shown unless --model).",
    )
    p.add_argument("--model", help="Show this mrc-ner model's predictions instead of the gold spans.")
    p.add_argument("--sentences", type=int, default=12, help="How many sentences to show.")
    p.add_argument(
        "--out-dir", type=Path, default=Path("runs/html_view"), help="Where entities.html and entities.png go."
    )
    p.add_argument("--window-size", default="1100,800", help="Browser window WIDTH,HEIGHT in pixels (the PNG's size).")
    p.add_argument("--chromium", help="The browser executable (default: chromium on PATH).")
    p.add_argument("--html-only", action="store_true", help="Write the page, skip the browser.")
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    page = args.out_dir / "entities.html"
    n, ents = write_page(args.corpus, page, sentences=args.sentences, model=args.model)
    print(f"{page}: {n} sentences, {ents} entities")
    if args.html_only:
        return 0
    browser = find_browser(args.chromium)
    if browser is None:
        print(
            "error: no Chromium found (apt-get install -y chromium fonts-wqy-microhei), or give --chromium PATH",
            file=sys.stderr,
        )
        return 2
    width, height = (int(x) for x in args.window_size.split(","))
    png = args.out_dir / "entities.png"
    screenshot(browser, page, png, width=width, height=height)
    print(f"{png}: {png.stat().st_size // 1024} kB screenshot by {browser}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
