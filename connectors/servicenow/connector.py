"""ServiceNowConnector: incidents pulled incrementally in pages, fetched in bulk, written through the Batch API.

Pull: keyset pages on (``sys_updated_on``, ``sys_id``), ``sysparm_display_value=all`` (the normalizer
reads labels and values) and only the columns the normalizer needs. A first run starts at
``start``; a resumed one ``overlap`` before the cursor's stamp (seconds granularity, late commits),
and every (sys_id, sys_updated_on) already returned in this run is dropped. The first page is a
Table API GET built by pysnc's GlideRecord; after that each Batch API call carries the previous
page's journal, audit and task_sla queries (keyed by its sys_ids) together with the next page's
keyset query, so a pull of P pages costs P + 1 calls (:mod:`connectors.servicenow.children`).
The cursor after a page is that page's last incident
(:class:`~connectors.servicenow.queries.Cursor`), so it never passes data not yet returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Page, SetupCheck
from connectors.calls import CallCounter
from connectors.credentials import ServiceNowCredentials, credentials_from_env
from connectors.retry import RetryPolicy
from connectors.servicenow.apply import Applier
from connectors.servicenow.check import check_setup
from connectors.servicenow.children import ID_CHUNK, ChildQuery, ChildReader, Rows, child_queries
from connectors.servicenow.client import ServiceNowApi
from connectors.servicenow.normalize import normalize_many
from connectors.servicenow.queries import (
    Cursor,
    after_query,
    chunks,
    in_query,
    incident_columns,
    ordered,
    since_query,
    window_start,
)
from connectors.servicenow.translate import SYSTEM
from core.actions import WritePlan, WriteResult
from core.errors import PayloadError
from core.mapping import ServiceNowMapping
from core.model import Quarantined, System, Ticket

log = logging.getLogger("deskbridge.servicenow")


class ServiceNowConnector:
    """The ServiceNow side of deskbridge (see :class:`connectors.base.HelpdeskConnector`)."""

    system = System.servicenow

    def __init__(self, credentials: ServiceNowCredentials, mapping: ServiceNowMapping, *,
                 policy: RetryPolicy = RetryPolicy(), page_size: int = 200, overlap_seconds: int = 60,
                 timeout: float = 30.0, sleep: Callable[[float], None] = time.sleep):
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.credentials = credentials
        self.mapping = mapping
        self.page_size = page_size
        self.overlap = timedelta(seconds=overlap_seconds)
        self.calls = CallCounter(SYSTEM)
        self.api = ServiceNowApi(credentials, policy=policy, calls=self.calls, timeout=timeout, sleep=sleep)
        self._children = ChildReader(self.api)
        self._applier = Applier(self.api, self._children, mapping, policy, sleep)
        self._columns = incident_columns(mapping)

    @classmethod
    def from_env(cls, mapping: ServiceNowMapping, **kw: Any) -> ServiceNowConnector:
        """Credentials from ``DESKBRIDGE_SERVICENOW_INSTANCE/USERNAME/PASSWORD``."""
        return cls(credentials_from_env("servicenow"), mapping, **kw)  # type: ignore[arg-type]

    def check_setup(self) -> SetupCheck:
        """Who the credentials are, and the mapping's groups that ServiceNow lacks (``deskbridge check``)."""
        return check_setup(self.api, self.mapping)

    def __repr__(self) -> str:
        return f"ServiceNowConnector(instance={self.credentials.instance!r}, page_size={self.page_size})"

    # -- reading ---------------------------------------------------------------------------------

    def pull_changes(self, cursor: str | None, *, start: datetime) -> Iterator[Page]:
        """Incidents changed since ``cursor`` (or ``start``), a page at a time, oldest change first.

        Pipelined: the first page is one Table API GET; every later call is one batch carrying the
        previous page's children and the next page's keyset query, so P pages cost P + 1 calls. A
        page is handed out once its children are in, and its cursor is its own last incident.
        """
        last = Cursor.decode(cursor) if cursor else None
        rows, total = self.api.list_rows("incident", since_query(window_start(last, start, self.overlap)),
                                         columns=self._columns, display="all", limit=self.page_size)
        seen: set[tuple[str, str]] = set()
        previous: Cursor | None = None
        while rows:
            page_end = _last_key(rows)
            if previous is not None and (page_end.updated_on, page_end.sys_id) <= (previous.updated_on,
                                                                                   previous.sys_id):
                raise PayloadError(SYSTEM, None, "sys_updated_on", f"paging made no progress past {previous.encode()}"
                                   " (does the instance ignore the keyset condition?)", kind="response")
            previous = page_end
            more = len(rows) >= self.page_size and (total is None or total > len(rows))
            fresh = [row for row in rows if _key(row) not in seen]
            seen.update(_key(row) for row in fresh)
            ahead = [self._page_query(after_query(page_end))] if more else []
            read = self._children.run(child_queries(_ids(fresh)) + ahead)
            tickets, quarantined = self._normalize(fresh, read)
            log.info("servicenow: page of %d incidents (%d new, %d quarantined) up to %s", len(rows), len(fresh),
                     len(quarantined), page_end.updated_on)
            yield Page(tickets, quarantined, page_end.encode(), raw_count=len(rows))
            if not more:
                return
            rows, total = read.get("page", []), read.totals.get("page")

    def fetch_tickets(self, ids: Sequence[str], *, full_history: bool = False
                      ) -> tuple[list[Ticket], list[Quarantined]]:
        """These incidents as they are now, with their journal, history and SLAs: one batch per 1,200 ids.

        The incidents and their children are asked for in the same batch (the children are keyed
        by the ids asked for). The journal is read whole either way (the SLA clocks need every
        entry); ``full_history`` also names every comment's author (one more batched user lookup
        for authors not yet cached), which the handoff note shows.
        """
        wanted = list(dict.fromkeys(i for i in ids if i))
        if not wanted:
            return [], []
        queries = [ChildQuery("incidents", "incident", in_query("sys_id", part), tuple(self._columns), display="all")
                   for part in chunks(wanted, ID_CHUNK)]
        read = self._children.run(queries + child_queries(wanted))
        return self._normalize(read.get("incidents", []), read, name_authors=full_history)

    def _page_query(self, query: str) -> ChildQuery:
        """The next incident page as an inner request (the same GET pysnc would send for the first)."""
        return ChildQuery("page", "incident", ordered(query), tuple(self._columns), display="all",
                          limit=self.page_size, follow=False)

    def _normalize(self, rows: list[dict[str, Any]], read: Rows, *, name_authors: bool = False
                   ) -> tuple[list[Ticket], list[Quarantined]]:
        if not rows:
            return [], []
        children = self._children.assemble(rows, read, name_authors=name_authors)
        tickets, quarantined = normalize_many(rows, self.mapping, journal_by_ticket=children.journal,
                                              audits_by_ticket=children.audits, slas_by_ticket=children.slas,
                                              users=children.users, form="all")
        base = self.api.client.instance  # pysnc's form: "acme" becomes https://acme.service-now.com
        return [t if t.url else t.model_copy(update={"url": f"{base}/incident.do?sys_id={t.id}"})
                for t in tickets], quarantined

    # -- writing ---------------------------------------------------------------------------------

    def apply(self, plans: Sequence[WritePlan]) -> list[WriteResult]:
        """One result per plan: applied, already_applied (marker found), conflict (a person changed it) or failed."""
        return self._applier.apply(plans)

    def close(self) -> None:
        self.api.close()


def _value(field: Any) -> str:
    value = field.get("value") if isinstance(field, dict) else field
    return "" if value is None else str(value)


def _key(row: dict[str, Any]) -> tuple[str, str]:
    return _value(row.get("sys_id")), _value(row.get("sys_updated_on"))


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [sys_id for sys_id in (_value(row.get("sys_id")) for row in rows) if sys_id]


def _last_key(rows: list[dict[str, Any]]) -> Cursor:
    """The page's last (sys_updated_on, sys_id): where the next page and the cursor continue from."""
    for row in reversed(rows):
        sys_id, updated = _key(row)
        if sys_id and updated:
            return Cursor(updated, sys_id)
    raise PayloadError(SYSTEM, None, "sys_updated_on", "no incident on the page has sys_id and sys_updated_on",
                       kind="response")
