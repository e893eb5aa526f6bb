"""The three arms: no escalation, Zendesk-style hourly automations, and deskbridge's real engine.

Every arm sees the same desk and the same arrivals; only how tickets are
escalated differs. Humans escalate by hand in all three (see desk.py).
"""

from __future__ import annotations

import heapq
import time
from collections import Counter

from benchmarks.simulation.params import MINUTE, AutomationRule
from benchmarks.simulation.tickets import SimTicket
from core.actions import AddTags, AssignGroup, AssignOwner, RaisePriority
from core.decision import Decision, EscalationState
from core.planning import needs_write
from core.policy import Policy
from core.rules import evaluate


class NoEscalation:
    """Only people escalate (after their own touches)."""

    name = "no escalation"

    def __init__(self):
        self.counts: Counter[str] = Counter()

    def start(self, desk) -> None:
        self.desk = desk

    def changed(self, ticket: SimTicket) -> None:
        pass

    def stats(self) -> dict[str, float]:
        return {}


class HourlyAutomation:
    """What Zendesk's automations do: once an hour, tickets matching simple conditions get a group and a tag."""

    def __init__(self, rules: tuple[AutomationRule, ...], cadence_minutes: float = 60.0, label: str = "automation"):
        self.rules, self.cadence, self.name = rules, cadence_minutes * MINUTE, label
        self.counts: Counter[str] = Counter()

    def start(self, desk) -> None:
        self.desk = desk
        desk.schedule(desk.start + self.cadence, self._run)

    def changed(self, ticket: SimTicket) -> None:
        pass

    def _run(self, ts: float) -> None:
        self.desk.schedule(ts + self.cadence, self._run)
        for ticket in self.desk.tickets.values():
            if ticket.status not in ("new", "open"):
                continue
            for rule in self.rules:  # in order: a later automation sees what an earlier one did this hour
                if self._matches(rule, ticket, ts):
                    self.desk.move(ticket, rule.group, ts, "automation", "system")
                    ticket.add_tags([rule.tag], ts)
                    self.counts["automation escalations"] += 1
                    self.counts[f"  to {rule.group}"] += 1

    @staticmethod
    def _matches(rule: AutomationRule, ticket: SimTicket, ts: float) -> bool:
        since = ticket.spec.arrive if rule.since == "created" else ticket.last_customer_at
        return (
            ticket.status in rule.statuses
            and ticket.priority in rule.priorities
            and ticket.group in rule.from_groups
            and (ts - since) / 3600.0 >= rule.hours
        )

    def stats(self) -> dict[str, float]:
        return {}


class Deskbridge:
    """The real engine (core.rules.evaluate on the shipped policy), run on a cadence like the sync flow.

    Each run evaluates what the pipeline would: tickets changed since the last
    run (deskbridge's own writes included: they come back in the next pull)
    and tickets whose next check time has come; the decision's new state and
    next check time are kept per ticket as the state store keeps them.
    """

    name = "deskbridge"

    def __init__(self, policy: Policy, cadence_minutes: float = 2.0):
        self.policy, self.cadence = policy, cadence_minutes * MINUTE
        self.counts: Counter[str] = Counter()
        self.states: dict[int, EscalationState] = {}
        self.next_check: dict[int, float] = {}
        self._checks: list[tuple[float, int]] = []
        self._changed: set[int] = set()
        self.evaluations = 0
        self.engine_cpu_s = 0.0

    def start(self, desk) -> None:
        self.desk = desk
        desk.schedule(desk.start + self.cadence, self._run)

    def changed(self, ticket: SimTicket) -> None:
        self._changed.add(ticket.n)

    def _due(self, ts: float) -> set[int]:
        due = set()
        while self._checks and self._checks[0][0] <= ts:
            at, n = heapq.heappop(self._checks)
            if self.next_check.get(n) == at:
                due.add(n)
                del self.next_check[n]
        return due

    def _run(self, ts: float) -> None:
        self.desk.schedule(ts + self.cadence, self._run)
        batch, self._changed = sorted(self._changed | self._due(ts)), set()
        now = self.desk.at(ts)
        for n in batch:
            ticket = self.desk.tickets[n]
            model = ticket.model()
            began = time.process_time()
            decision = evaluate(model, ticket.spec.account, self.policy, now, self.states.get(n))
            self.engine_cpu_s += time.process_time() - began
            self.evaluations += 1
            prior = self.states.get(n, EscalationState())
            self.states[n] = decision.new_state
            self._schedule_check(n, decision)
            if needs_write(decision):
                self._apply(ticket, decision, prior, ts)

    def _schedule_check(self, n: int, decision: Decision) -> None:
        if decision.next_check_at is None:
            self.next_check.pop(n, None)
            return
        at = decision.next_check_at.timestamp()
        self.next_check[n] = at
        heapq.heappush(self._checks, (at, n))

    def _apply(self, ticket: SimTicket, decision: Decision, prior: EscalationState, ts: float) -> None:
        """Write the decision into the simulated helpdesk, as the connector's apply would."""
        desk = self.desk
        for action in decision.actions:
            if isinstance(action, AssignGroup):
                desk.move(ticket, action.group, ts, "deskbridge", "system", by_deskbridge=True)
            elif isinstance(action, AssignOwner):  # the account owner pulls in management
                desk.move(ticket, "management", ts, "deskbridge", "system", by_deskbridge=True)
            elif isinstance(action, AddTags):
                ticket.add_tags(action.tags, ts)
            elif isinstance(action, RaisePriority):
                desk.raise_priority(ticket, action.priority.value, ts, "deskbridge", "system", by_deskbridge=True)
        if decision.note_template:
            text = "Escalated by deskbridge: " + "; ".join(r.text for r in decision.reasons)
            ticket.comment("agent", False, text, ts, by_deskbridge=True)
        if decision.customer_template:
            ticket.comment("agent", True, "Your request has been escalated.", ts, by_deskbridge=True)
            self.counts["customer messages"] += 1
        if decision.escalate:
            self.counts["deskbridge escalations"] += 1
            for rule_id in dict.fromkeys(r.rule_id for r in decision.reasons if not r.code.startswith("proposed")):
                self.counts[f"  by rule {rule_id}"] += 1
        if set(decision.new_state.proposals) - set(prior.proposals):
            self.counts["deskbridge proposals"] += 1
            desk.propose(ticket)
        self._changed.add(ticket.n)  # the echo comes back in the next pull

    def stats(self) -> dict[str, float]:
        return {"evaluations": self.evaluations, "engine_cpu_s": self.engine_cpu_s}
