"""The requests plumbing every helpdesk client shares: no transport retries, a timeout, the last response.

deskbridge retries in one place (:func:`connectors.retry.call_with_retry`), so the
sessions the clients use must not retry on their own: :class:`NoRetryAdapter`
is mounted over requests' default adapter. Some clients raise exceptions that
keep the status but drop the headers, so :class:`LastResponse` remembers, per
thread, the status and ``Retry-After`` of the last response the session saw.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors.calls import CallCounter


class NoRetryAdapter(HTTPAdapter):
    """No transport or status retries (deskbridge retries), and a timeout on every request that names none."""

    def __init__(self, timeout: float):
        super().__init__(max_retries=Retry(total=0, connect=0, read=0, redirect=0, status=0,
                                           raise_on_status=False, respect_retry_after_header=False))
        self.timeout = timeout

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class LastResponse:
    """Status and ``Retry-After`` of the last response each thread received (a session response hook)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self._local.seen = (response.status_code, response.headers.get("Retry-After"))
        return response

    def forget(self) -> None:
        self._local.seen = None

    @property
    def status(self) -> int | None:
        seen = getattr(self._local, "seen", None)
        return seen[0] if seen else None

    @property
    def retry_after(self) -> str | None:
        seen = getattr(self._local, "seen", None)
        return seen[1] if seen else None


def prepare_session(session: requests.Session, calls: CallCounter, timeout: float,
                    prefixes: tuple[str, ...] = ("https://", "http://")) -> LastResponse:
    """Mount :class:`NoRetryAdapter` on ``prefixes``, count every call, and remember the last response."""
    adapter = NoRetryAdapter(timeout)
    for prefix in prefixes:
        session.mount(prefix, adapter)
    calls.install(session)
    last = LastResponse()
    session.hooks["response"].append(last.hook)
    return last
