"""ZendeskConnector: the HelpdeskConnector for Zendesk Support, on zenpy.

- ``pull_changes``: the cursor-based incremental ticket export, 1000 tickets a page with
  users, groups and organizations side-loaded, plus one ticket-event window per run for
  comments and history (:mod:`connectors.zendesk.reads`, cursor format in
  :mod:`connectors.zendesk.cursor`).
- ``fetch_tickets``: ``show_many`` (100 ids a call); with ``full_history`` every audit of
  each ticket (comments and changes), for the handoff note of tickets that escalate.
- ``apply``: ``update_many`` jobs under ``safe_update`` + ``updated_stamp``, polled to
  completion, one result per plan (:mod:`connectors.zendesk.apply`).
Every HTTP call is counted by endpoint in ``connector.calls``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from connectors.base import Page, SetupCheck
from connectors.calls import CallCounter
from connectors.credentials import ZendeskCredentials, credentials_from_env
from connectors.retry import RetryPolicy
from connectors.zendesk.apply import KnownTickets, Writer
from connectors.zendesk.check import check_setup
from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.jobs import JobWait
from connectors.zendesk.people import Directory
from connectors.zendesk.reads import Reader
from core.actions import WritePlan, WriteResult
from core.mapping import ZendeskMapping
from core.model import Quarantined, System, Ticket

MAX_PAGE = 1000  # the cursor export's largest page


class ZendeskConnector:
    """Pull, re-read and write Zendesk tickets economically and safely."""

    system = System.zendesk

    def __init__(
        self,
        credentials: ZendeskCredentials,
        mapping: ZendeskMapping,
        *,
        policy: RetryPolicy = RetryPolicy(),
        page_size: int = MAX_PAGE,
        event_overlap: int = 120,
        job_wait: JobWait = JobWait(),
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``event_overlap``: seconds the event window reaches back before the cursor's position
        (Zendesk holds back the last minute of events). ``sleep`` waits between retries and job polls."""
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE}, got {page_size}")
        self.credentials = credentials
        self.mapping = mapping
        self.calls = CallCounter(self.system.value)
        self.client = ZendeskClient(credentials, policy=policy, calls=self.calls, timeout=timeout, sleep=sleep)
        self._known = KnownTickets()
        directory = Directory(self.client)
        self._reader = Reader(self.client, mapping, directory, page_size=page_size, event_overlap=event_overlap,
                              seen=self._known.remember)
        self._writer = Writer(self.client, mapping, directory, self._known, wait=job_wait, sleep=sleep)

    @classmethod
    def from_env(cls, mapping: ZendeskMapping, **kw) -> ZendeskConnector:
        """Credentials from ``DESKBRIDGE_ZENDESK_SUBDOMAIN``/``_EMAIL``/``_TOKEN``."""
        return cls(credentials_from_env("zendesk"), mapping, **kw)  # type: ignore[arg-type]

    def check_setup(self) -> SetupCheck:
        """Who the credentials are, and the mapping's groups that Zendesk lacks (``deskbridge check``)."""
        return check_setup(self.client, self.mapping)

    def pull_changes(self, cursor: str | None, *, start: datetime) -> Iterator[Page]:
        """Changed tickets since ``cursor`` (or ``start``), page by page; commit each page's cursor after it."""
        return self._reader.pull(cursor, start)

    def fetch_tickets(
        self, ids: Sequence[str], *, full_history: bool = False
    ) -> tuple[list[Ticket], list[Quarantined]]:
        """These tickets now, in bulk. Without ``full_history`` they carry no comments or history."""
        return self._reader.fetch(ids, full_history)

    def apply(self, plans: Sequence[WritePlan]) -> list[WriteResult]:
        """Write the plans; one result per plan, in order."""
        return self._writer.apply(plans)

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"ZendeskConnector(subdomain={self.credentials.subdomain!r}, calls={self.calls.total})"
