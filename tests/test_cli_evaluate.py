"""``mrc-ner evaluate``: table and JSON output, partial matching, bad input as one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrc_ner.cli import app

runner = CliRunner()

GOLD = """\
BRCA1\tB-gene
mutations\tO
cause\tO
breast\tB-disease
cancer\tI-disease
.\tO

TP53\tB-protein
binds\tO
DNA\tO
.\tO
"""

# the disease mention is one word short (partial match only); TP53 is typed as a gene
PRED = """\
BRCA1\tB-gene
mutations\tO
cause\tO
breast\tO
cancer\tB-disease
.\tO

TP53\tB-gene
binds\tO
DNA\tO
.\tO
"""


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    gold, pred = tmp_path / "gold.tsv", tmp_path / "pred.tsv"
    gold.write_text(GOLD, encoding="utf-8")
    pred.write_text(PRED, encoding="utf-8")
    return gold, pred


def run_json(*args: str) -> dict:
    result = runner.invoke(app, ["evaluate", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_table_output(files):
    gold, pred = files
    result = runner.invoke(app, ["evaluate", str(gold), str(pred)])
    assert result.exit_code == 0, result.output
    for word in ("precision", "recall", "f1", "support", "gene", "disease", "protein", "micro", "macro", "weighted"):
        assert word in result.stdout
    assert "strict match, 2 sentences" in result.stdout


def test_json_output(files):
    d = run_json(*map(str, files))
    assert list(d) == ["per_type", "micro", "macro", "weighted"]
    assert sorted(d["per_type"]) == ["disease", "gene", "protein"]
    assert d["per_type"]["gene"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
        "predicted": 2,
        "correct": 1,
    }
    assert (d["micro"]["precision"], d["micro"]["recall"], d["micro"]["support"]) == (
        pytest.approx(1 / 3),
        pytest.approx(1 / 3),
        3,
    )


def test_partial_changes_the_score(files):
    strict = run_json(*map(str, files))
    partial = run_json(*map(str, files), "--partial")
    assert strict["per_type"]["disease"]["f1"] == 0.0
    assert partial["per_type"]["disease"]["f1"] == 1.0
    assert partial["micro"]["f1"] == pytest.approx(2 / 3)
    assert strict["micro"]["f1"] == pytest.approx(1 / 3)


def test_directories(files, tmp_path: Path):
    gold, pred = files
    gdir, pdir = tmp_path / "g", tmp_path / "p"
    gdir.mkdir()
    pdir.mkdir()
    (gdir / "a.tsv").write_text(GOLD, encoding="utf-8")
    (pdir / "a.tsv").write_text(PRED, encoding="utf-8")
    assert run_json(str(gdir), str(pdir)) == run_json(str(gold), str(pred))


def test_gold_against_itself(files):
    gold, _ = files
    assert run_json(str(gold), str(gold))["micro"]["f1"] == 1.0


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    for needle in needles:
        assert needle in lines[0]


def test_mismatched_sentences(files, tmp_path: Path):
    gold, _ = files
    other = tmp_path / "other.tsv"
    other.write_text(GOLD.replace("TP53", "MDM2"), encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(gold), str(other)])
    assert_one_line_error(result, str(other), "sentence 2", "MDM2")


def test_missing_sentences(files, tmp_path: Path):
    gold, _ = files
    short = tmp_path / "short.tsv"
    short.write_text(GOLD.split("\n\n")[0] + "\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(gold), str(short)])
    assert_one_line_error(result, str(short), "gold has 2 sentences but prediction has 1")


def test_missing_pred_argument(files):
    gold, _ = files
    assert_one_line_error(runner.invoke(app, ["evaluate", str(gold)]), "missing PRED")


def test_missing_file(files, tmp_path: Path):
    gold, _ = files
    missing = tmp_path / "nope.tsv"
    assert_one_line_error(runner.invoke(app, ["evaluate", str(gold), str(missing)]), str(missing), "no such file")


# one document: BRCA1 found once of twice, TP53 typed gene once of three times
CONSISTENCY_GOLD = (
    "BRCA1\tB-gene\nbinds\tO\nTP53\tB-protein\n\nBRCA1\tB-gene\nand\tO\nTP53\tB-protein\n\nTP53\tB-protein\n"
)
CONSISTENCY_PRED = "BRCA1\tB-gene\nbinds\tO\nTP53\tB-protein\n\nBRCA1\tO\nand\tO\nTP53\tB-gene\n\nTP53\tB-protein\n"


@pytest.mark.parametrize(
    ("mode", "micro_f1", "added", "retyped"),
    [("none", 2 / 3, None, None), ("retype", 8 / 9, "added 0", "retyped 1"), ("both", 1.0, "added 1", "retyped 1")],
)
def test_consistency_rescores_the_predictions_per_document(tmp_path: Path, mode, micro_f1, added, retyped) -> None:
    gold, pred = tmp_path / "gold.tsv", tmp_path / "pred.tsv"
    gold.write_text(CONSISTENCY_GOLD, encoding="utf-8")
    pred.write_text(CONSISTENCY_PRED, encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(gold), str(pred), "--json", "--consistency", mode])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["micro"]["f1"] == pytest.approx(micro_f1)
    if added:
        assert added in result.stderr and retyped in result.stderr
    else:
        assert "--consistency" not in result.stderr


def test_consistency_refuses_nested(files) -> None:
    gold, _ = files
    result = runner.invoke(app, ["evaluate", str(gold), "--model", "m", "--nested", "--consistency", "both"])
    assert result.exit_code == 2 and "--consistency works on flat predictions" in result.output


def test_against_scores_both_systems_and_tests_the_difference(files, tmp_path: Path):
    """PRED (1 of 3 right) against the gold itself (3 of 3): both scored, the difference tested over the 2 sentences."""
    gold, pred = files
    d = run_json(str(gold), str(pred), "--against", str(gold))
    assert d["pred"] == run_json(str(gold), str(pred)) and d["against"]["micro"]["f1"] == 1.0
    test = d["paired_test"]
    assert test["unit"] == "sentence" and test["units"] == 2 and test["trials"] == 10_000
    assert test["difference"] == pytest.approx(1 / 3 - 1.0)
    # two units: 4 equally likely swaps, and only the two that swap nothing or everything are as extreme
    assert test["p"] == pytest.approx(0.5, abs=0.02) and test["low"] <= test["difference"] <= test["high"]
    table = runner.invoke(app, ["evaluate", str(gold), str(pred), "--against", str(gold)])
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())  # rich wraps lines at the test console's width
    assert "pred.tsv: strict match" in text and "gold.tsv: strict match" in text
    assert "micro F1 pred.tsv − gold.tsv: -66.67 points" in text and "over 2 sentences" in text


def test_against_errors_are_one_line(files, tmp_path: Path):
    gold, pred = files
    result = runner.invoke(app, ["evaluate", str(gold), str(pred), "--against", str(gold), "--partial"])
    assert_one_line_error(result, "--against", "--partial")
    short = tmp_path / "short.tsv"
    short.write_text(GOLD.split("\n\n")[0] + "\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(gold), str(pred), "--against", str(short)])
    assert_one_line_error(result, str(short), "gold has 2 sentences but prediction has 1")
