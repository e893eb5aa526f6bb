"""JiraConnector: deskbridge's HelpdeskConnector for Jira Service Management Cloud, on the ``jira`` client.

- :meth:`JiraConnector.pull_changes`: ``/search/jql`` pages (``nextPageToken``)
  of the mapping's project, ``ORDER BY updated ASC, key ASC``, fields named
  explicitly and ``expand=changelog`` in the same request, a one-minute
  overlap de-duplicated on (id, updated). The cursor is documented in
  :mod:`connectors.jira.cursor`.
- :meth:`JiraConnector.fetch_tickets`: one search ``id in (...)`` per 100
  ids; ``full_history`` also reads the comment and changelog endpoints of the
  issues whose embedded lists were truncated (:mod:`connectors.jira.reads`).
- :meth:`JiraConnector.apply`: a bulk pre-write read, then per plan one PUT
  (fields, labels, the customer message) and one POST for the internal note
  (:mod:`connectors.jira.apply`). Owners' accountIds are cached for the
  connector's life (a flow run builds its connector afresh).

All instants are UTC; JQL dates are written in the integration user's time
zone (read once from ``GET /myself``), as Jira reads them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from connectors.base import Page, SetupCheck
from connectors.calls import CallCounter
from connectors.credentials import JiraCredentials, credentials_from_env
from connectors.jira import apply as applying
from connectors.jira import pull
from connectors.jira.check import check_setup
from connectors.jira.client import JiraClient
from connectors.jira.cursor import MIN_OVERLAP
from connectors.retry import RetryPolicy
from core.actions import WritePlan, WriteResult
from core.errors import ConfigError, ConfigProblem
from core.mapping import JiraMapping
from core.model import Quarantined, System, Ticket

MAX_PAGE = 100  # Jira Cloud serves at most 100 issues a page when fields and the changelog are asked for


class JiraConnector:
    """Pull, re-read and write JSM issues of one project; counts every HTTP call in ``calls``."""

    system = System.jira

    def __init__(
        self,
        credentials: JiraCredentials,
        mapping: JiraMapping,
        *,
        policy: RetryPolicy = RetryPolicy(),
        page_size: int = MAX_PAGE,
        overlap: timedelta = MIN_OVERLAP,
        project: str | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.mapping = mapping
        self.project = project or mapping.project
        if not self.project:
            raise ConfigError([ConfigProblem("mapping/jira.yaml", None, "project",
                                             "is not set: name the JSM project's key (e.g. SUP)")])
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE}, not {page_size}")
        if overlap < MIN_OVERLAP:
            raise ValueError(f"overlap must be at least {MIN_OVERLAP}: JQL compares updated by the minute")
        self.page_size = page_size
        self.overlap = overlap
        self.calls = CallCounter(System.jira.value)
        self.client = JiraClient(credentials, policy=policy, calls=self.calls, timeout=timeout, sleep=sleep)
        self._owners: dict[str, str | None] = {}  # e-mail -> accountId (None: no assignable user), for this run

    @classmethod
    def from_env(cls, mapping: JiraMapping, **kw) -> JiraConnector:
        """Credentials from ``DESKBRIDGE_JIRA_URL``, ``_EMAIL`` and ``_TOKEN``."""
        return cls(credentials_from_env(System.jira.value), mapping, **kw)

    def check_setup(self) -> SetupCheck:
        """Who the credentials are, and the mapped fields the site lacks (``deskbridge check``)."""
        return check_setup(self.client, self.mapping)

    def pull_changes(self, cursor: str | None, *, start: datetime) -> Iterator[Page]:
        """Changed issues since ``cursor`` (or ``start``), page by page, each with the cursor to commit after it."""
        return pull.pull_changes(self.client, self.mapping, self.project, cursor, start=start,
                                 page_size=self.page_size, overlap=self.overlap)

    def fetch_tickets(self, ids: Sequence[str], *,
                      full_history: bool = False) -> tuple[list[Ticket], list[Quarantined]]:
        """These issues as they are now, in bulk; ``full_history`` completes truncated comments and changelogs."""
        return pull.fetch_tickets(self.client, self.mapping, ids, full_history=full_history)

    def apply(self, plans: Sequence[WritePlan]) -> list[WriteResult]:
        """Write the plans, one result per plan, never overwriting a person's newer edit."""
        return applying.apply_plans(self.client, self.mapping, plans, owner_cache=self._owners)

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"JiraConnector(project={self.project!r}, client={self.client!r})"
