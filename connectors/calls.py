"""Count every HTTP call a connector makes, by endpoint.

Counting happens at the ``requests`` layer (a response hook on the client's
session), so calls that a client library makes on its own — a reload after an
update, a user search before an assignment, a retry — are counted too. The
figures feed the run artifact and the API-budget benchmark.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from urllib.parse import urlsplit

import requests

# Path segments that identify one record are folded so endpoints group:
# /api/v2/tickets/123.json -> /api/v2/tickets/{id}.json; a version right after /api (Jira's /rest/api/2) stays;
# Zendesk job ids (V3-<32 hex>) fold too.
_ID_SEGMENT = re.compile(
    r"(?<!/api)/(?:\d+|[0-9a-f]{32}|V\d+-[0-9a-f]{32}|[A-Z][A-Z0-9]*-\d+|(?=[a-zA-Z]*\d)[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?)(?=/|\.json|$)"
)


def endpoint_of(method: str, url: str) -> str:
    """``GET /api/v2/tickets/{id}.json`` for a concrete request URL."""
    path = urlsplit(url).path
    return f"{method.upper()} {_ID_SEGMENT.sub('/{id}', path)}"


class CallCounter:
    """Thread-safe tally of HTTP calls per endpoint for one connector."""

    def __init__(self, system: str):
        self.system = system
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, method: str, url: str) -> None:
        with self._lock:
            self._counts[endpoint_of(method, url)] += 1

    def install(self, session: requests.Session) -> requests.Session:
        """Count every response ``session`` receives (including error responses)."""

        def hook(response: requests.Response, *args, **kwargs):
            self.record(response.request.method or "GET", response.request.url or "")
            return response

        session.hooks.setdefault("response", []).append(hook)
        return session

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
