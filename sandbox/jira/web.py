"""HTTP plumbing shared by the Jira routes: auth, Jira-shaped errors, parameters, the conflict fault.

Jira Cloud answers a bad API token with a plain-text 401 ("Client must be
authenticated to access this resource.") and an ``X-Seraph-LoginReason``
header; every other error is an ErrorCollection,
``{"errorMessages": [...], "errors": {...}}``, which the jira client turns
into ``JIRAError``.
"""

from __future__ import annotations

import base64
import functools
import hmac
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.context import request_fault
from sandbox.jira.edits import FieldErrors
from sandbox.jira.jql import JqlError

UNAUTHORIZED_TEXT = b"Client must be authenticated to access this resource."
ISSUE_MISSING = "Issue does not exist or you do not have permission to see it."
_STATUS_TEXT = {403: "You do not have permission to perform this operation.", 429: "Rate limit exceeded.", 500: "Internal server error", 502: "Bad Gateway",
                503: "Service Unavailable", 504: "Gateway Timeout"}


class JiraHttpError(Exception):
    """Answer the request with ``status`` and an ErrorCollection."""

    def __init__(self, status: int, messages: list[str] | None = None, errors: dict | None = None):
        super().__init__(status)
        self.status, self.messages, self.errors = status, messages or [], errors or {}


def error_collection(status: int, messages: list[str], errors: dict | None = None) -> JSONResponse:
    return JSONResponse({"errorMessages": messages, "errors": errors or {}}, status_code=status)


def error_body(status: int) -> tuple[bytes, str]:
    """Jira's own error body for the statuses FaultMiddleware injects (401 is plain text, the rest JSON)."""
    if status == 401:
        return UNAUTHORIZED_TEXT, "text/plain;charset=UTF-8"
    message = _STATUS_TEXT.get(status, "Unexpected error")
    return json.dumps({"errorMessages": [message], "errors": {}}).encode(), "application/json;charset=UTF-8"


def unauthorized() -> Response:
    return Response(UNAUTHORIZED_TEXT, status_code=401, media_type="text/plain;charset=UTF-8",
                    headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})


def authenticated(request: Request, email: str, token: str) -> bool:
    """Basic email:api_token, compared in constant time."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given_email, _, given_token = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given_email.lower(), email.lower()) & hmac.compare_digest(given_token, token)


def endpoint(handler):
    """Wrap a handler ``(emu, request) -> Response`` with auth, the conflict fault and error mapping."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        emu = request.app.state.emulator
        if not authenticated(request, emu.credentials["email"], emu.credentials["token"]):
            return unauthorized()
        fault = request_fault(request)
        ref = request.path_params.get("ref")
        if fault is not None and fault.kind == "conflict" and ref is not None:
            issue = emu.store.find(ref)
            if issue is not None:
                emu.store.human_edit(issue)
        try:
            return await handler(emu, request)
        except JiraHttpError as exc:
            return error_collection(exc.status, exc.messages, exc.errors)
        except FieldErrors as exc:
            return JSONResponse(exc.body(), status_code=400)
        except JqlError as exc:
            return error_collection(400, [str(exc)])

    return wrapped


async def json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise JiraHttpError(400, [f"Unexpected character in the request body: {exc.msg} (position {exc.pos})"])
    if not isinstance(body, dict):
        raise JiraHttpError(400, ["Can not deserialize the request body: expected a JSON object."])
    return body


def int_param(value, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise JiraHttpError(400, [f"The value '{value}' is invalid for the parameter '{name}'."]) from None


def list_param(request: Request, name: str) -> list[str] | None:
    """A repeated and/or comma-joined query parameter, None when absent."""
    values = request.query_params.getlist(name)
    return values or None


def expand_set(value) -> set[str]:
    if value is None:
        return set()
    items = value if isinstance(value, list) else [value]
    return {part.strip() for item in items for part in str(item).split(",") if part.strip()}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")
