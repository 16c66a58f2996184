"""The cyclic garbage collector while an audit runs.

An audit allocates millions of short-lived objects (each request's headers, futures, JSON pages).
With CPython's default thresholds a young collection runs every 700 net allocations and traverses
everything the units in flight hold; at 128 units in flight the collector took a quarter of the
audit's CPU (docs/performance.md). While any audit runs in the process, young collections run every
50,000 allocations, and what existed before the first audit began (modules, the registry) is frozen
out of the collector's scans. The cost is a few MiB: cyclic garbage lives a little longer.

Reference-counted, so overlapping audits (the Functions worker runs several messages at once) share
one setting and the last one to finish puts the defaults back.
"""

from __future__ import annotations

import gc

AUDIT_THRESHOLDS = (50_000, 20, 10)

_holders = 0
_saved: tuple[int, int, int] | None = None


def hold() -> None:
    """An audit begins: raise the thresholds and freeze the heap (the first holder only)."""
    global _holders, _saved
    if _holders == 0:
        _saved = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(*AUDIT_THRESHOLDS)
    _holders += 1


def release() -> None:
    """An audit ended: the last holder restores the thresholds and unfreezes."""
    global _holders, _saved
    if _holders == 0:
        return
    _holders -= 1
    if _holders == 0 and _saved is not None:
        gc.set_threshold(*_saved)
        gc.unfreeze()
        _saved = None
