"""The jira client's exceptions -> deskbridge's typed errors.

The client raises ``JIRAError`` for every non-2xx answer (``status_code``, the
parsed ``errorMessages``/``errors`` as ``text``, and the ``response`` whose
headers carry ``Retry-After``), lets ``requests`` connection errors through,
and raises ``ValueError`` (``requests.JSONDecodeError``) when a 2xx body is not
JSON. Messages built here name the system, the endpoint and where to fix a
credential; they never carry the token (a last scrub removes it should a
server ever echo it) nor ``str(JIRAError)``, which dumps response headers and
bodies.
"""

from __future__ import annotations

import requests
from jira.exceptions import JIRAError

from connectors.base import error_for_status
from connectors.credentials import JiraCredentials
from core.errors import APIError, PayloadError, RetriableAPIError

SYSTEM = "jira"
_MAX_MESSAGE = 300


class WriteOutcomeUnknown(APIError):
    """A write's request may or may not have landed (a reset or 5xx after sending); never re-sent blindly.

    Comment POSTs are not idempotent, so the connector reports the plan as failed
    and the next attempt looks for the plan's marker before writing again.
    """


def credential_hint(creds: JiraCredentials) -> str:
    """Where an admin fixes a refused login: the variables or block fields, never their values."""
    return f"{creds.where('email')} and {creds.where('token')}"


def scrub(text: str, creds: JiraCredentials) -> str:
    """``text`` without the token, shortened for a log line or an exception message."""
    secret = creds.token.get_secret_value()
    if secret:
        text = text.replace(secret, "***")
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def translate(exc: BaseException, endpoint: str, creds: JiraCredentials) -> BaseException:
    """The deskbridge error for ``exc`` (returned, not raised); unknown exceptions come back unchanged."""
    if isinstance(exc, JIRAError):
        return _http_error(exc, endpoint, creds)
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return RetriableAPIError(SYSTEM, endpoint, f"connection failed ({type(exc).__name__})")
    if isinstance(exc, ValueError):  # requests.JSONDecodeError: a 2xx answer whose body is not JSON
        return PayloadError(SYSTEM, None, "body", f"{endpoint} answered a body that is not valid JSON", kind="response")
    return exc


def _http_error(exc: JIRAError, endpoint: str, creds: JiraCredentials) -> APIError:
    status = exc.status_code
    message = scrub(str(exc.text or "request failed"), creds)
    if status is None:  # "Empty Response!": no answer at all
        return RetriableAPIError(SYSTEM, endpoint, message)
    response = exc.response
    retry_after = response.headers.get("Retry-After") if response is not None else None
    return error_for_status(SYSTEM, endpoint, int(status), message, retry_after=retry_after,
                            credential_hint=credential_hint(creds))
