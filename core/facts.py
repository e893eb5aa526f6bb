"""What the triggers look at, derived once per evaluation.

Building this once keeps each trigger a short pure function and lets several
triggers share the expensive parts (folded texts for keyword matching, the
last human activity) without recomputing them.
"""

from __future__ import annotations

from datetime import datetime

from core.calendar import BusinessCalendar
from core.keywords import fold, fold_text
from core.model import Role, Ticket
from core.policy_sla import TargetName
from core.sla import SlaClock

TextField = str  # "subject" | "description" | "customer_comments"
_AGENT, _CUSTOMER, _SYSTEM = Role.agent, Role.customer, Role.system


class Facts:
    """One ticket at one instant, with its tier, SLA clocks and lazily folded texts."""

    __slots__ = ("ticket", "tier", "segment", "clocks", "calendar", "calendars", "now", "now_ts", "_texts", "_activity",
                 "_searchable", "_reopens", "_when")

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
        self._activity: dict[str, datetime] | None = None
        self._searchable: dict[tuple[str, ...], str] = {}
        self._reopens: int | None = None
        self._when: dict[tuple[str, float], float] = {}

    def named_calendar(self, name: str | None) -> BusinessCalendar:
        """A calendar by policy name; None means the ticket's SLA calendar."""
        return self.calendar if name is None else self.calendars[name]

    def calendar_for(self, clock: SlaClock) -> BusinessCalendar:
        """The calendar a clock runs on."""
        return self.calendar if clock.calendar == self.calendar.name else self.calendars[clock.calendar]

    def when_used(self, clock: SlaClock, minutes: float) -> float:
        """Epoch instant at which a running clock will have used ``minutes``.

        Worked out from the exact business seconds used, not the rounded
        minutes people read, so it is never after the real crossing.
        Remembered per clock and figure: several at-risk triggers of one policy
        usually share thresholds (75% of the same targets).
        """
        key = (clock.target, minutes)
        at = self._when.get(key)
        if at is None:
            at = self._when[key] = self.calendar_for(clock).add_business_seconds(
                self.now_ts, minutes * 60.0 - clock.elapsed_seconds)
        return at

    def texts(self, field: TextField) -> list[tuple[str, str, tuple[str, list[int] | None]]]:
        """``(where, original, folded)`` for one searchable field; comments are named ``comment:<id>``."""
        cached = self._texts.get(field)
        if cached is None:
            cached = self._texts[field] = [(where, text, fold(text)) for where, text in self._raw_texts(field) if text]
        return cached

    def searchable(self, fields: tuple[TextField, ...]) -> str:
        """The folded texts of ``fields`` on separate lines: one scan tells whether a phrase can be anywhere.

        Folding is per character, so this is the folded texts joined; a phrase
        found in any one text is found here too (a line break is not a word
        character), so no hit here means no hit at all.
        """
        cached = self._searchable.get(fields)
        if cached is None:
            texts = [text for field in fields for text in self._bodies(field) if text]
            cached = self._searchable[fields] = fold_text("\n".join(texts))
        return cached

    def _bodies(self, field: TextField) -> list[str]:
        """The texts of ``_raw_texts`` without their names."""
        if field == "subject":
            return [self.ticket.subject]
        if field == "description":
            return [self.ticket.description]
        return [c.body for c in self.ticket.comments if c.role is _CUSTOMER and not c.by_deskbridge]

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

    @property
    def reopen_count(self) -> int:
        """How often the ticket was reopened (counted once per evaluation)."""
        if self._reopens is None:
            self._reopens = self.ticket.reopen_count
        return self._reopens

    def last_activity(self, of: str) -> datetime:
        """Latest human update: ``agent`` (agent comments and changes), ``public`` (public comments) or ``any``."""
        if self._activity is None:
            self._activity = self._compute_activity()
        return self._activity[of]

    def _compute_activity(self) -> dict[str, datetime]:
        """All three kinds of latest human update in one pass over comments and history."""
        ticket = self.ticket
        agent = public = either = ticket.created_at
        for c in ticket.comments:
            if c.by_deskbridge or c.role is _SYSTEM:
                continue
            at, by_agent = c.created_at, c.role is _AGENT
            if by_agent and at > agent:
                agent = at
            if c.public and at > public:
                public = at
            if (by_agent or c.public) and at > either:
                either = at
        for e in ticket.history:
            if not e.by_deskbridge and e.actor_role is _AGENT:
                if e.at > agent:
                    agent = e.at
                if e.at > either:
                    either = e.at
        return {"agent": agent, "public": public, "any": either}
