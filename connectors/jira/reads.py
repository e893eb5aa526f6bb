"""Bulk reads of JSM issues: which fields to ask for, and when a search page needs completing.

One ``/search/jql`` request names its fields explicitly and expands the
changelog, so comments and history arrive with the issues (no call per issue).

Internal vs public comments in bulk: JSM puts ``jsdPublic`` on every comment,
also on those embedded in a search's ``comment`` field (the emulator does;
Atlassian's comment serializer is the same one). The normalizer reads it. Only
when an embedded comment lacks it is that issue's comment endpoint read with
``expand=properties`` (``sd.public.comment``), so a project without JSM data
still tells internal notes from replies, at one call per such issue.

Truncation: Cloud caps the comments and changelog histories embedded in a
search result, keeping the newest. A ``total`` above the embedded count marks
it. With ``full_history`` (the handoff note, escalating tickets only) those
issues' comment and changelog endpoints are read in pages of 100: one call per
100 comments and per 100 histories of each truncated issue; none otherwise.
Without it a truncated issue's Ticket says how far back it is complete
(``history_since``, :func:`held_since`), so the flow asks for its whole life
before writing a handoff note from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connectors.jira.client import JiraClient
from connectors.jira.cursor import to_millis
from connectors.raw import Reader, dig
from core.errors import PayloadError
from core.mapping import JiraMapping

BASE_FIELDS = ("summary", "description", "status", "priority", "labels", "assignee", "reporter", "created", "updated",
               "resolutiondate", "comment", "issuetype")
ENDPOINT_PAGE = 100


def issue_fields(mapping: JiraMapping) -> list[str]:
    """The system fields the normalizer reads plus every custom field the mapping names (SLA fields included)."""
    mf = mapping.fields
    custom = [ref.field for ref in (mf.team, mf.product_area, mf.escalation_flag, mf.customer_escalation_request,
                                    mf.salesforce_account_id, mf.request_type) if ref is not None]
    custom += [sla.field for sla in mf.slas] + [str(field_id) for field_id in mf.extra.values()]
    return list(dict.fromkeys([*BASE_FIELDS, *custom]))


def issue_id(raw: Any) -> str | None:
    value = raw.get("id") if isinstance(raw, Mapping) else None
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


def updated_at(raw: Any) -> datetime | None:
    """``fields.updated`` as an instant, or None when unreadable (the normalizer then quarantines the issue)."""
    try:
        return Reader("jira", issue_id(raw)).time(dig(raw, "fields", "updated"), "fields.updated")
    except PayloadError:
        return None


def updated_millis(raw: Any) -> int | None:
    instant = updated_at(raw)
    return None if instant is None else to_millis(instant)


def embedded_comments(raw: Any) -> tuple[list, int]:
    """The comments a search embedded, and the total Jira says the issue has."""
    block = dig(raw, "fields", "comment")
    rows = dig(block, "comments")
    rows = rows if isinstance(rows, list) else []
    total = dig(block, "total")
    return rows, total if isinstance(total, int) and not isinstance(total, bool) else len(rows)


def _needs_comment_endpoint(raw: Any, full_history: bool) -> bool:
    rows, total = embedded_comments(raw)
    lacks_visibility = any(isinstance(c, dict) and not isinstance(c.get("jsdPublic"), bool) for c in rows)
    return lacks_visibility or (full_history and total > len(rows))


def _changelog_truncated(raw: Any) -> bool:
    block = dig(raw, "changelog")
    histories, total = dig(block, "histories"), dig(block, "total")
    shown = len(histories) if isinstance(histories, list) else 0
    return isinstance(total, int) and not isinstance(total, bool) and total > shown


def complete_comments(client: JiraClient, raws: Iterable[Any], *, full_history: bool) -> dict[str, list]:
    """Comment lists read from the comment endpoint, by issue id, for the issues that need it."""
    out: dict[str, list] = {}
    for raw in raws:
        ident = issue_id(raw)
        if ident is not None and _needs_comment_endpoint(raw, full_history):
            out[ident] = all_comments(client, ident)
    return out


def all_comments(client: JiraClient, ident: str) -> list[dict]:
    """Every comment of one issue, oldest first, with properties."""
    rows: list[dict] = []
    while True:
        page = client.comments(ident, start=len(rows), size=ENDPOINT_PAGE)
        rows += page
        if len(page) < ENDPOINT_PAGE:
            return rows


def complete_changelogs(client: JiraClient, raws: Iterable[Any]) -> dict[str, list]:
    """Full changelog histories, by issue id, for issues whose embedded changelog was truncated."""
    out: dict[str, list] = {}
    for raw in raws:
        ident = issue_id(raw)
        if ident is None or not _changelog_truncated(raw):
            continue
        values: list = []
        while True:
            page = client.changelog(ident, start=len(values), size=ENDPOINT_PAGE)
            rows = page.get("values") if isinstance(page, dict) else None
            values += rows if isinstance(rows, list) else []
            if not rows or page.get("isLast", True) or len(values) >= int(page.get("total") or 0):
                break
        out[ident] = values
    return out


def held_since(raw: Any, *, comments_complete: bool, changelog_complete: bool) -> datetime | None:
    """From when the comments and history of this search result are complete; None when they are whole.

    A truncated list keeps the newest entries, so it is complete from its earliest one on (from the issue's
    ``updated`` when it kept none). Both truncated: complete from the later of the two starts.
    """
    reader = Reader("jira", issue_id(raw))
    starts: list[datetime] = []
    rows, total = embedded_comments(raw)
    if not comments_complete and total > len(rows):
        starts.append(_earliest(reader, rows, "created", "fields.comment.comments") or updated_at(raw))
    if not changelog_complete and _changelog_truncated(raw):
        histories = dig(raw, "changelog", "histories")
        histories = histories if isinstance(histories, list) else []
        starts.append(_earliest(reader, histories, "created", "changelog.histories") or updated_at(raw))
    known = [s for s in starts if s is not None]
    return max(known) if known else None


def _earliest(reader: Reader, rows: list, key: str, where: str) -> datetime | None:
    times = []
    for row in rows:
        try:
            instant = reader.time(row.get(key) if isinstance(row, Mapping) else None, f"{where}[].{key}")
        except PayloadError:
            continue  # an unreadable entry: the normalizer reports it
        if instant is not None:
            times.append(instant)
    return min(times, default=None)
