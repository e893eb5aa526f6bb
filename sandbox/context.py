"""What the four emulators share: a virtual clock, the request and write logs, and faults.

One :class:`SandboxContext` is shared by every emulator of a sandbox, so a
single ``advance`` moves time for Zendesk, ServiceNow, Jira and Salesforce at
once, and one log answers "exactly one internal note was posted".

Faults are matched per system, HTTP method and path pattern, either by
probability (seeded) or as a script ("the next N matching requests"). The
generic ones are answered by :class:`FaultMiddleware` *before* the emulator
sees the request, so a request answered 429 or 5xx never applies its write.
``conflict`` is semantic: the middleware marks the request and the emulator
performs a simulated human edit on the targeted ticket(s) before serving it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

INJECTED_RESET = "sandbox: injected connection reset"  # uvicorn's log of it is hidden (tls_server)
FaultKind = Literal["429", "5xx", "latency", "reset", "conflict", "malformed", "401", "403"]


class VirtualClock:
    """Sandbox time: starts at a fixed instant and moves only when told to (or with the wall clock when running)."""

    def __init__(self, start: datetime | None = None, *, follow_wall_clock: bool = False):
        self._lock = threading.Lock()
        self._now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self._follow = follow_wall_clock
        self._anchor = datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            if self._follow:
                return self._now + (datetime.now(UTC) - self._anchor)
            return self._now

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("the sandbox clock needs a timezone-aware instant")
        with self._lock:
            self._now, self._anchor = instant.astimezone(UTC), datetime.now(UTC)
            return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock never moves backwards")
        return self.set(self.now() + timedelta(seconds=seconds))


@dataclass
class RequestRecord:
    """One HTTP request an emulator received, and how it was answered."""

    seq: int
    system: str
    method: str
    path: str
    query: str
    status: int
    at: str  # virtual time, ISO 8601
    fault: str | None = None


@dataclass
class WriteRecord:
    """One semantic write an emulator applied (a note, a tag add, a reassignment, ...).

    ``kind`` is one of: comment, tags_added, tags_removed, group, assignee, priority,
    status, field, created. ``actor`` is "api" for writes made through the API and
    "human" for those simulated through the admin endpoint.
    """

    seq: int
    system: str
    ticket_id: str
    kind: str
    actor: str
    at: str
    detail: dict[str, Any] = field(default_factory=dict)


class EventLog:
    """Bounded, thread-safe request log plus an unbounded write log."""

    def __init__(self, max_requests: int = 200_000):
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._last_seq = 0
        self.requests: deque[RequestRecord] = deque(maxlen=max_requests)
        self.writes: list[WriteRecord] = []

    def request(self, **kw: Any) -> None:
        with self._lock:
            self._last_seq = next(self._seq)
            self.requests.append(RequestRecord(seq=self._last_seq, **kw))

    def write(self, system: str, ticket_id: str, kind: str, actor: str, at: datetime, **detail: Any) -> None:
        with self._lock:
            self._last_seq = next(self._seq)
            self.writes.append(
                WriteRecord(self._last_seq, system, str(ticket_id), kind, actor, at.isoformat(), detail)
            )

    def query_requests(self, system: str | None = None, since_seq: int = 0) -> list[dict]:
        with self._lock:
            rows = list(self.requests)
        return [asdict(r) for r in rows if r.seq > since_seq and (system is None or r.system == system)]

    def query_writes(self, system: str | None = None, since_seq: int = 0, actor: str | None = None) -> list[dict]:
        with self._lock:
            rows = list(self.writes)
        return [
            asdict(w)
            for w in rows
            if w.seq > since_seq and (system is None or w.system == system) and (actor is None or w.actor == actor)
        ]

    def last_seq(self) -> int:
        """The latest sequence number handed out: pass it as ``since`` to see only what follows."""
        with self._lock:
            return self._last_seq

    def clear(self) -> None:
        """Forget every record; sequence numbers keep counting, so old ``since`` marks stay valid."""
        with self._lock:
            self.requests.clear()
            self.writes.clear()


@dataclass
class Fault:
    """A fault rule. ``count`` scripts the next N matches; otherwise ``probability`` applies."""

    kind: FaultKind
    system: str = "*"
    method: str = "*"
    path: str = ".*"  # regular expression searched in the request path
    count: int | None = None
    probability: float = 1.0
    retry_after: int = 1  # seconds, for 429 (always an integer: the clients int() it)
    status: int = 503  # for 5xx
    delay_ms: int = 500  # for latency
    injected: int = 0

    def matches(self, system: str, method: str, path: str) -> bool:
        return (
            self.system in ("*", system)
            and self.method in ("*", method)
            and re.search(self.path, path) is not None
            and (self.count is None or self.injected < self.count)
        )


class FaultPlan:
    """The active fault rules, consulted once per request."""

    def __init__(self, seed: int = 0):
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.rules: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def draw(self, system: str, method: str, path: str) -> Fault | None:
        """The fault to inject for this request, if any (first matching rule wins)."""
        if path.startswith("/_admin"):
            return None
        with self._lock:
            for rule in self.rules:
                if rule.matches(system, method, path) and self._rng.random() < rule.probability:
                    rule.injected += 1
                    return rule
        return None

    def summary(self) -> list[dict]:
        with self._lock:
            return [asdict(r) for r in self.rules]


@dataclass
class SandboxContext:
    """Shared by all emulators of one sandbox."""

    clock: VirtualClock = field(default_factory=VirtualClock)
    log: EventLog = field(default_factory=EventLog)
    faults: FaultPlan = field(default_factory=FaultPlan)


class FaultMiddleware:
    """Logs every request and injects the generic faults before the emulator runs.

    ``error_body`` gives each system's own error shape for a status code, so a
    429 from the Zendesk emulator looks like Zendesk's and one from ServiceNow
    like ServiceNow's. For ``conflict`` the fault is put in ``scope["state"]``
    under ``"fault"`` and the request goes on to the emulator.
    """

    def __init__(self, app: ASGIApp, system: str, ctx: SandboxContext, error_body):
        self.app, self.system, self.ctx, self.error_body = app, system, ctx, error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        fault = self.ctx.faults.draw(self.system, method, path)
        status_box = {"status": 0}

        async def logging_send(message):
            # Log before the response leaves, so a client never sees an answer the log lacks.
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
                record()
            await send(message)

        def record():
            self.ctx.log.request(
                system=self.system, method=method, path=path, query=query,
                status=status_box["status"], at=self.ctx.clock.now().isoformat(),
                fault=fault.kind if fault else None,
            )

        if fault is None or fault.kind == "conflict":
            if fault is not None:
                scope.setdefault("state", {})["fault"] = fault
            await self.app(scope, receive, logging_send)
            return
        if fault.kind == "latency":
            await asyncio.sleep(fault.delay_ms / 1000)
            await self.app(scope, receive, logging_send)
            return
        if fault.kind == "reset":
            # Promise a body, send part of it, then drop the connection: the client
            # sees a broken connection (requests: ChunkedEncodingError/ConnectionError).
            # The emulator never ran, so no write was applied.
            record()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
            raise ConnectionResetError(INJECTED_RESET)
        response = self._fault_response(fault)
        await response(scope, receive, logging_send)

    def _fault_response(self, fault: Fault) -> Response:
        if fault.kind == "malformed":
            return Response(b'{"tickets": [{"id": 1, "subj', status_code=200, media_type="application/json")
        status = {"429": 429, "5xx": fault.status, "401": 401, "403": 403}[fault.kind]
        headers = {"Retry-After": str(int(fault.retry_after))} if status in (429, 503) else {}
        body, media_type = self.error_body(status)
        return Response(body, status_code=status, headers=headers, media_type=media_type)


def request_fault(request: Request) -> Fault | None:
    """The ``conflict`` fault the middleware attached to this request, if any."""
    return request.scope.get("state", {}).get("fault")
