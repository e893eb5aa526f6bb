"""Zendesk users deskbridge needs to know: comment authors (roles, echo detection) and assignees by e-mail.

Users change rarely, so user records seen — side-loaded with a ticket page or
fetched here — are kept, the most recently used ``limit`` of them: a backlog's
customers would otherwise make the cache grow with the number of tickets, while the
agents who write most comments come back with every page and stay. Unknown authors
are fetched in bulk (``users/show_many.json``, 100 ids a call); an e-mail is resolved
with one ``users/search.json?query=email:…`` per distinct address, and the user found
is remembered apart from the side-loads (plans name few distinct owners, and account
owners are rarely side-loaded, so the LRU would forget them).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from connectors.zendesk.client import ZendeskClient

MAX_IDS = 100
AGENT_ROLES = {"agent", "admin"}
REMEMBERED = 2000  # user records kept: a page of 1,000 tickets side-loads about that many people


class Directory:
    """Users by id and by e-mail, filled from side-loads and bulk look-ups."""

    def __init__(self, client: ZendeskClient, *, limit: int = REMEMBERED):
        self._client = client
        self._limit = limit
        self._by_id: OrderedDict[str, dict[str, Any]] = OrderedDict()  # least recently used first
        self._by_email: dict[str, dict[str, Any]] = {}
        self._searched: dict[str, dict[str, Any]] = {}  # e-mail -> user found by a search: few, kept apart from the LRU

    def remember(self, users: Iterable[Any] | None) -> None:
        """Keep side-loaded user records (the least recently used beyond ``limit`` are forgotten)."""
        for user in users or ():
            if isinstance(user, dict) and user.get("id") is not None:
                self._forget_email(self._by_id.pop(str(user["id"]), None))
                self._by_id[str(user["id"])] = user
                if isinstance(user.get("email"), str):
                    self._by_email[user["email"].lower()] = user
        while len(self._by_id) > self._limit:
            self._forget_email(self._by_id.popitem(last=False)[1])

    def _forget_email(self, user: dict[str, Any] | None) -> None:
        email = user.get("email") if user else None
        if isinstance(email, str) and self._by_email.get(email.lower()) is user:
            del self._by_email[email.lower()]

    def __len__(self) -> int:
        return len(self._by_id)

    def users(self, ids: Iterable[str | int | None]) -> list[dict[str, Any]]:
        """The records of these user ids, fetching the unknown ones in bulk (missing ids are skipped)."""
        wanted = list(dict.fromkeys(str(i) for i in ids if i not in (None, "", -1, "-1")))
        found = {i: self._by_id[i] for i in wanted if i in self._by_id}
        for i in found:
            self._by_id.move_to_end(i)  # recently used: kept longest
        unknown = [i for i in wanted if i not in found and i.isdigit()]
        for start in range(0, len(unknown), MAX_IDS):
            chunk = unknown[start:start + MAX_IDS]
            got = self._client.get("users/show_many.json", {"ids": ",".join(chunk)}).get("users")
            self.remember(got)
            found.update((str(u["id"]), u) for u in got or () if isinstance(u, dict) and u.get("id") is not None)
        return [found[i] for i in wanted if i in found]

    def agent_id(self, email: str) -> tuple[str | None, str | None]:
        """``(user id, None)`` for an agent's e-mail, or ``(None, why not)``."""
        key = email.strip().lower()
        user = self._searched.get(key) or self._by_email.get(key)
        if user is None:
            found = self._client.get("users/search.json", {"query": f"email:{key}"}).get("users") or []
            user = next((u for u in found if isinstance(u, dict) and isinstance(u.get("email"), str)
                         and u["email"].lower() == key and u.get("id") is not None), None)
            if user is not None:
                self._searched[key] = user
        if user is None:
            return None, f"no Zendesk user has the e-mail {email}"
        if user.get("role") not in AGENT_ROLES or user.get("suspended") or user.get("active") is False:
            return None, f"the Zendesk user {email} is not an active agent (role {user.get('role')!r})"
        return str(user["id"]), None
