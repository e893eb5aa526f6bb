"""What a ticket update asks for, and what it really changes.

:func:`parse_ticket_payload` reads the body of ``PUT tickets/{id}.json`` (or one
entry of ``update_many``) into an :class:`Edit`; :func:`resolve` turns an edit
into the ticket's next state with Zendesk's own rules applied:

- ``tags`` replaces, ``additional_tags`` adds, ``remove_tags`` removes; tags are
  lower-cased and split on whitespace.
- A dropdown field's value is also a tag (``pa_billing``): setting the field
  adds its tag, and adding or removing the tag sets or clears the field.
- Assigning a ``new`` ticket opens it; a ticket is solved only with an assignee
  (an agent solving in the UI takes the ticket); closed tickets are read-only.
- Moving a ticket to a group its assignee is not in unassigns it; assigning an
  agent outside the current group moves the ticket to the agent's default group.
- An end-user's public comment on a pending, on-hold or solved ticket reopens it.
Both functions are pure: the store applies the result under its lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.zendesk import ids
from sandbox.zendesk.records import TicketRecord, UserRecord

UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()
NATIVE_STATUSES = set(ids.STATUS_TO_NATIVE.values())
NATIVE_PRIORITIES = set(ids.PRIORITY_TO_NATIVE.values())


class Rejected(Exception):
    """A validation error: Zendesk answers 422 RecordInvalid with ``details``."""

    def __init__(self, field_name: str, description: str):
        super().__init__(description)
        self.field_name, self.description = field_name, description


class UpdateConflict(Exception):
    """``safe_update`` with a stale ``updated_stamp``: Zendesk answers 409."""


@dataclass
class NewComment:
    body: str
    html_body: str | None
    public: bool
    author_id: int | None  # None: the requesting user


@dataclass
class Edit:
    status: str | None = None
    priority: Any = UNSET
    group_id: Any = UNSET
    assignee_id: Any = UNSET
    tags: list[str] | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    fields: dict[int, Any] = field(default_factory=dict)
    comment: NewComment | None = None
    safe_stamp: str | None = None


@dataclass
class Resolution:
    """The ticket's next state, before it is compared with the current one."""

    status: str
    priority: str | None
    group_id: int | None
    assignee_id: int | None
    tags: list[str]
    fields: list[Any]
    comment: NewComment | None


def normalize_tags(raw: Any) -> list[str]:
    """Zendesk's tag rules: strings, lower case, whitespace splits one tag into several."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise Rejected("tags", "Tags: must be a list of strings")
    out: list[str] = []
    for item in raw:
        for tag in str(item).lower().split():
            if tag not in out:
                out.append(tag)
    return out


def _optional_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Rejected(name, f"{name}: is invalid") from None


def _comment(raw: Any) -> NewComment | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"body": raw}
    if not isinstance(raw, dict):
        raise Rejected("comment", "Comment: is invalid")
    body, html = raw.get("body"), raw.get("html_body")
    if not (body or html):
        return None  # a blank comment adds nothing
    public = raw.get("public", True)
    return NewComment(
        body=str(body) if body else _strip_html(str(html)),
        html_body=str(html) if html else None,
        public=public is not False and str(public).lower() != "false",
        author_id=_optional_int(raw.get("author_id"), "author_id"),
    )


def _strip_html(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).strip()


def parse_ticket_payload(ticket: dict) -> Edit:
    """The edit a ticket object in an update request asks for."""
    if not isinstance(ticket, dict):
        raise Rejected("ticket", "Ticket: is invalid")
    edit = Edit()
    if "status" in ticket and ticket["status"] is not None:
        edit.status = str(ticket["status"])
    if "priority" in ticket:
        edit.priority = ticket["priority"] or None
    if "group_id" in ticket:
        edit.group_id = _optional_int(ticket["group_id"], "group_id")
    if "assignee_id" in ticket:
        edit.assignee_id = _optional_int(ticket["assignee_id"], "assignee_id")
    if "tags" in ticket:
        edit.tags = normalize_tags(ticket["tags"])
    edit.add_tags = normalize_tags(ticket.get("additional_tags"))
    edit.remove_tags = normalize_tags(ticket.get("remove_tags"))
    for entry in ticket.get("custom_fields") or []:
        if isinstance(entry, dict) and "id" in entry:
            fid = _optional_int(entry["id"], "custom_fields")
            if fid in ids.FIELD_NAMES:  # Zendesk ignores fields it does not know
                edit.fields[fid] = _field_value(fid, entry.get("value"))
    edit.comment = _comment(ticket.get("comment"))
    if ticket.get("safe_update") in (True, "true") and ticket.get("updated_stamp"):
        edit.safe_stamp = str(ticket["updated_stamp"])
    return edit


def _field_value(fid: int, value: Any) -> Any:
    if fid in ids.CHECKBOX_FIELDS:
        return value is True or str(value).lower() in ("true", "1", "yes")
    if fid == ids.PRODUCT_AREA_FIELD:
        if value in (None, ""):
            return None
        if value not in ids.PRODUCT_AREA_FROM_TAG:
            raise Rejected(str(fid), f"Product area: {value} is not a valid option")
        return value
    return None if value in (None, "") else str(value)


def check_stamp(ticket: TicketRecord, stamp: str | None) -> None:
    """Raise :class:`UpdateConflict` when a safe update's stamp is not the ticket's updated_at."""
    if stamp is None:
        return
    if ids.parse_iso(stamp) != ticket.updated_at:
        raise UpdateConflict()


def resolve(ticket: TicketRecord, edit: Edit, users: dict[int, UserRecord], author: UserRecord, *, human: bool) -> Resolution:
    """The ticket's next state under Zendesk's rules; raises :class:`Rejected` on invalid input."""
    if ticket.status == "closed":
        raise Rejected("status", "Status: closed prevents ticket update")
    tags, fields = _next_tags_and_fields(ticket, edit)
    group_id, assignee_id = _next_assignment(ticket, edit, users)
    status = _next_status(ticket, edit, assignee_id)
    priority = ticket.priority if edit.priority is UNSET else edit.priority
    if priority is not None and priority not in NATIVE_PRIORITIES:
        raise Rejected("priority", f"Priority: {priority} is not valid")
    comment = edit.comment
    if comment and comment.author_id is not None and comment.author_id not in users:
        raise Rejected("author_id", "Author: is invalid")
    commenter = users.get(comment.author_id, author) if comment and comment.author_id else author
    if comment and comment.public and not commenter.is_agent and edit.status is None and status in ("pending", "hold", "solved"):
        status = "open"
    if status in ("solved", "closed") and assignee_id is None:
        if not (human and author.is_agent):
            raise Rejected("assignee_id", "Assignee: is required when the ticket is solved")
        assignee_id = author.id
        group_id = group_id or author.default_group_id
    return Resolution(status, priority, group_id, assignee_id, tags, fields, comment)


def _next_tags_and_fields(ticket: TicketRecord, edit: Edit) -> tuple[list[str], list[Any]]:
    tags = list(edit.tags) if edit.tags is not None else list(ticket.tags)
    tags += [t for t in edit.add_tags if t not in tags]
    tags = [t for t in tags if t not in edit.remove_tags]
    fields = list(ticket.fields)
    for fid, value in edit.fields.items():
        fields[ids.FIELD_ORDER.index(fid)] = value
    area_slot = ids.FIELD_ORDER.index(ids.PRODUCT_AREA_FIELD)
    area = fields[area_slot]
    if ids.PRODUCT_AREA_FIELD not in edit.fields:
        if area is not None and area not in tags:
            area = None  # its tag was removed: the dropdown clears
        added = [t for t in tags if t in ids.PRODUCT_AREA_FROM_TAG and t not in ticket.tags]
        if added:
            area = added[-1]
    fields[area_slot] = area
    tags = [t for t in tags if t not in ids.PRODUCT_AREA_FROM_TAG or t == area]
    if area is not None and area not in tags:
        tags.append(area)
    return tags, fields


def _next_assignment(ticket: TicketRecord, edit: Edit, users: dict[int, UserRecord]) -> tuple[int | None, int | None]:
    group_id = ticket.group_id if edit.group_id is UNSET else edit.group_id
    assignee_id = ticket.assignee_id if edit.assignee_id is UNSET else edit.assignee_id
    if group_id is not None and group_id not in ids.GROUP_NAMES:
        raise Rejected("group_id", "Group: is invalid")
    assignee = users.get(assignee_id) if assignee_id is not None else None
    if assignee_id is not None and (assignee is None or not assignee.is_agent):
        raise Rejected("assignee_id", "Assignee: is not an agent")
    if assignee is None or _is_member(assignee, group_id):
        return group_id, assignee_id
    if edit.group_id is not UNSET and edit.assignee_id is not UNSET:
        raise Rejected("assignee_id", "Assignee: is not a member of the group")
    if edit.group_id is not UNSET:
        return group_id, None  # moved to a group the assignee is not in: unassigned
    return assignee.default_group_id, assignee_id


def _is_member(user: UserRecord, group_id: int | None) -> bool:
    return group_id is None or user.role == "admin" or user.default_group_id == group_id


def _next_status(ticket: TicketRecord, edit: Edit, assignee_id: int | None) -> str:
    status = edit.status or ticket.status
    if status not in NATIVE_STATUSES:
        raise Rejected("status", f"Status: {status} is not valid")
    if status == "new" and ticket.status != "new":
        raise Rejected("status", "Status: cannot be set back to new")
    if status == "new" and assignee_id is not None:
        status = "open"
    return status
