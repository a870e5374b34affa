"""The HTML view of tagged text (`predict --format html`): marks, colours, legend, tooltips, escaping."""

from __future__ import annotations

from html.parser import HTMLParser

import torch
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.corpus.html import render_html, type_colours
from mrc_ner.corpus.model import Document, Sentence, Span
from mrc_ner.models import tagger_class

runner = CliRunner()


class Marks(HTMLParser):
    """Collects every element's tag, the text inside each <mark> (without its label) and all script/style tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.marks: list[dict] = []
        self._in_mark = 0
        self._in_label = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "mark":
            self._in_mark += 1
            self.marks.append({"text": "", "label": "", **a})
        elif tag == "span" and a.get("class") == "lab" and self._in_mark:
            self._in_label = True

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in_mark -= 1
        elif tag == "span":
            self._in_label = False

    def handle_data(self, data):
        if self._in_mark:
            self.marks[-1]["label" if self._in_label else "text"] += data


def parse(page: str) -> Marks:
    p = Marks()
    p.feed(page)
    return p


def test_every_entity_is_marked_with_its_colour_and_tooltip():
    s1 = Sentence.from_text("BRCA1突变导致乳腺癌", [Span(0, 5, "gene", 0.91), Span(9, 12, "disease", 0.5)], id="d:0")
    s2 = Sentence.from_text("没有实体", id="d:1")
    page = render_html([Document("d", [s1, s2])], title="t")
    p = parse(page)
    colours = type_colours(["gene", "disease"])
    assert [(m["text"], m["label"]) for m in p.marks] == [("BRCA1", "gene"), ("乳腺癌", "disease")]
    assert p.marks[0]["title"] == "gene · score 0.910 · [0, 5)"
    assert (
        f"background:{colours['gene']}" in p.marks[0]["style"]
        and f"background:{colours['disease']}" in p.marks[1]["style"]
    )
    assert colours["gene"] != colours["disease"]
    assert "gene (1)</span>" in page and "disease (1)</span>" in page  # the legend with counts
    assert page.count('<p class="sent"') == 2  # the sentence without entities is shown too


def test_text_and_labels_are_escaped():
    evil = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    s = Sentence.from_text(
        evil, [Span(0, 8, '<b onclick="x">gene</b>', None), Span(31, 34, "a&b", 0.2)], id='"><script>'
    )
    page = render_html([Document('<doc id="1">', [s])], title="<title>")
    p = parse(page)
    assert evil[31:34] == "img" and "script" not in p.tags and "img" not in p.tags and "b" not in p.tags
    assert [(m["text"], m["label"]) for m in p.marks] == [("<script>", '<b onclick="x">gene</b>'), ("img", "a&b")]
    assert "&lt;script&gt;" in page and "&lt;/script&gt;" in page and " src=x onerror=alert(1)&gt;" in page
    assert "<script" not in page and "<img" not in page and "<b " not in page
    assert (
        p.marks[0]["title"] == '<b onclick="x">gene</b> · [0, 8)'
    )  # the attribute round-trips unchanged: it was quoted


def test_overlapping_spans_are_listed_not_dropped():
    s = Sentence.from_text("乳腺癌易感基因", [Span(0, 7, "gene"), Span(0, 3, "disease")])
    page = render_html([Document("x", [s])])
    p = parse(page)
    assert [m["text"] for m in p.marks] == ["乳腺癌易感基因"]
    assert "overlapping: " in page and "disease: 乳腺癌" in page
    assert "disease (1)" in page and "gene (1)" in page


def test_predict_format_html(tmp_path, tiny_encoder, sample_cbp_corpus):
    from mrc_ner.corpus.conll import write_conll

    tagger = tagger_class("softmax").create(str(tiny_encoder), ["disease", "gene", "protein"], max_length=64)
    with torch.no_grad():
        tagger.classifier.weight.normal_(0, 1.0, generator=torch.Generator().manual_seed(0))
    model = tagger.save(tmp_path / "m")
    gold = tmp_path / "gold.bio"
    write_conll(sample_cbp_corpus.documents[:1], gold)
    r = runner.invoke(
        app, ["predict", str(gold), "--model", str(model), "--out", str(tmp_path / "p.jsonl")], catch_exceptions=False
    )
    assert r.exit_code == 0, r.output
    import json

    rows = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()]
    want = [(e["text"], e["label"]) for row in rows for e in row["entities"]]
    assert want, "the test model finds nothing"
    for out, extra in ((tmp_path / "p.html", []), (tmp_path / "p.txt", ["--format", "html"])):
        r = runner.invoke(
            app, ["predict", str(gold), "--model", str(model), "--out", str(out), *extra], catch_exceptions=False
        )
        assert r.exit_code == 0, r.output
        page = out.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and page.count('<p class="sent"') == len(rows)
        assert [(m["text"], m["label"]) for m in parse(page).marks] == want
    r = runner.invoke(
        app, ["predict", str(gold), "--model", str(model), "--out", str(tmp_path / "q"), "--format", "pdf"]
    )
    assert r.exit_code == 2 and "html" in r.output


def test_render_script_writes_the_page_and_needs_a_browser_for_the_png(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import REPO

    cmd = [sys.executable, str(REPO / "bench" / "render_html.py"), "--out-dir", str(tmp_path), "--sentences", "5"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd + ["--html-only"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = (tmp_path / "entities.html").read_text(encoding="utf-8")
    assert page.count('<p class="sent"') == 5 and len(parse(page).marks) > 0
    proc = subprocess.run(
        cmd + ["--chromium", str(tmp_path / "no-browser")], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 2 and "no Chromium" in proc.stderr and not (tmp_path / "entities.png").exists()
