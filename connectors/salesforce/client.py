"""The simple-salesforce client deskbridge reads Accounts with: construction, login, typed and retried calls.

Login is the SOAP ``login()`` with username + password + security token
(``SalesforceLogin(..., scratch_url=login_url, domain=domain, session=...)``),
then a session-id client ``Salesforce(session_id=, instance=, session=)``; or
a session id given by the caller. Every HTTP call, the login included, goes
through one ``requests`` session on which the :class:`CallCounter` is installed.

Retry layering (see :mod:`connectors.retry`): simple-salesforce has no retry
logic of its own for 429/5xx; its only loop is the automatic re-login on 401
in *password* mode (up to 3 logins per call). We never use password mode — the
client is built from a session id — so that loop is off, and this module does
the one re-login itself (:meth:`SalesforceClient._call`). The session's
adapters are :class:`connectors.http.NoRetryAdapter` (urllib3 ``Retry(total=0)``:
no transport retries either), with a default timeout because
simple-salesforce sends none. Every call runs under ``call_with_retry``, and
Prefect task retries stay 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from pydantic import SecretStr
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.api import DEFAULT_API_VERSION

from connectors.calls import CallCounter
from connectors.credentials import SalesforceCredentials
from connectors.http import prepare_session
from connectors.retry import RetryPolicy, call_with_retry
from connectors.salesforce.translate import SYSTEM, SessionExpired, login_hint, translate
from core.errors import FatalAPIError, PayloadError

log = logging.getLogger("deskbridge.salesforce")
T = TypeVar("T")


class SalesforceClient:
    """A logged-in simple-salesforce client whose every call is typed, counted and retried.

    Logs in lazily (on the first call), so constructing it never touches the network.
    """

    def __init__(
        self,
        credentials: SalesforceCredentials,
        *,
        policy: RetryPolicy,
        calls: CallCounter,
        session_id: SecretStr | str | None = None,
        instance: str | None = None,
        version: str = DEFAULT_API_VERSION,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.credentials = credentials
        self.policy = policy
        self.calls = calls
        self.version = version
        self._sleep = sleep
        self._session = requests.Session()
        # simple-salesforce's exceptions keep the status and body but not the headers:
        # the Retry-After of a 429/503 is read from the last response instead.
        self._last = prepare_session(self._session, calls, timeout)
        self._sf: Salesforce | None = None
        if session_id is not None:
            if not instance:
                raise ValueError("a given Salesforce session id needs its instance (host[:port])")
            secret = session_id if isinstance(session_id, SecretStr) else SecretStr(session_id)
            self._sf = self._client(secret.get_secret_value(), instance)

    @property
    def session(self) -> requests.Session:
        """The counted ``requests`` session every call (the login included) goes through."""
        return self._session

    @property
    def login_endpoint(self) -> str:
        return f"POST /services/Soap/u/{self.version}"

    @property
    def query_endpoint(self) -> str:
        return f"GET /services/data/v{self.version}/query/"

    # -- login -------------------------------------------------------------------------------

    def login(self) -> None:
        """SOAP login with username + password + security token; a refused login is FatalAPIError."""
        creds = self.credentials

        def soap_login() -> tuple[str, str]:
            return SalesforceLogin(
                username=creds.username,
                password=creds.password.get_secret_value(),
                security_token=creds.security_token.get_secret_value(),
                scratch_url=(creds.login_url or "").rstrip("/") or None,
                domain=creds.domain,
                sf_version=self.version,
                session=self._session,
            )

        session_id, instance = self._retried(self.login_endpoint, soap_login)
        self._sf = self._client(session_id, instance)
        log.info("salesforce: logged in as %s (instance %s)", creds.username, instance)

    def _client(self, session_id: str, instance: str) -> Salesforce:
        return Salesforce(session_id=session_id, instance=instance, session=self._session, version=self.version)

    # -- queries -----------------------------------------------------------------------------

    def query_records(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a SOQL query: ``query`` then ``query_more`` while Salesforce says not done."""
        page = self._call(self.query_endpoint, lambda sf: sf.query(soql))
        records = list(page.get("records", []))
        while not page.get("done", True):
            next_url = page.get("nextRecordsUrl")
            if not next_url:
                raise PayloadError(SYSTEM, None, "nextRecordsUrl", "a page with done=false has no next URL",
                                   kind="response")
            page = self._call(f"GET /services/data/v{self.version}/query/{{locator}}",
                              lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True))
            records.extend(page.get("records", []))
        return records

    def api_usage(self) -> tuple[int, int] | None:
        """``(used, limit)`` of the org's daily API requests, from the last ``Sforce-Limit-Info`` seen."""
        usage = self._sf.api_usage.get("api-usage") if self._sf is not None else None
        return (usage.used, usage.total) if usage is not None else None

    def close(self) -> None:
        self._session.close()

    # -- the one place calls are made ----------------------------------------------------------

    def _call(self, endpoint: str, op: Callable[[Salesforce], T]) -> T:
        """Run ``op`` under the retry policy.

        An expired session means one new login and one more run; an unreadable
        body (PayloadError) is asked for once more, then raised for the caller
        to fail its batch cleanly.
        """
        if self._sf is None:
            self.login()
        logged_in_again = False
        while True:
            try:
                return self._retried(endpoint, lambda: op(self._sf))
            except SessionExpired as exc:
                if logged_in_again:
                    raise FatalAPIError(
                        SYSTEM, endpoint, f"a fresh session was refused at once; check {login_hint(self.credentials)}",
                        401,
                    ) from exc
                logged_in_again = True
                log.info("salesforce: session expired or revoked; logging in again")
                self.login()

    def _retried(self, endpoint: str, fn: Callable[[], T]) -> T:
        def attempt() -> T:
            try:
                return fn()
            except Exception as exc:  # translated below; anything unknown is re-raised as is
                typed = translate(exc, endpoint, self.credentials, self._last.retry_after)
                if typed is exc:
                    raise
                raise typed from exc

        return call_with_retry(attempt, system=SYSTEM, endpoint=endpoint, policy=self.policy, sleep=self._sleep,
                               payload_retries=1)

    def __repr__(self) -> str:
        state = "logged in" if self._sf is not None else "not logged in"
        return f"SalesforceClient(user={self.credentials.username!r}, {state})"
