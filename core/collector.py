"""The cyclic garbage collector around batch evaluation.

A batch of evaluations builds tens of thousands of container objects (tickets,
clocks, decisions) that live until the batch is done and then die by reference
counting: none of them is in a reference cycle (over 20,000 seeded tickets the
collector freed nothing). With CPython's default thresholds (700, 10, 10) these
survivors are walked by a young collection (cheap: 700 objects just touched),
then again by every middle collection (every 10 young ones: some 7,000 objects,
mostly out of cache) and by full collections: about 28 us of a 160 us ticket,
for nothing.

:func:`batch_collection` raises only the middle generation's threshold for the
duration of a batch. Young collections still run every 700 allocations, so
short-lived cycles are freed as promptly as before; the batch's survivors wait
in the middle generation instead of being walked again and again, and are
usually freed by reference counting before the next middle collection runs.
Raising the young threshold instead does not help: the walk is only put off,
and one walk of 70,000 objects out of cache costs more than the many small
ones it replaces.
"""

from __future__ import annotations

import gc
import threading
from contextlib import ContextDecorator

YOUNG_PASSES = 1_000
"""Young collections a middle collection waits for during a batch (default 10): at most some
700,000 surviving allocations, which bounds what a cycle made in the batch can hold on to."""

_lock = threading.Lock()
_depth = 0
_found: tuple[int, int, int] | None = None


class batch_collection(ContextDecorator):  # noqa: N801 - used like a function: `with batch_collection():`
    """Hold the batch's survivors in the middle generation while it runs; restore the thresholds after.

    Reentrant and safe across threads: the first batch to enter raises the
    threshold, the last to leave restores the thresholds it found. Usable as
    a decorator too. With the collector's young threshold at 0 (disabled)
    nothing changes.
    """

    def __init__(self, young_passes: int = YOUNG_PASSES):
        if young_passes < 1:
            raise ValueError("young_passes must be at least 1")
        self.young_passes = young_passes

    def __enter__(self) -> batch_collection:
        global _depth, _found
        with _lock:
            if _depth == 0:
                _found = gc.get_threshold()
                young, middle, old = _found
                if young:
                    gc.set_threshold(young, max(middle, self.young_passes), old)
            _depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _depth, _found
        with _lock:
            _depth -= 1
            if _depth == 0 and _found is not None:
                gc.set_threshold(*_found)
                _found = None
