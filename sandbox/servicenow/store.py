"""The instance's state: users, groups, companies, tags and incidents, with the indexes queries need.

One re-entrant lock guards everything, because the HTTP server, the batch API
and the sandbox's admin endpoint (human edits) all reach in from different
threads. Every mutation bumps ``version``, which invalidates cached query
results; an incremental pull that pages through a quiet instance therefore
evaluates its query once, not once per page.
"""

from __future__ import annotations

import bisect
import threading
from datetime import datetime

from sandbox import vocab
from sandbox.context import SandboxContext
from sandbox.servicenow import query as q
from sandbox.servicenow.catalog import Catalog
from sandbox.servicenow.ids import label_sys_id, sn_time, truncate
from sandbox.servicenow.records import Company, Group, Incident, Label, LabelEntry, User

SYSTEM = "servicenow"
_CACHE_LIMIT = 64


def normalized_status(state: str, hold_reason: str) -> str:
    """The normalized status of a native (state, hold_reason) pair; pending is On Hold awaiting the caller."""
    if state == "3":
        return "pending" if hold_reason == "1" else "on_hold"
    for status, (value, _label) in vocab.SERVICENOW["status"].items():
        if value == state:
            return status
    return "closed" if state == "8" else "open"


def native_status(status: str, current_hold_reason: str = "") -> tuple[str, str]:
    """The (state, hold_reason) a normalized status is written as."""
    if status == "pending":
        return "3", "1"
    if status == "on_hold":
        return "3", current_hold_reason if current_hold_reason not in ("", "1") else "4"
    if status not in vocab.SERVICENOW["status"]:
        raise ValueError(f"unknown status {status!r}")
    return vocab.SERVICENOW["status"][status][0], ""


def normalized_priority(value: str) -> str:
    """The normalized priority of a native priority value (5 - Planning counts as low)."""
    for name, (native, _label) in vocab.SERVICENOW["priority"].items():
        if native == value:
            return name
    return "low" if value == "5" else value


class ServiceNowStore:
    """Everything the emulated instance holds."""

    def __init__(self, ctx: SandboxContext):
        self.ctx = ctx
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.users_by_name: dict[str, User] = {}
        self.users_by_key: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.groups_by_logical: dict[str, Group] = {}
        self.companies: dict[str, Company] = {}
        self.companies_by_account: dict[str, Company] = {}
        self.labels: dict[str, Label] = {}
        self.label_entries: dict[str, LabelEntry] = {}
        self.incidents: dict[str, Incident] = {}
        self.incidents_by_number: dict[str, Incident] = {}
        self.creation_order: list[str] = []
        self._by_updated: list[tuple[str, str]] = []  # (sys_updated_on, sys_id), sorted
        self._seq = 0
        self.version = 0
        self._cache: dict[tuple[str, str], tuple[int, list]] = {}
        self.catalog = Catalog()

    # -- identity -------------------------------------------------------------------------
    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_user(self, user: User) -> None:
        self.users[user.sys_id] = user
        self.users_by_name[user.user_name] = user
        self.users_by_key[user.key] = user

    def add_group(self, group: Group) -> None:
        self.groups[group.sys_id] = group
        self.groups_by_logical[group.logical] = group

    def add_company(self, company: Company) -> None:
        self.companies[company.sys_id] = company
        self.companies_by_account[company.sf_account_id] = company

    def user_name_of(self, sys_id: str) -> str:
        user = self.users.get(sys_id)
        return user.user_name if user else ""

    def full_name_of(self, user_name: str) -> str:
        user = self.users_by_name.get(user_name)
        return user.name if user else user_name

    # -- incidents ------------------------------------------------------------------------
    def add_incident(self, incident: Incident, *, bulk: bool = False) -> None:
        """Add a new incident; ``bulk`` defers the sys_updated_on index to :meth:`reindex`."""
        with self.lock:
            if incident.sys_id in self.incidents:
                raise ValueError(f"incident {incident.number} already exists")
            self.incidents[incident.sys_id] = incident
            self.incidents_by_number[incident.number] = incident
            self.creation_order.append(incident.sys_id)
            if not bulk:
                bisect.insort(self._by_updated, (sn_time(incident.updated_on), incident.sys_id))
            self.changed()

    def reindex(self) -> None:
        """Rebuild the sys_updated_on index in one sort (after a bulk load)."""
        with self.lock:
            self._by_updated = sorted((sn_time(i.updated_on), i.sys_id) for i in self.incidents.values())
            self.changed()

    def incident(self, sys_id: str) -> Incident:
        try:
            return self.incidents[sys_id]
        except KeyError:
            raise KeyError(f"no incident with sys_id {sys_id}") from None

    def touch(self, incident: Incident, now: datetime, user_name: str) -> None:
        """Record an update: sys_mod_count moves, sys_updated_on/by follow, the index stays sorted."""
        old_key = (sn_time(incident.updated_on), incident.sys_id)
        at = bisect.bisect_left(self._by_updated, old_key)
        if at < len(self._by_updated) and self._by_updated[at] == old_key:
            del self._by_updated[at]
        incident.updated_on = truncate(now)
        incident.updated_by = user_name
        incident.mod_count += 1
        bisect.insort(self._by_updated, (sn_time(incident.updated_on), incident.sys_id))
        self.changed()

    def updated_between(self, low: str | None, high: str | None) -> list[Incident]:
        """Incidents whose sys_updated_on is within [low, high], sorted by (sys_updated_on, sys_id)."""
        start = 0 if low is None else bisect.bisect_left(self._by_updated, (low, ""))
        stop = len(self._by_updated) if high is None else bisect.bisect_right(self._by_updated, (high, "\x7f"))
        return [self.incidents[sys_id] for _, sys_id in self._by_updated[start:stop]]

    # -- tags -----------------------------------------------------------------------------
    def label_named(self, name: str) -> Label | None:
        return self.labels.get(label_sys_id(name))

    def ensure_label(self, name: str, now: datetime, user_name: str) -> Label:
        label = self.label_named(name)
        if label is None:
            label = Label(label_sys_id(name), name, truncate(now), user_name)
            self.labels[label.sys_id] = label
            self.changed()
        return label

    def tag_names(self, incident: Incident) -> list[str]:
        return [self.labels[entry.label_id].name for entry in incident.tags if entry.label_id in self.labels]

    # -- queries --------------------------------------------------------------------------
    def changed(self) -> None:
        self.version += 1

    def select(self, table_name: str, query_text: str) -> list:
        """Rows of ``table_name`` matching ``query_text``, cached until the next write."""
        table = self.catalog.tables[table_name]
        key = (table_name, query_text)
        with self.lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == self.version and table.cacheable:
                return hit[1]
            rows = self.catalog.select(table, q.parse(query_text))
            if table.cacheable:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key] = (self.version, rows)
            return rows
