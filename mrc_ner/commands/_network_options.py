"""The network options that ``extract`` and ``network`` share (one help text, one default)."""

from __future__ import annotations

from typing import Annotated

import typer

#: ``--window``: the co-occurrence window in sentences (default 2)
WindowOption = Annotated[
    int,
    typer.Option(
        "--window",
        min=1,
        help="Network edges link mentions whose sentence indices i, j have |i − j| < WINDOW: 1 = same sentence, 2 = same or adjacent.",
    ),
]

#: ``--min-edge-weight``: the edge threshold in documents (default 1)
MinEdgeWeightOption = Annotated[
    int,
    typer.Option(
        "--min-edge-weight",
        min=1,
        help="Keep network edges seen in at least this many documents (the paper used 2 and 3); nodes left without an edge are dropped.",
    ),
]


def split_types(values: list[str]) -> tuple[str, ...]:
    """Entity types from repeated and/or comma-separated option values; ``("gene",)`` when none is left."""
    return tuple(t.strip() for v in values for t in v.split(",") if t.strip()) or ("gene",)
