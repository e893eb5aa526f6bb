"""What every normalizer derives the same way once comments and changes are read.

Reopens, the first public agent reply, the solved time and the supervisor's
answer mean the same thing whichever helpdesk the ticket came from, so they are
computed here from the normalized pieces, not from native payloads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.mapping_parts import FieldDecision, SupervisorTags, TagsDecision
from core.markers import has_marker
from core.model import Comment, EventKind, HistoryEvent, Role, Status

_CLOSED = {Status.solved.value, Status.closed.value}


@dataclass(frozen=True)
class Change:
    """One field change read from audits, a journal or a changelog, before classification."""

    kind: EventKind
    at: datetime
    from_value: str | None
    to_value: str | None
    actor_id: str | None = None
    actor_role: Role | None = None
    by_deskbridge: bool = False


def history_from(changes: Iterable[Change]) -> tuple[HistoryEvent, ...]:
    """History events, oldest first; a status change out of solved/closed also yields a reopen."""
    events: list[HistoryEvent] = []
    for c in sorted(changes, key=lambda c: c.at):
        if c.kind is EventKind.status_change and c.from_value == c.to_value:
            continue
        common = dict(at=c.at, actor_id=c.actor_id, actor_role=c.actor_role, by_deskbridge=c.by_deskbridge)
        events.append(HistoryEvent(kind=c.kind, from_value=c.from_value, to_value=c.to_value, **common))
        if c.kind is EventKind.status_change and c.from_value in _CLOSED and c.to_value not in _CLOSED:
            events.append(HistoryEvent(kind=EventKind.reopen, from_value=c.from_value, to_value=c.to_value, **common))
    return tuple(events)


def first_agent_reply(comments: Sequence[Comment]) -> datetime | None:
    """The first public reply a person on the support side wrote (deskbridge's own do not count)."""
    times = [c.created_at for c in comments if c.role is Role.agent and c.public and not c.by_deskbridge]
    return min(times, default=None)


def solved_time(status: Status, history: Sequence[HistoryEvent], fallback: datetime | None) -> datetime | None:
    """When the ticket was last solved; None while it is open.

    The last change into solved/closed wins (a reopened-then-solved ticket counts its
    latest solve); without history the helpdesk's own field (``fallback``) is used.
    """
    if status.is_open:
        return None
    solved = [e.at for e in history if e.kind is EventKind.status_change and e.to_value in _CLOSED]
    return max(solved, default=fallback)


def sort_comments(comments: Iterable[Comment]) -> tuple[Comment, ...]:
    """Oldest first, one per id (a comment seen in audits and in the comment list is the same)."""
    unique: dict[str, Comment] = {}
    for c in comments:
        unique.setdefault(c.id, c)
    return tuple(sorted(unique.values(), key=lambda c: (c.created_at, c.id)))


def is_echo(author_matches_integration_user: bool, body: str | None) -> bool:
    """deskbridge wrote it: its API user is the author, or the text carries its marker."""
    return author_matches_integration_user or has_marker(body)


def decision_tags(
    decision: TagsDecision | FieldDecision, field_value: str | None, tags: Iterable[str]
) -> tuple[str, ...]:
    """The ticket's tags, plus the shared approve/reject tag when a supervisor answered by field.

    Tag-based helpdesks carry the answer in their tags already; for a field the
    normalizer adds the same tag the tag-based ones would have, so the policy reads
    one signal. Tags are never removed.
    """
    out = list(dict.fromkeys(tags))
    if isinstance(decision, FieldDecision) and field_value is not None:
        value = field_value.strip().casefold()
        if value == decision.approve.casefold():
            out.append(decision.approve_tag or SupervisorTags().approve)
        elif value == decision.reject.casefold():
            out.append(decision.reject_tag or SupervisorTags().reject)
    return tuple(dict.fromkeys(out))
