"""The write side: plans -> update_many rounds under ``safe_update``, one WriteResult per plan.

Concurrency: round 0 of every plan is a ``safe_update`` with ``updated_stamp`` =
``plan.expected_token`` (the ``updated_at`` string the decision was made on). If a
person changed the ticket since, Zendesk refuses that ticket (``UpdateConflict``)
and nothing of it is written. deskbridge then reads the ticket's comments and
looks for the plan's marker (its idempotency key):

- found -> ``already_applied``: an earlier attempt landed (a crash after the push,
  a lost answer); nothing is written twice;
- not found -> ``conflict``: the flow re-reads and re-plans; nothing was clobbered.

Further rounds (a customer message next to an internal note) are comment-only
updates sent after round 0 landed, each a ``safe_update`` against a stamp read just
before (one ``show_many`` per 100 tickets); on a conflict there the marker again
tells whether it landed, and a person's edit in between gets one fresh retry.

Priority is only raised: the ticket's priority at ``expected_token`` is known from
the connector's own last read of it (the flow fetches tickets right before
planning); otherwise one ``show_many`` per 100 tickets reads it, and a ticket found
changed already is answered without writing.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.drafts import Assignee, Draft, build_draft, needs_current_priority
from connectors.zendesk.jobs import CONFLICT, JobWait, TicketOutcome, run_updates
from connectors.zendesk.people import Directory
from core.actions import AssignOwner, WriteOutcome, WritePlan, WriteResult
from core.errors import APIError, PayloadError, RetriableAPIError
from core.mapping import ZendeskMapping
from core.markers import find_markers
from core.model import System, Ticket

log = logging.getLogger("deskbridge.zendesk")
MAX_IDS = 100
ROUND_ATTEMPTS = 2  # a comment-only round is retried once on a fresh stamp


class KnownTickets:
    """The native priority each ticket had at a given ``updated_at``, from the connector's own reads.

    Only the latest ``limit`` tickets: the flow plans right after reading (a page, then the
    full reads of writers whose history is partial), so older entries are not asked for, and
    a first sync of a large backlog would otherwise keep one entry per ticket.
    """

    def __init__(self, limit: int = 10_000):
        self._limit = limit
        self._by_id: OrderedDict[str, tuple[str, str | None]] = OrderedDict()

    def remember(self, ticket: Ticket) -> None:
        self._by_id[ticket.id] = (ticket.concurrency_token, ticket.native_priority)
        self._by_id.move_to_end(ticket.id)
        while len(self._by_id) > self._limit:
            self._by_id.popitem(last=False)

    def priority_at(self, ticket_id: str, token: str) -> tuple[bool, str | None]:
        known = self._by_id.get(ticket_id)
        return (True, known[1]) if known is not None and known[0] == token else (False, None)


class Progress:
    """Where one plan stands: rounds landed, whether this call wrote, the final word if any."""

    def __init__(self, draft: Draft):
        self.draft = draft
        self.next_round = 0
        self.wrote_now = False
        self.landed_before = 0
        self.result: tuple[WriteOutcome, str | None] | None = None
        self.notes: list[str] = []


class Writer:
    def __init__(self, client: ZendeskClient, mapping: ZendeskMapping, directory: Directory, known: KnownTickets,
                 *, wait: JobWait, sleep: Callable[[float], None]):
        self.client, self.mapping, self.directory, self.known = client, mapping, directory, known
        self.wait, self.sleep = wait, sleep

    def apply(self, plans: Sequence[WritePlan]) -> list[WriteResult]:
        """One result per plan, in order; plans for the same ticket go in successive waves."""
        results: dict[int, WriteResult] = {}
        valid: list[int] = []
        for i, plan in enumerate(plans):
            if plan.system is not System.zendesk or not plan.ticket_id.isdigit():
                results[i] = _result(plan, WriteOutcome.failed, f"not a Zendesk ticket id: {plan.ticket_id!r}")
            else:
                valid.append(i)
        assignees = self._assignees([plans[i] for i in valid])
        for wave in _waves(valid, plans):
            results.update(zip(wave, self._apply_wave([plans[i] for i in wave], assignees)))
        return [results[i] for i in range(len(plans))]

    # -- one wave: each ticket at most once ------------------------------------------------------

    def _apply_wave(self, plans: list[WritePlan], assignees: dict[str, Assignee]) -> list[WriteResult]:
        try:
            current = self._current_priorities(plans)
            unreadable = None
        except (RetriableAPIError, PayloadError) as exc:
            current, unreadable = {}, f"the current priority could not be read ({exc})"
        progress: list[Progress] = []
        for plan in plans:
            stale, priority = current.get(plan.ticket_id, (False, None))
            item = Progress(build_draft(plan, self.mapping, assignees=assignees, current_priority=priority))
            if unreadable and needs_current_priority(plan):
                item.result = (WriteOutcome.failed, unreadable)
            elif stale:
                item.result = self._after_conflict(item, "changed since the decision (seen before writing)")
            elif item.draft.rounds == 0:
                only_problems = bool(item.draft.problems)
                item.result = (WriteOutcome.failed if only_problems else WriteOutcome.applied,
                               item.draft.summary() or "nothing to change")
            progress.append(item)
        self._round_zero([p for p in progress if p.result is None and p.next_round == 0])
        self._later_rounds([p for p in progress if p.result is None])
        return [self._final(p) for p in progress]

    def _round_zero(self, items: list[Progress]) -> None:
        updates = [p.draft.update(0, p.draft.plan.expected_token) for p in items]
        outcomes = run_updates(self.client, updates, self.wait, self.sleep) if updates else {}
        for item in items:
            outcome = outcomes[item.draft.ticket_id]
            if outcome.success:
                item.next_round, item.wrote_now = 1, True
            elif outcome.conflict:
                item.result = self._after_conflict(item, outcome.text())
            else:
                item.result = (WriteOutcome.failed, outcome.text())

    def _later_rounds(self, items: list[Progress]) -> None:
        """Comment-only rounds, each on a stamp read just before it, until every plan is done."""
        attempts: Counter[str] = Counter()
        while todo := [p for p in items if p.result is None and p.next_round < p.draft.rounds]:
            try:
                stamps = self._stamps([p.draft.ticket_id for p in todo])
            except (RetriableAPIError, PayloadError) as exc:
                stamps = {}
                log.warning("zendesk: could not read tickets again for their next comment: %s", exc)
            updates, sent = [], []
            for item in todo:
                stamp = stamps.get(item.draft.ticket_id)
                if stamp is None:
                    item.notes.append(f"round {item.next_round + 1} not sent: the ticket could not be read again")
                    item.next_round = item.draft.rounds
                    continue
                updates.append(item.draft.update(item.next_round, stamp))
                sent.append(item)
            outcomes = run_updates(self.client, updates, self.wait, self.sleep) if updates else {}
            for item in sent:
                self._after_round(item, outcomes[item.draft.ticket_id], attempts)

    def _after_round(self, item: Progress, outcome: TicketOutcome, attempts: Counter[str]) -> None:
        key = f"{item.draft.ticket_id}:{item.next_round}"
        attempts[key] += 1
        if outcome.success:
            item.next_round += 1
            item.wrote_now = True
            return
        try:
            landed = self._landed_comments(item.draft) if outcome.conflict else 0
        except APIError:
            landed = 0
        if landed > item.next_round:
            item.next_round = landed  # an earlier attempt of this round had landed
        elif outcome.conflict and attempts[key] < ROUND_ATTEMPTS:
            return  # a person edited in between: once more on a fresh stamp
        else:
            _, public = item.draft.comments[item.next_round]
            what = "customer message" if public else "internal note"
            item.notes.append(f"{what} not sent ({outcome.text()})")
            item.next_round = item.draft.rounds

    def _after_conflict(self, item: Progress, why: str) -> tuple[WriteOutcome, str | None] | None:
        """Round 0 was refused: the marker says whether an earlier attempt landed (then finish the rest)."""
        try:
            landed = self._landed_comments(item.draft)
        except APIError as exc:
            return WriteOutcome.failed, f"refused as changed ({why}), and the marker check failed: {exc}"
        if landed == 0:
            return WriteOutcome.conflict, why if CONFLICT in why else f"{CONFLICT}: {why}"
        item.landed_before = item.next_round = landed
        return None  # the later rounds (if any) still run; _final decides the outcome

    # -- reads the write side needs ------------------------------------------------------------

    def _landed_comments(self, draft: Draft) -> int:
        """How many of the draft's comments (in order) already carry the plan's marker in Zendesk."""
        if not draft.comments:
            return 0
        key = draft.plan.idempotency_key
        rows = self.client.get_pages(f"tickets/{draft.ticket_id}/comments.json", "comments",
                                     {"sort_order": "desc"})
        marked = Counter(row.get("public") is not False for row in rows
                         if key in find_markers(_text(row.get("body")) or _text(row.get("plain_body"))))
        landed = 0
        for _body, public in draft.comments:
            if marked[public] == 0:
                break
            marked[public] -= 1
            landed += 1
        return landed

    def _current_priorities(self, plans: list[WritePlan]) -> dict[str, tuple[bool, str | None]]:
        """``ticket id -> (changed since the plan, native priority)`` for plans that raise priority."""
        out: dict[str, tuple[bool, str | None]] = {}
        unknown: list[WritePlan] = []
        for plan in filter(needs_current_priority, plans):
            known, priority = self.known.priority_at(plan.ticket_id, plan.expected_token)
            if known:
                out[plan.ticket_id] = (False, priority)
            else:
                unknown.append(plan)
        now = self._read_raw([p.ticket_id for p in unknown])
        for plan in unknown:
            raw = now.get(plan.ticket_id, {})
            out[plan.ticket_id] = (raw.get("updated_at") != plan.expected_token, raw.get("priority"))
        return out

    def _stamps(self, ids: list[str]) -> dict[str, str]:
        return {tid: raw["updated_at"] for tid, raw in self._read_raw(ids).items()
                if isinstance(raw.get("updated_at"), str)}

    def _read_raw(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), MAX_IDS):
            body = self.client.get("tickets/show_many.json", {"ids": ",".join(ids[start:start + MAX_IDS])})
            out.update({str(t.get("id")): t for t in body.get("tickets") or [] if isinstance(t, dict)})
        return out

    def _assignees(self, plans: list[WritePlan]) -> dict[str, Assignee]:
        emails = {a.email.strip().lower() for p in plans for a in p.actions if isinstance(a, AssignOwner)}
        out: dict[str, Assignee] = {}
        for email in sorted(emails):
            try:
                out[email] = self.directory.agent_id(email)
            except APIError as exc:
                out[email] = (None, f"the look-up of {email} failed ({exc})")
        return out

    def _final(self, item: Progress) -> WriteResult:
        plan = item.draft.plan
        notes = [n for n in (item.draft.summary(), *item.notes) if n]
        if item.result is not None:
            outcome, detail = item.result
            return _result(plan, outcome, "; ".join(filter(None, [detail, *item.notes])) or None)
        if item.landed_before and not item.wrote_now:
            return _result(plan, WriteOutcome.already_applied,
                           "; ".join(["an earlier attempt landed: the marker is in the ticket", *item.notes]))
        if item.landed_before:
            notes.insert(0, f"completed an earlier attempt that had landed {item.landed_before} update(s)")
        return _result(plan, WriteOutcome.applied, "; ".join(notes) or None)


def _waves(indices: list[int], plans: Sequence[WritePlan]) -> list[list[int]]:
    """Split plans so a ticket appears at most once per wave (update_many takes each ticket once)."""
    waves: list[list[int]] = []
    seen: Counter[str] = Counter()
    for i in indices:
        n = seen[plans[i].ticket_id]
        seen[plans[i].ticket_id] += 1
        if n == len(waves):
            waves.append([])
        waves[n].append(i)
    return waves


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _result(plan: WritePlan, outcome: WriteOutcome, detail: str | None) -> WriteResult:
    return WriteResult(system=System.zendesk, ticket_id=plan.ticket_id, idempotency_key=plan.idempotency_key,
                       outcome=outcome, detail=detail)
