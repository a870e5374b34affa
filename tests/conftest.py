"""Shared fixtures: the real corpora beside the repo, and tiny encoders built from data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MRC_NER_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``. Missing data is a failure, never a skip: CI must not pass by skipping."""
    if not (SHARED_DATA / "cbp_gold" / "documents").is_dir():
        pytest.fail(f"real corpora not found at {SHARED_DATA} (set MRC_NER_SHARED_DATA or put shared/ beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cbp_documents(shared_data: Path) -> Path:
    """The directory of the 21 cbp_gold patents."""
    return shared_data / "cbp_gold" / "documents"


@pytest.fixture(scope="session")
def ncbi_dir(shared_data: Path) -> Path:
    """NCBI-disease train/devel/test column files."""
    return shared_data / "bioner" / "NCBI-disease"
