"""A small TTL cache of Accounts, so a sync every few minutes does not re-query Salesforce.

Entries are keyed by the 15-character id and live ``ttl_seconds`` of the
injected clock (deskbridge's clocks return aware datetimes, so tests and the
flow's "now" drive expiry). Only answers Salesforce actually gave are cached
— found accounts and ids it does not know — never the defaults used while a
lookup failed, so the next run asks again. One cache may be shared by several
:class:`~connectors.salesforce.accounts.SalesforceAccounts` in a long-lived
process (pass it as ``cache=``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from core.model import Account


def utc_now() -> datetime:
    return datetime.now(UTC)


class AccountCache:
    """Accounts by 15-character id, each valid for ``ttl_seconds`` after it was stored."""

    def __init__(self, ttl_seconds: float = 900, clock: Callable[[], datetime] = utc_now):
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be >= 0")
        self.ttl_seconds = float(ttl_seconds)
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[datetime, Account]] = {}

    def get(self, key: str) -> Account | None:
        """The cached account, or None when absent or expired (expired entries are dropped)."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, account = entry
            if (now - stored_at).total_seconds() >= self.ttl_seconds:
                del self._entries[key]
                return None
            return account

    def put(self, key: str, account: Account) -> None:
        if self.ttl_seconds == 0:
            return
        now = self.clock()
        with self._lock:
            self._entries[key] = (now, account)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
