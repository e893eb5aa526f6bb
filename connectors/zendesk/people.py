"""Zendesk users deskbridge needs to know: comment authors (roles, echo detection) and assignees by e-mail.

Users change rarely, so every user record seen — side-loaded with a ticket page or
fetched here — is kept for the connector's life. Unknown authors are fetched in
bulk (``users/show_many.json``, 100 ids a call); an e-mail is resolved with one
``users/search.json?query=email:…`` per distinct address, then remembered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.zendesk.client import ZendeskClient

MAX_IDS = 100
AGENT_ROLES = {"agent", "admin"}


class Directory:
    """Users by id and by e-mail, filled from side-loads and bulk look-ups."""

    def __init__(self, client: ZendeskClient):
        self._client = client
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_email: dict[str, dict[str, Any]] = {}

    def remember(self, users: Iterable[Any] | None) -> None:
        """Keep side-loaded user records."""
        for user in users or ():
            if isinstance(user, dict) and user.get("id") is not None:
                self._by_id[str(user["id"])] = user
                if isinstance(user.get("email"), str):
                    self._by_email[user["email"].lower()] = user

    def users(self, ids: Iterable[str | int | None]) -> list[dict[str, Any]]:
        """The records of these user ids, fetching the unknown ones in bulk (missing ids are skipped)."""
        wanted = list(dict.fromkeys(str(i) for i in ids if i not in (None, "", -1, "-1")))
        unknown = [i for i in wanted if i not in self._by_id and i.isdigit()]
        for start in range(0, len(unknown), MAX_IDS):
            chunk = unknown[start:start + MAX_IDS]
            body = self._client.get("users/show_many.json", {"ids": ",".join(chunk)})
            self.remember(body.get("users"))
        return [self._by_id[i] for i in wanted if i in self._by_id]

    def agent_id(self, email: str) -> tuple[str | None, str | None]:
        """``(user id, None)`` for an agent's e-mail, or ``(None, why not)``."""
        key = email.strip().lower()
        user = self._by_email.get(key)
        if user is None:
            found = self._client.get("users/search.json", {"query": f"email:{key}"}).get("users") or []
            self.remember(found)
            user = self._by_email.get(key)
        if user is None:
            return None, f"no Zendesk user has the e-mail {email}"
        if user.get("role") not in AGENT_ROLES or user.get("suspended") or user.get("active") is False:
            return None, f"the Zendesk user {email} is not an active agent (role {user.get('role')!r})"
        return str(user["id"]), None
