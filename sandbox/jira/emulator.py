"""The Jira Cloud / JSM emulator object the sandbox platform assembles (see emulator contract).

:func:`build` seeds a :class:`JiraStore` from the world, wraps the Starlette
app in the shared :class:`FaultMiddleware` and exposes the neutral helpers the
demo and the tests drive: ``create``, ``human``, ``view`` and ``ticket_ids``.
"""

from __future__ import annotations

from sandbox.context import FaultMiddleware, SandboxContext
from sandbox.jira import catalog
from sandbox.jira.records import IssueRecord
from sandbox.jira.render import jira_time
from sandbox.jira.routes import build_app
from sandbox.jira.store import INTEGRATION_EMAIL, SYSTEM, JiraStore
from sandbox.jira.web import error_body
from sandbox.vocab import GROUPS, JIRA
from sandbox.world import SeedTicket, World

# The integration user's API token in the sandbox (a sandbox value, never a real one).
SANDBOX_TOKEN = "ATATT3xFfGF0-deskbridge-sandbox-jira-token"
_FIELD_ATTRS = {"escalation_flag": "escalation_flag", "customer_escalation_request": "customer_request",
                "product_area": "product_area"}


class JiraEmulator:
    """Jira Cloud (project SUP, service desk 1) for the jira client, over the sandbox's shared context."""

    system = SYSTEM

    def __init__(self, ctx: SandboxContext, world: World):
        self.ctx = ctx
        self.store = JiraStore(ctx, world)
        self.credentials = {"email": INTEGRATION_EMAIL, "token": SANDBOX_TOKEN}
        self.app = FaultMiddleware(build_app(self), SYSTEM, ctx, error_body)

    def env(self, base_url: str) -> dict[str, str]:
        """The variables that point deskbridge's Jira connector at this emulator."""
        return {
            "DESKBRIDGE_JIRA_URL": base_url.rstrip("/"),
            "DESKBRIDGE_JIRA_EMAIL": self.credentials["email"],
            "DESKBRIDGE_JIRA_TOKEN": self.credentials["token"],
        }

    def create(self, ticket: SeedTicket) -> str:
        """Add an issue now (as if raised through the portal) and return its id."""
        issue = self.store.add_ticket(ticket)
        self.ctx.log.write(SYSTEM, issue.id, "created", "human", self.ctx.clock.now(), key=issue.key)
        return issue.id

    def ticket_ids(self) -> list[str]:
        with self.store.lock:
            return [issue.id for issue in self.store.issues.values()]

    def _get(self, ticket_id: str) -> IssueRecord:
        issue = self.store.find(ticket_id)
        if issue is None:
            raise KeyError(f"no Jira issue {ticket_id!r}")
        return issue

    def view(self, ticket_id: str) -> dict:
        """A system-neutral snapshot of one issue, for assertions and the demo."""
        with self.store.lock:
            issue = self._get(ticket_id)
            users = self.store.users
            return {
                "id": issue.id, "key": issue.key,
                "status": catalog.NORMALIZED_STATUS[issue.status],
                "priority": catalog.NORMALIZED_PRIORITY[issue.priority],
                "group": catalog.LOGICAL_GROUP.get(issue.team or ""),
                "assignee": users[issue.assignee].email if issue.assignee else None,
                "tags": list(issue.labels),
                "token": jira_time(issue.updated),
                "updated_at": issue.updated.isoformat(),
                "comments": [{"public": c.public, "body": c.body, "author_email": users[c.author].email,
                              "at": c.created.isoformat()} for c in issue.comments],
            }

    def human(self, ticket_id: str, action: dict) -> dict:
        """Apply what a person would do in the Jira UI; raises ValueError for unknown actions or values."""
        with self.store.lock:
            issue = self._get(ticket_id)
            try:
                self._human(issue, action)
            except KeyError as missing:
                raise ValueError(f"human action {action.get('action')!r} needs {missing}") from None
            return self.view(ticket_id)

    def _human(self, issue: IssueRecord, action: dict) -> None:
        if action.get("action") == "comment":
            author_key = action.get("author")
            author = self.store.human_actor(issue, author_key) if author_key else issue.reporter
            public = bool(action.get("public", True)) or self.store.users[author].account_type == "customer"
            self.store.add_comment(issue, author, str(action["body"]), public, "human")
            return
        changes = self._human_changes(issue, action.get("action"), action)
        self.store.apply(issue, changes, self.store.human_actor(issue, action.get("actor")), "human")

    def _human_changes(self, issue: IssueRecord, kind: str | None, action: dict) -> dict:
        if kind == "add_tags":
            return {"labels": list(dict.fromkeys(issue.labels + [str(t) for t in action["tags"]]))}
        if kind == "remove_tags":
            gone = set(action["tags"])
            return {"labels": [label for label in issue.labels if label not in gone]}
        if kind == "reassign":
            group = action["group"]
            if group not in GROUPS:
                raise ValueError(f"unknown group {group!r}")
            assignee = action.get("assignee")
            if assignee is not None and assignee not in self.store.user_keys:
                raise ValueError(f"unknown user {assignee!r}")
            return {"team": JIRA["groups"][group], "assignee": self.store.account_of(assignee)}
        if kind == "set_status":
            return {"status": _native(JIRA["status"], action["status"], "status")}
        if kind == "set_priority":
            return {"priority": _native(JIRA["priority"], action["priority"], "priority")}
        if kind == "set_field":
            field = action["field"]
            if field not in _FIELD_ATTRS:
                raise ValueError(f"unknown field {field!r}")
            value = action["value"]
            if field == "product_area" and value is not None and value not in catalog.PRODUCT_AREA_OPTIONS:
                raise ValueError(f"unknown product area {value!r}")
            return {_FIELD_ATTRS[field]: value if field == "product_area" else bool(value)}
        raise ValueError(f"unknown human action {kind!r}")


def _native(table: dict[str, str], normalized: str, what: str) -> str:
    if normalized not in table:
        raise ValueError(f"unknown {what} {normalized!r}")
    return table[normalized]


def build(ctx: SandboxContext, world: World) -> JiraEmulator:
    """The Jira emulator for this sandbox, seeded with the world's Jira tickets."""
    return JiraEmulator(ctx, world)
