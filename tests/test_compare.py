"""``mrc-ner compare``: report maths on fabricated cells, resume, --models mode, the CLI end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from mrc_ner.cli import app
from mrc_ner.errors import InputError
from mrc_ner.experiments import compare as cmp
from mrc_ner.io import atomic_write_json
from mrc_ner.models.base import Tagger
from mrc_ner.training import TrainArgs
from mrc_ner.training.provenance import cell_timing_key, timing_key

runner = CliRunner()
SAMPLE_CBP = Path(__file__).resolve().parents[1] / "data" / "sample_cbp"
SAMPLE_EN = SAMPLE_CBP.parent / "sample_en.tsv"


# --------------------------------------------------------------------------- fabricated cells


def ts(p: float, r: float, f: float, support: int = 10) -> dict:
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "support": support,
        "predicted": support,
        "correct": round(f * support),
    }


def fake_cell(
    out: Path,
    fold: str,
    method: str,
    *,
    micro: float,
    macro: float,
    gene: float,
    protein: float | None,
    wall: float,
    other_cores: dict | None = None,
) -> None:
    per_type = {"gene": ts(gene, gene, gene)}
    if protein is not None:
        per_type["protein"] = ts(protein, protein, protein)
    scores = {
        "per_type": per_type,
        "micro": ts(micro, micro, micro),
        "macro": ts(macro, macro + 0.1, macro),
        "weighted": ts(micro, micro, micro),
    }
    atomic_write_json(
        cmp.cell_dir(out, fold, method) / "result.json",
        {"fold": fold, "method": method, "scores": scores, "wall_seconds": wall}
        | ({"other_cores": other_cores} if other_cores is not None else {}),
    )


@pytest.fixture()
def fabricated(tmp_path: Path) -> Path:
    out = tmp_path / "cmp"
    a = [(0.80, 0.70, 0.90, 0.50, 10.0), (0.70, 0.60, 0.80, None, 20.0), (0.90, 0.80, 1.00, 0.70, 30.0)]
    b = [(0.60, 0.50, 0.60, 0.40, 5.0), (0.65, 0.55, 0.70, 0.30, 5.0), (0.70, 0.60, 0.80, 0.20, 5.0)]
    for i, (x, y) in enumerate(zip(a, b)):
        fake_cell(out, f"f{i}", "A", micro=x[0], macro=x[1], gene=x[2], protein=x[3], wall=x[4])
        # B's f1 cell shared the cores with another process during its second epoch
        shared = {"epochs": [0.0, 0.93 if i == 1 else 0.1], "test": 0.05}
        fake_cell(out, f"f{i}", "B", micro=y[0], macro=y[1], gene=y[2], protein=y[3], wall=y[4], other_cores=shared)
    fake_cell(out, "f0", "C", micro=0.50, macro=0.40, gene=0.50, protein=0.50, wall=1.0)
    return out


def read_all_cells(out: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "cells").glob("*/*/result.json"))]


def test_report_maths_against_hand_computed_figures(fabricated: Path) -> None:
    report = cmp.build_report(read_all_cells(fabricated), ["B", "A", "C"])
    assert [r.name for r in report.rows] == ["B", "A", "C"] and report.best == "A"
    _title, headers, rows = cmp.main_table(report)
    assert headers == [
        "method",
        "gene F1",
        "protein F1",
        "micro F1",
        "macro F1",
        "pooled micro F1",
        "p (vs best)",
        "folds",
        "time/cell (s)",
    ]
    by = {r[0]: r for r in rows}
    # pooled: every type has 10 gold and 10 predicted mentions per fold, correct = F1 x 10.
    # A: gene 9+8+10 of 30, protein 5+7 of 20 -> micro 39 / 50 = 78.00
    assert [by[m].pop(5) for m in "ABC"] == ["78.00", "50.00", "50.00"]
    # A: micro [.8 .7 .9] → 80 ± 10; macro [.7 .6 .8] → 70 ± 10; gene [.9 .8 1] → 90 ± 10;
    # protein only in folds 0 and 2: [.5 .7] → 60 ± 14.14; time [10 20 30] → 20 ± 10
    assert by["A"] == ["A", "90.00 ± 10.00", "60.00 ± 14.14", "80.00 ± 10.00", "70.00 ± 10.00", "best", "3", "20 ± 10"]
    # B: micro [.6 .65 .7] → 65 ± 5; paired differences to A [-.2 -.05 -.2]: mean -.15, sd .0866,
    # t = -.15 / (.0866 / √3) = -3.0, two-sided p with 2 d.o.f. = 1 - 3/√11 = 0.0955
    assert by["B"][1:5] == ["70.00 ± 10.00", "30.00 ± 10.00", "65.00 ± 5.00", "55.00 ± 5.00"]
    assert by["B"][5] == "0.095" and by["B"][6] == "3" and by["B"][7] == "5 ± 0"
    row_b = report.rows[0]
    assert row_b.t == pytest.approx(-3.0) and row_b.p_value == pytest.approx(1 - 3 / math.sqrt(11))
    # C has one fold: the mean alone (no "± 0.00") and no test
    assert by["C"][3] == "50.00" and by["C"][5] == "—" and by["C"][6] == "1"
    _, dh, drows = cmp.detail_table(report)
    assert dh[1:4] == ["micro P", "micro R", "micro F1"]
    assert drows[1][1:] == [
        "80.00 ± 10.00",
        "80.00 ± 10.00",
        "80.00 ± 10.00",
        "70.00 ± 10.00",
        "80.00 ± 10.00",
        "70.00 ± 10.00",
    ]
    _, ph, prows = cmp.pooled_table(report)
    assert ph == ["method", "gene F1", "protein F1", "micro P", "micro R", "micro F1", "macro F1", "mentions"]
    assert prows[1] == ["A", "90.00", "60.00", "78.00", "78.00", "78.00", "75.00", "50"]
    _, ch, crows = cmp.cells_table(report)
    assert ch == ["method", "f0", "f1", "f2"] and crows[2] == ["C", "50.00 (1 s)", "—", "—"]
    # other processes' load is shown where it reached a quarter of a core, never invented where unrecorded
    assert crows[0] == ["B", "60.00 (5 s)", "65.00 (5 s, others 0.9 cores)", "70.00 (5 s)"]
    assert crows[1][1] == "80.00 (10 s)" and report.rows[1].other_cores == [None, None, None]
    # every pair: B − A differs by [-20, -5, -20] points → -15 ± 8.66, the same t and p as the main table's;
    # pairs with C share one fold: a difference, no test
    _, ph, prows = cmp.pairs_table(report)
    assert ph[0] == "pair (first − second)" and "pairs" in cmp.all_tables(report)
    # cells without recorded test units: no test over units
    assert prows == [
        ["B − A", "3", "0", "-15.00 ± 8.66", "-3.00", "0.095", "—", "—"],
        ["B − C", "1", "1", "10.00", "—", "—", "—", "—"],
        ["A − C", "1", "1", "30.00", "—", "—", "—", "—"],
    ]


def test_cells_table_names_the_cpus_when_cells_ran_on_several(fabricated: Path) -> None:
    """One CPU everywhere (or none recorded): no marks; cells from two CPUs, or some unrecorded: each says which."""
    cells = read_all_cells(fabricated)
    title, _, rows = cmp.cells_table(cmp.build_report(cells, ["B", "A", "C"]))
    assert "CPU" not in title and "CPU" not in " ".join(cell for row in rows for cell in row)
    one = [{**c, "machine": {"cpu": "Intel Xeon"}} for c in cells]
    title, _, rows = cmp.cells_table(cmp.build_report(one, ["B", "A", "C"]))
    assert "CPU" not in title and rows[2] == ["C", "50.00 (1 s)", "—", "—"]
    mixed = [c if (c["method"], c["fold"]) == ("A", "f1") else {**c, "machine": {"cpu": "Intel Xeon"}} for c in cells]
    mixed = [{**c, "machine": {"cpu": "AMD EPYC"}} if c["method"] == "C" else c for c in mixed]
    title, _, rows = cmp.cells_table(cmp.build_report(mixed, ["B", "A", "C"]))
    assert title.endswith(
        "CPU A = AMD EPYC, B = Intel Xeon, ? = not recorded or mixed: times compare only within one CPU"
    )
    assert rows[1] == ["A", "80.00 (10 s, CPU B)", "70.00 (20 s, CPU ?)", "90.00 (30 s, CPU B)"]
    assert rows[0][2] == "65.00 (5 s, others 0.9 cores, CPU B)" and rows[2][1] == "50.00 (1 s, CPU A)"
    # a cell resumed on Intel after earlier epochs on AMD: its time belongs to neither
    resumed = {"resumed": {"earlier_seconds": 5.0}, "epochs_ran_on": [{"cpu": "AMD EPYC"}, {"cpu": "Intel Xeon"}]}
    moved = [{**c, **resumed} if (c["method"], c["fold"]) == ("C", "f0") else c for c in one]
    title, _, rows = cmp.cells_table(cmp.build_report(moved, ["B", "A", "C"]))
    assert title.endswith("CPU A = Intel Xeon, ? = not recorded or mixed: times compare only within one CPU")
    assert rows[2][1] == "50.00 (1 s, CPU ?)" and rows[1][1] == "80.00 (10 s, CPU A)"


def test_report_files(fabricated: Path) -> None:
    report = cmp.build_report(read_all_cells(fabricated), ["A", "B", "C"])
    cmp.write_report(report, fabricated)
    data = json.loads((fabricated / "results.json").read_text(encoding="utf-8"))
    assert data["best"] == "A" and [m["method"] for m in data["methods"]] == ["A", "B", "C"]
    a = data["methods"][0]["summary"]
    assert a["micro"]["f1"]["mean"] == pytest.approx(0.8) and a["micro"]["f1"]["std"] == pytest.approx(0.1)
    assert data["methods"][1]["ttest_vs_best"]["p"] == pytest.approx(1 - 3 / math.sqrt(11))
    assert data["methods"][0]["ttest_vs_best"] is None and data["methods"][2]["ttest_vs_best"] is None
    import csv

    rows = list(csv.DictReader((fabricated / "results.csv").open(encoding="utf-8")))
    assert [r["method"] for r in rows] == ["A", "B", "C"]
    assert float(rows[0]["micro_f1_mean"]) == pytest.approx(0.8) and float(rows[0]["protein_f1_std"]) == pytest.approx(
        math.sqrt(0.02)
    )
    assert rows[2]["p"] == "" and float(rows[1]["p"]) == pytest.approx(0.0955, abs=1e-4)
    md = (fabricated / "results.md").read_text(encoding="utf-8")
    assert "| A | 90.00 ± 10.00 | 60.00 ± 14.14 | 80.00 ± 10.00 |" in md


# --------------------------------------------------------------------------- method specs


def test_method_variants() -> None:
    specs = cmp.parse_methods(
        "mrc:query=simple:end=linear, partbert-crf:layers=2, crf:head_lr=0.01, bilstm-crf:hidden=64, lm-mixed:lm_max_steps=5"
    )
    assert [s.slug for s in specs] == [
        "mrc_query=simple_end=linear",
        "partbert-crf_layers=2",
        "crf_head_lr=0.01",
        "bilstm-crf_hidden=64",
        "lm-mixed_lm_max_steps=5",
    ]
    assert specs[0].create == {"query_kind": "simple"} and specs[0].options == {"end_head": "linear"}
    assert specs[1].options == {"trainable_layers": 2} and specs[2].train == {"head_lr": 0.01}
    assert (
        specs[3].options == {"lstm_hidden": 64}
        and specs[4].lm == {"max_steps": 5}
        and specs[4].tagger_method == "softmax"
    )
    with pytest.raises(InputError, match="unknown method 'nope'"):
        cmp.parse_methods("softmax,nope")
    with pytest.raises(InputError, match="no setting 'trainable_layers'"):
        cmp.parse_methods("crf:layers=2")
    with pytest.raises(InputError, match="twice"):
        cmp.parse_methods("crf,crf")
    assert cmp.parse_methods("softmax:schedule=cosine")[0].train == {"schedule": "cosine"}
    with pytest.raises(
        InputError, match=r"negative_ratio must be in \[0, 1\], got 3 \(in 'softmax:negative_ratio=3'\)"
    ):
        cmp.parse_methods("crf, softmax:negative_ratio=3")


def test_align_and_recipe_per_row(tiny_encoder) -> None:
    specs = cmp.parse_methods("softmax:align=mixed, hf-softmax, mrc:align=char:query=simple")
    assert specs[0].create == {"align": "mixed"} and specs[2].create == {"align": "char", "query_kind": "simple"}
    folds = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-0"])
    settings = tiny_settings(tiny_encoder)
    assert cmp.cell_tagger(specs[0], folds[0], settings).align_mode == "mixed"
    assert cmp.cell_tagger(specs[2], folds[0], settings).align_mode == "char"
    hf = cmp.cell_tagger(specs[1], folds[0], settings)
    assert hf.train_recipe["freeze_embeddings"] is False


def test_auto_alignment_per_method_and_the_cells_it_changes(tiny_encoder, tmp_path: Path) -> None:
    from mrc_ner.experiments.compare.cell_settings import fingerprint

    zh = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-0"])[0]
    en = cmp.load_folds(f"{SAMPLE_EN},{SAMPLE_EN},{SAMPLE_EN}", None)[0]
    settings = tiny_settings(tiny_encoder)
    specs = {s.method: s for s in cmp.parse_methods("mrc, mrc-packed, softmax, crf")}
    picked = {m: cmp.cell_tagger(s, zh, settings).align_mode for m, s in specs.items()}
    assert picked == {"mrc": "mixed", "mrc-packed": "mixed", "softmax": "char", "crf": "char"}
    assert {cmp.cell_tagger(s, en, settings).align_mode for s in specs.values()} == {"word"}
    # a cell recorded when `auto` gave every method `char`: reused where that is still the choice, refused where not
    for method, still_the_same in (("softmax", True), ("mrc", False)):
        values = cmp.cell_settings(specs[method], zh, settings)
        old = {k: v for k, v in values.items() if k != "align_resolved"}
        directory = tmp_path / method
        directory.mkdir()
        atomic_write_json(directory / "settings.json", {"fingerprint": fingerprint(old), "settings": old})
        if still_the_same:
            assert values["align_resolved"] is None
            assert cmp.check_cell(directory, values, finished=True) is None
        else:
            with pytest.raises(InputError, match="align_resolved None → 'mixed'"):
                cmp.check_cell(directory, values, finished=True)


def test_cells_recorded_before_a_setting_existed_are_reused(tiny_encoder, tmp_path: Path) -> None:
    from mrc_ner.experiments.compare.cell_settings import ADDED_LATER, fingerprint

    fold = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-0"])[0]
    (spec,) = cmp.parse_methods("softmax")
    values = cmp.cell_settings(spec, fold, tiny_settings(tiny_encoder))
    old = {k: v for k, v in values.items() if k not in ADDED_LATER}
    assert len(old) == len(values) - len(ADDED_LATER)
    atomic_write_json(tmp_path / "settings.json", {"fingerprint": fingerprint(old), "settings": old})
    assert cmp.check_cell(tmp_path, values, finished=True) is None
    # a value other than the one the old cells had is a real difference
    changed = {**values, "train.mention_replacement": 0.5}
    with pytest.raises(InputError, match=r"train\.mention_replacement 0\.0 → 0\.5"):
        cmp.check_cell(tmp_path, changed, finished=True)


def test_init_from_keeps_the_trained_alignment_under_auto(
    tiny_char_model, tiny_word_model, sample_cbp_corpus, sample_en_corpus
) -> None:
    from mrc_ner.models.building import build_tagger

    zh, en = sample_cbp_corpus.sentences, sample_en_corpus.sentences
    labels = sorted({sp.label for s in zh for sp in s.spans})

    def mode(model: Path, sentences, align: str = "auto") -> str:
        return build_tagger("mrc", "unused", labels, sentences, align=align, init_from=model).align_mode

    assert mode(tiny_char_model, zh) == "char"  # a new mrc model would get mixed
    assert mode(tiny_char_model, zh, align="mixed") == "mixed"  # an explicit choice wins
    assert mode(tiny_word_model, zh) == "mixed"  # word does not fit character data: auto as for a new model
    assert mode(tiny_char_model, en) == "word"


def test_explicit_split_folds(tmp_path: Path) -> None:
    files = sorted(SAMPLE_CBP.iterdir())
    folds = cmp.load_folds(f"{files[0]},,{files[2]}")
    assert [f.name for f in folds] == ["split"] and folds[0].dev == [] and folds[0].labels
    with pytest.raises(InputError, match="three paths"):
        cmp.load_folds(f"{files[0]},{files[1]}")
    with pytest.raises(InputError, match="needs --corpus"):
        cmp.load_folds("k=3")


def test_seeds_make_runs_of_each_fold_and_reuse_the_base_seed_cells(tmp_path: Path) -> None:
    """--seeds: one run per (fold, seed), the base seed under the fold's own name, every run a unit of the t-test."""
    folds = [cmp.FoldData(f"f{i}", [], [], [], ["gene"]) for i in range(2)]
    methods = cmp.parse_methods("softmax,crf")
    calls: list[tuple[str, str, int]] = []
    f1 = {"softmax": 0.6, "crf": 0.7}

    def fake_runner(spec, fold, settings, directory, *, out, log):
        calls.append((fold.name, spec.name, settings.train.seed))
        x = f1[spec.name] + 0.01 * len(calls)  # every run a different score
        s = ts(x, x, x)
        cell = {
            "fold": fold.name,
            "method": spec.name,
            "scores": {"per_type": {"gene": s}, "micro": s, "macro": s, "weighted": s},
            "wall_seconds": 1.0,
        }
        atomic_write_json(directory / "result.json", cell)
        return cell

    out = tmp_path / "seeded"
    settings = cmp.Settings(encoder="tiny", train=TrainArgs(seed=42))
    report = cmp.run_comparison(folds, methods, settings, out, runner=fake_runner, seeds=[42, 7])
    assert [(f, s) for f, m, s in calls if m == "crf"] == [("f0", 42), ("f0.seed7", 7), ("f1", 42), ("f1.seed7", 7)]
    assert all(r.folds == ["f0", "f0.seed7", "f1", "f1.seed7"] for r in report.rows)
    assert report.rows[0].summary.n_folds == 4 and any(r.p_value is not None for r in report.rows)
    recorded = json.loads((cmp.cell_dir(out, "f0.seed7", "crf") / "settings.json").read_text(encoding="utf-8"))
    assert recorded["settings"]["train.seed"] == 7
    # a single-seed re-run reuses the base seed's cells; a new seed trains only its own runs
    calls.clear()
    cmp.run_comparison(folds, methods, settings, out, runner=fake_runner)
    assert calls == []
    cmp.run_comparison(folds, methods, settings, out, runner=fake_runner, seeds=[42, 7, 3])
    assert sorted(calls) == sorted((f"f{i}.seed3", m, 3) for i in range(2) for m in ("softmax", "crf"))
    assert cmp.fold_of_run("f1.seed3") == "f1"


@pytest.mark.parametrize("bad", ["42,x", "1,1", "-3", "4,,5"])
def test_cli_bad_seeds_is_one_error_line(tmp_path: Path, bad: str) -> None:
    result = runner.invoke(app, compare_k3_args("softmax", tmp_path / "x", "--seeds", bad))
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--seeds" in lines[0], result.stderr


def test_cli_seeds_with_models_is_refused(tmp_path: Path) -> None:
    """--models only scores trained models: a --seeds beside it is an error, not silently ignored."""
    test_file = sorted(SAMPLE_CBP.iterdir())[0]
    args = [
        "compare",
        "--models",
        str(tmp_path),
        "--test",
        str(test_file),
        "--seeds",
        "1,2",
        "--out",
        str(tmp_path / "o"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--seeds" in result.stderr, result.output


# --------------------------------------------------------------------------- real tiny runs


def tiny_settings(encoder: Path) -> cmp.Settings:
    return cmp.Settings(
        encoder=str(encoder),
        train=TrainArgs(epochs=1, max_steps=2, batch_size=8),
        max_length=32,
        overlap=4,
        query_kind="simple",
    )


@pytest.fixture(scope="module")
def tiny_run(tiny_encoder, tmp_path_factory):
    """One fold × (softmax, crf) trained for 2 steps; returns (out dir, folds, methods, settings)."""
    out = tmp_path_factory.mktemp("compare") / "run"
    folds = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-0"])
    methods = cmp.parse_methods("softmax,crf")
    settings = tiny_settings(tiny_encoder)
    report = cmp.run_comparison(folds, methods, settings, out)
    assert [r.name for r in report.rows] == ["softmax", "crf"]
    return out, folds, methods, settings


@pytest.mark.slow
def test_cells_and_resume(tiny_run, monkeypatch) -> None:
    out, folds, methods, settings = tiny_run
    results = {m.name: cmp.cell_dir(out, "k3-0", m) / "result.json" for m in methods}
    for m, path in results.items():
        cell = json.loads(path.read_text(encoding="utf-8"))
        assert cell["fold"] == "k3-0" and cell["method"] == m and cell["steps"] == 2 and cell["wall_seconds"] > 0
        others = cell["other_cores"]  # Linux: the machine's busy time is read, so a figure is always there
        assert len(others["epochs"]) == 1 and all(x >= 0 for x in [*others["epochs"], others["test"]])
        assert cell["args"]["train"]["max_steps"] == 2 and set(cell["scores"]) == {
            "per_type",
            "micro",
            "macro",
            "weighted",
        }
        assert (path.parent / "model.safetensors").is_file() and not (path.parent / "checkpoint").exists()
        assert cell["machine"]["torch_threads"] == torch.get_num_threads() and cell["machine"]["cpu"]
        assert set(cell["code"]) == {"version", "commit", "dirty"}
        assert cell["epochs_ran_on"] == [{"cpu": timing_key(cell["machine"]), "commit": cell["code"]["commit"]}]
        assert cell_timing_key(cell) == timing_key(cell["machine"]) is not None
    mtimes = {m: p.stat().st_mtime_ns for m, p in results.items()}
    calls: list[str] = []
    real_fit = Tagger.fit

    def counting_fit(self, *a, **kw):
        calls.append(self.method)
        return real_fit(self, *a, **kw)

    monkeypatch.setattr(Tagger, "fit", counting_fit)
    cmp.run_comparison(folds, methods, settings, out)
    assert calls == [] and {m: p.stat().st_mtime_ns for m, p in results.items()} == mtimes
    # an unfinished cell (no result.json) is the only one trained again
    results["crf"].unlink()
    report = cmp.run_comparison(folds, methods, settings, out)
    assert calls == ["crf"] and results["crf"].is_file() and results["softmax"].stat().st_mtime_ns == mtimes["softmax"]
    assert {r.name for r in report.rows} == {"softmax", "crf"}
    assert (out / "results.json").is_file() and (out / "results.csv").is_file() and (out / "results.md").is_file()


@pytest.mark.slow
def test_interrupted_cell_resumes_and_counts_its_earlier_epochs(tiny_encoder, tmp_path: Path, monkeypatch) -> None:
    """A cell killed after epoch 1 continues from its checkpoint, and its time includes epoch 1."""
    import mrc_ner.training.loop as training

    out = tmp_path / "run"
    folds = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-0"])
    methods = cmp.parse_methods("softmax")
    settings = tiny_settings(tiny_encoder)
    settings.train = TrainArgs(epochs=2, batch_size=8)
    real_save = training.save_checkpoint

    def crash_after_first(*a, **k):
        real_save(*a, **k)
        raise KeyboardInterrupt  # killed once epoch 1 is checkpointed

    monkeypatch.setattr(training, "save_checkpoint", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        cmp.run_comparison(folds, methods, settings, out)
    monkeypatch.setattr(training, "save_checkpoint", real_save)
    cell = cmp.cell_dir(out, "k3-0", "softmax")
    first = json.loads((cell / "checkpoint" / "loop_state.json").read_text(encoding="utf-8"))
    assert first["epoch"] == 1 and first["seconds"] > 0 and not (cell / "result.json").exists()

    lines: list[str] = []
    cmp.run_comparison(folds, methods, settings, out, log=lines.append)
    assert any("continuing from the cell's checkpoint" in line for line in lines)
    result = json.loads((cell / "result.json").read_text(encoding="utf-8"))
    assert result["resumed"]["earlier_seconds"] == pytest.approx(first["seconds"], abs=1e-3)
    assert result["train_seconds"] > first["seconds"] and result["wall_seconds"] > result["train_seconds"]
    epochs = [json.loads(x)["epoch"] for x in (cell / "train_log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert epochs == [1, 2]


def test_models_mode(tiny_run, tmp_path: Path) -> None:
    out, *_ = tiny_run
    models = [cmp.cell_dir(out, "k3-0", "softmax"), cmp.cell_dir(out, "k3-0", "crf")]
    test_file = sorted(SAMPLE_CBP.iterdir())[0]
    dest = tmp_path / "models_cmp"
    result = runner.invoke(
        app,
        [
            "compare",
            "--models",
            str(models[0]),
            "--models",
            str(models[1]),
            "--test",
            str(test_file),
            "--out",
            str(dest),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((dest / "results.json").read_text(encoding="utf-8"))
    assert [m["method"] for m in data["methods"]] == ["softmax", "crf"]
    assert all(m["folds"] == ["test"] for m in data["methods"])
    assert "softmax" in result.output and "crf" in result.output
    # two trained models on one test set: the pairs table tests them over the test units
    [test] = data["unit_tests"]
    assert (test["first"], test["second"], test["trials"]) == ("softmax", "crf", 10_000) and 0 < test["p"] <= 1
    assert "pairs" in data["tables"]
    missing = runner.invoke(app, ["compare", "--models", str(models[0]), "--out", str(dest)])
    assert missing.exit_code == 2 and "--test" in missing.stderr


@pytest.mark.slow
def test_lm_mixed_pretrains_once_per_fold_and_settings(tiny_encoder, tmp_path: Path, monkeypatch) -> None:
    import mrc_ner.training.pretraining as pretraining

    calls: list[str] = []
    real = pretraining.pretrain

    def counting(encoder, out, **kw):
        calls.append(str(out))
        return real(encoder, out, **kw)

    monkeypatch.setattr(pretraining, "pretrain", counting)
    folds = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-1"])
    settings = tiny_settings(tiny_encoder)
    settings.lm = {"max_steps": 2, "batch_size": 8}
    out = tmp_path / "lm"
    report = cmp.run_comparison(folds, cmp.parse_methods("lm-mixed,lm-mixed:dropout=0.2"), settings, out)
    assert len(calls) == 1 and "k3-1" in calls[0]  # the second row reuses the fold's pretrained encoder
    enc_dir = Path(calls[0])
    assert (enc_dir / "mrc_ner_pretrain.json").is_file()
    text = (enc_dir.parent / "train_text.txt").read_text(encoding="utf-8").splitlines()
    assert text == [s.text for s in folds[0].train if s.text.strip()]
    cell = json.loads((cmp.cell_dir(out, "k3-1", "lm-mixed") / "result.json").read_text(encoding="utf-8"))
    assert cell["args"]["encoder"] == str(enc_dir) and cell["base_method"] == "lm-mixed"
    assert (
        json.loads((cmp.cell_dir(out, "k3-1", "lm-mixed") / "config.json").read_text(encoding="utf-8"))["method"]
        == "softmax"
    )
    assert [r.name for r in report.rows] == ["lm-mixed", "lm-mixed:dropout=0.2"]


def compare_k3_args(methods: str, out: Path, *extra: str) -> list[str]:
    """``mrc-ner compare`` arguments: the given methods over three folds of the Chinese sample, then ``extra``."""
    return ["compare", "--corpus", str(SAMPLE_CBP), "--folds", "k=3", "--methods", methods, "--out", str(out), *extra]


@pytest.mark.slow
def test_cli_end_to_end_k3(tiny_encoder, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    budget = ("--max-steps", "2", "--epochs", "1", "--batch-size", "8", "--max-length", "40", "--overlap", "4")
    args = compare_k3_args("crf,mrc:query=simple", out, "--encoder", str(tiny_encoder), *budget)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [m["method"] for m in data["methods"]] == ["crf", "mrc:query=simple"]
    assert all(m["folds"] == ["k3-0", "k3-1", "k3-2"] for m in data["methods"])
    assert len(data["cells"]) == 6 and data["tables"]["main"]["headers"][0] == "method"
    assert (out / "cells" / "k3-1" / "mrc_query=simple" / "result.json").is_file()
    assert "micro F1" in result.output and "mrc:query=simple" in (out / "results.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_cli_seeds_train_each_fold_once_per_seed(tiny_encoder, tmp_path: Path) -> None:
    """--seeds 42,7 on one fold: two cells per row, trained with their own seed (other weights), both in the mean."""
    out = tmp_path / "seeds"
    budget = ("--max-steps", "2", "--epochs", "1", "--batch-size", "8", "--max-length", "40", "--overlap", "4")
    args = compare_k3_args("softmax", out, "--encoder", str(tiny_encoder), "--fold", "k3-1", "--seeds", "42,7", *budget)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["methods"][0]["folds"] == ["k3-1", "k3-1.seed7"]
    cells = {f: cmp.cell_dir(out, f, "softmax") for f in ("k3-1", "k3-1.seed7")}
    seeds = {
        f: json.loads((d / "result.json").read_text(encoding="utf-8"))["args"]["train"]["seed"]
        for f, d in cells.items()
    }
    assert seeds == {"k3-1": 42, "k3-1.seed7": 7}
    weights = {f: (d / "model.safetensors").read_bytes() for f, d in cells.items()}
    assert weights["k3-1"] != weights["k3-1.seed7"]


def test_cli_bad_tagger_value_fails_before_any_cell_trains(tiny_encoder, tmp_path: Path) -> None:
    """A row value only its tagger checks stops the run at the start, with one line naming the row."""
    out = tmp_path / "bad"
    args = compare_k3_args("softmax,mrc:query=nope", out, "--encoder", str(tiny_encoder), "--fold", "k3-0")
    result = runner.invoke(app, [*args, "--max-steps", "1", "--max-length", "40", "--overlap", "4"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown query kind 'nope'" in lines[0] and "'mrc:query=nope'" in lines[0], lines
    assert not list(out.glob("cells/*/*/result.json"))


def test_rows_whose_cells_are_done_are_not_built_again(tmp_path: Path, monkeypatch) -> None:
    from mrc_ner.experiments.compare import runs

    folds = cmp.load_folds("k=3", SAMPLE_CBP, only=["k3-0", "k3-1"])
    methods = cmp.parse_methods("softmax,crf")
    built: list[tuple[str, str]] = []
    monkeypatch.setattr(runs, "cell_tagger", lambda spec, fold, settings: built.append((spec.name, fold.name)))
    done = cmp.cell_dir(tmp_path, "k3-0", "crf")
    done.mkdir(parents=True)
    (done / "result.json").write_text("{}", encoding="utf-8")
    cmp.check_rows(methods, folds, cmp.Settings(encoder="unused"), tmp_path)
    assert built == [("softmax", "k3-0"), ("crf", "k3-1")]
    (cmp.cell_dir(tmp_path, "k3-1", "crf") / "result.json").parent.mkdir(parents=True)
    (cmp.cell_dir(tmp_path, "k3-1", "crf") / "result.json").write_text("{}", encoding="utf-8")
    built.clear()
    cmp.check_rows(methods, folds, cmp.Settings(encoder="unused"), tmp_path)
    assert built == [("softmax", "k3-0")]


def test_cli_bad_method_is_one_error_line(tmp_path: Path) -> None:
    result = runner.invoke(app, compare_k3_args("softmax,sofmax", tmp_path / "x"))
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "sofmax" in lines[0], result.stderr
    assert not (tmp_path / "x").exists()


def test_cell_records_memory_and_test_predictions(tiny_run) -> None:
    """result.json splits recall by seen / new names; the saved predictions rescore to the same figures."""
    from mrc_ner.corpus.model import Span
    from mrc_ner.corpus.stats import mention_overlap
    from mrc_ner.evaluation import score_spans
    from mrc_ner.evaluation.significance import unit_keys

    out, folds, methods, _ = tiny_run
    fold = folds[0]
    overlap = mention_overlap(fold.train, fold.test)
    for m in methods:
        cell_path = cmp.cell_dir(out, "k3-0", m)
        cell = json.loads((cell_path / "result.json").read_text(encoding="utf-8"))
        lines = (cell_path / cmp.PREDICTIONS_NAME).read_text(encoding="utf-8").splitlines()
        assert len(lines) == len(fold.test)
        records = [json.loads(line) for line in lines]
        assert [r["id"] for r in records] == [s.id for s in fold.test]
        pred = [[Span(a, b, label) for a, b, label in r["spans"]] for r in records]
        assert score_spans([s.spans for s in fold.test], pred).to_dict() == cell["scores"]
        micro = cell["scores"]["micro"]
        kind, keys = unit_keys(fold.test)  # one sample patent per test fold: its sentences are the units
        assert cell["test_units"]["kind"] == kind and list(cell["test_units"]["counts"]) == list(dict.fromkeys(keys))
        totals = [sum(c[i] for c in cell["test_units"]["counts"].values()) for i in range(3)]
        assert totals == [micro["correct"], micro["predicted"], micro["support"]]
        for label, halves in cell["memory"].items():
            assert halves["seen"]["support"] == overlap[label]["seen"]
            assert halves["seen"]["support"] + halves["unseen"]["support"] == overlap[label]["mentions"]
            found = sum(h["found"] for h in halves.values())
            assert found == cell["scores"]["per_type"][label]["correct"]


def test_pairs_test_over_units_pools_runs_of_a_fold(fabricated: Path) -> None:
    """One split, two seeds: a unit's counts add up over the seeds; folds without units get no test."""
    cells = [c for c in read_all_cells(fabricated) if c["method"] in ("A", "B")]
    # A finds all 40 sentences' one mention in both seeds, B the first 20 only
    units = {
        "A": {f"s{i}": [1, 1, 1] for i in range(40)},
        "B": {f"s{i}": [int(i < 20), 1, 1] for i in range(40)},
    }
    runs = []
    for c in cells:
        if c["fold"] == "f0":
            for run in ("f0", "f0.seed7"):
                runs.append(c | {"fold": run, "test_units": {"kind": "sentence", "counts": units[c["method"]]}})
    report = cmp.build_report(runs, ["A", "B"])
    assert list(report.unit_tests) == [("A", "B")]
    kind, test = report.unit_tests[("A", "B")]
    # pooled over both seeds: A 80 of 80 (F1 1.0), B 40 correct of 80 predicted, 80 gold (F1 0.5)
    assert kind == "sentence" and test.units == 40 and test.difference == pytest.approx(0.5)
    assert test.p_value < 0.001 and 0.3 < test.low <= 0.5 <= test.high
    _, headers, rows = cmp.pairs_table(report)
    assert headers[6:] == ["pooled difference [95 % CI]", "p (randomization, units)"]
    assert "pairs" in cmp.all_tables(report)  # two methods, but a test over units to show
    assert rows[0][6].startswith("+50.00 [") and rows[0][7] == "<0.001 (40 sentences)"
    assert report.to_dict()["unit_tests"][0] | {"p": None} == {
        "first": "A",
        "second": "B",
        "unit": "sentence",
        "difference": test.difference,
        "low": test.low,
        "high": test.high,
        "p": None,
        "units": 40,
        "trials": 10000,
    }
    # one cell of the common runs lacks units: no test rather than a test on part of the runs
    runs[-1] = {k: v for k, v in runs[-1].items() if k != "test_units"}
    assert cmp.build_report(runs, ["A", "B"]).unit_tests == {}


def test_memory_table_pools_counts_and_marks_old_cells(fabricated: Path) -> None:
    cells = read_all_cells(fabricated)
    half = lambda n, k: {"support": n, "found": k}  # noqa: E731
    for c in cells:
        if c["method"] == "A":
            c["memory"] = {"gene": {"seen": half(2, 2), "unseen": half(4, 1)}}
    report = cmp.build_report(cells, ["A", "B", "C"])
    assert "memory" in cmp.all_tables(report)
    _, headers, rows = cmp.memory_table(report)
    assert headers == [
        "method",
        "gene seen R (n)",
        "gene new R (n)",
        "protein seen R (n)",
        "protein new R (n)",
        "folds",
    ]
    assert rows[0] == ["A", "100.00 (6)", "25.00 (12)", "—", "—", "3"]
    assert rows[1] == ["B", "—", "—", "—", "—", "0"]
    assert report.rows[0].to_dict()["memory"]["recall"]["gene"] == {"seen": 1.0, "unseen": 0.25}
    assert "memory" not in cmp.all_tables(cmp.build_report(read_all_cells(fabricated)))
