"""The HTTP edge: Basic auth, the ``conflict`` fault, and the instance's error bodies.

Everything else is :class:`~sandbox.servicenow.api.ServiceNowApi`; this module
only turns Starlette requests into :class:`ApiRequest` values and back. The
generic faults (429, 5xx, resets, ...) are answered before this app runs, by
:class:`sandbox.context.FaultMiddleware`, with :func:`error_body` shapes.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.context import SandboxContext, request_fault
from sandbox.servicenow.api import JSON, ApiRequest, ServiceNowApi, failure
from sandbox.servicenow.human import conflict_edit
from sandbox.servicenow.store import ServiceNowStore

_ERRORS = {
    401: ("User Not Authenticated", "Required to provide Auth information"),
    403: ("User Not Authorized", "Not authorized to read or write this record"),
    # shared/reference/payloads/servicenow/error_429_rate_limit_doc_example.json
    429: ("Rate limit exceeded", "Rate limit of 100 requests per hour for Table API exceeded"),
    500: ("Internal server error", "An unexpected error occurred while processing the request"),
    502: ("Bad Gateway", "The instance did not answer in time"),
    503: ("Service Unavailable", "The instance is temporarily unavailable; retry later"),
}
HTTP_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}
_log = logging.getLogger(__name__)


def error_body(status: int) -> tuple[bytes, str]:
    """The instance's JSON error envelope for ``status`` (used by the fault middleware too)."""
    message, detail = _ERRORS.get(status, (HTTP_REASONS.get(status, "Error"), None))
    body = {"error": {"message": message, "detail": detail}, "status": "failure"}
    return json.dumps(body).encode(), JSON


def _authenticated(request: Request, username: str, password: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, given = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return secrets.compare_digest(user.encode(), username.encode()) and secrets.compare_digest(
        given.encode(), password.encode())


def make_app(store: ServiceNowStore, ctx: SandboxContext, username: str, password: str) -> Starlette:
    """The Starlette app serving the Table and Batch APIs for the one API user."""
    api = ServiceNowApi(store, ctx, store.users_by_name[username])

    async def endpoint(request: Request) -> Response:
        if not _authenticated(request, username, password):
            body, media_type = error_body(401)
            return Response(body, 401, {"WWW-Authenticate": 'BASIC realm="Service-now"'}, media_type=media_type)
        api_request = ApiRequest(request.method, request.url.path, dict(request.query_params), await request.body(),
                                 str(request.base_url).rstrip("/"))
        fault = request_fault(request)
        if fault is not None and fault.kind == "conflict":
            for sys_id in api.targets(api_request):
                conflict_edit(store, ctx, store.incidents[sys_id])
        try:
            answer = api.handle(api_request)
        except Exception as exc:  # noqa: BLE001 - an emulator bug must look like the instance's 500, not hang
            _log.exception("servicenow emulator failed on %s %s", request.method, request.url.path)
            answer = failure(500, "Internal server error", type(exc).__name__)
        return Response(answer.body, answer.status, answer.headers)

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])
