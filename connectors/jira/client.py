"""The jira client deskbridge talks to Jira Cloud / JSM with: construction, auth, typed, counted and retried calls.

Construction: ``JIRA(server=creds.url, basic_auth=(email, token), max_retries=0,
get_server_info=False, timeout=...)``, then the :class:`CallCounter` goes on the
client's own session (``client._session``) so every HTTP call it makes is
counted. One set-up call follows, counted and retried: ``GET myself``. It
proves the credentials, gives the integration user's time zone (the one JQL
dates are read in) and, by carrying an ``accountId``, shows the site is Cloud;
``client.deploymentType = "Cloud"`` then selects the client's Cloud code paths
(``/search/jql``, accountIds, ``query=`` user search) as its own ``serverInfo``
probe would, one call cheaper. What it tells (Cloud, the time zone) is kept
for the process for an hour (:data:`SITE_FACTS_TTL`), keyed by the site, the
e-mail and a fingerprint of the token: a flow served from a long-lived
process makes the call once an hour, not once per run; a changed token asks
again, and a 401/403 on any later call forgets what was kept. The client's lazy field-name cache (``GET
field``, used to translate JQL names in ``fields=``) is seeded with the field
ids deskbridge asks for, which need no translation: one more call saved per
run. The client is built lazily, on the first call.

Retry layering (see :mod:`connectors.retry`): the client's ``ResilientSession``
retries 429/503 and connection errors itself, any method included, sleeping
``2*Retry-After`` with jitter. ``max_retries=0`` switches that loop off: it
makes one attempt and raises (``is_allowed_to_retry`` is ``retry_number <=
max_retries``; verified in jira 3.10.5's ``resilientsession.py``). Every call
here runs under :func:`call_with_retry` instead, and Prefect task retries stay 0.
Comment POSTs are not idempotent: they are retried only on answers that say the
request was not processed (429, 503); any other failure after sending is
:class:`WriteOutcomeUnknown` and the connector's marker check decides later.
A body that is not JSON is asked for once more on reads, then fails cleanly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from jira import JIRA
from urllib3.exceptions import NewConnectionError

from connectors.calls import CallCounter
from connectors.credentials import JiraCredentials
from connectors.jira.translate import SYSTEM, WriteOutcomeUnknown, translate
from connectors.retry import RetryPolicy, call_with_retry
from core.errors import FatalAPIError, PayloadError, RetriableAPIError

log = logging.getLogger("deskbridge.jira")
T = TypeVar("T")

API = "/rest/api/2"
SEARCH = f"GET {API}/search/jql"
_NOT_PROCESSED = (429, 503)  # answers after which a POST certainly did not land
SITE_FACTS_TTL = 3600.0  # seconds a GET myself answer (Cloud, time zone) is trusted within the process
_site_facts: dict[tuple[str, str, str], tuple[float, str | None]] = {}  # site key -> (expires, time zone)


def forget_site_facts() -> None:
    """Drop every kept GET myself answer: the next connection asks again."""
    _site_facts.clear()


def _site_key(credentials: JiraCredentials) -> tuple[str, str, str]:
    """Site, e-mail and a short fingerprint of the token (never the token itself)."""
    fingerprint = hashlib.sha256(credentials.token.get_secret_value().encode()).hexdigest()[:16]
    return credentials.url.rstrip("/"), credentials.email.casefold(), fingerprint


class JiraClient:
    """A lazily built ``jira.JIRA`` whose every call is typed, counted and retried."""

    def __init__(
        self,
        credentials: JiraCredentials,
        *,
        policy: RetryPolicy,
        calls: CallCounter,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.credentials = credentials
        self.policy = policy
        self.calls = calls
        self.timeout = timeout
        self._sleep = sleep
        self._jira: JIRA | None = None
        self._zone: tzinfo = UTC

    # -- construction ----------------------------------------------------------------------

    def connect(self) -> JIRA:
        """The client, built on first use: Cloud paths selected, time zone read."""
        if self._jira is None:
            creds = self.credentials
            client = JIRA(
                server=creds.url,
                basic_auth=(creds.email, creds.token.get_secret_value()),
                max_retries=0,  # the client's own 429/503 loop is off: call_with_retry is the one policy
                get_server_info=False,  # probed below, counted and retried
                timeout=self.timeout,
            )
            self.calls.install(client._session)
            self._zone = _zone(self._time_zone_name(client))
            client.deploymentType = "Cloud"
            self._jira = client
        return self._jira

    def _time_zone_name(self, client: JIRA) -> str | None:
        """The integration user's time zone from ``GET myself`` (kept for the process; see the module docstring)."""
        key = _site_key(self.credentials)
        kept = _site_facts.get(key)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        me = self._call(f"GET {API}/myself", client.myself)
        if not isinstance(me, dict) or not me.get("accountId"):
            raise FatalAPIError(SYSTEM, f"GET {API}/myself", "deskbridge needs Jira Cloud (accountIds, "
                                f"/search/jql); the site {self.credentials.where('url')} names answers without an "
                                "accountId, as Jira Server / Data Center does")
        zone = me.get("timeZone") if isinstance(me.get("timeZone"), str) else None
        _site_facts[key] = (time.monotonic() + SITE_FACTS_TTL, zone)
        return zone

    @property
    def time_zone(self) -> tzinfo:
        """The integration user's time zone: Jira reads JQL dates in it."""
        self.connect()
        return self._zone

    def close(self) -> None:
        if self._jira is not None:
            self._jira.close()
            self._jira = None

    # -- reads ----------------------------------------------------------------------------------

    def search(self, jql: str, *, fields: list[str], expand: str | None = None, token: str | None = None,
               size: int = 100) -> dict[str, Any]:
        """One ``/search/jql`` page as JSON: ``{"issues", "nextPageToken"?, "isLast"}``."""
        client = self.connect()
        for name in fields:  # ids already: the client's name -> id translation must not fetch GET field for them
            client._fields_cache_value.setdefault(name, name)
        return self._call(SEARCH, lambda: client.enhanced_search_issues(
            jql, nextPageToken=token, maxResults=size, fields=list(fields), expand=expand, json_result=True))

    def comments(self, issue_id: str, *, start: int = 0, size: int = 100, newest_first: bool = False) -> list[dict]:
        """One page of an issue's comments with their properties (``sd.public.comment``)."""
        client = self.connect()
        order = "-created" if newest_first else "created"
        page = self._call(f"GET {API}/issue/{{id}}/comment", lambda: client.comments(
            issue_id, expand="properties", start_at=start, max_results=size, order_by=order))
        return [c.raw for c in page]

    def changelog(self, issue_id: str, *, start: int = 0, size: int = 100) -> dict[str, Any]:
        """One page of ``GET /issue/{id}/changelog`` (the client has no method for it)."""
        client = self.connect()
        url = f"{client.server_url}{API}/issue/{issue_id}/changelog"
        return self._call(f"GET {API}/issue/{{id}}/changelog", lambda: client._session.get(
            url, params={"startAt": start, "maxResults": size}).json())

    def users(self, query: str) -> list[dict]:
        """Users matching ``query`` (an e-mail): ``GET /user/search?query=``."""
        client = self.connect()
        found = self._call(f"GET {API}/user/search", lambda: client.search_users(query=query, maxResults=50))
        return [u.raw for u in found]

    def myself(self) -> dict[str, Any]:
        """The credentials' own user (``GET /myself``), asked afresh (``deskbridge check``)."""
        client = self.connect()
        return self._call(f"GET {API}/myself", client.myself)

    def fields(self) -> list[dict[str, Any]]:
        """Every field of the site, system and custom (``GET /field``)."""
        client = self.connect()
        return self._call(f"GET {API}/field", client.fields)

    def field_options(self, field_id: str) -> list[dict[str, Any]]:
        """The options of a select field over all its contexts (``GET /field/{id}/context[/{ctx}/option]``).

        Jira asks for the Administer Jira permission here: a 403 raises FatalAPIError.
        """
        client = self.connect()
        base = f"{client.server_url}{API}/field/{field_id}/context"
        contexts = self._pages(f"GET {API}/field/{{id}}/context", base, 50)
        return [option for context in contexts for option in self._pages(
            f"GET {API}/field/{{id}}/context/{{contextId}}/option", f"{base}/{context['id']}/option", 100)]

    def _pages(self, endpoint: str, url: str, size: int) -> list[dict[str, Any]]:
        """Every ``values`` item of a PageBean list (``startAt``/``maxResults``, until ``isLast``)."""
        client = self.connect()
        rows: list[dict[str, Any]] = []
        while True:
            page = self._call(endpoint, lambda start=len(rows): client._session.get(
                url, params={"startAt": start, "maxResults": size}).json())
            values = page.get("values") or []
            rows.extend(values)
            if page.get("isLast", True) or not values:
                return rows

    # -- writes ---------------------------------------------------------------------------------

    def edit(self, issue_id: str, body: dict[str, Any], *, idempotent: bool = True) -> None:
        """``PUT /issue/{id}`` through the client's session: the same request ``Issue.update`` sends,
        without the reload ``GET`` it makes after every PUT (one call per write saved). Idempotent
        as deskbridge uses it (labels ``add``, fields set to fixed values) and retried, unless it adds
        a comment (``idempotent=False``): then it is retried only where a POST would be."""
        client = self.connect()
        url = f"{client.server_url}{API}/issue/{issue_id}"
        self._call(f"PUT {API}/issue/{{id}}", lambda: client._session.put(url, data=json.dumps(body)),
                   idempotent=idempotent)

    def add_comment(self, issue_id: str, body: str, *, internal: bool) -> dict[str, Any]:
        """A JSM comment: internal (``sd.public.comment`` ``{"internal": true}``) or public."""
        client = self.connect()
        endpoint = f"POST {API}/issue/{{id}}/comment"
        comment = self._call(endpoint, lambda: client.add_comment(issue_id, body, is_internal=internal),
                             idempotent=False)
        return comment.raw

    # -- the one place calls are made ----------------------------------------------------------

    def _call(self, endpoint: str, fn: Callable[[], T], *, idempotent: bool = True) -> T:
        """Run ``fn`` under the retry policy; an unreadable body on a read is asked for once more."""
        return call_with_retry(lambda: self._attempt(endpoint, fn, idempotent), system=SYSTEM, endpoint=endpoint,
                               policy=self.policy, sleep=self._sleep, payload_retries=1 if idempotent else 0)

    def _attempt(self, endpoint: str, fn: Callable[[], T], idempotent: bool) -> T:
        try:
            return fn()
        except Exception as exc:  # translated below; anything unknown is re-raised as is
            typed = translate(exc, endpoint, self.credentials)
            if typed is exc:
                raise
            if isinstance(typed, FatalAPIError) and typed.status in (401, 403):
                _site_facts.pop(_site_key(self.credentials), None)  # what was proved no longer holds
            if not idempotent and _may_have_landed(exc, typed):
                raise WriteOutcomeUnknown(SYSTEM, endpoint, f"the write may have landed: {typed}",
                                          getattr(typed, "status", None)) from exc
            raise typed from exc

    def __repr__(self) -> str:
        state = "connected" if self._jira is not None else "not connected"
        return f"JiraClient(url={self.credentials.url!r}, email={self.credentials.email!r}, {state})"


def _may_have_landed(raw: BaseException, error: BaseException) -> bool:
    """After a non-idempotent request failed: only 429/503 answers and failed connects prove it was not processed."""
    if isinstance(error, PayloadError):
        return True  # a 2xx answer with a broken body: it landed, probably
    if isinstance(raw, requests.exceptions.ConnectTimeout) or _refused(raw):
        return False
    return isinstance(error, RetriableAPIError) and error.status not in _NOT_PROCESSED


def _refused(raw: BaseException) -> bool:
    """A connection that was never made (urllib3 NewConnectionError inside requests' ConnectionError)."""
    reason = getattr(raw.args[0], "reason", None) if raw.args else None
    return isinstance(raw, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _zone(name: Any) -> tzinfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("jira: the integration user's time zone %r is unknown; reading JQL dates as UTC", name)
    return UTC
