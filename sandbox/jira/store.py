"""The Jira emulator's state: users and issues, seeded from the world, changed only through here.

Every change goes through :meth:`JiraStore.apply` or :meth:`JiraStore.add_comment`,
which bump ``updated`` (the only concurrency token Jira has; it always moves,
by at least a millisecond, even when the virtual clock stands still), write one
changelog history authored by whoever made the change, and log each effect
once to the sandbox write log. One re-entrant lock covers reads and writes:
the HTTP server thread and the test or admin thread share the store.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sandbox.context import SandboxContext
from sandbox.jira import catalog, edits, jql, search
from sandbox.jira.records import (CommentRecord, HistoryRecord, IssueRecord, UserRecord, account_id, issue_id,
                                  issue_key)
from sandbox.vocab import JIRA
from sandbox.world import SeedTicket, SeedUser, World

SYSTEM = "jira"
INTEGRATION_EMAIL = "deskbridge@acme.test"
AUTOMATION_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"  # "Automation for Jira", the same id on every site
_MS = timedelta(milliseconds=1)


class JiraStore:
    """Users, issues and their comments and changelogs, plus the search cache."""

    def __init__(self, ctx: SandboxContext, world: World):
        self.ctx = ctx
        self.lock = threading.RLock()
        self.users: dict[str, UserRecord] = {}
        self.user_keys: dict[str, str] = {}  # SeedUser.key -> accountId
        self.issues: dict[int, IssueRecord] = {}  # by n, in creation order
        self.version = 0
        self._comment_ids = itertools.count(10000)
        self._history_ids = itertools.count(10000)
        self._search_cache: dict[tuple, tuple] = {}
        for user in world.users.values():
            self._add_user(user)
        self.integration = self._integration_user()
        self._add_user(SeedUser("automation", "Automation for Jira", "automation@connect.atlassian.invalid", "app"),
                       fixed_id=AUTOMATION_ID)
        for ticket in world.tickets:
            if ticket.system == SYSTEM:
                self.add_ticket(ticket)

    # users --------------------------------------------------------------------------------------
    def _add_user(self, user: SeedUser, fixed_id: str | None = None) -> str:
        account = fixed_id or account_id(user.key)
        kind = {"customer": "customer", "app": "app"}.get(user.role, "atlassian")
        self.users[account] = UserRecord(account, user.key, user.name, user.email, kind, user.group)
        self.user_keys[user.key] = account
        return account

    def _integration_user(self) -> str:
        for user in self.users.values():
            if user.email.lower() == INTEGRATION_EMAIL:
                return user.account_id
        return self._add_user(SeedUser("deskbridge", "deskbridge", INTEGRATION_EMAIL, "agent"))

    def account_of(self, user_key: str | None) -> str | None:
        """accountId of a SeedUser key (unknown keys are Jira automation, as for system-made changes)."""
        if user_key is None:
            return None
        return self.user_keys.get(user_key, AUTOMATION_ID)

    def human_actor(self, issue: IssueRecord, user_key: str | None = None) -> str:
        """Who a simulated person acts as: the named user, else the assignee, else the first agent."""
        if user_key:
            if user_key not in self.user_keys:
                raise ValueError(f"unknown user {user_key!r}")
            return self.user_keys[user_key]
        if issue.assignee:
            return issue.assignee
        for user in self.users.values():
            if user.account_type == "atlassian" and user.account_id != self.integration:
                return user.account_id
        return self._add_user(SeedUser("sandbox-agent", "Sandbox Agent", "agent@acme.test", "agent"))

    # issues -------------------------------------------------------------------------------------
    def find(self, ref: str) -> IssueRecord | None:
        """An issue by id ("10012") or key ("SUP-12", any case)."""
        text = str(ref).strip()
        if text.isdigit():
            return self.issues.get(int(text) - 10000)
        project, _, number = text.upper().partition("-")
        if project == JIRA["project"] and number.isdigit():
            return self.issues.get(int(number))
        return None

    def key_to_n(self, key: str) -> int | None:
        issue = self.find(key)
        return issue.n if issue else None

    def add_ticket(self, t: SeedTicket) -> IssueRecord:
        """Render a SeedTicket as issue SUP-n with its past comments and changelog."""
        with self.lock:
            if t.n in self.issues:
                raise ValueError(f"Jira issue {issue_key(t.n)} already exists")
            now = self.ctx.clock.now()
            created = t.created_at or now
            native_status = JIRA["status"][t.status]
            issue = IssueRecord(
                n=t.n, id=issue_id(t.n), key=issue_key(t.n, JIRA["project"]), summary=t.subject,
                description=t.description, status=native_status, priority=JIRA["priority"][t.priority],
                reporter=self.account_of(t.requester), assignee=self.account_of(t.assignee),
                team=JIRA["groups"].get(t.group), product_area=t.product_area, escalation_flag=t.agent_flag,
                customer_request=t.customer_requested, sf_account=t.account_id,
                request_type=catalog.request_type_for(t.product_area), created=created,
                updated=t.updated_at or created, labels=list(dict.fromkeys(t.tags)),
            )
            if native_status in catalog.DONE_STATUSES:
                issue.resolutiondate = t.solved_at or issue.updated
            for c in t.comments:
                author = self.account_of(c.author)
                issue.comments.append(CommentRecord(next(self._comment_ids), author, c.body, c.public, c.at, c.at))
            for event in t.events:
                self._seed_history(issue, event)
            self.issues[t.n] = issue
            self.version += 1
            return issue

    def _seed_history(self, issue: IssueRecord, event) -> None:
        convert = {
            "status": ("status", JIRA["status"].get), "priority": ("priority", JIRA["priority"].get),
            "group": ("team", JIRA["groups"].get), "assignee": ("assignee", self.account_of),
        }
        if event.kind not in convert:
            return
        attr, native = convert[event.kind]
        old = native(event.from_value) if event.from_value else None
        new = native(event.to_value) if event.to_value else None
        if attr in ("status", "priority") and (old is None or new is None) or old == new:
            return
        items, _ = edits.describe(attr, old, new, self.users)
        author = self.account_of(event.actor)
        issue.histories.append(HistoryRecord(next(self._history_ids), author, event.at, tuple(items)))

    # writes -------------------------------------------------------------------------------------
    def _bump(self, issue: IssueRecord) -> datetime:
        at = max(self.ctx.clock.now(), issue.updated + _MS)
        issue.updated = at
        self.version += 1
        return at

    def apply(self, issue: IssueRecord, changes: dict[str, object], author: str, actor: str,
              comments: Iterable[tuple[str, bool]] = ()) -> bool:
        """Apply attribute changes (and comments) as one edit by ``author``; False when nothing changed."""
        with self.lock:
            effective = {a: v for a, v in changes.items() if getattr(issue, a) != v}
            comments = list(comments)
            if not effective and not comments:
                return False
            at = self._bump(issue)
            items, log = [], []
            for attr, new in effective.items():
                old = getattr(issue, attr)
                change_items, change_log = edits.describe(attr, list(old) if attr == "labels" else old, new, self.users)
                items += change_items
                log += change_log
                setattr(issue, attr, list(new) if attr == "labels" else new)
                if attr == "status":
                    items += self._resolution_side_effect(issue, old, new, at)
            if items:
                issue.histories.append(HistoryRecord(next(self._history_ids), author, at, tuple(items)))
            for kind, detail in log:
                self.ctx.log.write(SYSTEM, issue.id, kind, actor, at, **detail)
            for body, public in comments:
                self._comment(issue, author, body, public, actor, at)
            return True

    def _resolution_side_effect(self, issue: IssueRecord, old: str, new: str, at: datetime) -> list:
        was_done, is_done = old in catalog.DONE_STATUSES, new in catalog.DONE_STATUSES
        done = catalog.RESOLUTION_DONE
        if is_done and not was_done:
            issue.resolutiondate = at
            return [("resolution", "jira", None, None, done["id"], done["name"])]
        if was_done and not is_done:
            issue.resolutiondate = None
            return [("resolution", "jira", done["id"], done["name"], None, None)]
        return []

    def add_comment(self, issue: IssueRecord, author: str, body: str, public: bool, actor: str) -> CommentRecord:
        """Post one comment (public reply or internal note); comments bump ``updated`` but write no history."""
        with self.lock:
            return self._comment(issue, author, body, public, actor, self._bump(issue))

    def _comment(self, issue, author, body, public, actor, at) -> CommentRecord:
        comment = CommentRecord(next(self._comment_ids), author, body, public, at, at)
        issue.comments.append(comment)
        self.ctx.log.write(SYSTEM, issue.id, "comment", actor, at, public=public, body=body)
        return comment

    def human_edit(self, issue: IssueRecord) -> None:
        """The ``conflict`` fault: someone in the UI labels the issue "human_edit" just before the request."""
        with self.lock:
            actor = self.human_actor(issue)
            labels = list(dict.fromkeys(issue.labels + ["human_edit"]))
            if not self.apply(issue, {"labels": labels}, actor, "human"):
                self._bump(issue)

    # search -------------------------------------------------------------------------------------
    def search(self, jql_text: str):
        """(sort keys, records) matching the JQL, in order; cached until the next write."""
        with self.lock:
            now = self.ctx.clock.now()
            cache_key = (jql_text, self.version, now)
            if cache_key not in self._search_cache:
                query = jql.parse(jql_text)
                predicate = search.compile_where(query, now, self.key_to_n)
                result = search.run(self.issues.values(), predicate, search.sort_key_function(query))
                if len(self._search_cache) > 16:
                    self._search_cache.clear()
                self._search_cache[cache_key] = result
            return self._search_cache[cache_key]
