"""HTTP handlers: SOAP login plus the REST query, query-more, sObject and limits resources.

Every REST call is checked for a live session (``Authorization: Bearer``),
counted against the org's daily API limit and answered with
``Sforce-Limit-Info: api-usage=N/LIMIT``. Errors are JSON *lists* of
``{"message", "errorCode"}`` as Salesforce sends them; simple-salesforce maps
their status codes to its exceptions (clients.md section 4.3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.context import request_fault

from . import soap
from .records import render_full
from .schema import ACCOUNT, find_object
from .soql import SoqlError
from .store import Org

JSON_TYPE = "application/json;charset=UTF-8"
_VERSION = re.compile(r"(\d{2})\.0")
_LOCATOR = re.compile(r"([A-Za-z0-9]{15,18})-(\d+)")
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_NOT_FOUND = "The requested resource does not exist"

ERROR_BODIES = {
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", _NOT_FOUND),
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests. Please try again later."),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: "
                               "1427003862-115 (-1180186374)"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."),
}


def error_body(status: int) -> tuple[bytes, str]:
    """Salesforce's error shape for a status the fault middleware injects: a one-element JSON list."""
    code, message = ERROR_BODIES.get(status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred."))
    return json.dumps([{"message": message, "errorCode": code}]).encode(), JSON_TYPE


class Handlers:
    """The emulator's endpoints bound to one org and its valid credentials."""

    def __init__(self, org: Org, credentials: dict[str, str], min_version: int = 31, max_version: int = 66):
        self.org, self.credentials = org, credentials
        self.versions = range(min_version, max_version + 1)

    def app(self) -> Starlette:
        data = "/services/data/v{version}"
        return Starlette(routes=[
            Route("/services/Soap/u/{version}", self.login, methods=["POST"]),
            Route("/services/data/", self.versions_list, methods=["GET"]),
            Route("/services/data", self.versions_list, methods=["GET"]),
            Route(data + "/query/", self.query, methods=["GET"]),
            Route(data + "/query", self.query, methods=["GET"]),
            Route(data + "/queryAll/", self.query, methods=["GET"]),
            Route(data + "/queryAll", self.query, methods=["GET"]),
            Route(data + "/query/{locator}", self.query_more, methods=["GET"]),
            Route(data + "/queryAll/{locator}", self.query_more, methods=["GET"]),
            Route(data + "/sobjects/{sobject}/{record_id}", self.sobject,
                  methods=["GET", "PATCH", "DELETE", "PUT", "POST"]),
            Route(data + "/limits/", self.limits, methods=["GET"]),
            Route(data + "/limits", self.limits, methods=["GET"]),
            Route("/services/data/{rest:path}", self.not_found, methods=["GET", "POST", "PATCH", "DELETE", "PUT"]),
        ])

    # -- SOAP login --------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        try:
            login = soap.parse_login(await request.body())
        except soap.SoapRequestError as exc:
            return Response(soap.client_fault(str(exc)), 500, media_type="text/xml")
        granted = self.org.login(login.username, login.password, self.credentials)
        if granted is None:
            return Response(soap.login_fault(), 500, media_type="text/xml")
        session_id, user = granted
        body = soap.login_response(soap.LoginResult(
            base_url=str(request.base_url).rstrip("/"), version=request.path_params["version"],
            org_id=self.org.org_id, session_id=session_id, session_seconds=self.org.session_seconds,
            user_id=user.id, user_name=user.get("Name"), user_email=user.get("Email"),
            username=user.get("Username"),
        ))
        return Response(body, 200, media_type="text/xml")

    # -- REST plumbing -------------------------------------------------------------
    def _respond(self, request: Request, payload: Any, status: int = 200) -> Response:
        indent = 2 if request.headers.get("x-prettyprint") == "1" else None
        headers = {"Sforce-Limit-Info": f"api-usage={self.org.api.used}/{self.org.api.limit}"}
        return Response(json.dumps(payload, indent=indent), status, headers=headers, media_type=JSON_TYPE)

    def _error(self, request: Request, status: int, code: str, message: str) -> Response:
        return self._respond(request, [{"message": message, "errorCode": code}], status)

    def _guard(self, request: Request, version: str | None = None) -> tuple[str | None, Response | None]:
        """(user id, None) for a live, counted call, or (None, the error response)."""
        version = request.path_params.get("version", "") if version is None else version
        match = _VERSION.fullmatch(version)
        if match is None or int(match.group(1)) not in self.versions:
            return None, self._error(request, 404, "NOT_FOUND", _NOT_FOUND)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user = self.org.authenticate(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        if user is None:
            return None, self._error(request, 401, *ERROR_BODIES[401])
        if not self.org.count_api_call():
            return None, self._error(request, 403, *ERROR_BODIES[403])
        return user, None

    @staticmethod
    def _batch(request: Request) -> int | None:
        match = _BATCH.search(request.headers.get("sforce-query-options", ""))
        return int(match.group(1)) if match else None

    def _conflict(self, request: Request, targets: Callable[[], list[str]]) -> None:
        """A scripted ``conflict`` fault: an admin edits the targeted Accounts just before this read."""
        if request_fault(request) is None:
            return
        stamp = self.org.ctx.clock.now().isoformat()
        for account_id in targets():
            self.org.edit(ACCOUNT, account_id, {"Description": f"human_edit {stamp}"})

    # -- resources ---------------------------------------------------------------
    async def versions_list(self, request: Request) -> Response:
        base = [{"label": f"API {v}.0", "url": f"/services/data/v{v}.0", "version": f"{v}.0"} for v in self.versions]
        return Response(json.dumps(base), 200, media_type=JSON_TYPE)

    async def query(self, request: Request) -> Response:
        user, refused = self._guard(request)
        if refused is not None:
            return refused
        text = request.query_params.get("q")
        if not text:
            return self._error(request, 400, "MALFORMED_QUERY", "A query string has to be specified")
        self._conflict(request, lambda: self.org.targeted_accounts(text))
        include_deleted = request.url.path.rstrip("/").endswith("/queryAll")
        try:
            page = self.org.run_query(text, request.path_params["version"], include_deleted=include_deleted,
                                      user=user, batch=self._batch(request))
        except SoqlError as exc:
            return self._error(request, 400, exc.code, exc.message)
        return self._respond(request, page)

    async def query_more(self, request: Request) -> Response:
        user, refused = self._guard(request)
        if refused is not None:
            return refused
        match = _LOCATOR.fullmatch(request.path_params["locator"])
        if match is None:
            return self._error(request, 400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        try:
            page = self.org.more(match.group(1), int(match.group(2)), request.path_params["version"],
                                 user=user, batch=self._batch(request))
        except SoqlError as exc:
            return self._error(request, 400, exc.code, exc.message)
        return self._respond(request, page)

    async def sobject(self, request: Request) -> Response:
        user, refused = self._guard(request)
        if refused is not None:
            return refused
        obj = find_object(request.path_params["sobject"])
        if obj is None:
            return self._error(request, 404, "NOT_FOUND", _NOT_FOUND)
        if request.method != "GET":
            # The integration user's profile reads the CRM; deskbridge never writes to it.
            return self._error(request, 400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
        record_id = request.path_params["record_id"]
        if obj is ACCOUNT:
            self._conflict(request, lambda: self._live_account(record_id))
        row = self.org.find(record_id, obj.name)
        if row is None:
            return self._error(request, 404, "NOT_FOUND", _NOT_FOUND)
        if row.deleted:
            return self._error(request, 404, "ENTITY_IS_DELETED", "entity is deleted")
        fields = self._field_list(request, obj)
        if isinstance(fields, Response):
            return fields
        return self._respond(request, render_full(row, request.path_params["version"], fields))

    def _live_account(self, record_id: str) -> list[str]:
        row = self.org.find(record_id, "Account")
        return [row.id] if row is not None and not row.deleted else []

    def _field_list(self, request: Request, obj) -> list[str] | None | Response:
        """The ``?fields=a,b`` parameter as canonical names (None: all fields)."""
        raw = request.query_params.get("fields")
        if not raw:
            return None
        names = []
        for name in (n.strip() for n in raw.split(",") if n.strip()):
            found = obj.find_field(name)
            if found is None:
                return self._error(request, 400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
            names.append(found.name)
        return names

    async def limits(self, request: Request) -> Response:
        _, refused = self._guard(request)
        if refused is not None:
            return refused
        api = self.org.api
        return self._respond(request, {"DailyApiRequests": {"Max": api.limit, "Remaining": api.limit - api.used}})

    async def not_found(self, request: Request) -> Response:
        match = re.match(r"v(\d{2}\.0)(/|$)", request.path_params["rest"])
        if match:
            _, refused = self._guard(request, match.group(1))
            if refused is not None:
                return refused
        return self._error(request, 404, "NOT_FOUND", _NOT_FOUND)
