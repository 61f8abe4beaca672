"""Giving freed memory back to the system after a large, short-lived piece of work.

CPython frees the objects of a graph copy or a training set, but glibc keeps the pages of the
freed heap chunks (most of a graph's dicts are allocated there) for later allocations; the
numpy arrays that come next are mapped apart and never reuse them, so the process kept its
peak for good (the matching service stayed 400 MB above its built size after its first
training at 100,000 actors). `malloc_trim(0)` returns every whole free page. Elsewhere than
glibc it does nothing. It does not run the cycle collector (a second's pause at that scale):
free what is done with first (e.g. `CooperationGraph.discard`).
"""

import ctypes
import ctypes.util
from functools import cache

__all__ = ["release_freed_memory"]


@cache
def _malloc_trim() -> "ctypes._NamedFuncPointer | None":
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
