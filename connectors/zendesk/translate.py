"""zenpy's exceptions -> deskbridge's typed errors.

zenpy raises ``APIException`` (and its subclasses ``RecordNotFoundException``,
``TooManyValuesException``) for any non-2xx answer with a JSON body, carrying
the response; ``requests.HTTPError`` when the error body is not JSON;
``RatelimitBudgetExceeded`` when its 429 loop runs out of budget (it carries no
response, so the ``Retry-After`` comes from the session's response hook); and
``ZenpyException`` when a 2xx body is not one it can deserialize. Messages
built here name the system, the endpoint, Zendesk's error code and where to fix
a credential — never the token, and never the Authorization header.
"""

from __future__ import annotations


import requests
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, ZenpyException

from connectors.base import error_for_status
from connectors.credentials import ZendeskCredentials
from connectors.http import LastResponse
from core.errors import PayloadError, RetriableAPIError

SYSTEM = "zendesk"


def credential_hint(creds: ZendeskCredentials) -> str:
    """Where an admin fixes a refused token (the variables or block fields, never their values)."""
    if creds.source == "environment":
        where = f"{creds.where('email')} and {creds.where('token')}"
    else:
        where = f"{creds.source} (fields email and token)"
    return f"{where} (subdomain {creds.subdomain!r})"


def error_text(response: requests.Response | None) -> str:
    """``"UpdateConflict: Safe Update prevented..."`` from a Zendesk error body, best effort."""
    if response is None:
        return "no response"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} with a non-JSON body"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    code, description = body.get("error"), body.get("description")
    if isinstance(code, dict):  # some endpoints nest {"error": {"title", "message"}}
        code, description = code.get("title"), code.get("message")
    text = ": ".join(str(part) for part in (code, description) if part)
    details = body.get("details")
    if details:
        text += f" ({_short(details)})"
    return text or f"HTTP {response.status_code}"


def translate(exc: BaseException, endpoint: str, creds: ZendeskCredentials, last: LastResponse) -> BaseException:
    """The deskbridge error for ``exc`` (returned, not raised); unknown exceptions come back unchanged."""
    if isinstance(exc, RatelimitBudgetExceeded):
        # ratelimit_budget=0: zenpy gave up on the first 429 without sleeping; we decide how long to wait.
        return error_for_status(SYSTEM, endpoint, 429, "rate limited (APIRateLimitExceeded)",
                                retry_after=last.retry_after)
    if isinstance(exc, APIException) and getattr(exc, "response", None) is not None:
        return _from_response(exc.response, endpoint, creds)
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        return PayloadError(SYSTEM, None, "body", f"{endpoint} answered a body that is not valid JSON", kind="response")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _from_response(exc.response, endpoint, creds)
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return RetriableAPIError(SYSTEM, endpoint, f"connection failed ({type(exc).__name__})")
    if isinstance(exc, ValueError) and last.status == 429:
        # zenpy int()s Retry-After; an HTTP-date value raises ValueError inside its 429 loop.
        return RetriableAPIError(SYSTEM, endpoint, "rate limited (Retry-After not an integer)", 429)
    if isinstance(exc, ZenpyException):
        return PayloadError(SYSTEM, None, "body", f"{endpoint} answered a body zenpy cannot read", kind="response")
    return exc


def _from_response(response: requests.Response, endpoint: str, creds: ZendeskCredentials):
    return error_for_status(
        SYSTEM, endpoint, response.status_code, error_text(response),
        retry_after=response.headers.get("Retry-After"), credential_hint=credential_hint(creds),
    )  # fmt: skip


def _short(details: object, limit: int = 200) -> str:
    text = str(details)
    return text if len(text) <= limit else text[: limit - 1] + "…"
