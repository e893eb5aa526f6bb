"""A simulated ticket: mutable state while the desk works it, and its normalized view for the engine.

The desk changes a :class:`SimTicket` the way people and automations change a
helpdesk ticket: comments, status, group, assignee, priority and tags, each
change recorded as a :class:`core.model.HistoryEvent`. :meth:`SimTicket.model`
is the :class:`core.model.Ticket` a connector would have produced from it;
:meth:`SimTicket.measured` is the same ticket judged on the priority it arrived
with (so an arm that raises priority is not measured against a stricter row).
"""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks.simulation.workload import TicketSpec
from core.model import Comment, EventKind, HistoryEvent, Priority, Role, Status, System, Ticket

KEYS = {"zendesk": "#{n}", "servicenow": "INC{n:07d}", "jira": "SUP-{n}"}
OPEN_STATUSES = ("new", "open")  # waiting for an agent (pending and on_hold wait for someone else)


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class SimTicket:
    """One ticket's state in one arm of the simulation."""

    def __init__(self, spec: TicketSpec):
        self.spec = spec
        self.n = spec.n
        self.status = "new"
        self.priority = spec.priority
        self.group = spec.initial_group
        self.assignee: str | None = None
        self.tags: list[str] = []
        self.comments: list[Comment] = []
        self.history: list[HistoryEvent] = []
        self.updated = spec.arrive
        self.last_customer_at = spec.arrive
        self.version = 0  # bumped on every change the helpdesk would show
        self.in_work: str | None = None  # the agent working on it right now
        self.work_left = spec.capable_touches
        self.touches = 0  # every agent touch so far (indexes the handling draws)
        self.touches_in_group = 0  # touches by the current group that could not solve it
        self.exchange = 0  # customer exchanges so far (indexes the reply-delay draws)
        self.escalated = False  # moved up by anyone: queues serve escalated tickets first
        self.solved_at: float | None = None
        self.first_reply_at: float | None = None
        self.awaiting_verdict = 0  # deskbridge proposals the supervisor has not answered yet
        self.verdicts = 0
        self.breached: dict[str, float] = {}  # target -> first instant seen breached (measurement)
        self._model: tuple[int, Ticket] | None = None
        self.comment("customer", True, spec.description, spec.arrive)

    # -- changes -------------------------------------------------------------------------------

    def touch(self, ts: float) -> None:
        self.updated = max(self.updated, ts)
        self.version += 1

    def comment(self, role: str, public: bool, body: str, ts: float, *, author: str | None = None,
                by_deskbridge: bool = False) -> None:
        author = author or (f"cust-{self.n}" if role == "customer" else "deskbridge")
        self.comments.append(Comment(id=f"{self.n}-{len(self.comments)}", author_id=author, role=Role(role),
                                     public=public, body=body, created_at=at(ts), by_deskbridge=by_deskbridge))
        if role == "customer":
            self.last_customer_at = ts
        if role == "agent" and public and not by_deskbridge and self.first_reply_at is None:
            self.first_reply_at = ts
        self.touch(ts)

    def change(self, kind: str, value: str | None, ts: float, actor: str, role: str, *,
               by_deskbridge: bool = False) -> None:
        """Set status, group, assignee or priority, recording the history event a helpdesk would keep."""
        before = getattr(self, kind)
        if before == value:
            return
        setattr(self, kind, value)
        self.history.append(HistoryEvent(kind=EventKind(f"{kind}_change"), at=at(ts), from_value=before,
                                         to_value=value, actor_id=actor, actor_role=Role(role),
                                         by_deskbridge=by_deskbridge))
        if kind == "status" and value == "solved":
            self.solved_at = ts
        self.touch(ts)

    def add_tags(self, tags, ts: float) -> None:
        new = [t for t in tags if t not in self.tags]
        if new:
            self.tags.extend(new)
            self.touch(ts)

    def remove_tag(self, tag: str, ts: float) -> None:
        if tag in self.tags:
            self.tags.remove(tag)
            self.touch(ts)

    # -- views ---------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status not in ("solved", "closed")

    @property
    def waiting_for_agent(self) -> bool:
        return self.status in OPEN_STATUSES and self.in_work is None

    def model(self) -> Ticket:
        """The normalized ticket the engine sees now (cached per version)."""
        if self._model is None or self._model[0] != self.version:
            self._model = (self.version, self._build(Priority(self.priority), tuple(self.history)))
        return self._model[1]

    def measured(self) -> Ticket:
        """The ticket as the SLA is measured: its arrival priority, no priority changes."""
        history = tuple(e for e in self.history if e.kind is not EventKind.priority_change)
        return self._build(Priority(self.spec.priority), history)

    def _build(self, priority: Priority, history: tuple[HistoryEvent, ...]) -> Ticket:
        spec = self.spec
        return Ticket(
            system=System(spec.system), id=str(self.n), key=KEYS[spec.system].format(n=self.n),
            subject=spec.subject, description=spec.description, status=Status(self.status),
            native_status=self.status, priority=priority, native_priority=priority.value,
            product_area=spec.product_area, requester_id=f"cust-{self.n}",
            account_id=spec.account.id if spec.account else None, assignee_id=self.assignee, group=self.group,
            tags=tuple(self.tags), created_at=at(spec.arrive), updated_at=at(self.updated),
            solved_at=at(self.solved_at) if self.solved_at is not None else None,
            first_agent_reply_at=at(self.first_reply_at) if self.first_reply_at is not None else None,
            comments=tuple(self.comments), history=history, concurrency_token=str(self.version),
        )  # fmt: skip
