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

__all__ = ["limit_heap_arenas", "release_freed_memory"]

_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
    except OSError:
        return None
    return library if hasattr(library, "malloc_trim") and hasattr(library, "mallopt") else None


def limit_heap_arenas(count: int = 2) -> None:
    """At most `count` malloc arenas for the process's threads (those it already has keep
    theirs).

    glibc gives each new thread a heap of its own (up to eight per core); a thread that builds a
    graph copy then leaves its freed pages behind where no other thread reuses them. CPython
    allocates under its global lock anyway, so more arenas buy no parallelism here.
    `MALLOC_ARENA_MAX` in the environment says the same before the process starts."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, count)


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
