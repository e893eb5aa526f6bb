"""A person working in the Zendesk agent UI (or a customer replying), simulated.

:func:`apply_human_action` turns the sandbox's system-neutral action dicts into
the same :class:`~.edits.Edit` an API update would carry and applies it with a
human author, so timestamps, audits, the concurrency token and the write log
move exactly as they do for a real edit. :func:`touch` is the ``conflict``
fault: a human tags the ticket just before deskbridge's request is served.
"""

from __future__ import annotations

from typing import Any

from sandbox import vocab
from sandbox.zendesk import ids
from sandbox.zendesk.edits import Edit, NewComment, Rejected, normalize_tags
from sandbox.zendesk.records import UserRecord
from sandbox.zendesk.store import ZendeskStore

CONFLICT_TAG = "human_edit"


def _acting_agent(store: ZendeskStore, ticket_id: int, key: str | None) -> UserRecord:
    if key:
        return store.user_by_key(key)
    ticket = store.ticket(ticket_id)
    if ticket.assignee_id in store.users:
        return store.users[ticket.assignee_id]
    agents = [u for u in store.users.values() if u.role == "agent"]
    in_group = [u for u in agents if u.default_group_id == ticket.group_id]
    if in_group or agents:
        return (in_group or agents)[0]
    return next(u for u in store.users.values() if u.role == "admin" and u.key != ids.INTEGRATION_KEY)


def _field_edit(field_name: str, value: Any) -> dict[int, Any]:
    if field_name not in ("escalation_flag", "customer_escalation_request", "product_area"):
        raise ValueError(f"unknown field {field_name!r}")
    fid = ids.FIELD_IDS[field_name]
    if field_name != "product_area":
        return {fid: bool(value)}
    if value is None:
        return {fid: None}
    native = value if value in ids.PRODUCT_AREA_FROM_TAG else ids.PRODUCT_AREA_TAGS.get(value)
    if native is None:
        raise ValueError(f"unknown product area {value!r}")
    return {fid: native}


def edit_for(store: ZendeskStore, ticket_id: int, action: dict) -> tuple[Edit, UserRecord]:
    """The edit a neutral human action makes, and the person making it."""
    kind = action.get("action")
    ticket = store.ticket(ticket_id)
    if kind == "comment":
        author = store.user_by_key(action["author"]) if action.get("author") else store.users[ticket.requester_id]
        body = str(action.get("body") or "")
        if not body:
            raise ValueError("a comment needs a body")
        comment = NewComment(body, None, bool(action.get("public", True)), author.id)
        return Edit(comment=comment), author
    author = _acting_agent(store, ticket_id, action.get("author"))
    if kind == "add_tags":
        return Edit(add_tags=normalize_tags(action.get("tags"))), author
    if kind == "remove_tags":
        return Edit(remove_tags=normalize_tags(action.get("tags"))), author
    if kind == "reassign":
        group = action.get("group")
        if group not in vocab.GROUPS:
            raise ValueError(f"unknown group {group!r}")
        assignee = store.user_by_key(action["assignee"]).id if action.get("assignee") else None
        return Edit(group_id=ids.GROUP_IDS[group], assignee_id=assignee), author
    if kind == "set_status":
        if action.get("status") not in ids.STATUS_TO_NATIVE:
            raise ValueError(f"unknown status {action.get('status')!r}")
        return Edit(status=ids.STATUS_TO_NATIVE[action["status"]]), author
    if kind == "set_priority":
        if action.get("priority") not in ids.PRIORITY_TO_NATIVE:
            raise ValueError(f"unknown priority {action.get('priority')!r}")
        return Edit(priority=ids.PRIORITY_TO_NATIVE[action["priority"]]), author
    if kind == "set_field":
        return Edit(fields=_field_edit(str(action.get("field")), action.get("value"))), author
    raise ValueError(f"unknown human action {kind!r}")


def apply_human_action(store: ZendeskStore, ticket_id: int, action: dict) -> None:
    """Apply one human action; invalid ones raise ValueError (as the UI would refuse them)."""
    with store.lock:
        edit, author = edit_for(store, ticket_id, action)
        try:
            store.apply(ticket_id, edit, author_id=author.id, actor="human", channel="web")
        except Rejected as exc:
            raise ValueError(f"Zendesk would refuse this edit: {exc.description}") from None


def touch(store: ZendeskStore, ticket_id: int) -> None:
    """The ``conflict`` fault: a human adds a tag, which moves updated_at and the audit trail."""
    with store.lock:
        ticket = store.tickets.get(ticket_id)
        if ticket is None or ticket.status == "closed":
            return
        tag, n = CONFLICT_TAG, 1
        while tag in ticket.tags:
            n += 1
            tag = f"{CONFLICT_TAG}_{n}"
        author = _acting_agent(store, ticket_id, None)
        store.apply(ticket_id, Edit(add_tags=[tag]), author_id=author.id, actor="human", channel="web")
