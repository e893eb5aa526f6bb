"""pysnc's and requests' exceptions -> deskbridge's typed errors.

pysnc raises one exception per status class from ``API._validate_response``
(401 ``AuthenticationException``, 403 ``RoleException``, 404
``NotFoundException``, any other status >= 400 ``RequestException``), each
carrying the decoded error body but neither the status nor the headers. The
status and ``Retry-After`` therefore come from the last response this thread
saw (:class:`LastResponse`, a hook on the session). Messages name the system,
the endpoint, the instance's error message and where to fix a credential, never
a password.
"""

from __future__ import annotations

from typing import Any

import requests
from pysnc.exceptions import AuthenticationException, NotFoundException, RequestException, RoleException

from connectors.base import error_for_status
from connectors.credentials import ServiceNowCredentials
from connectors.http import LastResponse
from core.errors import FatalAPIError, PayloadError, RetriableAPIError

SYSTEM = "servicenow"
_CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def credential_hint(creds: ServiceNowCredentials) -> str:
    """Where an admin fixes a refused login: the variables or block fields, never their values."""
    return ", ".join(creds.where(f) for f in ("instance", "username", "password"))


def error_message(body: Any) -> str:
    """``error.message: error.detail`` of an instance error body (dict, JSON text or anything), short."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        parts = [str(error[k]) for k in ("message", "detail") if error.get(k)]
        if parts:
            return ": ".join(parts)[:300]
    return str(body)[:200] if body else "no error message"


def translate(exc: BaseException, endpoint: str, creds: ServiceNowCredentials, last: LastResponse) -> BaseException:
    """The deskbridge error for ``exc`` (returned, not raised); unknown exceptions come back unchanged."""
    hint = credential_hint(creds)
    body = exc.args[0] if exc.args else None
    if isinstance(exc, AuthenticationException):
        return error_for_status(SYSTEM, endpoint, 401, error_message(body), credential_hint=hint)
    if isinstance(exc, RoleException):
        return error_for_status(SYSTEM, endpoint, 403, error_message(body),
                                credential_hint=f"the roles of {creds.where('username')}")
    if isinstance(exc, NotFoundException):
        return FatalAPIError(SYSTEM, endpoint, f"not found: {error_message(body)}", 404)
    if isinstance(exc, RequestException):
        status = last.status
        if status is None or status < 400:
            return FatalAPIError(SYSTEM, endpoint, f"request failed: {error_message(body)}", status)
        return error_for_status(SYSTEM, endpoint, status, error_message(body), retry_after=last.retry_after,
                                credential_hint=hint)
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return PayloadError(SYSTEM, None, "body", f"{endpoint} answered a body that is not valid JSON",
                            kind="response")
    if isinstance(exc, _CONNECTION_ERRORS):
        return RetriableAPIError(SYSTEM, endpoint, f"connection failed ({type(exc).__name__})")
    return exc


def status_error(status: int, endpoint: str, body: Any, creds: ServiceNowCredentials,
                 retry_after: str | None) -> Exception:
    """The typed error for a non-2xx answer deskbridge read itself (the Batch API POST)."""
    return error_for_status(SYSTEM, endpoint, status, error_message(body), retry_after=retry_after,
                            credential_hint=credential_hint(creds))
