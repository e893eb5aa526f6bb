"""Drive :mod:`chaos.worker` from the runner: send a sync, watch for the kill point, SIGKILL, restart.

The kill is a real ``kill -9`` of the worker's process (``os.kill(pid,
SIGKILL)``): no ``finally`` runs, no transaction commits, no connection is
closed politely. The next run starts a fresh process on the same state store.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from chaos.schedule import KillPlan

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.01
READY_TIMEOUT = 300.0



class RequestLog(Protocol):
    """What a kill watch reads: the sandbox's request log (:class:`sandbox.context.EventLog`)."""

    def last_seq(self) -> int: ...

    def query_requests(self, system: str | None = None, since_seq: int = 0) -> list[dict]: ...


class WorkerError(RuntimeError):
    """The worker process died or said something that is not an answer."""


@dataclass
class RunResult:
    """What became of one sync run in the worker."""

    system: str
    ok: bool = False
    killed: bool = False
    kill_point: str | None = None
    timed_out: bool = False
    error: str | None = None
    typed_error: bool = True
    summary: dict | None = None
    seconds: float = 0.0
    restart: bool = False  # the run that followed a kill, on the same state store
    kill_planned: str | None = None  # the kill point drawn for this run (it may finish before reaching it)


class SyncProcess:
    """One ``python -m chaos.worker`` process; started lazily, replaced after a kill."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.starts = 0

    def ensure_started(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - owned by the child's lifetime
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chaos.worker"], cwd=ROOT, env=self.env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
        )  # fmt: skip
        log.close()
        self.starts += 1
        self._lines = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, self._lines), daemon=True).start()
        ready = self._next_answer(READY_TIMEOUT)
        if not ready.get("ready"):
            raise WorkerError(f"the sync worker did not start: {ready}")

    def run(self, system: str, now_iso: str, run_id: str, *, kill: KillPlan | None = None,
            requests: RequestLog | None = None, timeout: float = 180.0) -> RunResult:
        """One sync; SIGKILL the process when ``kill``'s point is reached first."""
        self.ensure_started()
        assert self.proc is not None and self.proc.stdin is not None
        watch = KillWatch(kill, requests) if kill else None
        began = time.monotonic()
        self.proc.stdin.write(json.dumps({"system": system, "now": now_iso, "run_id": run_id}) + "\n")
        self.proc.stdin.flush()
        result = RunResult(system)
        while True:
            elapsed = time.monotonic() - began
            try:
                line = self._lines.get(timeout=POLL_SECONDS)
            except queue.Empty:
                line = ""
            if line is None:
                raise WorkerError(f"the sync worker exited with {self.proc.wait()}; see {self.log_path}")
            if line:
                return _finish(result, json.loads(line), elapsed)
            if watch is not None and watch.reached(elapsed):
                self.kill()
                result.killed, result.kill_point, result.seconds = True, watch.point, elapsed
                return result
            if elapsed > timeout:
                self.kill()
                result.timed_out, result.error, result.seconds = True, f"no answer within {timeout:.0f} s", elapsed
                return result

    def kill(self) -> None:
        """kill -9, then reap the process."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def close(self) -> None:
        """End the worker politely (stdin closed) or, failing that, by SIGKILL."""
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            self.kill()
        self.proc = None

    def _next_answer(self, timeout: float) -> dict:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(f"no answer from the sync worker within {timeout:.0f} s") from None
        if line is None:
            raise WorkerError(f"the sync worker exited; see {self.log_path}")
        return json.loads(line)


class KillWatch:
    """Decides when a kill plan's moment has come, from elapsed time or the sandbox's request log."""

    def __init__(self, plan: KillPlan, requests: RequestLog | None):
        self.plan, self.requests = plan, requests
        self.since = 0
        self.matched = 0
        self.seen_at: float | None = None  # elapsed seconds when the nth matching request appeared
        self.point = plan.label
        if plan.delay is None:
            if requests is None:
                raise ValueError("a kill on a request needs the sandbox's request log")
            self.since = requests.last_seq()

    def reached(self, elapsed: float) -> bool:
        if self.plan.delay is not None:
            return elapsed >= self.plan.delay
        assert self.requests is not None
        if self.seen_at is None:
            for record in self.requests.query_requests(self.plan.system, since_seq=self.since):
                self.since = max(self.since, record["seq"])
                if self._matches(record):
                    self.matched += 1
                    if self.matched >= self.plan.nth:
                        self.point = f"{self.plan.label}: {record['method']} {record['path']}"
                        self.seen_at = elapsed
                        break
        return self.seen_at is not None and elapsed >= self.seen_at + self.plan.after

    def _matches(self, record: dict) -> bool:
        plan = self.plan
        return (
            (plan.system is None or record["system"] == plan.system)
            and re.fullmatch(plan.method, record["method"]) is not None
            and re.search(plan.path, record["path"]) is not None
        )


def _pump(stream, lines: queue.Queue) -> None:
    """Move the worker's answer lines onto a queue; None marks its end."""
    for line in stream:
        if line.strip():
            lines.put(line)
    lines.put(None)


def _finish(result: RunResult, answer: dict, elapsed: float) -> RunResult:
    result.seconds = elapsed
    result.ok = bool(answer.get("ok"))
    result.summary = answer.get("summary")
    result.error = answer.get("error")
    result.typed_error = bool(answer.get("typed", True))
    return result
