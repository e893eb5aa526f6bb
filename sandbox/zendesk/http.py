"""HTTP plumbing shared by the Zendesk routes: auth, error bodies, rate-limit headers.

Error bodies are Zendesk's own: ``{"error": "RecordNotFound", "description":
"Not found"}`` for 404 (zenpy raises RecordNotFoundException on that name),
``{"error": "Couldn't authenticate you"}`` for 401, ``APIRateLimitExceeded`` for
429. Every answer carries ``X-Rate-Limit`` / ``X-Rate-Limit-Remaining``
(account-wide, per wall-clock minute), which zenpy's proactive rate limiting reads.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.zendesk import ids

ERRORS: dict[int, dict[str, Any]] = {
    401: {"error": "Couldn't authenticate you"},
    403: {"error": "Forbidden", "description": "You do not have access to this page. Please contact the account owner of this help desk for further help."},
    404: {"error": "RecordNotFound", "description": "Not found"},
    409: {"error": "UpdateConflict", "description": "Safe Update prevented the update due to outdated ticket data. Please fetch the latest ticket data and try again."},
    429: {"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"},
    500: {"error": "InternalError", "description": "Something went wrong on our side. Please try again."},
    502: {"error": "BadGateway", "description": "Bad Gateway"},
    503: {"error": "ServiceUnavailable", "description": "Zendesk is temporarily unavailable. Please try again later."},
    504: {"error": "GatewayTimeout", "description": "Gateway Timeout"},
}


def error_body(status: int) -> tuple[bytes, str]:
    """The real Zendesk error body for a status code (used by FaultMiddleware too)."""
    body = ERRORS.get(status, {"error": "InternalError", "description": f"HTTP {status}"})
    return json.dumps(body).encode(), "application/json; charset=utf-8"


class JSON(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(status: int, **override: Any) -> JSON:
    return JSON({**ERRORS.get(status, {"error": "InternalError"}), **override}, status_code=status)


def record_invalid(field_name: str, description: str) -> JSON:
    details = {field_name: [{"description": description, "error": "InvalidValue"}]}
    return JSON({"error": "RecordInvalid", "description": "Record validation errors", "details": details}, status_code=422)


def invalid_endpoint() -> JSON:
    return JSON({"error": "InvalidEndpoint", "description": "Not found"}, status_code=404)


def too_many_values(parameter: str, maximum: int = 100) -> JSON:
    return JSON({"error": "TooManyValues",
                 "description": f"Too many values specified for parameter '{parameter}'. Maximum allowed values: {maximum}"},
                status_code=400)


def bad_request(description: str) -> JSON:
    return JSON({"error": "InvalidPaginationParameter", "description": description}, status_code=400)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    return json.loads(raw)


class ZendeskGate:
    """ASGI middleware: API-token auth on every request, and rate-limit headers on every answer."""

    def __init__(self, app: ASGIApp, email: str, token: str, limit: int = ids.RATE_LIMIT_PER_MINUTE):
        self.app, self.limit = app, limit
        self._expected = f"{email}/token:{token}".encode()
        self._lock = threading.Lock()
        self._minute, self._used = 0, 0

    def authorized(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self._expected)

    def _remaining(self) -> int:
        with self._lock:
            minute = int(time.time() // 60)
            if minute != self._minute:
                self._minute, self._used = minute, 0
            self._used += 1
            return max(0, self.limit - self._used)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        remaining = self._remaining()
        headers = [(b"x-rate-limit", str(self.limit).encode()), (b"x-rate-limit-remaining", str(remaining).encode()),
                   (b"x-zendesk-api-version", b"v2")]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + headers}
            await send(message)

        request = Request(scope)
        if not self.authorized(request.headers.get("authorization")):
            body, media_type = error_body(401)
            response = Response(body, status_code=401, media_type=media_type,
                                headers={"WWW-Authenticate": 'Basic realm="Web Password"'})
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
