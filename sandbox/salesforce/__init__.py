"""The Salesforce emulator: a CRM org with Accounts and Users, driven by simple-salesforce over HTTPS.

deskbridge only reads Salesforce (the account tier), so instead of tickets the
emulator exposes its Accounts and Users and an admin's edits of them. Log in
exactly as against a My Domain or scratch org::

    session_id, instance = SalesforceLogin(username=..., password=..., security_token=...,
                                           scratch_url=env["DESKBRIDGE_SALESFORCE_LOGIN_URL"], session=s)
    sf = Salesforce(session_id=session_id, instance=instance, session=s)

See docs/sandbox-salesforce.md for the endpoints, what is faithful and the known gaps.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp

from sandbox.context import FaultMiddleware, SandboxContext
from sandbox.world import World

from .ids import user_id
from .routes import Handlers, error_body
from .schema import ACCOUNT, USER
from .seed import INTEGRATION_USER
from .store import MAX_BATCH, SYSTEM, Org

__all__ = ["SalesforceEmulator", "build", "error_body", "user_id", "DEFAULT_CREDENTIALS"]

DEFAULT_CREDENTIALS = {
    "username": INTEGRATION_USER.email,
    "password": "Sandbox.Pass-2026",
    "security_token": "DSKBRDG7sandboxTOKEN0001",
}


class SalesforceEmulator:
    """One seeded org behind the Salesforce SOAP login and REST data API."""

    system = SYSTEM

    def __init__(self, ctx: SandboxContext, org: Org, credentials: dict[str, str]):
        self.ctx = ctx
        self.org = org
        self.credentials = dict(credentials)
        self.app: ASGIApp = FaultMiddleware(Handlers(org, self.credentials).app(), SYSTEM, ctx, error_body)

    def env(self, base_url: str) -> dict[str, str]:
        """The environment that points deskbridge's Salesforce connector at this emulator."""
        return {
            "DESKBRIDGE_SALESFORCE_USERNAME": self.credentials["username"],
            "DESKBRIDGE_SALESFORCE_PASSWORD": self.credentials["password"],
            "DESKBRIDGE_SALESFORCE_SECURITY_TOKEN": self.credentials["security_token"],
            "DESKBRIDGE_SALESFORCE_LOGIN_URL": base_url.rstrip("/"),
        }

    # -- the seeded data, for assertions and the demo --------------------------------
    def accounts(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every Account as ``GET /sobjects/Account/{id}`` renders it, in creation order."""
        with self.org.lock:
            return [self.org.render(r) for r in self.org.ordered["Account"] if include_deleted or not r.deleted]

    def users(self) -> list[dict[str, Any]]:
        """Every User as ``GET /sobjects/User/{id}`` renders it."""
        with self.org.lock:
            return [self.org.render(r) for r in self.org.ordered["User"]]

    # -- admin edits (actor "human") ---------------------------------------------------
    def set_account(self, account_id: str, **fields: Any) -> dict[str, Any]:
        """Edit an Account as an admin would in the CRM UI, e.g. ``set_account(id, Support_Tier__c="Premier Support")``."""
        return self.org.edit(ACCOUNT, account_id, fields)

    def set_user(self, uid: str, **fields: Any) -> dict[str, Any]:
        """Edit a User, e.g. ``set_user(id, IsActive=False)`` (the API user then cannot log in)."""
        return self.org.edit(USER, uid, fields)

    def delete_account(self, account_id: str) -> None:
        """Delete an Account to the recycle bin (query and GET stop seeing it; queryAll still does)."""
        self.org.delete(account_id)

    def expire_sessions(self) -> int:
        """Invalidate every session: the next REST call answers 401 INVALID_SESSION_ID."""
        return self.org.expire_sessions()

    def api_usage(self) -> tuple[int, int]:
        """(calls counted in the current daily window, the org's daily limit)."""
        return self.org.api.used, self.org.api.limit


def build(ctx: SandboxContext, world: World, *, page_size: int = MAX_BATCH, session_seconds: int = 7200,
          api_limit: int = 15000, credentials: dict[str, str] | None = None) -> SalesforceEmulator:
    """The Salesforce emulator for ``world``.

    ``page_size`` caps query batches (Salesforce: 2000; tests use a few to page),
    ``session_seconds`` is the inactivity timeout of a session in virtual time,
    ``api_limit`` the daily API request limit reported in Sforce-Limit-Info.
    """
    org = Org(ctx, page_size=page_size, session_seconds=session_seconds, api_limit=api_limit)
    org.seed(world)
    return SalesforceEmulator(ctx, org, credentials or DEFAULT_CREDENTIALS)

