"""A small typed client for the sandbox admin API, for tests, the demo and the benchmarks.

``SandboxAdmin(os.environ["DESKBRIDGE_SANDBOX_ADMIN_URL"])`` steers a sandbox
running in this process or another one (``deskbridge sandbox up``). The admin
API speaks HTTPS with the sandbox's own CA, so ``REQUESTS_CA_BUNDLE`` must
point at the sandbox bundle (``Sandbox.env()`` sets it) or pass ``verify=``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests


class SandboxAdminError(RuntimeError):
    """The admin API refused a request; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(f"sandbox admin answered {status}: {message}")
        self.status = status


class SandboxAdmin:
    """Clock, faults, logs, tickets and human actions of one running sandbox."""

    def __init__(self, url: str, *, timeout: float = 30.0, verify: str | bool | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if verify is not None:
            self.session.verify = verify
            self.session.trust_env = False  # the environment's CA bundle would otherwise win

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's virtual time."""
        return _instant(self._call("GET", "/clock")["now"])

    def set_clock(self, instant: datetime) -> datetime:
        """Jump the virtual clock to a timezone-aware instant."""
        return _instant(self._call("POST", "/clock", {"set": instant.isoformat()})["now"])

    def advance(self, seconds: float) -> datetime:
        """Move the virtual clock forward, e.g. past an SLA threshold."""
        return _instant(self._call("POST", "/clock", {"advance_seconds": seconds})["now"])

    # -- faults --------------------------------------------------------------------------------

    def add_fault(self, kind: str, **rule: Any) -> dict:
        """Add a fault rule (see :class:`sandbox.context.Fault`: system, method, path, count, probability, ...)."""
        return self._call("POST", "/faults", {"kind": kind, **rule})["fault"]

    def faults(self) -> list[dict]:
        """The active rules with how often each was injected."""
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    # -- logs ----------------------------------------------------------------------------------

    def requests(self, system: str | None = None, since: int = 0) -> list[dict]:
        """Requests the emulators received after sequence number ``since``."""
        return self._call("GET", "/log/requests", params=_params(system=system, since=since))["requests"]

    def writes(self, system: str | None = None, since: int = 0, actor: str | None = None) -> list[dict]:
        """Semantic writes applied after ``since``; ``actor`` is "api" or "human"."""
        return self._call("GET", "/log/writes", params=_params(system=system, since=since, actor=actor))["writes"]

    def mark(self) -> int:
        """The latest log sequence number: remember it, then ask for what came ``since`` it."""
        return self._call("GET", "/log/mark")["seq"]

    def reset_logs(self) -> None:
        self._call("POST", "/reset-logs")

    # -- helpdesk tickets ----------------------------------------------------------------------

    def ticket_ids(self, system: str) -> list[str]:
        return self._call("GET", f"/{system}/tickets")["ids"]

    def create_ticket(self, system: str, subject: str, **fields: Any) -> str:
        """Create a ticket as a customer would (fields of :class:`sandbox.world.SeedTicket`); its native id."""
        body = {"subject": subject, **{k: _jsonable(v) for k, v in fields.items()}}
        return self._call("POST", f"/{system}/tickets", body)["id"]

    def view(self, system: str, ticket_id: str) -> dict:
        """The system-neutral snapshot: status, priority, group, assignee, tags, token, comments."""
        return self._call("GET", f"/{system}/tickets/{ticket_id}")

    def human(self, system: str, ticket_id: str, action: str | dict, **fields: Any) -> dict:
        """Act as a person in the helpdesk UI, e.g. ``human("jira", "10001", "add_tags", tags=["vip"])``."""
        body = action if isinstance(action, dict) else {"action": action, **fields}
        return self._call("POST", f"/{system}/tickets/{ticket_id}/human", body)

    # -- salesforce ----------------------------------------------------------------------------

    def accounts(self) -> list[dict]:
        return self._call("GET", "/salesforce/accounts")["accounts"]

    def set_account(self, account_id: str, **fields: Any) -> dict:
        """Edit a Salesforce Account as an admin would, e.g. ``Support_Tier__c="Premier Support"``."""
        return self._call("POST", f"/salesforce/accounts/{account_id}", fields)

    def delete_account(self, account_id: str) -> None:
        self._call("DELETE", f"/salesforce/accounts/{account_id}")

    def expire_sessions(self) -> None:
        """Make every Salesforce session invalid, so the next call must log in again."""
        self._call("POST", "/salesforce/expire-sessions")

    # -- transport -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        response = self.session.request(
            method, f"{self.url}/_admin{path}", json=body, params=params, timeout=self.timeout
        )
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise SandboxAdminError(response.status_code, message)
        return response.json()

    def close(self) -> None:
        self.session.close()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _params(**values: Any) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
