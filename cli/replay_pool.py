"""Replay tickets on several processes: a month of history is many independent evaluations.

Each ticket's replay depends on that ticket, its account and the policy only
(core/replay.py), so the tickets are cut into chunks and each chunk is replayed
in a worker process with the same pure function the single-process replay
uses; the chunks come back in input order, so the report is identical to an
in-process replay. Workers are started with ``spawn``: the parent may be
drawing a progress bar from another thread, and forking a threaded process is
not safe. Starting them costs about a second, so small replays stay in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from typing import Any

from core.replay import TicketsReplayer, replay_tickets
from core.replay_models import ReplayInput, TicketReplay

IN_PROCESS_BELOW = 1_000  # tickets: below this, starting workers (about a second) costs more than it saves
CHUNKS_PER_WORKER = 8  # enough chunks that a worker with slow tickets does not hold up the end


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def pooled_replayer(jobs: int, in_process_below: int = IN_PROCESS_BELOW) -> TicketsReplayer:
    """A ``run_replay`` ``replay_all`` that uses ``jobs`` worker processes for large replays."""

    def replay_all(
        inputs: Sequence[ReplayInput], policy: Any, since: datetime, until: datetime, strip: frozenset[str],
        done: Callable[[int], None] | None = None,
    ) -> list[TicketReplay]:
        if jobs <= 1 or len(inputs) < in_process_below:
            return replay_tickets(inputs, policy, since, until, strip, done)
        size = max(1, -(-len(inputs) // (jobs * CHUNKS_PER_WORKER)))
        chunks = [inputs[i: i + size] for i in range(0, len(inputs), size)]
        results: list[list[TicketReplay] | None] = [None] * len(chunks)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(chunks)), mp_context=context) as pool:
            futures = {pool.submit(replay_tickets, chunk, policy, since, until, strip): i
                       for i, chunk in enumerate(chunks)}  # fmt: skip
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if done is not None:
                    done(len(chunks[i]))
        return [replay for chunk in results for replay in chunk or ()]

    return replay_all
