"""Render records as Jira Cloud REST API v2 JSON (plain-text bodies, Jira date strings).

Shapes follow the captured payloads in shared/reference/payloads/jira (v3
there; v2 differs only in plain-text ``description`` and comment ``body``).
``base`` is the scheme://host:port the request came in on, so every ``self``
points back at the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sandbox.jira import catalog
from sandbox.jira.records import CommentRecord, HistoryRecord, IssueRecord, UserRecord
from sandbox.jira.sla import date_object, sla_values, status_timeline

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
ALL_FIELDS = (
    "summary", "description", "status", "priority", "labels", "assignee", "reporter", "creator", "created",
    "updated", "resolutiondate", "resolution", "issuetype", "project", "comment", catalog.TEAM_FIELD,
    catalog.PRODUCT_AREA_FIELD, catalog.ESCALATION_FIELD, catalog.CUSTOMER_REQUEST_FIELD, catalog.ACCOUNT_FIELD,
    catalog.REQUEST_TYPE_FIELD, catalog.SLA_FIRST_RESPONSE_FIELD, catalog.SLA_RESOLUTION_FIELD,
)
NON_NAVIGABLE = frozenset({"comment"})
AVATARS = "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net"
ITEM_KEYS = ("field", "fieldtype", "from", "fromString", "to", "toString")


def jira_time(instant: datetime | None) -> str | None:
    """Jira's timestamp format: 2024-01-02T03:04:05.000+0000 (always UTC here)."""
    if instant is None:
        return None
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}+0000"


def select_fields(requested: list[str] | None, default: str | None = "*all") -> set[str]:
    """The field ids a ``fields`` parameter asks for (repeated and/or comma-joined; *all, *navigable, -x)."""
    names = [part.strip() for item in (requested or []) for part in str(item).split(",") if part.strip()]
    if not names and default:
        names = [default]
    chosen: set[str] = set()
    for name in names:
        if name == "*all":
            chosen |= set(ALL_FIELDS)
        elif name == "*navigable":
            chosen |= set(ALL_FIELDS) - NON_NAVIGABLE
        elif not name.startswith("-") and name in ALL_FIELDS:
            chosen.add(name)
    return chosen - {name[1:] for name in names if name.startswith("-")}


class Renderer:
    """Turns records into JSON for one request (one base URL, one instant)."""

    def __init__(self, base: str, users: dict[str, UserRecord], now: datetime):
        self.base, self.users, self.now = base.rstrip("/"), users, now
        self.api = f"{self.base}/rest/api/2"
        self._slas: dict[str, list[dict]] = {}  # per issue, both SLA fields render from one computation

    # people -----------------------------------------------------------------------------------
    def user(self, account: str | None) -> dict | None:
        if account is None:
            return None
        u = self.users[account]
        avatar = f"{AVATARS}/initials/{u.display_name[:2].upper()}-0.png"
        return {
            "self": f"{self.api}/user?accountId={u.account_id}",
            "accountId": u.account_id,
            "emailAddress": u.email,
            "avatarUrls": {size: avatar for size in ("48x48", "24x24", "16x16", "32x32")},
            "displayName": u.display_name,
            "active": True,
            "timeZone": "UTC",
            "accountType": u.account_type,
        }

    def is_customer(self, account: str) -> bool:
        user = self.users.get(account)
        return user is not None and user.account_type == "customer"

    # issue ------------------------------------------------------------------------------------
    def issue(self, r: IssueRecord, fields: set[str] | None, changelog: bool = False) -> dict:
        out = {"expand": ISSUE_EXPAND, "id": r.id, "self": f"{self.api}/issue/{r.id}", "key": r.key}
        if fields is not None:
            out["fields"] = {name: self._field(r, name) for name in ALL_FIELDS if name in fields}
        if changelog:
            shown = r.histories[-100:]
            out["changelog"] = {
                "startAt": len(r.histories) - len(shown), "maxResults": len(shown), "total": len(r.histories),
                "histories": [self.history(h) for h in shown],
            }
        return out

    def _field(self, r: IssueRecord, name: str):
        return _FIELD_RENDERERS[name](self, r)

    def status(self, name: str) -> dict:
        status_id, category_id = catalog.STATUSES[name]
        key, color, category_name = catalog.STATUS_CATEGORIES[category_id]
        return {
            "self": f"{self.api}/status/{status_id}", "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png", "name": name, "id": status_id,
            "statusCategory": {"self": f"{self.api}/statuscategory/{category_id}", "id": category_id, "key": key,
                               "colorName": color, "name": category_name},
        }

    def priority(self, name: str) -> dict:
        pid = catalog.PRIORITIES[name]
        icon = f"{self.base}/images/icons/priorities/{name.lower()}.svg"
        return {"self": f"{self.api}/priority/{pid}", "iconUrl": icon, "name": name, "id": pid}

    def option(self, field_id: str, value: str | None, option_id: str | None) -> dict | None:
        if value is None:
            return None
        return {"self": f"{self.api}/customFieldOption/{option_id}", "value": value, "id": option_id}

    def checkbox(self, field_id: str, checked: bool) -> list | None:
        return [self.option(field_id, catalog.CHECKBOX_ON, catalog.CHECKBOX_OPTIONS[field_id])] if checked else None

    def project(self) -> dict:
        p = catalog.PROJECT
        avatar = f"{self.api}/universal_avatar/view/type/project/avatar/10400"
        return {"self": f"{self.api}/project/{p['id']}", "id": p["id"], "key": p["key"], "name": p["name"],
                "projectTypeKey": p["projectTypeKey"], "simplified": False,
                "avatarUrls": {size: avatar for size in ("48x48", "24x24", "16x16", "32x32")}}

    def issuetype(self) -> dict:
        t = catalog.ISSUE_TYPE
        return {"self": f"{self.api}/issuetype/{t['id']}", "id": t["id"], "description": t["description"],
                "iconUrl": f"{self.api}/universal_avatar/view/type/issuetype/avatar/10553?size=medium",
                "name": t["name"], "subtask": False, "avatarId": 10553, "entityId": t["entity_id"], "hierarchyLevel": 0}

    def request_type(self, r: IssueRecord) -> dict:
        rt_id = catalog.REQUEST_TYPES[r.request_type]
        since = status_timeline(r)[-1][0]
        category = catalog.STATUS_CATEGORIES[catalog.STATUSES[r.status][1]][0]
        return {
            "_links": {
                "jiraRest": f"{self.api}/issue/{r.id}",
                "web": f"{self.base}/servicedesk/customer/portal/1/{r.key}",
                "agent": f"{self.base}/browse/{r.key}",
                "self": f"{self.base}/rest/servicedeskapi/request/{r.id}",
            },
            "requestType": {
                "_links": {"self": f"{self.base}/rest/servicedeskapi/servicedesk/1/requesttype/{rt_id}"},
                "id": rt_id, "name": r.request_type, "description": "", "helpText": "",
                "issueTypeId": catalog.ISSUE_TYPE["id"], "serviceDeskId": "1", "portalId": "1", "groupIds": [],
            },
            "currentStatus": {"status": r.status, "statusCategory": {"new": "NEW", "indeterminate": "INDETERMINATE",
                                                                    "done": "DONE"}[category],
                              "statusDate": date_object(since)},
        }

    def slas(self, r: IssueRecord) -> list[dict]:
        if r.id not in self._slas:
            self._slas[r.id] = sla_values(r, self.now, self.is_customer, self.base)
        return self._slas[r.id]

    # comments and changelog -------------------------------------------------------------------------
    def comment(self, issue: IssueRecord, c: CommentRecord, properties: bool = False) -> dict:
        out = {
            "self": f"{self.api}/issue/{issue.id}/comment/{c.id}", "id": str(c.id), "author": self.user(c.author),
            "body": c.body, "updateAuthor": self.user(c.author), "created": jira_time(c.created),
            "updated": jira_time(c.updated), "jsdPublic": c.public,
        }
        if properties:
            out["properties"] = [] if c.public else [{"key": "sd.public.comment", "value": {"internal": True}}]
        return out

    def comment_page(self, issue: IssueRecord, comments: list[CommentRecord], start: int, total: int,
                     properties: bool = False) -> dict:
        return {"comments": [self.comment(issue, c, properties) for c in comments],
                "self": f"{self.api}/issue/{issue.id}/comment", "maxResults": len(comments), "total": total,
                "startAt": start}

    def history(self, h: HistoryRecord) -> dict:
        return {
            "id": str(h.id), "author": self.user(h.author), "created": jira_time(h.created),
            "items": [dict(zip(ITEM_KEYS, item)) for item in h.items],
        }


def _team(rd: Renderer, r: IssueRecord):
    return rd.option(catalog.TEAM_FIELD, r.team, catalog.TEAM_OPTIONS.get(r.team or ""))


def _area(rd: Renderer, r: IssueRecord):
    return rd.option(catalog.PRODUCT_AREA_FIELD, r.product_area, catalog.PRODUCT_AREA_OPTIONS.get(r.product_area or ""))


def _sla(index: int) -> Callable[[Renderer, IssueRecord], dict]:
    return lambda rd, r: rd.slas(r)[index]


_FIELD_RENDERERS: dict[str, Callable[[Renderer, IssueRecord], object]] = {
    "summary": lambda rd, r: r.summary,
    "description": lambda rd, r: r.description or None,
    "status": lambda rd, r: rd.status(r.status),
    "priority": lambda rd, r: rd.priority(r.priority),
    "labels": lambda rd, r: list(r.labels),
    "assignee": lambda rd, r: rd.user(r.assignee),
    "reporter": lambda rd, r: rd.user(r.reporter),
    "creator": lambda rd, r: rd.user(r.reporter),
    "created": lambda rd, r: jira_time(r.created),
    "updated": lambda rd, r: jira_time(r.updated),
    "resolutiondate": lambda rd, r: jira_time(r.resolutiondate),
    "resolution": lambda rd, r: (
        {"self": f"{rd.api}/resolution/{catalog.RESOLUTION_DONE['id']}", **catalog.RESOLUTION_DONE}
        if r.resolutiondate else None
    ),
    "issuetype": lambda rd, r: rd.issuetype(),
    "project": lambda rd, r: rd.project(),
    "comment": lambda rd, r: rd.comment_page(r, r.comments, 0, len(r.comments)),
    catalog.TEAM_FIELD: _team,
    catalog.PRODUCT_AREA_FIELD: _area,
    catalog.ESCALATION_FIELD: lambda rd, r: rd.checkbox(catalog.ESCALATION_FIELD, r.escalation_flag),
    catalog.CUSTOMER_REQUEST_FIELD: lambda rd, r: rd.checkbox(catalog.CUSTOMER_REQUEST_FIELD, r.customer_request),
    catalog.ACCOUNT_FIELD: lambda rd, r: r.sf_account,
    catalog.REQUEST_TYPE_FIELD: lambda rd, r: rd.request_type(r),
    catalog.SLA_FIRST_RESPONSE_FIELD: _sla(0),
    catalog.SLA_RESOLUTION_FIELD: _sla(1),
}
