"""Combine a pulled ticket with what deskbridge already knew of it.

Some pulls carry only the activity since the last run (Zendesk's incremental
ticket events); evaluating such a ticket alone would forget an earlier first
reply and see a breach that never happened. Merging the pulled ticket with its
stored snapshot keeps the whole conversation and history. Merging a complete
pull is harmless: the same items meet and are kept once.
"""

from __future__ import annotations

from datetime import datetime

from core.model import Comment, EventKind, HistoryEvent, Priority, Role, Ticket


def _comment_key(comment: Comment) -> tuple:
    # Ids can differ between the endpoints one helpdesk serves comments from, so the
    # content decides: the same author, time, visibility and text is the same comment.
    return (comment.created_at, comment.public, comment.author_id, comment.body)


def _event_key(event: HistoryEvent) -> tuple:
    return (event.kind, event.at, event.from_value, event.to_value)


def merge_history(stored: Ticket | None, pulled: Ticket, *, stored_through: datetime | None = None) -> Ticket:
    """``pulled`` with the comments and history events only ``stored`` had, oldest first.

    ``stored_through``: when deskbridge stored the snapshot, if known. The snapshot is the
    ticket's last version an incremental pull handed out, so nothing happened to the ticket
    between its ``updated_at`` and that moment that a later pull window could miss.
    """
    if stored is None or stored.system != pulled.system or stored.id != pulled.id:
        return pulled
    comments = {_comment_key(c): c for c in stored.comments}
    comments.update({_comment_key(c): c for c in pulled.comments})
    events = {_event_key(e): e for e in stored.history}
    events.update({_event_key(e): e for e in pulled.history})
    since = merged_history_since(stored, pulled, stored_through=stored_through)
    if len(comments) == len(pulled.comments) and len(events) == len(pulled.history) \
            and since == pulled.history_since:
        return pulled
    merged_comments = tuple(sorted(comments.values(), key=lambda c: (c.created_at, c.id)))
    return pulled.model_copy(
        update={
            "comments": merged_comments,
            "history": tuple(sorted(events.values(), key=lambda e: e.at)),
            "first_agent_reply_at": _first_agent_reply(merged_comments, stored, pulled),
            "history_since": since,
        }
    )


def merged_history_since(stored: Ticket, pulled: Ticket, *, stored_through: datetime | None = None):
    """From when the merge of the two is complete.

    ``stored`` is complete from its own ``history_since`` up to its ``updated_at`` (or
    ``stored_through``, when later); ``pulled`` from its ``history_since`` on. Where the
    two spans meet (or overlap) the merge is complete from the earlier start; where a gap
    lies between them, only from the pulled start.
    """
    if pulled.history_since is None:
        return None
    reaches = max(stored.updated_at, stored_through) if stored_through is not None else stored.updated_at
    if reaches >= pulled.history_since:
        return stored.history_since  # None when the stored snapshot was complete: the merge is too
    return pulled.history_since


def _first_agent_reply(comments: tuple[Comment, ...], stored: Ticket, pulled: Ticket):
    replies = [c.created_at for c in comments if c.role is Role.agent and c.public and not c.by_deskbridge]
    known = [t for t in (stored.first_agent_reply_at, pulled.first_agent_reply_at) if t is not None]
    return min([*replies, *known], default=None)


def priority_set_by_people(ticket: Ticket) -> Priority:
    """The ticket's priority before deskbridge's own raises.

    SLA targets and rule scopes follow the priority a person chose: if they
    followed deskbridge's raise, its own write would tighten the targets and
    trigger the next escalation (an echo acting as a trigger).
    """
    current = ticket.priority
    for event in reversed(ticket.history):
        if event.kind is not EventKind.priority_change:
            continue
        if not event.by_deskbridge or event.to_value != current.value:
            break
        try:
            current = Priority(event.from_value)
        except ValueError:
            break
    return current
