"""Incremental pulls and bulk re-reads of JSM issues over ``/search/jql``.

Paging follows ``nextPageToken`` (Cloud's enhanced search; the token is bound
to its JQL, and a repeated token is a loop, refused). A page's cursor is
built only from the issues on that page and those before it, so committing it
never skips an issue not yet handed out. See :mod:`connectors.jira.cursor`
for the window and the de-duplication on (id, updated).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Page
from connectors.jira import normalize
from connectors.jira.client import JiraClient
from connectors.jira.cursor import PullCursor, changes_jql, floor_minute, ids_jql
from connectors.jira.reads import (complete_changelogs, complete_comments, held_since, issue_fields, issue_id,
                                   updated_millis)
from connectors.jira.translate import SYSTEM
from core.errors import FatalAPIError, PayloadError
from core.mapping import JiraMapping
from core.model import Quarantined, System, Ticket

ID_CHUNK = 100  # ids per bulk "id in (...)" search: one full search page


def search_pages(client: JiraClient, jql: str, *, fields: list[str], expand: str | None,
                 size: int) -> Iterator[list[dict]]:
    """The issues of a search, page by page."""
    token: str | None = None
    tokens: set[str] = set()
    while True:
        page = client.search(jql, fields=fields, expand=expand, token=token, size=size)
        issues = page.get("issues") if isinstance(page, dict) else None
        if not isinstance(issues, list):
            raise PayloadError(SYSTEM, None, "issues", "a /search/jql answer without an issue list", kind="response")
        yield issues
        token = page.get("nextPageToken")
        if not token:
            return
        if token in tokens:
            raise PayloadError(SYSTEM, None, "nextPageToken", "the search handed out a token twice (a paging loop)",
                               kind="response")
        tokens.add(token)


def pull_changes(client: JiraClient, mapping: JiraMapping, project: str, cursor: str | None, *, start: datetime,
                 page_size: int, overlap: timedelta) -> Iterator[Page]:
    """Issues changed since ``cursor`` (or ``start``), oldest change first, one Page per search page."""
    position = PullCursor.decode(cursor) if cursor else PullCursor.starting_at(start)
    since = position.window_start(overlap) if cursor else floor_minute(position.watermark)
    jql = changes_jql(project, since, client.time_zone)
    handed_out: dict[str, int] = {}  # this run's (id -> updated ms), so nothing repeats within the run
    for raws in search_pages(client, jql, fields=issue_fields(mapping), expand="changelog", size=page_size):
        fresh, returned = [], []
        for raw in raws:
            ident, updated_ms = issue_id(raw), updated_millis(raw)
            if ident is not None and updated_ms is not None:
                if position.already_returned(ident, updated_ms) or handed_out.get(ident, -1) >= updated_ms:
                    continue
                handed_out[ident] = updated_ms
                returned.append((ident, updated_ms))
            fresh.append(raw)  # unreadable ones too: the normalizer quarantines them with the reason
        position = position.after(returned, overlap)
        tickets, quarantined = _normalize(client, mapping, fresh, full_history=False)
        yield Page(tickets=tickets, quarantined=quarantined, cursor=position.encode(), raw_count=len(raws))


def fetch_tickets(client: JiraClient, mapping: JiraMapping, ids: Sequence[str], *,
                  full_history: bool) -> tuple[list[Ticket], list[Quarantined]]:
    """Given issues as they are now: one search per 100 ids; issues Jira no longer has are left out."""
    wanted = list(dict.fromkeys(str(i) for i in ids))
    bad = [Quarantined(system=System.jira, ticket_id=i, field="id", reason=f"jira: {i!r} is not a Jira issue id")
           for i in wanted if not i.isdigit()]
    valid = [i for i in wanted if i.isdigit()]
    raws: list[dict] = []
    for start in range(0, len(valid), ID_CHUNK):
        raws += search_ids(client, valid[start:start + ID_CHUNK], fields=issue_fields(mapping), expand="changelog")
    tickets, quarantined = _normalize(client, mapping, raws, full_history=full_history)
    order = {ident: index for index, ident in enumerate(wanted)}
    tickets.sort(key=lambda t: order.get(t.id, len(order)))
    return tickets, bad + quarantined


def search_ids(client: JiraClient, ids: list[str], *, fields: list[str], expand: str | None = None) -> list[dict]:
    """The issues with these ids; ids Jira names as missing (deleted, moved) are dropped and the search repeated."""
    remaining = list(ids)
    while remaining:
        try:
            return [raw for page in search_pages(client, ids_jql(remaining), fields=fields, expand=expand,
                                                 size=ID_CHUNK) for raw in page]
        except FatalAPIError as exc:
            missing = {i for i in remaining if f"'{i}'" in str(exc)} if exc.status == 400 else set()
            if not missing:
                raise
            remaining = [i for i in remaining if i not in missing]
    return []


def _normalize(client: JiraClient, mapping: JiraMapping, raws: list[Any], *,
               full_history: bool) -> tuple[list[Ticket], list[Quarantined]]:
    comments = complete_comments(client, raws, full_history=full_history)
    changelogs = complete_changelogs(client, raws) if full_history else {}
    tickets, quarantined = normalize.normalize_many(raws, mapping, comments_by_issue=comments,
                                                    changelog_by_issue=changelogs)
    since = {ident: held_since(raw, comments_complete=ident in comments, changelog_complete=ident in changelogs)
             for raw in raws if (ident := issue_id(raw)) is not None}
    tickets = [t.model_copy(update={"history_since": since[t.id]}) if since.get(t.id) else t for t in tickets]
    return tickets, [_by_issue_id(q, raws) for q in quarantined]


def _by_issue_id(item: Quarantined, raws: list[Any]) -> Quarantined:
    """The normalizer names a bad issue by its key (SUP-28); the store matches quarantine to Ticket.id (10028)."""
    for raw in raws:
        if isinstance(raw, dict) and raw.get("key") == item.ticket_id and issue_id(raw):
            return item.model_copy(update={"ticket_id": issue_id(raw)})
    return item
