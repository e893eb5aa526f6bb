"""The zenpy client deskbridge talks to Zendesk with: construction, retry neutralisation, typed calls.

``Zenpy(subdomain=, email=, token=, session=<ours>, ratelimit_budget=0, disable_cache=True)``.
zenpy builds every URL from the subdomain unless ``ZENPY_FORCE_NETLOC`` (zenpy's own
variable, set by the sandbox or a proxy setup) says otherwise; nothing here knows
about the sandbox.

Retry layering (see :mod:`connectors.retry`; verified in zenpy 2.0.57's ``api.py``
and ``__init__.py``), so attempts never multiply:

- **Transport retries: none.** zenpy mounts its ``Retry(total=3, 413/503)`` adapter
  only on a session it creates itself. We pass our own session, with
  :class:`connectors.http.NoRetryAdapter` on both schemes (urllib3 ``Retry(total=0)``)
  and a default timeout; a 503 surfaces at once as ``APIException``.
- **zenpy's 429 loop: cut.** ``BaseApi._call_api`` sleeps ``Retry-After`` seconds and
  re-sends, with no attempt limit, calling ``check_ratelimit_budget(1)`` before each
  one-second sleep. With ``ratelimit_budget=0`` that check finds ``0 - 1 < 1`` and
  raises ``RatelimitBudgetExceeded`` before any sleep or re-send (the counter stays
  negative, so every later 429 does the same). We translate it to a
  RetriableAPIError carrying the ``Retry-After`` read by our response hook.
  A 429 without ``Retry-After`` is an ``APIException`` with status 429: retriable too.
- **Proactive throttling: off** (``proactive_ratelimit=None``), so zenpy never sleeps
  on ``X-Rate-Limit-Remaining``.
- **deskbridge retries** every call here through :func:`connectors.retry.call_with_retry`;
  Prefect task retries stay 0.

``disable_cache=True``: zenpy otherwise answers ticket reads from a 30-second cache
(and users/groups from an unbounded one) without any request.

Reads go through zenpy's own ``_get(url, raw_response=True)`` (auth, URL building,
``_check_response`` error classification) and return the raw JSON: the normalizer
wants payload dicts with their side-loads, which zenpy's object generators drop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment as ZenpyComment
from zenpy.lib.api_objects import Ticket as ZenpyTicket
from zenpy.lib.endpoint import Url

from connectors.calls import CallCounter
from connectors.credentials import ZendeskCredentials
from connectors.http import prepare_session
from connectors.retry import RetryPolicy, call_with_retry
from connectors.zendesk.translate import SYSTEM, translate
from core.errors import PayloadError

T = TypeVar("T")
API = "/api/v2/"
MAX_JOBS_PER_POLL = 100


class ZendeskClient:
    """zenpy behind one retry policy: every call typed, counted and retried."""

    def __init__(
        self,
        credentials: ZendeskCredentials,
        *,
        policy: RetryPolicy,
        calls: CallCounter,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.credentials = credentials
        self.policy = policy
        self.calls = calls
        self._sleep = sleep
        self._session = requests.Session()
        self._last = prepare_session(self._session, calls, timeout)
        self._zenpy = Zenpy(
            subdomain=credentials.subdomain,
            email=credentials.email,
            token=credentials.token.get_secret_value(),
            session=self._session,
            timeout=timeout,
            ratelimit_budget=0,  # see the module docstring: zenpy's 429 loop raises at once
            disable_cache=True,
        )

    @property
    def session(self) -> requests.Session:
        return self._session

    def url(self, path: str) -> str:
        """The absolute URL of ``/api/v2/<path>``, built by zenpy (``ZENPY_FORCE_NETLOC`` honoured)."""
        return self._zenpy.tickets._build_url(Url(path))

    # -- reads -------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``/api/v2/<path>`` and return its JSON object.

        An unreadable body (PayloadError) is asked for once more, then raised so the
        caller fails its page cleanly.
        """
        endpoint = f"GET {API}{path}"
        url = self.url(path)
        return self._retried(endpoint, lambda: self._get_json(url, params, endpoint), payload_retries=1)

    def get_pages(self, path: str, key: str, params: dict[str, Any] | None = None, *, size: int = 100) -> list[dict]:
        """Every record of a cursor-paginated list (``page[size]``, ``meta.has_more``, ``links.next``)."""
        query = {**(params or {}), "page[size]": size}
        rows: list[dict] = []
        seen_cursors: set[str] = set()
        while True:
            body = self.get(path, query)
            rows.extend(_records(body, key, path))
            after = (body.get("meta") or {}).get("after_cursor")
            if not (body.get("meta") or {}).get("has_more") or not after or after in seen_cursors:
                return rows  # has_more false (or a repeated cursor: stop rather than loop)
            seen_cursors.add(after)
            query = {**(params or {}), "page[size]": size, "page[after]": after}

    def _get_json(self, url: str, params: dict[str, Any] | None, endpoint: str) -> dict[str, Any]:
        response = self._zenpy.tickets._get(url, raw_response=True, params=params)
        body = response.json()
        if not isinstance(body, dict):
            raise PayloadError(SYSTEM, None, "body", f"{endpoint} answered {type(body).__name__}, not an object",
                               kind="response")
        return body

    # -- writes ------------------------------------------------------------------------------

    def update_many(self, updates: Sequence[dict[str, Any]]) -> str:
        """``PUT tickets/update_many.json`` through zenpy (≤ 100 tickets, each its own changes); the job id.

        Each update is a zenpy ``Ticket`` built from the dict, so zenpy sends exactly
        these keys (its dirty attributes) — ``safe_update``/``updated_stamp`` as given
        strings, never a datetime (zenpy would serialise that as a date).
        """
        if not 0 < len(updates) <= 100:
            raise ValueError(f"update_many takes 1 to 100 tickets, got {len(updates)}")
        endpoint = f"PUT {API}tickets/update_many.json"
        tickets = [_zenpy_ticket(u) for u in updates]
        job = self._retried(endpoint, lambda: self._zenpy.tickets.update(tickets))
        job_id = getattr(job, "id", None)
        if not job_id:
            raise PayloadError(SYSTEM, None, "job_status.id", f"{endpoint} answered no job id", kind="response")
        return str(job_id)

    def job_statuses(self, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The ``job_status`` objects of up to 100 jobs in one call (``job_statuses/show_many``), by job id.

        A job Zendesk does not list (unknown, or its data expired) is absent from the answer.
        """
        if not 0 < len(job_ids) <= MAX_JOBS_PER_POLL:
            raise ValueError(f"show_many takes 1 to {MAX_JOBS_PER_POLL} job ids, got {len(job_ids)}")
        body = self.get("job_statuses/show_many.json", {"ids": ",".join(job_ids)})
        rows = body.get("job_statuses")
        if not isinstance(rows, list):
            raise PayloadError(SYSTEM, None, "job_statuses", "job statuses answer without a job_statuses list",
                               kind="response")
        return {str(r["id"]): r for r in rows if isinstance(r, dict) and r.get("id") is not None}

    # -- the one place calls are made ----------------------------------------------------------

    def _retried(self, endpoint: str, fn: Callable[[], T], payload_retries: int = 0) -> T:
        def attempt() -> T:
            try:
                return fn()
            except Exception as exc:  # translated below; anything unknown is re-raised as is
                typed = translate(exc, endpoint, self.credentials, self._last)
                if typed is exc:
                    raise
                raise typed from exc

        return call_with_retry(attempt, system=SYSTEM, endpoint=endpoint, policy=self.policy, sleep=self._sleep,
                               payload_retries=payload_retries)

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"ZendeskClient(subdomain={self.credentials.subdomain!r}, email={self.credentials.email!r})"


def _zenpy_ticket(update: dict[str, Any]) -> ZenpyTicket:
    fields = {k: v for k, v in update.items() if k != "comment"}
    ticket = ZenpyTicket(**fields)
    if "comment" in update:
        ticket.comment = ZenpyComment(**update["comment"])
    return ticket


def _records(body: dict[str, Any], key: str, path: str) -> list[dict]:
    rows = body.get(key)
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise PayloadError(SYSTEM, None, key, f"GET {API}{path}: {key!r} is not a list of objects", kind="response")
    return rows
