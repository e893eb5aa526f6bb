"""The five promises deskbridge makes under chaos, checked against what the helpdesks show.

Pure functions of an :class:`~chaos.facts.Observation`; each returns the
violations it finds, each naming the ticket and saying what is wrong.

1. **escalated** - every escalating auto rule the real engine fires on the
   ticket *as the helpdesk shows it now* (evaluated from a blank memory, so
   cooldowns and earlier escalations cannot hide anything) is in deskbridge's
   memory, was carried by a step that reached the helpdesk, and left its tags
   there; a firing progress-update rule (a customer message only, which the
   engine never counts as an escalation) acted in a step that landed and its
   cooldown runs, or the customer-message interval holds it back; every rule
   deskbridge remembers escalating for reached the helpdesk too; routing it
   remembers is where the ticket is, unless a person moved it since; nothing is
   still pending in the outbox after settling.
2. **one_note** - per idempotency key at most one internal note and at most one
   customer message; every step that landed has exactly its note (and message);
   no marker in a helpdesk lacks an outbox entry.
3. **tags_kept** - deskbridge never removes a tag; every tag present at the
   start or added by a person is still there unless a person removed it.
4. **reassignment_respected** - after a person changes a ticket's group or
   assignee, deskbridge routes it again only in an escalation step that landed,
   was planned on a version that already showed the person's change, and - if
   deskbridge had escalated the ticket before the person acted - came after a
   step that left the person's choice alone (see :func:`reassignment_respected`).
5. **cursor** - every ticket updated inside the sync window was evaluated at or
   after its latest update: the store's ``updated_at`` is not older than the
   helpdesk's (checked after settling runs that wrote nothing, so deskbridge's
   own writes have been read back too).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from chaos.facts import Observation, Reassignment, TicketFacts, plan_routes, plan_writes, routes_to, token_order
from core.markers import ESCALATED_TAG, PROPOSED_TAG, find_markers
from core.store import OutboxEntry, OutboxStatus

ROUTING_KINDS = ("group", "assignee")
INVARIANTS = ("escalated", "one_note", "tags_kept", "reassignment_respected", "cursor")


@dataclass(frozen=True)
class Violation:
    invariant: str
    ticket: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.ticket}: {self.detail}"


def check(observation: Observation) -> list[Violation]:
    """Every violation of the five invariants in this observation."""
    writes = _writes_by_ticket(observation.writes)
    people: dict[tuple[str, str], list[Reassignment]] = {}
    for moved in observation.reassignments:
        people.setdefault((moved.system, moved.ticket_id), []).append(moved)
    found: list[Violation] = []
    for ticket in observation.tickets:
        key = (ticket.system, ticket.ticket_id)
        mine = writes.get(key, [])
        found += escalated(ticket, mine)
        found += one_note(ticket)
        found += tags_kept(ticket, mine, observation.baseline_tags.get(key, set()))
        found += reassignment_respected(ticket, mine, people.get(key, []))
        found += cursor(ticket)
    return found


def escalated(ticket: TicketFacts, writes: list[dict]) -> list[Violation]:
    out: list[Violation] = []
    state = ticket.state
    remembered = set(state.escalations) if state else set()
    landed_acting: set[str] = set()
    landed_proposing: set[str] = set()
    for key in ticket.landed_steps():
        acting, proposing = ticket.rules_of_step(key)
        landed_acting |= acting
        landed_proposing |= proposing
    tags = set(ticket.view["tags"])
    if ticket.expected is not None:
        for rule, rule_tags in sorted(ticket.expected.acting.items()):
            if rule not in remembered:
                out.append(_v("escalated", ticket, f"rule {rule} fires on the ticket as it is now, "
                                                   "but deskbridge never escalated it for that rule"))
            missing = sorted({ESCALATED_TAG, *rule_tags} - tags)
            if missing:
                out.append(_v("escalated", ticket, f"rule {rule} fires but its tags {missing} are not on the ticket"))
        for rule in sorted(ticket.expected.proposing):
            out += _proposed(ticket, rule, tags, landed_proposing)
        for rule in ticket.expected.informing:
            out += _informed(ticket, rule, landed_acting)
    for rule in sorted(remembered - landed_acting):
        out.append(_v("escalated", ticket, f"deskbridge remembers escalating for {rule}, "
                                           "but no step carrying that rule reached the helpdesk"))
    out += _routing_reached(ticket, writes)
    for entry in ticket.outbox:
        if entry.status is OutboxStatus.pending:
            out.append(_v("escalated", ticket, f"step {entry.idempotency_key} is still pending after settling"))
    return out


def _proposed(ticket: TicketFacts, rule: str, tags: set[str], landed: set[str]) -> list[Violation]:
    """A firing propose-mode rule is proposed (tag and note in the helpdesk) or already answered."""
    state = ticket.state
    if state is not None and (rule in state.approved or rule in state.rejected or rule in state.escalations):
        return []
    if state is None or rule not in state.proposals:
        return [_v("escalated", ticket, f"propose-mode rule {rule} fires but was never proposed")]
    problems = []
    if rule not in landed:
        problems.append(_v("escalated", ticket, f"the proposal for {rule} never reached the helpdesk"))
    if PROPOSED_TAG not in tags:
        problems.append(_v("escalated", ticket, f"rule {rule} was proposed but the ticket lacks {PROPOSED_TAG}"))
    return problems


def _informed(ticket: TicketFacts, rule: str, landed: set[str]) -> list[Violation]:
    """A firing progress-update rule (a customer message only, never an escalation) has acted and its step
    landed, so its cooldown runs now; or the customer-message interval holds every message back."""
    state, expected = ticket.state, ticket.expected
    if state is None or expected is None or expected.at is None:
        return [_v("escalated", ticket, f"progress-update rule {rule} fires, but deskbridge sent no progress update")]
    at = expected.at
    until = state.cooldowns.get(rule)
    if until is not None and until > at:
        if rule in landed:
            return []
        return [_v("escalated", ticket, f"progress-update rule {rule} is in cooldown until {_iso(until)}, "
                                        "but no step carrying it reached the helpdesk")]
    last = state.last_customer_message_at
    if last is not None and last + expected.message_interval > at:
        return []  # at most one customer message per interval: the engine rightly holds this one back
    return [_v("escalated", ticket, f"progress-update rule {rule} fires, but deskbridge sent no progress update "
                                    "(no cooldown of it runs, and the customer was last messaged "
                                    f"{_iso(last) if last else 'never'})")]


def _routing_reached(ticket: TicketFacts, writes: list[dict]) -> list[Violation]:
    """deskbridge's remembered routing is where the ticket is, unless a person moved it afterwards."""
    target = ticket.state.routed_group if ticket.state else None
    if not target:
        return []
    email = target.removeprefix("owner:") if target.startswith("owner:") else None
    where = ticket.view["assignee"] if email else ticket.view["group"]
    if where == (email or target):
        return []
    routed = [w["seq"] for w in writes if w["actor"] == "api" and w["kind"] in ROUTING_KINDS
              and w["detail"].get("to") == (email or target)]  # fmt: skip
    after = routed[-1] if routed else 0
    if any(w["actor"] == "human" and w["kind"] in ROUTING_KINDS and w["seq"] > after for w in writes):
        return []  # a person moved it after deskbridge's routing (or deskbridge's was never needed)
    return [_v("escalated", ticket, f"deskbridge remembers routing to {target}, the ticket is at {where} "
                                    "and no person moved it")]


def one_note(ticket: TicketFacts) -> list[Violation]:
    out: list[Violation] = []
    notes: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    for comment in ticket.view["comments"]:
        for key in find_markers(comment["body"]):
            (messages if comment["public"] else notes)[key] += 1
    known = {e.idempotency_key for e in ticket.outbox}
    for key in sorted(set(notes) | set(messages)):
        if key not in known:
            out.append(_v("one_note", ticket, f"marker {key} is in the helpdesk but was never in the outbox"))
        if notes[key] > 1:
            out.append(_v("one_note", ticket, f"step {key}: {notes[key]} internal notes"))
        if messages[key] > 1:
            out.append(_v("one_note", ticket, f"step {key}: {messages[key]} customer messages"))
    for key, entry in ticket.landed_steps().items():
        wants_note, wants_message = plan_writes(entry)
        if wants_note and notes[key] == 0:
            out.append(_v("one_note", ticket, f"step {key} is recorded as {entry.status.value} "
                                              "but its note is missing"))
        if wants_message and messages[key] == 0:
            out.append(_v("one_note", ticket, f"step {key} is recorded as {entry.status.value} "
                                              "but its customer message is missing"))
    return out


def tags_kept(ticket: TicketFacts, writes: list[dict], baseline: set[str]) -> list[Violation]:
    out: list[Violation] = []
    kept = set(baseline)
    for write in writes:
        tags = set(write["detail"].get("tags") or ())
        if write["kind"] == "tags_removed" and write["actor"] == "api":
            out.append(_v("tags_kept", ticket, f"deskbridge removed tags {sorted(tags)} (write #{write['seq']})"))
        elif write["kind"] == "tags_added" and write["actor"] == "human":
            kept |= tags
        elif write["kind"] == "tags_removed" and write["actor"] == "human":
            kept -= tags
    missing = sorted(kept - set(ticket.view["tags"]))
    if missing:
        out.append(_v("tags_kept", ticket, f"tags {missing} that people put there are gone"))
    return out


def reassignment_respected(ticket: TicketFacts, writes: list[dict], people: list[Reassignment]) -> list[Violation]:
    """Invariant 4, precisely. A person's reassignment H (their group/assignee writes in the log) is
    overridden by a later deskbridge group write, or assignee write naming someone, when that write

    (a) belongs to no escalation step that landed (no landed plan routes the ticket there), or
    (b) belongs to a step planned on a version older than the one H left (plan token < H's token), or
    (c) belongs to the first escalation step after H although deskbridge had already escalated the
        ticket before H: a person who reassigned after deskbridge's last escalation wins, and only a
        later step (a new idempotency key, after one that left the person's choice alone) may route.
    """
    out: list[Violation] = []
    steps = ticket.landed_steps()
    note_seq = _note_seqs(writes)
    escalations = sorted((seq, key) for key, seq in note_seq.items() if key in steps and ticket.step_escalates(key))
    ours = [w for w in writes if w["actor"] == "api" and _is_routing(w)]
    for person in people:
        moved = [w["seq"] for w in writes if w["actor"] == "human" and w["kind"] in ROUTING_KINDS
                 and person.since < w["seq"] <= person.until]  # fmt: skip
        if not moved:
            continue  # the reassignment changed nothing (already there)
        h = moved[0]
        escalated_before = any(seq < h for seq, _ in escalations)
        for write in (w for w in ours if w["seq"] > h):
            what = (f"deskbridge set {write['kind']} to {write['detail'].get('to')} (write #{write['seq']}) "
                    f"after a person's reassignment (write #{h})")
            step = _step_of(write, steps, note_seq)
            if step is None:
                out.append(_v("reassignment_respected", ticket, f"{what}, outside any escalation step that landed"))
            elif token_order(ticket.system, step.plan.expected_token) < token_order(ticket.system, person.token):
                out.append(_v("reassignment_respected", ticket, f"{what}, planned on version "
                              f"{step.plan.expected_token}, older than the person's {person.token}"))
            elif escalated_before and not any(h < seq < write["seq"] and not plan_routes(steps[key])
                                              for seq, key in escalations):  # fmt: skip
                out.append(_v("reassignment_respected", ticket, f"{what}, in the first escalation step after it "
                                                                f"({step.idempotency_key})"))
    return out


def _is_routing(write: dict) -> bool:
    return write["kind"] == "group" or (write["kind"] == "assignee" and write["detail"].get("to") is not None)


def _note_seqs(writes: list[dict]) -> dict[str, int]:
    """Idempotency key -> sequence number of the api comment that carried its marker first."""
    seqs: dict[str, int] = {}
    for write in writes:
        if write["actor"] == "api" and write["kind"] == "comment":
            for key in find_markers(write["detail"].get("body")):
                seqs.setdefault(key, write["seq"])
    return seqs


def _step_of(write: dict, steps: dict[str, OutboxEntry], note_seq: dict[str, int]) -> OutboxEntry | None:
    """The landed step whose plan made this routing write: the one routing there whose note is nearest."""
    candidates = [e for e in steps.values() if routes_to(e, write["kind"], write["detail"].get("to"))]
    return min(candidates, key=lambda e: abs(note_seq.get(e.idempotency_key, 10**12) - write["seq"]), default=None)


def cursor(ticket: TicketFacts) -> list[Violation]:
    if not ticket.in_window or ticket.quarantined:
        return []
    helpdesk = ticket.updated_at
    if ticket.record is None:
        return [_v("cursor", ticket, f"updated at {_iso(helpdesk)} inside the window, never evaluated")]
    if ticket.record.updated_at < helpdesk:
        return [_v("cursor", ticket, f"the helpdesk shows an update at {_iso(helpdesk)}; deskbridge last evaluated "
                                     f"the version of {_iso(ticket.record.updated_at)}")]
    return []


def _writes_by_ticket(writes: list[dict]) -> dict[tuple[str, str], list[dict]]:
    grouped: dict[tuple[str, str], list[dict]] = {}
    for write in sorted(writes, key=lambda w: w["seq"]):
        grouped.setdefault((write["system"], write["ticket_id"]), []).append(write)
    return grouped


def _v(invariant: str, ticket: TicketFacts, detail: str) -> Violation:
    return Violation(invariant, ticket.ref, detail)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
