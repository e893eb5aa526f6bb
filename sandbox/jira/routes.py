"""The Jira Cloud REST endpoints the jira client (3.10.5) and deskbridge use, as Starlette routes.

Issue routes accept the id and the key and live under both ``/rest/api/2``
and ``/rest/api/latest`` (``assign_issue`` uses the latter). Handlers parse
and answer; the store changes state; the renderer shapes JSON.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.jira import catalog, search
from sandbox.jira.edits import FieldErrors, parse_edit
from sandbox.jira.render import Renderer, jira_time, select_fields
from sandbox.jira.web import (ISSUE_MISSING, JiraHttpError, base_url, endpoint, expand_set, int_param, json_body,
                              list_param)

SEARCH_CAP = 100
SEARCH_GONE = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
               "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")


def _renderer(emu, request: Request) -> Renderer:
    return Renderer(base_url(request), emu.store.users, emu.ctx.clock.now())


def _issue(emu, request: Request):
    issue = emu.store.find(request.path_params["ref"])
    if issue is None:
        raise JiraHttpError(404, [ISSUE_MISSING])
    return issue


@endpoint
async def server_info(emu, request: Request) -> Response:
    base = base_url(request)
    return JSONResponse({
        "baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud", "buildNumber": 100289, "buildDate": "2026-02-20T00:00:00.000+0000",
        "serverTime": jira_time(emu.ctx.clock.now()), "scmInfo": "deskbridge-sandbox", "serverTitle": "Jira",
        "defaultLocale": {"locale": "en_US"}, "serverTimeZone": "Etc/UTC",
    })


@endpoint
async def fields(emu, request: Request) -> Response:
    return JSONResponse(catalog.field_list())


@endpoint
async def myself(emu, request: Request) -> Response:
    me = _renderer(emu, request).user(emu.store.integration)
    return JSONResponse(me | {"locale": "en_US", "groups": {"size": 1, "items": []}})


@endpoint
async def session(emu, request: Request) -> Response:
    user = emu.store.users[emu.store.integration]
    return JSONResponse({"self": f"{base_url(request)}/rest/api/latest/user?accountId={user.account_id}",
                         "name": user.email, "loginInfo": {"failedLoginCount": 0, "loginCount": 1}})


@endpoint
async def search_removed(emu, request: Request) -> Response:
    raise JiraHttpError(410, [SEARCH_GONE])


@endpoint
async def search_jql(emu, request: Request) -> Response:
    if request.method == "POST":
        body = await json_body(request)
        jql_text, token = body.get("jql") or "", body.get("nextPageToken")
        size, wanted, expand = body.get("maxResults"), body.get("fields"), body.get("expand")
    else:
        q = request.query_params
        jql_text, token, size = q.get("jql", ""), q.get("nextPageToken"), q.get("maxResults")
        wanted, expand = list_param(request, "fields"), list_param(request, "expand")
    size = max(1, min(SEARCH_CAP, int_param(size, "maxResults", 50)))
    keys, rows = emu.store.search(jql_text)
    after = None
    if token:
        try:
            after = search.decode_token(jql_text, token)
        except ValueError:
            raise JiraHttpError(400, ["The provided next page token is invalid or expired."]) from None
    chunk, last_key = search.page(keys, rows, after, size)
    chosen = select_fields(wanted, default=None) if wanted else None
    rd = _renderer(emu, request)
    changelog = "changelog" in expand_set(expand)
    with emu.store.lock:
        body = {"issues": [rd.issue(r, chosen, changelog) for r in chunk]}
    if last_key is not None:
        body["nextPageToken"] = search.encode_token(jql_text, last_key)
    body["isLast"] = last_key is None
    return JSONResponse(body)


@endpoint
async def issue_get(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    chosen = select_fields(list_param(request, "fields"))
    changelog = "changelog" in expand_set(list_param(request, "expand"))
    with emu.store.lock:
        return JSONResponse(_renderer(emu, request).issue(issue, chosen, changelog))


@endpoint
async def issue_put(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    body = await json_body(request)
    with emu.store.lock:
        changes, comments = parse_edit(body, issue.labels, emu.store.users)
        emu.store.apply(issue, changes, emu.store.integration, "api", comments)
    return Response(status_code=204)


@endpoint
async def assignee_put(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    body = await json_body(request)
    if "accountId" not in body:
        raise JiraHttpError(400, [], {"accountId": "Specify the user by 'accountId'."})
    with emu.store.lock:
        changes, _ = parse_edit({"fields": {"assignee": body}}, issue.labels, emu.store.users)
        emu.store.apply(issue, changes, emu.store.integration, "api")
    return Response(status_code=204)


@endpoint
async def comments_get(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    q = request.query_params
    start = max(0, int_param(q.get("startAt"), "startAt", 0))
    size = max(1, int_param(q.get("maxResults"), "maxResults", 5000))
    properties = "properties" in expand_set(q.get("expand"))
    with emu.store.lock:
        ordered = list(issue.comments)
        if q.get("orderBy", "created").lstrip("+") == "-created":
            ordered.reverse()
        page = _renderer(emu, request).comment_page(issue, ordered[start:start + size], start, len(ordered), properties)
    page["maxResults"] = size
    return JSONResponse(page)


@endpoint
async def comment_get(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    wanted = request.path_params["comment_id"]
    properties = "properties" in expand_set(request.query_params.get("expand"))
    with emu.store.lock:
        for comment in issue.comments:
            if str(comment.id) == wanted:
                return JSONResponse(_renderer(emu, request).comment(issue, comment, properties))
    raise JiraHttpError(404, ["Can not find a comment for the id: " + wanted + "."])


@endpoint
async def comment_post(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    body = await json_body(request)
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise JiraHttpError(400, [], {"comment": "Comment body can not be empty!"})
    internal = any(
        isinstance(p, dict) and p.get("key") == "sd.public.comment" and (p.get("value") or {}).get("internal") is True
        for p in body.get("properties") or []
    )
    public = not internal and not body.get("visibility")
    comment = emu.store.add_comment(issue, emu.store.integration, text, public, "api")
    with emu.store.lock:
        return JSONResponse(_renderer(emu, request).comment(issue, comment), status_code=201)


@endpoint
async def transitions_get(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    rd = _renderer(emu, request)
    return JSONResponse({"expand": "transitions", "transitions": [
        {"id": tid, "name": name, "to": rd.status(target), "hasScreen": False, "isGlobal": True, "isInitial": False,
         "isAvailable": True, "isConditional": False, "isLooped": False}
        for tid, name, target in catalog.transitions_from(issue.status)
    ]})


@endpoint
async def transitions_post(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    body = await json_body(request)
    wanted = str((body.get("transition") or {}).get("id", ""))
    with emu.store.lock:
        targets = {tid: target for tid, _, target in catalog.transitions_from(issue.status)}
        if wanted not in targets:
            raise JiraHttpError(400, [f"Transition id '{wanted}' is not valid for this issue."])
        edit = {"fields": body.get("fields") or {}, "update": body.get("update") or {}}
        changes, comments = parse_edit(edit, issue.labels, emu.store.users, frozenset({"resolution"}))
        if "status" in changes:
            raise FieldErrors({"status": "Field 'status' cannot be set. Use a transition."})
        emu.store.apply(issue, {"status": targets[wanted], **changes}, emu.store.integration, "api", comments)
    return Response(status_code=204)


@endpoint
async def changelog_get(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    q = request.query_params
    start = max(0, int_param(q.get("startAt"), "startAt", 0))
    size = max(1, min(100, int_param(q.get("maxResults"), "maxResults", 100)))
    rd = _renderer(emu, request)
    with emu.store.lock:
        total = len(issue.histories)
        values = [rd.history(h) for h in issue.histories[start:start + size]]
    return JSONResponse({
        "self": f"{rd.api}/issue/{issue.key}/changelog?maxResults={size}&startAt={start}",
        "maxResults": size, "startAt": start, "total": total, "isLast": start + size >= total, "values": values,
    })


@endpoint
async def user_search(emu, request: Request) -> Response:
    q = request.query_params
    needle = (q.get("query") or q.get("accountId") or "").strip().lower()
    if not needle:
        raise JiraHttpError(400, ["The query parameter 'query' or 'accountId' is required."])
    start = max(0, int_param(q.get("startAt"), "startAt", 0))
    size = max(1, min(1000, int_param(q.get("maxResults"), "maxResults", 50)))
    matches = [u for u in emu.store.users.values()
               if needle == u.account_id.lower() or needle in u.display_name.lower() or needle in u.email.lower()]
    rd = _renderer(emu, request)
    return JSONResponse([rd.user(u.account_id) for u in matches[start:start + size]])


@endpoint
async def user_get(emu, request: Request) -> Response:
    account = request.query_params.get("accountId", "")
    if account not in emu.store.users:
        raise JiraHttpError(404, ["Specified user does not exist or you do not have required permissions"])
    return JSONResponse(_renderer(emu, request).user(account))


@endpoint
async def request_sla(emu, request: Request) -> Response:
    issue = _issue(emu, request)
    q = request.query_params
    start = max(0, int_param(q.get("start"), "start", 0))
    limit = max(1, int_param(q.get("limit"), "limit", 50))
    rd = _renderer(emu, request)
    with emu.store.lock:
        values = rd.slas(issue)
    page = values[start:start + limit]
    sd = f"{rd.base}/rest/servicedeskapi"
    links = {"base": sd, "context": ""}
    if start + limit < len(values):
        links["next"] = f"{sd}/request/{issue.id}/sla?start={start + limit}&limit={limit}"
    if start > 0:
        links["prev"] = f"{sd}/request/{issue.id}/sla?start={max(0, start - limit)}&limit={limit}"
    return JSONResponse({"_expands": [], "size": len(page), "start": start, "limit": limit,
                         "isLastPage": start + limit >= len(values), "_links": links, "values": page})


def _page_bean(values: list, request: Request, default_size: int) -> JSONResponse:
    """Jira's PageBean: ``startAt``/``maxResults`` (at most ``default_size``) in, ``values``, ``total``, ``isLast`` out."""
    start = max(0, int_param(request.query_params.get("startAt"), "startAt", 0))
    size = max(1, min(default_size, int_param(request.query_params.get("maxResults"), "maxResults", default_size)))
    page = values[start:start + size]
    return JSONResponse({"maxResults": size, "startAt": start, "total": len(values),
                         "isLast": start + size >= len(values), "values": page})


def _custom_field(request: Request) -> str:
    field_id = request.path_params["field_id"]
    if field_id not in catalog.FIELD_NAMES:
        raise JiraHttpError(404, ["The custom field was not found."])
    return field_id


@endpoint
async def field_contexts(emu, request: Request) -> Response:
    """GET /field/{id}/context: every sandbox custom field has one global context for all issue types."""
    field_id = _custom_field(request)
    name = catalog.FIELD_NAMES[field_id]
    return _page_bean([{"id": catalog.context_id(field_id), "name": f"Default Configuration Scheme for {name}",
                        "description": f"Default configuration scheme generated by Jira for {name}",
                        "isGlobalContext": True, "isAnyIssueType": True}], request, 50)


@endpoint
async def field_context_options(emu, request: Request) -> Response:
    """GET /field/{id}/context/{contextId}/option: a select or checkbox field's options."""
    field_id = _custom_field(request)
    options = catalog.select_options(field_id)
    if request.path_params["context_id"] != catalog.context_id(field_id):
        raise JiraHttpError(404, ["The context was not found."])
    if options is None:
        raise JiraHttpError(400, ["The custom field doesn't support options."])
    return _page_bean([{"id": option_id, "value": value, "disabled": False} for value, option_id in options.items()],
                      request, 100)


def _api(path: str, handler, methods: list[str]) -> list[Route]:
    return [Route(f"/rest/api/{version}{path}", handler, methods=methods) for version in ("2", "latest")]


def build_app(emulator) -> Starlette:
    """The bare Starlette app (the emulator wraps it in FaultMiddleware)."""
    routes = [
        *_api("/serverInfo", server_info, ["GET"]),
        *_api("/field", fields, ["GET"]),
        *_api("/field/{field_id}/context", field_contexts, ["GET"]),
        *_api("/field/{field_id}/context/{context_id}/option", field_context_options, ["GET"]),
        *_api("/myself", myself, ["GET"]),
        *_api("/search/jql", search_jql, ["GET", "POST"]),
        *_api("/search", search_removed, ["GET", "POST"]),
        *_api("/issue/{ref}", issue_get, ["GET"]),
        *_api("/issue/{ref}", issue_put, ["PUT"]),
        *_api("/issue/{ref}/assignee", assignee_put, ["PUT"]),
        *_api("/issue/{ref}/comment", comments_get, ["GET"]),
        *_api("/issue/{ref}/comment", comment_post, ["POST"]),
        *_api("/issue/{ref}/comment/{comment_id}", comment_get, ["GET"]),
        *_api("/issue/{ref}/transitions", transitions_get, ["GET"]),
        *_api("/issue/{ref}/transitions", transitions_post, ["POST"]),
        *_api("/issue/{ref}/changelog", changelog_get, ["GET"]),
        *_api("/user/search", user_search, ["GET"]),
        *_api("/user", user_get, ["GET"]),
        Route("/rest/servicedeskapi/request/{ref}/sla", request_sla, methods=["GET"]),
        Route("/rest/auth/1/session", session, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    return app
