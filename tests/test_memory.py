"""The allocator setting behind ``extract --flat-memory``."""

import platform
import sys

import pytest

from mrc_ner.memory import FLAT_MEMORY_MMAP_THRESHOLD, set_mmap_threshold


def test_set_mmap_threshold_takes_effect_on_glibc():
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert set_mmap_threshold(FLAT_MEMORY_MMAP_THRESHOLD) is glibc


def test_negative_threshold_is_refused():
    with pytest.raises(ValueError, match="at least 0"):
        set_mmap_threshold(-1)
