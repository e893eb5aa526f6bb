"""People and places: users (show, show_many, search, list, me), groups and organizations.

``users/search.json?query=email:x`` is how a connector resolves an agent's
e-mail to an id; organizations carry the Salesforce Account id as
``external_id``, which is how a connector finds a ticket's account.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from sandbox.zendesk import ids, render
from sandbox.zendesk.http import JSON, bad_request, error, too_many_values
from sandbox.zendesk.paging import base_url, paginate
from sandbox.zendesk.routes_tickets import MAX_MANY, parse_ids
from sandbox.zendesk.store import ZendeskStore


def _search_users(store: ZendeskStore, query: str) -> list:
    query = query.strip().lower()
    if query.startswith("email:"):
        found = store.users_by_email.get(query[6:].strip().strip('"'))
        return [found] if found else []
    return [u for u in store.users.values() if query and (query in u.email.lower() or query in u.name.lower())]


def directory_routes(store: ZendeskStore) -> list[Route]:
    def many(request: Request, table: dict, key: str, render_one):
        try:
            wanted = parse_ids(request.query_params.get("ids"))
        except ValueError:
            return bad_request("ids must be a comma-separated list of integers")
        if len(wanted) > MAX_MANY:
            return too_many_values("ids")
        with store.lock:
            rows = [render_one(table[i]) for i in wanted if i in table]
        return JSON({key: rows, "next_page": None, "previous_page": None, "count": len(rows)})

    async def user_show(request: Request) -> JSON:
        user = store.users.get(request.path_params["user_id"])
        return JSON({"user": render.user(user, base_url(request))}) if user else error(404)

    async def user_me(request: Request) -> JSON:
        return JSON({"user": render.user(store.users[ids.user_id(ids.INTEGRATION_KEY)], base_url(request))})

    async def users_many(request: Request) -> JSON:
        base = base_url(request)
        return many(request, store.users, "users", lambda u: render.user(u, base))

    async def users_search(request: Request) -> JSON:
        base = base_url(request)
        query = request.query_params.get("query")
        external_id = request.query_params.get("external_id")
        if not query and not external_id:
            return bad_request("query or external_id is required")
        with store.lock:
            found = _search_users(store, query) if query else []
        return JSON(paginate(request, "users", found, lambda u: render.user(u, base)))

    async def users_list(request: Request) -> JSON:
        base = base_url(request)
        with store.lock:
            rows = list(store.users.values())
        roles = request.query_params.getlist("role[]") or request.query_params.getlist("role")
        if roles:
            rows = [u for u in rows if u.role in roles]
        return JSON(paginate(request, "users", rows, lambda u: render.user(u, base)))

    async def groups_list(request: Request) -> JSON:
        base = base_url(request)
        return JSON(paginate(request, "groups", list(ids.GROUP_NAMES), lambda g: render.group(g, base, store.since)))

    async def group_show(request: Request) -> JSON:
        gid = request.path_params["group_id"]
        if gid not in ids.GROUP_NAMES:
            return error(404)
        return JSON({"group": render.group(gid, base_url(request), store.since)})

    async def org_show(request: Request) -> JSON:
        org = store.organizations.get(request.path_params["org_id"])
        return JSON({"organization": render.organization(org, base_url(request))}) if org else error(404)

    async def orgs_many(request: Request) -> JSON:
        base = base_url(request)
        return many(request, store.organizations, "organizations", lambda o: render.organization(o, base))

    async def orgs_list(request: Request) -> JSON:
        base = base_url(request)
        with store.lock:
            rows = list(store.organizations.values())
        return JSON(paginate(request, "organizations", rows, lambda o: render.organization(o, base)))

    return [
        Route("/api/v2/users/me.json", user_me, methods=["GET"]),
        Route("/api/v2/users/show_many.json", users_many, methods=["GET"]),
        Route("/api/v2/users/search.json", users_search, methods=["GET"]),
        Route("/api/v2/users.json", users_list, methods=["GET"]),
        Route("/api/v2/users/{user_id:int}.json", user_show, methods=["GET"]),
        Route("/api/v2/groups.json", groups_list, methods=["GET"]),
        Route("/api/v2/groups/{group_id:int}.json", group_show, methods=["GET"]),
        Route("/api/v2/organizations.json", orgs_list, methods=["GET"]),
        Route("/api/v2/organizations/show_many.json", orgs_many, methods=["GET"]),
        Route("/api/v2/organizations/{org_id:int}.json", org_show, methods=["GET"]),
    ]
