"""Smoke test of bench/mrc_capabilities.py: both experiments run end to end on a tiny budget and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

DISEASE = ["Germline mutations predispose women to breast cancer .", "Patients with ovarian cancer were studied ."]
GENE = ["BRCA1 is mutated in many families .", "Loss of TP53 was observed in breast cancer ."]


def write(path: Path, sentences, mention: str, label: str) -> None:
    lines = []
    for text in sentences:
        words = text.split()
        for w in words:
            lines.append(f"{w}\t{'B-' + label if w == mention or (w == 'cancer' and label == 'Disease') else 'O'}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_bioner(root: Path) -> Path:
    for name, sents, label in (("NCBI-disease", DISEASE, "Disease"), ("BC2GM", GENE, "GENE")):
        for split in ("train", "devel", "test"):
            write(root / name / f"{split}.tsv", sents * 3, {"Disease": "cancer", "GENE": "BRCA1"}[label], label)
    return root


def run_bench(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "mrc_capabilities.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_joint_and_new_type_smoke(tmp_path, tiny_encoder):
    data = make_bioner(tmp_path / "bioner")
    common = [
        "--data",
        data,
        "--encoder",
        tiny_encoder,
        "--max-train",
        4,
        "--max-dev",
        2,
        "--max-test",
        4,
        "--max-steps",
        1,
        "--epochs",
        1,
        "--max-length",
        48,
        "--query-kind",
        "simple",
        "--batch-size",
        4,
    ]
    out = tmp_path / "joint.json"
    joint = ("joint", "--corpora", "NCBI-disease,BC2GM", "--rows", "single-mrc,joint-mrc,union-softmax")
    proc = run_bench(*joint, "--json-out", out, *common)
    cells = json.loads(out.read_text())["cells"]
    assert set(cells) == {"single-mrc/NCBI-disease", "single-mrc/BC2GM", "joint-mrc", "union-softmax"}
    assert set(cells["joint-mrc"]["tests"]) == {"NCBI-disease", "BC2GM"}
    assert cells["joint-mrc"]["tests"]["BC2GM"]["support"] == 2  # BRCA1 in 2 of the first 4 test sentences
    assert "joint-mrc" in proc.stdout and "union-softmax" in proc.stdout
    again = run_bench(*joint, "--json-out", out, *common)
    assert " … " not in again.stderr and "joint-mrc …" not in again.stderr  # every cell reused
    out2 = tmp_path / "new.json"
    proc = run_bench("new-type", "--sizes", "2,4", "--curve-epochs", 1, "--json-out", out2, *common)
    cells = json.loads(out2.read_text())["cells"]
    assert {"base", "zero-shot", "mrc-init-from/2", "mrc-init-from/4", "softmax/2", "softmax/4"} == set(cells)
    assert cells["mrc-init-from/4"]["labels"] == ["Disease", "GENE"]
    assert len(cells["zero-shot"]["sweep"]) == 19
