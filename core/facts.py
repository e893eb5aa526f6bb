"""What the triggers look at, derived once per evaluation.

Building this once keeps each trigger a short pure function and lets several
triggers share the expensive parts (folded texts for keyword matching, the
last human activity) without recomputing them.
"""

from __future__ import annotations

from datetime import datetime

from core.calendar import BusinessCalendar
from core.keywords import fold
from core.model import Role, Ticket
from core.policy_sla import TargetName
from core.sla import SlaClock

TextField = str  # "subject" | "description" | "customer_comments"


class Facts:
    """One ticket at one instant, with its tier, SLA clocks and lazily folded texts."""

    __slots__ = ("ticket", "tier", "segment", "clocks", "calendar", "calendars", "now", "now_ts", "_texts", "_activity")

    def __init__(
        self,
        ticket: Ticket,
        tier: str,
        segment: str | None,
        clocks: dict[TargetName, SlaClock],
        calendar: BusinessCalendar,
        calendars: dict[str, BusinessCalendar],
        now: datetime,
    ):
        self.ticket = ticket
        self.tier = tier
        self.segment = segment
        self.clocks = clocks
        self.calendar = calendar  # the ticket's SLA calendar
        self.calendars = calendars
        self.now = now
        self.now_ts = now.timestamp()
        self._texts: dict[str, list[tuple[str, str, tuple[str, list[int] | None]]]] = {}
        self._activity: dict[str, datetime] = {}

    def named_calendar(self, name: str | None) -> BusinessCalendar:
        """A calendar by policy name; None means the ticket's SLA calendar."""
        return self.calendar if name is None else self.calendars[name]

    def calendar_for(self, clock: SlaClock) -> BusinessCalendar:
        """The calendar a clock runs on."""
        return self.calendar if clock.calendar == self.calendar.name else self.calendars[clock.calendar]

    def texts(self, field: TextField) -> list[tuple[str, str, tuple[str, list[int] | None]]]:
        """``(where, original, folded)`` for one searchable field; comments are named ``comment:<id>``."""
        cached = self._texts.get(field)
        if cached is None:
            cached = self._texts[field] = [(where, text, fold(text)) for where, text in self._raw_texts(field) if text]
        return cached

    def _raw_texts(self, field: TextField) -> list[tuple[str, str]]:
        if field == "subject":
            return [("subject", self.ticket.subject)]
        if field == "description":
            return [("description", self.ticket.description)]
        return [
            (f"comment:{c.id}", c.body)
            for c in self.ticket.comments
            if c.role is Role.customer and not c.by_deskbridge
        ]

    def last_activity(self, of: str) -> datetime:
        """Latest human update: ``agent`` (agent comments and changes), ``public`` (public comments) or ``any``."""
        cached = self._activity.get(of)
        if cached is None:
            cached = self._activity[of] = self._compute_activity(of)
        return cached

    def _compute_activity(self, of: str) -> datetime:
        ticket = self.ticket
        latest = ticket.created_at
        for c in ticket.comments:
            if c.by_deskbridge or c.role is Role.system:
                continue
            counts = (of != "public" and c.role is Role.agent) or (of != "agent" and c.public)
            if counts and c.created_at > latest:
                latest = c.created_at
        if of != "public":
            for e in ticket.history:
                if not e.by_deskbridge and e.actor_role is Role.agent and e.at > latest:
                    latest = e.at
        return latest
