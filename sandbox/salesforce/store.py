"""The CRM org's state: Accounts and Users, logins and sessions, query cursors and the API counter.

All mutation goes through :class:`Org` under one lock: HTTP handlers run on
the server's event loop while tests and the admin API call the admin methods
from other threads. Time is always ``ctx.clock`` (virtual time), so session
timeouts, cursor expiry and the daily API window move with the sandbox clock.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.context import SandboxContext
from sandbox.world import World

from . import query as soql_query
from . import seed
from .ids import derived_id, org_id, user_id
from .records import Row, render_full
from .schema import ACCOUNT, USER, ObjectDef
from .soql import SoqlError

SYSTEM = "salesforce"
DEFAULT_VERSION = "59.0"
MAX_BATCH, MIN_BATCH = 2000, 200
CURSOR_IDLE = timedelta(minutes=15)
CURSORS_PER_USER = 10
API_WINDOW = timedelta(hours=24)
_READ_ONLY = {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}


@dataclass
class Session:
    user_id: str
    last_used: datetime


@dataclass
class Cursor:
    """A query locator: the result snapshot taken when the query ran, served in batches."""

    locator: str
    user_id: str
    endpoint: str  # "query" | "queryAll"
    records: list[dict[str, Any]]
    batch: int
    last_used: datetime


@dataclass
class ApiCounter:
    """Calls in the current 24-hour window of virtual time (Salesforce's rolling daily limit, simplified)."""

    limit: int
    used: int = 0
    window_start: datetime | None = None

    def count(self, now: datetime) -> bool:
        """Count one call; False when the org is over its limit (the call must be refused)."""
        if self.window_start is None or now - self.window_start >= API_WINDOW:
            self.window_start, self.used = now, 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


@dataclass
class Org:
    """One Salesforce org seeded from the world."""

    ctx: SandboxContext
    page_size: int = MAX_BATCH
    session_seconds: int = 7200
    api_limit: int = 15000
    org_id: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    rows: dict[str, Row] = field(default_factory=dict)  # 15-char id -> row
    ordered: dict[str, list[Row]] = field(default_factory=lambda: {"Account": [], "User": []})
    sessions: dict[str, Session] = field(default_factory=dict)
    cursors: OrderedDict[str, Cursor] = field(default_factory=OrderedDict)
    _cursor_numbers: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.api = ApiCounter(self.api_limit)

    # -- seeding ---------------------------------------------------------------
    def seed(self, world: World) -> None:
        now = self.ctx.clock.now()
        self.org_id = org_id(world.seed)
        for user in seed.crm_users(world):
            self._add(USER, seed.user_values(user, now))
        for account in world.accounts:
            self._add(ACCOUNT, seed.account_values(account, now))

    def _add(self, obj: ObjectDef, values: dict[str, Any]) -> None:
        row = Row(obj, len(self.rows), values)
        self.rows[row.id[:15]] = row
        self.ordered[obj.name].append(row)

    def find(self, record_id: str | None, obj_name: str | None = None) -> Row | None:
        """The row with this 15- or 18-character id (of ``obj_name`` if given), deleted ones included."""
        row = self.rows.get((record_id or "")[:15])
        if row is None or (obj_name is not None and row.obj.name != obj_name):
            return None
        return row

    # -- logins and sessions ---------------------------------------------------
    def login(self, username: str, password_and_token: str, expected: dict[str, str]) -> tuple[str, Row] | None:
        """A new session for the API user when username and password+token match, else None."""
        wanted = expected["password"] + expected["security_token"]
        same_user = username.casefold() == expected["username"].casefold()  # usernames ignore case
        if not same_user or not secrets.compare_digest(password_and_token.encode(), wanted.encode()):
            return None
        with self.lock:
            user = self.find(user_id(seed.INTEGRATION_USER.key), "User")
            if user is None or not user.get("IsActive"):
                return None  # a deactivated user gets the same INVALID_LOGIN as a wrong password
            session_id = f"{self.org_id[:15]}!AQ{secrets.token_hex(48)}"
            self.sessions[session_id] = Session(user.id, self.ctx.clock.now())
            return session_id, user

    def authenticate(self, session_id: str) -> str | None:
        """The user id of a live session (and extend it), or None if unknown or timed out."""
        now = self.ctx.clock.now()
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return None
            if (now - session.last_used).total_seconds() > self.session_seconds:
                del self.sessions[session_id]
                return None
            session.last_used = now
            return session.user_id

    def expire_sessions(self) -> int:
        """Invalidate every session (as an admin "revoke all" would); returns how many there were."""
        with self.lock:
            count = len(self.sessions)
            self.sessions.clear()
            return count

    def count_api_call(self) -> bool:
        with self.lock:
            return self.api.count(self.ctx.clock.now())

    # -- queries ---------------------------------------------------------------
    def run_query(self, text: str, version: str, *, include_deleted: bool, user: str,
                  batch: int | None) -> dict[str, Any]:
        """Run SOQL and return the first batch, opening a cursor when more remain."""
        plan = soql_query.plan(text)
        with self.lock:
            rows = self._candidates(plan, include_deleted)
            hits = soql_query.run(plan, rows, self._resolve)
            if plan.count_only:
                return {"totalSize": len(hits), "done": True, "records": []}
            records = [soql_query.project(plan, row, self._resolve, version) for row in hits]
            size = self._batch(batch)
            if len(records) <= size:
                return {"totalSize": len(records), "done": True, "records": records}
            endpoint = "queryAll" if include_deleted else "query"
            cursor = self._open_cursor(user, endpoint, records, size)
            return self._page(cursor, 0, version, size)

    def more(self, locator: str, offset: int, version: str, *, user: str, batch: int | None) -> dict[str, Any]:
        """The batch of an open cursor starting at ``offset`` (``{locator}-{offset}`` in nextRecordsUrl)."""
        now = self.ctx.clock.now()
        with self.lock:
            cursor = self.cursors.get(locator)
            if cursor is not None and now - cursor.last_used > CURSOR_IDLE:
                del self.cursors[locator]
                cursor = None
            if cursor is None or cursor.user_id != user or not 0 <= offset < len(cursor.records):
                raise SoqlError("INVALID_QUERY_LOCATOR", "invalid query locator")
            cursor.last_used = now
            return self._page(cursor, offset, version, self._batch(batch) if batch else cursor.batch)

    def targeted_accounts(self, text: str) -> list[str]:
        """Ids of the live Accounts a query would return (for the conflict fault); [] if it is invalid."""
        try:
            plan = soql_query.plan(text)
        except SoqlError:
            return []
        if plan.obj is not ACCOUNT:
            return []
        with self.lock:
            return [r.id for r in soql_query.run(plan, self._candidates(plan, False), self._resolve)]

    def _candidates(self, plan: soql_query.Plan, include_deleted: bool) -> list[Row]:
        ids = soql_query.id_candidates(plan.where)
        if ids is None:
            rows = self.ordered[plan.obj.name]
        else:
            rows = [r for r in (self.rows.get(i) for i in ids) if r is not None and r.obj is plan.obj]
        return [r for r in rows if include_deleted or not r.deleted]

    def _resolve(self, record_id: str) -> Row | None:
        return self.rows.get(record_id[:15])

    def _batch(self, requested: int | None) -> int:
        if requested is None:
            return self.page_size
        return min(self.page_size, max(MIN_BATCH, min(MAX_BATCH, requested)))

    def _open_cursor(self, user: str, endpoint: str, records: list[dict], size: int) -> Cursor:
        mine = [c for c in self.cursors.values() if c.user_id == user]
        for stale in mine[: max(0, len(mine) - CURSORS_PER_USER + 1)]:
            del self.cursors[stale.locator]  # Salesforce keeps 10 open cursors per user, dropping the oldest
        locator = derived_id("0r8", f"{self.org_id}:cursor:{next(self._cursor_numbers)}")
        cursor = self.cursors[locator] = Cursor(locator, user, endpoint, records, size, self.ctx.clock.now())
        return cursor

    def _page(self, cursor: Cursor, offset: int, version: str, size: int) -> dict[str, Any]:
        end = offset + size
        page: dict[str, Any] = {"totalSize": len(cursor.records), "done": end >= len(cursor.records)}
        if page["done"]:
            self.cursors.pop(cursor.locator, None)
        else:
            page["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.endpoint}/{cursor.locator}-{end}"
        page["records"] = cursor.records[offset:end]
        return page

    # -- admin edits -----------------------------------------------------------
    def render(self, row: Row, version: str = DEFAULT_VERSION) -> dict[str, Any]:
        return render_full(row, version)

    def edit(self, obj: ObjectDef, record_id: str, fields: dict[str, Any], actor: str = "human") -> dict[str, Any]:
        """Apply an admin's edit to live fields, bump the audit fields, log one write per changed field."""
        with self.lock:
            row = self.find(record_id, obj.name)
            if row is None or row.deleted:
                raise KeyError(f"no live {obj.name} with id {record_id}")
            changes = {self._editable(obj, name): value for name, value in fields.items()}
            now = self.ctx.clock.now()
            for name, value in changes.items():
                if name == "OwnerId" and (value is None or self.find(value, "User") is None):
                    raise ValueError(f"OwnerId must be the id of an existing User, not {value!r}")
            changed = False
            for name, value in changes.items():
                if row.values.get(name) != value:
                    row.values[name], changed = value, True
                    self.ctx.log.write(SYSTEM, row.id, "field", actor, now, name=name, value=value)
            if changed:
                self._touch(row, now)
            return self.render(row)

    def delete(self, record_id: str) -> None:
        """Move an Account to the recycle bin: gone from query and GET, still visible to queryAll."""
        with self.lock:
            row = self.find(record_id, "Account")
            if row is None or row.deleted:
                raise KeyError(f"no live Account with id {record_id}")
            now = self.ctx.clock.now()
            row.values["IsDeleted"] = True
            self._touch(row, now)
            self.ctx.log.write(SYSTEM, row.id, "field", "human", now, name="IsDeleted", value=True)

    def _editable(self, obj: ObjectDef, name: str) -> str:
        found = obj.find_field(name)
        if found is None:
            raise ValueError(f"{obj.name} has no field {name!r}")
        if found.name in _READ_ONLY or found.kind == "datetime":
            raise ValueError(f"{obj.name}.{found.name} is not editable")
        return found.name

    def _touch(self, row: Row, now: datetime) -> None:
        row.values["LastModifiedDate"] = row.values["SystemModstamp"] = now
        if "LastModifiedById" in row.values:
            row.values["LastModifiedById"] = user_id(seed.ADMIN_USER.key)
