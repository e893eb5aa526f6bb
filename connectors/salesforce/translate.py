"""simple-salesforce's exceptions -> deskbridge's typed errors.

simple-salesforce raises one exception class per HTTP status (300/400/401/403/
404, everything else ``SalesforceGeneralError``) carrying the decoded error
list ``[{"errorCode", "message"}]``, and ``SalesforceAuthenticationFailed`` for
a failed SOAP login (``code`` is the fault's ``sf:exceptionCode``, or the HTTP
status when the body was not a SOAP fault). Messages built here name the
system, the endpoint, the error code and where to fix a credential — never a
password, token or session id, and never the request URL (it carries the SOQL).
"""

from __future__ import annotations

from typing import Any
from xml.parsers.expat import ExpatError

import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.base import error_for_status
from connectors.credentials import SalesforceCredentials
from core.errors import APIError, FatalAPIError, PayloadError, RetriableAPIError

SYSTEM = "salesforce"

# Login faults Salesforce answers with HTTP 500 that are its own trouble, not the credentials'.
_RETRIABLE_LOGIN_CODES = {"SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"}


class SessionExpired(FatalAPIError):
    """401 INVALID_SESSION_ID: the session timed out or was revoked; the client logs in once more."""


def error_code(content: Any) -> tuple[str, str]:
    """``(errorCode, message)`` of a Salesforce error body (a JSON list of errors), best effort."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        return str(first.get("errorCode") or ""), str(first.get("message") or "")
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content or "")
    return "", text[:200]


def login_hint(creds: SalesforceCredentials) -> str:
    """Where an admin fixes a failed login (the variables or block fields, never their values)."""
    return ", ".join(creds.where(f) for f in ("username", "password", "security_token"))


def translate(
    exc: BaseException, endpoint: str, creds: SalesforceCredentials, retry_after: str | None = None
) -> BaseException:
    """The deskbridge error for ``exc`` (returned, not raised); unknown exceptions come back unchanged."""
    if isinstance(exc, SalesforceAuthenticationFailed):
        return _login_failed(exc, endpoint, creds, retry_after)
    if isinstance(exc, SalesforceError):
        return _rest_failed(exc, endpoint, creds, retry_after)
    if isinstance(exc, (requests.exceptions.JSONDecodeError, ExpatError)):
        return PayloadError(SYSTEM, None, "body", f"{endpoint} answered a body that is not valid JSON/XML", kind="response")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return RetriableAPIError(SYSTEM, endpoint, f"connection failed ({type(exc).__name__})")
    return exc


def _login_failed(
    exc: SalesforceAuthenticationFailed, endpoint: str, creds: SalesforceCredentials, retry_after: str | None
) -> APIError:
    code = exc.code
    if isinstance(code, int):  # not a SOAP fault: the HTTP status decides (a proxy, a 429, a 503...)
        return error_for_status(SYSTEM, endpoint, code, "login failed", retry_after=retry_after,
                                credential_hint=login_hint(creds))
    if code in _RETRIABLE_LOGIN_CODES:
        return RetriableAPIError(SYSTEM, endpoint, f"login failed with {code}", 500)
    message = str(getattr(exc, "auth_message", "") or "")[:200]
    return FatalAPIError(
        SYSTEM, endpoint, f"login refused ({code}: {message}); check {login_hint(creds)}", 500
    )


def _rest_failed(exc: SalesforceError, endpoint: str, creds: SalesforceCredentials, retry_after: str | None) -> APIError:
    code, message = error_code(exc.content)
    detail = f"{code}: {message}" if code else message
    if isinstance(exc, SalesforceExpiredSession):
        return SessionExpired(SYSTEM, endpoint, f"session expired or invalid ({detail})", 401)
    if isinstance(exc, SalesforceRefusedRequest) and code == "REQUEST_LIMIT_EXCEEDED":
        return FatalAPIError(
            SYSTEM, endpoint,
            f"the org's API request limit is used up ({detail}); retrying cannot help before Salesforce's "
            "24-hour window frees calls: raise the limit or lower the sync cadence",
            403,
        )
    if isinstance(exc, SalesforceRefusedRequest):
        return FatalAPIError(
            SYSTEM, endpoint,
            f"permission denied ({detail}); the integration user ({creds.where('username')}) needs read access "
            "to Account and the mapped fields",
            403,
        )
    if isinstance(exc, SalesforceMalformedRequest):
        hint = "; check the field names in mapping/salesforce.yaml" if code == "INVALID_FIELD" else ""
        return FatalAPIError(SYSTEM, endpoint, f"query rejected ({detail}){hint}", 400)
    if isinstance(exc, SalesforceResourceNotFound):
        return FatalAPIError(SYSTEM, endpoint, f"not found ({detail})", 404)
    return error_for_status(SYSTEM, endpoint, int(exc.status), detail or "request failed", retry_after=retry_after)
