"""Copy the finished cells of an ``mrc-ner compare`` run into ``benchmarks/`` (scores and logs, no weights).

Each ``OUT/cells/<fold>/<method>/`` that has a ``result.json`` becomes
``DEST/<fold>/<method>.json`` (the cell's result), ``DEST/<fold>/<method>.settings.json``
(what it was computed with), ``DEST/<fold>/<method>.train_log.jsonl`` (dev scores per
epoch) and ``DEST/<fold>/<method>.test_predictions.jsonl`` (the test spans, where the cell wrote them). ``python bench/tables.py DEST`` then rebuilds compare's tables from them, on any
machine, and a run can continue elsewhere from the same settings.

    python bench/collect_cells.py runs/cbp_k5_e1 benchmarks/cbp_k5_e1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COPIED = {
    "result.json": ".json",
    "settings.json": ".settings.json",
    "train_log.jsonl": ".train_log.jsonl",
    "test_predictions.jsonl": ".test_predictions.jsonl",
}


def collect(out: Path, dest: Path) -> list[Path]:
    """Copy every finished cell's records; returns the result files written."""
    written = []
    for result in sorted(out.glob("cells/*/*/result.json")):
        cell = result.parent
        fold = cell.parent.name
        json.loads(result.read_text(encoding="utf-8"))  # a torn result.json is refused, not copied
        (dest / fold).mkdir(parents=True, exist_ok=True)
        for name, suffix in COPIED.items():
            src = cell / name
            if src.is_file():
                target = dest / fold / f"{cell.name}{suffix}"
                target.write_bytes(src.read_bytes())
                if name == "result.json":
                    written.append(target)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="an mrc-ner compare --out directory")
    ap.add_argument("dest", type=Path, help="a benchmarks/<set> directory")
    a = ap.parse_args()
    written = collect(a.out, a.dest)
    if not written:
        sys.exit(f"{a.out}: no finished cell (cells/<fold>/<method>/result.json)")
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
