"""The cycle collector of a request-serving process: what start-up built stays out of its
passes, young objects are collected less often, and a service's one large structure can be left
out of its passes (`keep_out_of_passes`).

A registry process builds tens of thousands of long-lived objects at start-up (modules, the
ORM's mappers, SQLAlchemy's compiled statements, FastAPI's routes and models), and every full
pass of the collector walked them all again, while each request makes a few hundred
short-lived objects, most freed by reference counting alone, that set off a young pass every
700 allocations. Under `wrk` on `GET /v1/actors?kind=…&country=…` at 100,000 actors
(PostgreSQL, 2026-12-06), the collector took 8 % of the process's CPU; with start-up frozen
and a young pass every 10,000 allocations, 3 % (569–588 → 639–653 pages a second).
"""

import gc

__all__ = [
    "YOUNG_THRESHOLD",
    "keep_out_of_passes",
    "mark_serving",
    "tune_collector",
]

YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """Freeze what exists now (call it once the app is built) and space out young passes.
    Garbage that is cyclic is still collected; what exists now is only no longer scanned."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


# Whether this process is a served service and nothing else (`shared.operations.serve`): only
# then does `keep_out_of_passes` freeze its heap, which would outlive a test sharing the process.
_serving = False


def mark_serving() -> None:
    """Say that this process serves a service's app and nothing else."""
    global _serving
    _serving = True


def keep_out_of_passes() -> None:
    """Leave what the process holds now out of the cycle collector's passes for good, after one
    full pass: for a service whose state is one large structure built once and then changed a
    little at a time (the matching graph, millions of dicts at 100,000 actors). Each full pass
    walked it all, 2.5–5 s with every thread stopped, set off by any large piece of work.

    Call it again after replacing that structure: the one replaced comes back within the
    collector's reach first (a graph is a reference cycle with its cached views, which only the
    collector frees), and that pass frees it. What is kept out is still freed by reference
    counting when nothing refers to it any more. Only in a served process (`mark_serving`)."""
    if not _serving:
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()
