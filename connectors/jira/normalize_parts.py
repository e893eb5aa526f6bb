"""Jira/JSM comments, changelog histories and SLA objects -> model pieces.

Comment visibility: ``jsdPublic`` (JSM adds it to comments) decides; without it
the ``sd.public.comment`` property (``{"internal": true}``, with
``expand=properties``) does; a comment with neither is public. Bodies are
plain strings (API v2) or Atlassian Document Format (API v3).
SLA objects: https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/
(GET /rest/servicedeskapi/request/{issueIdOrKey}/sla).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.derive import Change, is_echo
from connectors.raw import Reader, dig, storable
from connectors.text import body_text
from core.mapping import JiraMapping
from core.model import Comment, EventKind, NativeSla, Role, System

_CUSTOMER_ACCOUNT_TYPES = {"customer"}
_SYSTEM_ACCOUNT_TYPES = {"app"}


def author_role(author: Any, reporter_id: str | None) -> Role:
    """customer for JSM portal customers and the reporter, system for apps, agent otherwise."""
    account_type = dig(author, "accountType")
    account_type = account_type if isinstance(account_type, str) else None
    if account_type in _SYSTEM_ACCOUNT_TYPES:
        return Role.system
    if account_type in _CUSTOMER_ACCOUNT_TYPES:
        return Role.customer
    account_id = dig(author, "accountId")
    return Role.customer if account_id is not None and account_id == reporter_id else Role.agent


def _is_public(raw: dict) -> bool:
    public = raw.get("jsdPublic")
    if isinstance(public, bool):
        return public
    for prop in raw.get("properties") or []:
        if isinstance(prop, dict) and prop.get("key") == "sd.public.comment":
            return dig(prop, "value", "internal") is not True
    return True


def to_comment(raw: dict, mapping: JiraMapping, *, reporter_id: str | None = None,
               reader: Reader | None = None) -> Comment:
    """One issue comment (from fields.comment.comments or GET /issue/{key}/comment)."""
    r = reader or Reader(System.jira, None)
    author = r.mapping(raw.get("author"), "comments.author")
    body = body_text(raw.get("body"))
    account_id = r.id(author.get("accountId"), "comments.author.accountId")
    email = r.text(author.get("emailAddress"), "comments.author.emailAddress")
    return Comment(
        id=r.id(raw.get("id"), "comments.id", required=True),
        author_id=account_id,
        author_name=r.text(author.get("displayName"), "comments.author.displayName"),
        role=author_role(author, reporter_id),
        public=_is_public(raw),
        body=body,
        created_at=r.time(raw.get("created"), "comments.created", required=True),
        by_deskbridge=is_echo(mapping.integration_user.matches(account_id, email), body),
    )


def changes_from_histories(histories: list[dict], mapping: JiraMapping, *, reporter_id: str | None,
                           reader: Reader) -> list[Change]:
    """Status, team (group), assignee and priority changes from changelog histories."""
    changes = []
    for index, history in enumerate(histories):
        at = reader.time(history.get("created"), f"changelog[{index}].created", required=True)
        author = reader.mapping(history.get("author"), f"changelog[{index}].author")
        actor = reader.id(author.get("accountId"), f"changelog[{index}].author.accountId")
        who = dict(actor_id=actor, actor_role=author_role(author, reporter_id),
                   by_deskbridge=mapping.integration_user.matches(actor, author.get("emailAddress")))
        for item in reader.records(history.get("items"), f"changelog[{index}].items"):
            change = _change(item, mapping)
            if change is not None:
                kind, old, new = change
                changes.append(Change(kind, at, old, new, **who))
    return changes


def _change(item: dict, mapping: JiraMapping) -> tuple[EventKind, str | None, str | None] | None:
    team = mapping.fields.team
    field_id = item.get("fieldId") or item.get("field")
    if not item.get("fieldId") and team.name is not None and item.get("field") == team.name:
        field_id = team.field  # changelog items without fieldId name custom fields by their name
    text = lambda key: storable(item[key]) if isinstance(item.get(key), str) and item[key] != "" else None  # noqa: E731
    if field_id == "status":
        old, new = _status_name(mapping, text("fromString")), _status_name(mapping, text("toString"))
        return EventKind.status_change, old, new
    if field_id == "priority":
        return EventKind.priority_change, *(
            mapping.priority_map[v].value if v in mapping.priority_map else v
            for v in (text("fromString"), text("toString"))
        )
    if field_id == "assignee":
        return EventKind.assignee_change, text("from"), text("to")
    if field_id == team.field:
        old, new = text("fromString"), text("toString")
        return EventKind.group_change, mapping.logical_group(old) or old, mapping.logical_group(new) or new
    return None


def _status_name(mapping: JiraMapping, name: str | None) -> str | None:
    if name is None:
        return None
    return mapping.status_map[name].value if name in mapping.status_map else name


def sla_from_jsm(raw: dict, *, target: str | None, name: str | None, reader: Reader, where: str) -> NativeSla:
    """A JSM SLA (an SLA custom field's value, or one entry of the request SLA endpoint)."""
    ongoing = reader.mapping(raw.get("ongoingCycle"), f"{where}.ongoingCycle")
    completed = reader.records(raw.get("completedCycles"), f"{where}.completedCycles")
    cycle = ongoing or (completed[-1] if completed else {})
    remaining = dig(cycle, "remainingTime", "millis")
    return NativeSla(
        name=reader.text(raw.get("name"), f"{where}.name") or name or where,
        target=target,
        started_at=_jsm_time(cycle.get("startTime"), reader, f"{where}.startTime"),
        due_at=_jsm_time(cycle.get("breachTime"), reader, f"{where}.breachTime"),
        completed_at=None if ongoing else _jsm_time(cycle.get("stopTime"), reader, f"{where}.stopTime"),
        breached=cycle.get("breached") is True,
        paused=cycle.get("paused") is True,
        remaining_seconds=remaining / 1000 if isinstance(remaining, (int, float)) and not isinstance(remaining, bool)
        else None,
        source="jsm",
    )


def _jsm_time(value: Any, reader: Reader, field: str) -> datetime | None:
    """JSM time objects: {"iso8601", "jira", "friendly", "epochMillis"}."""
    if value is None:
        return None
    if isinstance(value, str):
        return reader.time(value, field)
    millis = dig(value, "epochMillis")
    if isinstance(millis, int) and not isinstance(millis, bool):
        try:
            return datetime.fromtimestamp(millis / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise reader.error(field, f"{millis!r} is not a valid epoch time") from None
    return reader.time(dig(value, "iso8601") or dig(value, "jira"), field)
