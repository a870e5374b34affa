"""Put the cell records of ``benchmarks/<set>`` back into a compare ``--out`` directory (the inverse of collect_cells.py).

Each ``SET/<fold>/<method>.json`` with its ``.settings.json``, ``.train_log.jsonl`` and
``.test_predictions.jsonl`` becomes ``OUT/cells/<fold>/<method>/result.json`` etc. Running the
same ``mrc-ner compare ... --out OUT`` then skips those cells (their settings and fold data are
checked as for any finished cell), trains only the missing ones and reports all: a long run
continues on a new machine. A cell already in OUT is never overwritten.

    python bench/restore_cells.py benchmarks/cbp_k5_e1 runs/cbp_k5_e1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collect_cells import COPIED


def restore(records: Path, out: Path) -> tuple[list[Path], list[Path]]:
    """Copy every cell of ``records`` into ``out``; returns (restored, already present) cell directories."""
    restored, present = [], []
    for result in sorted(records.glob("*/*.json")):
        if any(result.name.endswith(suffix) for suffix in COPIED.values() if suffix != ".json"):
            continue
        record = json.loads(result.read_text(encoding="utf-8"))
        if not (isinstance(record, dict) and {"scores", "fold", "method"} <= set(record)):
            continue  # another file of the set (decodings.json, …)
        name = result.name[: -len(".json")]
        cell = out / "cells" / result.parent.name / name
        if (cell / "result.json").exists():
            present.append(cell)
            continue
        cell.mkdir(parents=True, exist_ok=True)
        for target, suffix in COPIED.items():
            src = result.parent / f"{name}{suffix}"
            if src.is_file() and target != "result.json":
                (cell / target).write_bytes(src.read_bytes())
        (cell / "result.json").write_bytes(result.read_bytes())  # last: a cell counts as finished only when whole
        restored.append(cell)
    return restored, present


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=Path, help="a benchmarks/<set> directory")
    ap.add_argument("out", type=Path, help="the mrc-ner compare --out directory to continue")
    a = ap.parse_args()
    restored, present = restore(a.records, a.out)
    if not restored and not present:
        sys.exit(f"{a.records}: no cell records (<fold>/<method>.json)")
    for cell in restored:
        print(f"restored {cell}")
    for cell in present:
        print(f"kept {cell} (already there)")


if __name__ == "__main__":
    main()
