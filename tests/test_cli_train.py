"""`mrc-ner train`, `predict` and `evaluate --model` end to end with a tiny encoder."""

from __future__ import annotations

import json

import pytest
from _cli import train_args
from conftest import REPO, SAMPLE_CBP, SAMPLE_EN
from typer.testing import CliRunner

from mrc_ner.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.slow
def test_train_predict_evaluate_mrc(tmp_path, tiny_encoder):
    out = tmp_path / "model"
    test = SAMPLE_CBP / "S1-2021-03-15-CN000000001A.bio"
    extra = ("--dev", "0.34", "--test", test, "--query-kind", "simple", "--end-head", "linear")
    r = run(*train_args(SAMPLE_CBP, tiny_encoder, out, *extra, max_length="64"))
    assert r.exit_code == 0, r.output
    cfg = json.loads((out / "config.json").read_text())
    assert (
        cfg["method"] == "mrc" and cfg["options"]["end_head"] == "linear" and cfg["options"]["query_kind"] == "simple"
    )
    assert set(cfg["options"]["queries"]) == {"disease", "gene", "protein"}
    summary = json.loads((out / "run_summary.json").read_text())
    assert "test" in summary and summary["best_epoch"] == 1
    assert len(summary["other_cores_per_epoch"]) == 1 and summary["other_cores_per_epoch"][0] >= 0
    pred = tmp_path / "pred.jsonl"
    r = run("predict", "--model", out, REPO / "data" / "sample_raw" / "brca_kit.txt", "--out", pred)
    assert r.exit_code == 0, r.output
    raw_lines = (REPO / "data" / "sample_raw" / "brca_kit.txt").read_text(encoding="utf-8-sig").splitlines()
    rows = [json.loads(x) for x in pred.read_text().splitlines()]
    assert len(rows) == len(raw_lines)  # every input line gets an output line
    for row in rows:
        assert all(row["text"][e["start"] : e["end"]] == e["text"] for e in row["entities"])
    r = run("evaluate", "--model", out, SAMPLE_CBP, "--json")
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.output)) >= {"per_type", "micro", "macro"}


@pytest.mark.slow
def test_train_softmax_english_word_level_and_iob_output(tmp_path, tiny_encoder):
    out = tmp_path / "m"
    r = run(
        *train_args(
            SAMPLE_EN,
            tiny_encoder,
            out,
            "--mention-replacement",
            "0.3",
            "--schedule",
            "cosine",
            method="softmax",
            max_length="32",
        )
    )
    assert r.exit_code == 0, r.output
    assert "training mentions replaced by other names of their type" in r.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["align_mode"] == "word"
    # the default trains without attention-probability dropout, and the saved encoder config says so
    saved_args = json.loads((out / "training_args.json").read_text())
    assert saved_args["attention_dropout"] == 0.0 and saved_args["mention_replacement"] == 0.3
    assert saved_args["schedule"] == "cosine"
    assert cfg["encoder_config"]["attention_probs_dropout_prob"] == 0.0
    pred = tmp_path / "p.bio"
    r = run("predict", "--model", out, SAMPLE_EN, "--out", pred)
    assert r.exit_code == 0, r.output
    r = run("evaluate", SAMPLE_EN, pred, "--json")
    assert r.exit_code == 0, r.output  # the IOB output has the same sentences as the gold


def test_bad_inputs_exit_2_with_one_line(tmp_path, tiny_encoder):
    out_and_encoder = ["--out", str(tmp_path / "o"), "--encoder", str(tiny_encoder)]
    r = runner.invoke(app, ["train", "--train", str(tmp_path / "missing.bio"), *out_and_encoder])
    assert r.exit_code == 2 and "missing.bio" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["train", "--method", "nope", "--train", str(SAMPLE_EN), *out_and_encoder])
    assert r.exit_code == 2 and "unknown method" in r.output
    r = runner.invoke(app, ["train", "--train", str(SAMPLE_EN), *out_and_encoder, "--dev", "1.5"])
    assert r.exit_code == 2 and "fraction" in r.output
    r = runner.invoke(app, ["train", "--train", str(SAMPLE_EN), *out_and_encoder, "--mention-replacement", "1.5"])
    assert r.exit_code == 2 and "mention_replacement must be in [0, 1], got 1.5" in r.output
    for option, value, expected in (
        ("--batch-size", "0", "Invalid value for '--batch-size'"),  # typer's own range check
        ("--grad-accum", "0", "grad_accum must be at least 1, got 0"),
        ("--epochs", "0", "epochs must be at least 1, got 0"),
        ("--warmup-ratio", "1.5", "warmup_ratio must be in [0, 1], got 1.5"),
        ("--threads", "0", "Invalid value for '--threads'"),  # typer's own range checks from here on
        ("--lambda", "2", "Invalid value for '--lambda'"),
        ("--overlap", "-5", "Invalid value for '--overlap'"),
        ("--query-k", "-2", "Invalid value for '--query-k'"),
    ):  # refused before the (missing) training file is read
        r = runner.invoke(app, ["train", "--train", str(tmp_path / "missing.bio"), *out_and_encoder, option, value])
        assert r.exit_code == 2 and expected in r.output and "missing.bio" not in r.output, (option, r.output)
    r = runner.invoke(app, ["train", "--train", str(SAMPLE_EN), *out_and_encoder, "--schedule", "step"])
    assert r.exit_code == 2 and "'step' is not one of 'linear'," in r.output and "'constant'" in r.output
    r = runner.invoke(app, ["predict", "--model", str(tmp_path), str(SAMPLE_EN), "--out", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "config.json" in r.output
    for command in (["predict", str(SAMPLE_EN), "--out", str(tmp_path / "x.jsonl")], ["evaluate", str(SAMPLE_EN)]):
        r = runner.invoke(app, [command[0], "--model", str(tmp_path), *command[1:], "--batch-size", "0"])
        assert r.exit_code == 2 and "Invalid value for '--batch-size'" in r.output, r.output


def test_evaluate_postprocess_applies_the_three_rules(tmp_path):
    gold = tmp_path / "gold.bio"
    pred = tmp_path / "pred.bio"
    # gold: KRAS (gene) and p53 (protein)
    chars = list("KRAS和p53。X")
    gold_tags = ["B-gene", "I-gene", "I-gene", "I-gene", "O", "B-protein", "I-protein", "I-protein", "O", "O"]
    # pred: KRAS switches type half-way, p53 starts with I-, 。X is an entity with an invalid symbol
    pred_tags = [
        "B-gene",
        "I-gene",
        "I-protein",
        "I-protein",
        "O",
        "I-protein",
        "I-protein",
        "I-protein",
        "B-gene",
        "I-gene",
    ]
    gold.write_text("".join(f"{c} {t}\n" for c, t in zip(chars, gold_tags)), encoding="utf-8")
    pred.write_text("".join(f"{c} {t}\n" for c, t in zip(chars, pred_tags)), encoding="utf-8")
    plain = json.loads(run("evaluate", gold, pred, "--json").output)
    # without post-processing: KR (gene), AS (protein), p53 (protein, repaired), 。X (gene)
    assert plain["micro"]["predicted"] == 4 and plain["micro"]["correct"] == 1
    r = runner.invoke(app, ["evaluate", str(gold), str(pred), "--json", "--postprocess", "--orphan", "drop"])
    pp = json.loads(r.stdout)
    # KR kept (first same-type part), AS dropped (switch), p53 dropped (orphan), 。X dropped (invalid symbol)
    assert pp["micro"]["predicted"] == 1 and pp["micro"]["correct"] == 0
    r = runner.invoke(app, ["evaluate", str(gold), str(pred), "--json", "--postprocess"])
    assert json.loads(r.stdout)["micro"]["correct"] == 1  # orphan repaired: p53 counts
