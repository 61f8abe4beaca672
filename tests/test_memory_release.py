"""Freed heap pages go back to the system (glibc's `malloc_trim`), which the matching service
relies on after a graph copy or a training at national scale."""

import ctypes.util
import sys

import pytest

from shared.operations.memory import release_freed_memory

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
    reason="glibc's malloc_trim",
)


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_pages_freed_below_a_live_allocation_are_returned():
    # 150 MB in 2 kB chunks (malloc's heap, not Python's small-object arenas), then one kept
    # chunk above them, so that freeing them cannot simply lower the heap's top.
    chunks = [bytearray(2048) for _ in range(75_000)]
    kept = bytearray(2048)
    before = _resident_mb()
    del chunks
    freed = _resident_mb()
    release_freed_memory()
    after = _resident_mb()
    assert kept is not None
    assert before - after > 100, (before, freed, after)
