"""Background jobs of ``update_many``: queued on submit, polled through ``job_statuses``.

The emulator applies a bulk update when it is submitted (so a 429 on the submit
never applies anything, and a reply means the work is done), but reports it
the way Zendesk does: ``queued`` in the submit answer, ``working`` on the first
poll, ``completed`` with one result per ticket afterwards.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from dataclasses import dataclass, field


@dataclass
class Job:
    id: str
    total: int
    results: list[dict]
    finished_at: str
    polls: int = 0
    job_type: str = "bulk_update"


@dataclass
class JobBook:
    jobs: dict[str, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def add(self, results: list[dict], finished_at: str) -> Job:
        with self._lock:
            digest = hashlib.md5(f"job-{next(self._counter)}".encode()).hexdigest()
            job = Job(id=f"V3-{digest}", total=len(results), results=results, finished_at=finished_at)
            self.jobs[job.id] = job
            return job

    def poll(self, job_id: str) -> Job | None:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is not None:
                job.polls += 1
            return job


def job_json(job: Job, base: str, *, state: str) -> dict:
    """``state``: "queued" (submit answer), or "working"/"completed" as polls go by."""
    done = state == "completed"
    progress = job.total if done else (0 if state == "queued" else job.total // 2)
    return {
        "id": job.id,
        "url": f"{base}/api/v2/job_statuses/{job.id}.json",
        "job_type": job.job_type,
        "total": job.total,
        "progress": progress,
        "status": state,
        "message": f"Completed at {job.finished_at}" if done else None,
        "results": job.results if done else None,
    }


def poll_state(job: Job) -> str:
    return "working" if job.polls <= 1 else "completed"
