"""The support desk in virtual time: tickets arrive, agents work their queues, customers answer.

A discrete-event simulation (one heap of timed events, processed in order,
ties broken by insertion order, so a run is deterministic). The rules people
follow are the same in every arm:

* **Queues.** Each group has one queue of tickets waiting for an agent (status
  new or open and nobody working on them). A free agent on shift takes the
  first by (escalated first, higher priority first, then oldest). A ticket
  stays with the agent who last worked it while they are on shift; when they
  are off shift a colleague may take it.
* **A touch.** The agent works for a handling time (lognormal, slower in
  senior groups), then replies publicly; a ticket's very first touch also
  starts with a quick acknowledgement (its first response). If the group can
  solve the ticket and this was its last piece of work, the ticket is solved;
  otherwise the agent asks the customer something and the ticket goes pending
  until the customer answers (a drawn delay). An agent whose group cannot
  solve the ticket moves it up (l1 -> tier2 -> tier3, or to security for a
  security incident) after ``human_escalates_after`` touches: the human
  escalation every arm has. A manager who receives a ticket solves nothing:
  they leave a note and send it to the first group able to solve it, where it
  is served first.
* **Customers** answer questions and, for a few tickets, write a chaser that
  asks to escalate. **A supervisor** answers deskbridge's proposals (approve
  or reject tag) every half hour during office hours.

The arm under test (:mod:`benchmarks.simulation.arms`) is told of every
change and acts on its own schedule through :meth:`Desk.move`,
:meth:`Desk.raise_priority` and the ticket's own tag and comment methods.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable

from benchmarks.simulation.measure import SlaMeter
from benchmarks.simulation.params import DAY, DISPATCHERS, HOUR, LADDER, MINUTE, SOLVES_UP_TO, ModelParams
from benchmarks.simulation.staff import Agent, build_agents
from benchmarks.simulation.tickets import SimTicket, at
from benchmarks.simulation.workload import DRAWS, ESCALATION_REQUEST, TicketSpec
from core.model import Priority
from core.policy import Policy

REPLIES = {
    "ack": "Thanks for reaching out, I am looking into this now.",
    "question": "Thanks, could you send us the exact time it happened and a screenshot?",
    "solved": "We found the cause and fixed it; please let us know if anything is still wrong.",
    "moving": "I am handing this to our specialist team, who will continue from here.",
    "handover": "A colleague from another team is now looking at this.",
}


def can_solve(group: str, spec: TicketSpec) -> bool:
    """Whether agents of ``group`` can finish this ticket's work."""
    if spec.specialty == "security":
        return group == "security"
    if group == "security":
        return False
    if group == "billing":
        return spec.product_area == "billing" and spec.needs_level <= SOLVES_UP_TO["billing"]
    return spec.needs_level <= SOLVES_UP_TO[group]


def first_capable(spec: TicketSpec) -> str:
    """The lowest group able to solve the ticket (security for a security incident)."""
    return "security" if spec.specialty == "security" else next(g for g in LADDER if can_solve(g, spec))


def human_target(group: str, spec: TicketSpec) -> str:
    """Where an agent sends a ticket their group cannot solve."""
    if spec.specialty == "security":
        return "security"
    if group in LADDER[:-2]:  # l1 -> tier2 -> tier3; people do not send tickets to management
        return LADDER[LADDER.index(group) + 1]
    return first_capable(spec)


class Desk:
    """One arm's run over the shared workload."""

    def __init__(self, specs: list[TicketSpec], params: ModelParams, start: float, arm, policy: Policy):
        self.specs, self.params, self.start, self.arm = specs, params, start, arm
        self.end = start + (params.days + params.drain_days) * DAY
        self.arrivals_end = start + params.days * DAY
        self.meter = SlaMeter(policy)
        self.tickets: dict[int, SimTicket] = {}
        self.agents = build_agents(params.shifts)
        self.by_key = {a.key: a for a in self.agents}
        self.group_agents: dict[str, list[Agent]] = defaultdict(list)
        for agent in self.agents:
            self.group_agents[agent.group].append(agent)
        self.waiting: dict[str, set[int]] = defaultdict(set)
        self.proposals: set[int] = set()  # tickets with a proposal awaiting the supervisor
        self.counts: Counter[str] = Counter()
        self.now = start
        self._heap: list = []
        self._seq = itertools.count()
        self._dirty: set[str] = set()

    # -- the loop ------------------------------------------------------------------------------

    def at(self, ts: float):
        """Virtual epoch seconds as the aware datetime the engine takes."""
        return at(ts)

    def schedule(self, ts: float, handler: Callable, *args) -> None:
        heapq.heappush(self._heap, (ts, next(self._seq), handler, args))

    def run(self) -> list[SimTicket]:
        """Process every event up to the end; returns the tickets in arrival order."""
        for spec in self.specs:
            self.schedule(spec.arrive, self._arrive, spec)
        days = self.params.days + self.params.drain_days
        for agent in self.agents:
            for begin in agent.shift_starts(self.start, days):
                self.schedule(begin, self._shift_change, agent.group)
                self.schedule(begin + (agent.shift.end_hour - agent.shift.start_hour) * HOUR, self._shift_change,
                              agent.group)
        self.schedule(self.start, self._supervisor)
        self.arm.start(self)
        while self._heap and self._heap[0][0] <= self.end:
            ts, _, handler, args = heapq.heappop(self._heap)
            self.now = ts
            handler(ts, *args)
            if self._dirty:
                self._dispatch(ts)
        return list(self.tickets.values())

    # -- queue ---------------------------------------------------------------------------------

    def _enqueue(self, ticket: SimTicket) -> None:
        if ticket.waiting_for_agent:
            self.waiting[ticket.group].add(ticket.n)
            self._dirty.add(ticket.group)

    def _dequeue(self, ticket: SimTicket) -> None:
        self.waiting[ticket.group].discard(ticket.n)

    def _order(self, ticket: SimTicket) -> tuple:
        return (not ticket.escalated, -Priority(ticket.priority).rank, ticket.spec.arrive, ticket.n)

    def _eligible(self, ticket: SimTicket, agent: Agent, ts: float) -> bool:
        owner = ticket.assignee
        if owner is None or owner == agent.key:
            return True
        other = self.by_key.get(owner)
        return other is None or (self.params.handover_when_off_shift and not other.on_shift(ts, self.start))

    def _dispatch(self, ts: float) -> None:
        groups, self._dirty = self._dirty, set()
        for group in sorted(groups):
            for agent in self.group_agents.get(group, ()):
                if agent.busy_with is not None or not agent.on_shift(ts, self.start):
                    continue
                queue = [self.tickets[n] for n in self.waiting[group]]
                candidates = [t for t in queue if self._eligible(t, agent, ts)]
                if not candidates:
                    continue
                self._start_touch(ts, agent, min(candidates, key=self._order))

    def _shift_change(self, ts: float, group: str) -> None:
        self._dirty.add(group)

    # -- people --------------------------------------------------------------------------------

    def _arrive(self, ts: float, spec: TicketSpec) -> None:
        ticket = self.tickets[spec.n] = SimTicket(spec)
        self._enqueue(ticket)
        if spec.chaser_after is not None:
            self.schedule(ts + spec.chaser_after, self._chaser, ticket)
        self.arm.changed(ticket)

    def _start_touch(self, ts: float, agent: Agent, ticket: SimTicket) -> None:
        self._dequeue(ticket)
        ticket.in_work, agent.busy_with = agent.key, ticket.n
        ticket.change("assignee", agent.key, ts, agent.key, "agent")
        factor = ticket.spec.handling[ticket.touches % DRAWS]
        duration = self.params.handling_median_minutes * MINUTE * self.params.group_slowdown[agent.group] * factor
        if ticket.first_reply_at is None:  # the first touch starts with a quick acknowledgement
            ack = min(self.params.first_reply_median_minutes * MINUTE * factor, duration)
            self.schedule(ts + ack, self._acknowledge, agent, ticket)
        ticket.touches += 1
        agent.touches += 1
        if ts < self.arrivals_end:  # utilisation is reported over the days with arrivals
            agent.busy_seconds += duration
        self.schedule(ts + duration, self._touch_done, agent, ticket)
        self.arm.changed(ticket)

    def _acknowledge(self, ts: float, agent: Agent, ticket: SimTicket) -> None:
        if ticket.first_reply_at is not None or not ticket.is_open:
            return
        self.meter.checkpoint(ticket, ts)
        ticket.comment("agent", True, REPLIES["ack"], ts, author=agent.key)
        ticket.change("status", "open", ts, agent.key, "agent")
        self.arm.changed(ticket)

    def _touch_done(self, ts: float, agent: Agent, ticket: SimTicket) -> None:
        ticket.in_work, agent.busy_with = None, None
        self._dirty.add(agent.group)
        self.meter.checkpoint(ticket, ts)  # before the reply closes a clock
        if not ticket.is_open:
            return
        if ticket.group != agent.group:  # moved away while being worked: hand over
            self._reply(ticket, agent, "handover", ts, "open")
        elif agent.group in DISPATCHERS:  # a manager expedites: note, then to the first group able to solve it
            ticket.comment("agent", False, "Expedite: take this first.", ts, author=agent.key)
            self.move(ticket, first_capable(ticket.spec), ts, agent.key, "agent")
            self.counts["manager dispatches"] += 1
        elif can_solve(agent.group, ticket.spec):
            ticket.work_left -= 1
            self._reply(ticket, agent, "solved" if ticket.work_left <= 0 else "question", ts,
                        "solved" if ticket.work_left <= 0 else "pending")
        else:
            ticket.touches_in_group += 1
            if ticket.touches_in_group >= self.params.human_escalates_after:
                self._reply(ticket, agent, "moving", ts, "open")
                self.move(ticket, human_target(agent.group, ticket.spec), ts, agent.key, "agent")
                self.counts["human escalations"] += 1
            else:
                self._reply(ticket, agent, "question", ts, "pending")
        self._enqueue(ticket)
        self.arm.changed(ticket)

    def _reply(self, ticket: SimTicket, agent: Agent, kind: str, ts: float, status: str) -> None:
        ticket.comment("agent", True, REPLIES[kind], ts, author=agent.key)
        ticket.change("status", status, ts, agent.key, "agent")
        if status == "pending":
            ticket.exchange += 1
            delay = ticket.spec.customer_delays[ticket.exchange % DRAWS]
            self.schedule(ts + delay, self._customer_reply, ticket, ticket.exchange)

    def _customer_reply(self, ts: float, ticket: SimTicket, exchange: int) -> None:
        if ticket.status != "pending" or ticket.exchange != exchange:
            return  # answered already (a chaser) or no longer waiting
        ticket.comment("customer", True, "Here are the details you asked for.", ts)
        ticket.change("status", "open", ts, f"cust-{ticket.n}", "customer")
        self._enqueue(ticket)
        self.arm.changed(ticket)

    def _chaser(self, ts: float, ticket: SimTicket) -> None:
        if not ticket.is_open:
            return
        ticket.comment("customer", True, ESCALATION_REQUEST, ts)
        if ticket.status == "pending":
            ticket.exchange += 1  # the chaser is the answer: the drawn reply will not come
            ticket.change("status", "open", ts, f"cust-{ticket.n}", "customer")
        self._enqueue(ticket)
        self.arm.changed(ticket)

    def _supervisor(self, ts: float) -> None:
        """Answer open proposals by tag; a verdict tag already present is removed first and added next time."""
        self.schedule(ts + self.params.supervisor_review_minutes * MINUTE, self._supervisor)
        day, rest = divmod(ts - self.start, DAY)
        begin, end = self.params.supervisor_hours
        if int(day) % 7 >= 5 or not begin <= rest / HOUR < end:
            return
        settings = self.meter.policy.settings
        for n in sorted(self.proposals):
            ticket = self.tickets[n]
            approve = ticket.spec.verdicts[ticket.verdicts % DRAWS] < self.params.supervisor_approves
            tag = settings.approve_tag if approve else settings.reject_tag
            if tag in ticket.tags:  # an earlier verdict: take it off so the new one is seen as new
                ticket.remove_tag(tag, ts)
            else:
                ticket.add_tags([tag], ts)
                ticket.verdicts += 1
                self.counts["proposals approved" if approve else "proposals rejected"] += 1
                self.proposals.discard(n)
            self.arm.changed(ticket)

    # -- what arms do --------------------------------------------------------------------------

    def move(self, ticket: SimTicket, group: str, ts: float, actor: str, role: str, *,
             by_deskbridge: bool = False) -> None:
        """Reassign to ``group`` (unassigned); moving counts as an escalation for queue order."""
        if group == ticket.group:
            return
        self._dequeue(ticket)
        ticket.change("group", group, ts, actor, role, by_deskbridge=by_deskbridge)
        ticket.change("assignee", None, ts, actor, role, by_deskbridge=by_deskbridge)
        ticket.touches_in_group = 0
        ticket.escalated = True
        self._enqueue(ticket)

    def raise_priority(self, ticket: SimTicket, priority: str, ts: float, actor: str, role: str, *,
                       by_deskbridge: bool = False) -> None:
        if Priority(priority).rank > Priority(ticket.priority).rank:
            ticket.change("priority", priority, ts, actor, role, by_deskbridge=by_deskbridge)
            self._dirty.add(ticket.group)

    def propose(self, ticket: SimTicket) -> None:
        self.proposals.add(ticket.n)
