"""Every table besides ``incident``: users, groups, memberships, companies, journal, audit, SLAs and tags.

Rows that hang off an incident (journal, audit, task_sla, label_entry) are
found through the incident when a query pins ``element_id``/``documentkey``/
``task``/``table_key`` with ``=`` or ``IN`` (what a connector sends for a page of
incidents), and by a full walk otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sandbox.servicenow import schedule, sla
from sandbox.servicenow.catalog import Catalog, Field, Table, const
from sandbox.servicenow.ids import sn_time, sys_id_for, truncate
from sandbox.servicenow.incident_table import incident_table
from sandbox.servicenow.query import equality_values
from sandbox.servicenow.records import Incident, User
from sandbox.servicenow.store import ServiceNowStore

TITLES = {"agent": "Support Agent", "admin": "Account Manager", "customer": "", "integration": "Integration"}
STAGES = {"in_progress": "In progress", "paused": "Paused", "breached": "Breached", "completed": "Completed",
          "cancelled": "Cancelled"}


def _attr(name: str) -> Callable[[Any], str]:
    return lambda row: getattr(row, name)


def _time(name: str) -> Field:
    return Field(lambda row: sn_time(getattr(row, name)), "datetime")


def _system_columns(created: str, created_by: Callable[[Any], str] | None = None) -> dict[str, Field]:
    """sys_created_on/by, sys_updated_on/by, sys_mod_count and sys_tags of a record that never changes."""
    by = created_by or (lambda _row: "admin")
    return {
        "sys_created_on": _time(created), "sys_created_by": Field(by),
        "sys_updated_on": _time(created), "sys_updated_by": Field(by),
        "sys_mod_count": const("0", "integer"), "sys_tags": const(""),
    }


def _keyed_index(store: ServiceNowStore, column: str, children: Callable[[Incident], Iterable[Any]]):
    """An index that narrows a child table to the incidents a query pins by ``column``."""

    def index(parsed):
        wanted = equality_values(parsed, column)
        if wanted is None:
            return None
        incidents = (store.incidents.get(sys_id) for sys_id in sorted(wanted))
        return [row for incident in incidents if incident is not None for row in children(incident)], (), parsed
    return index


def _all_children(store: ServiceNowStore, children: Callable[[Incident], Iterable[Any]]):
    return lambda: (row for sys_id in store.creation_order for row in children(store.incidents[sys_id]))


def user_table(store: ServiceNowStore) -> Table:
    first = lambda row: row.name.partition(" ")[0]  # noqa: E731
    last = lambda row: row.name.partition(" ")[2]  # noqa: E731
    integration = lambda row: "true" if row.role == "integration" else "false"  # noqa: E731
    fields = {
        "sys_id": Field(_attr("sys_id")), "user_name": Field(_attr("user_name")), "name": Field(_attr("name")),
        "first_name": Field(first), "last_name": Field(last), "email": Field(_attr("email")),
        "title": Field(lambda row: TITLES.get(row.role, "")), "active": const("true", "boolean"),
        "locked_out": const("false", "boolean"), "vip": const("false", "boolean"),
        "department": const(""), "company": const(""), "phone": const(""), "mobile_phone": const(""),
        "time_zone": const("UTC", "choice", choices={"UTC": "UTC"}), "source": const(""),
        "internal_integration_user": Field(integration, "boolean"),
        "web_service_access_only": Field(integration, "boolean"),
        "notification": const("2", "choice", choices={"1": "Disabled", "2": "Enable"}),
        "sys_class_name": const("sys_user", "choice", choices={"sys_user": "User"}),
        "sys_domain": Field(const("global").get, "reference", ref="sys_user_group", display=lambda _r: "global"),
        **_system_columns("created_on"),
    }

    def index(parsed):
        for column, lookup in (("sys_id", store.users), ("user_name", store.users_by_name)):
            wanted = equality_values(parsed, column)
            if wanted is not None:
                return [lookup[v] for v in sorted(wanted) if v in lookup], (), parsed
        return None
    return Table("sys_user", fields, "name", rows=lambda: store.users.values(), by_id=store.users.get, index=index)


def group_table(store: ServiceNowStore) -> Table:
    fields = {
        "parent": const(""), "manager": const(""), "roles": const(""), "sys_mod_count": const("0", "integer"),
        "active": const("true", "boolean"),
        "description": Field(lambda row: f"{row.name} (deskbridge sandbox group '{row.logical}')"),
        "source": const(""), "sys_updated_on": _time("created_on"), "sys_tags": const(""), "type": const(""),
        "sys_id": Field(_attr("sys_id")), "sys_updated_by": const("admin"), "cost_center": const(""),
        "default_assignee": const(""), "sys_created_on": _time("created_on"), "name": Field(_attr("name")),
        "exclude_manager": const("false", "boolean"), "email": const(""),
        "include_members": const("false", "boolean"), "sys_created_by": const("admin"),
    }
    return Table("sys_user_group", fields, "name", rows=lambda: store.groups.values(), by_id=store.groups.get)


class Membership:
    """A row of sys_user_grmember: an agent in their group."""

    __slots__ = ("user", "group_id", "sys_id")

    def __init__(self, user: User, group_id: str):
        self.user, self.group_id = user, group_id
        self.sys_id = sys_id_for(f"sys_user_grmember-{group_id}-{user.sys_id}")


def membership_table(store: ServiceNowStore) -> Table:
    def rows():
        for user in store.users.values():
            group = store.groups_by_logical.get(user.group or "")
            if user.role == "agent" and group is not None:
                yield Membership(user, group.sys_id)
    fields = {
        "sys_id": Field(_attr("sys_id")), "group": Field(_attr("group_id"), "reference", ref="sys_user_group"),
        "user": Field(lambda row: row.user.sys_id, "reference", ref="sys_user"),
        **_system_columns("created_on"),
    }
    joined = Field(lambda row: sn_time(row.user.created_on), "datetime")
    fields.update({"sys_created_on": joined, "sys_updated_on": joined})
    by_id = lambda sys_id: next((row for row in rows() if row.sys_id == sys_id), None)  # noqa: E731
    return Table("sys_user_grmember", fields, "sys_id", rows=rows, by_id=by_id)


def company_table(store: ServiceNowStore) -> Table:
    fields = {
        "sys_id": Field(_attr("sys_id")), "name": Field(_attr("name")),
        "u_sf_account_id": Field(_attr("sf_account_id")), "customer": const("true", "boolean"),
        "vendor": const("false", "boolean"), "manufacturer": const("false", "boolean"), "parent": const(""),
        "notes": const(""), "phone": const(""), "street": const(""), "city": const(""), "state": const(""),
        "zip": const(""), "country": const(""), "website": const(""),
        **_system_columns("created_on"),
    }
    return Table("core_company", fields, "name", rows=lambda: store.companies.values(), by_id=store.companies.get)


def journal_table(store: ServiceNowStore) -> Table:
    children = lambda incident: incident.journal  # noqa: E731
    fields = {
        "sys_id": Field(_attr("sys_id")), "element": Field(_attr("element")),
        "element_id": Field(_attr("element_id")), "name": const("incident"), "value": Field(_attr("value")),
        "sys_created_on": _time("created_on"), "sys_created_by": Field(_attr("created_by")), "sys_tags": const(""),
    }
    return Table("sys_journal_field", fields, "value", rows=_all_children(store, children),
                 by_id=_scan_by_id(_all_children(store, children)),
                 index=_keyed_index(store, "element_id", children))


def audit_table(store: ServiceNowStore) -> Table:
    children = lambda incident: incident.audit  # noqa: E731
    fields = {
        "sys_id": Field(_attr("sys_id")), "tablename": const("incident"),
        "documentkey": Field(_attr("documentkey")), "fieldname": Field(_attr("fieldname")),
        "oldvalue": Field(_attr("oldvalue")), "newvalue": Field(_attr("newvalue")), "reason": const(""),
        "record_checkpoint": Field(lambda row: str(row.checkpoint), "integer"),
        "internal_checkpoint": Field(lambda row: f"{row.checkpoint:08x}{row.index:08x}"), "user": Field(_attr("user")),
        **_system_columns("created_on", lambda row: row.user),
    }
    return Table("sys_audit", fields, "fieldname", rows=_all_children(store, children),
                 by_id=_scan_by_id(_all_children(store, children)),
                 index=_keyed_index(store, "documentkey", children))


def _scan_by_id(rows: Callable[[], Iterable[Any]]) -> Callable[[str], Any | None]:
    return lambda sys_id: next((row for row in rows() if row.sys_id == sys_id), None)


class TaskSla:
    """A task_sla row, computed once per request from its incident and the sandbox clock."""

    __slots__ = ("incident", "definition", "sys_id", "_clock", "_store")

    def __init__(self, store: ServiceNowStore, incident: Incident, definition: sla.SlaDefinition):
        self._store, self.incident, self.definition = store, incident, definition
        self.sys_id = sla.task_sla_sys_id(incident.sys_id, definition.target)
        self._clock: sla.SlaClock | None = None

    @property
    def clock(self) -> sla.SlaClock:
        if self._clock is None:
            store = self._store
            now = truncate(store.ctx.clock.now())
            is_customer = lambda name: getattr(store.users_by_name.get(name), "role", "") == "customer"  # noqa: E731
            self._clock = sla.clock(self.incident, self.definition, now, is_customer)
        return self._clock


def task_sla_table(store: ServiceNowStore) -> Table:
    children = lambda incident: [TaskSla(store, incident, d) for d in sla.definitions_for(incident.priority)]  # noqa: E731
    c = lambda fn: (lambda row: fn(row.clock))  # noqa: E731
    duration = lambda fn: Field(c(lambda k: schedule.duration_value(fn(k))), "duration",  # noqa: E731
                                display=c(lambda k: schedule.duration_display(fn(k))))
    percent = lambda fn: Field(c(lambda k: f"{fn(k):.2f}"), "string")  # noqa: E731
    left = lambda k: max(0.0, k.definition.seconds - k.business_elapsed)  # noqa: E731
    fields = {
        "sys_id": Field(_attr("sys_id")),
        "task": Field(lambda row: row.incident.sys_id, "reference", ref="incident"),
        "sla": Field(c(lambda k: k.definition.sys_id), "reference", ref="contract_sla"),
        "stage": Field(c(lambda k: k.stage), "choice", choices=STAGES),
        "has_breached": Field(c(lambda k: "true" if k.breached else "false"), "boolean"),
        "active": Field(c(lambda k: "false" if k.stop else "true"), "boolean"),
        "start_time": Field(c(lambda k: sn_time(k.start)), "datetime"),
        "end_time": Field(c(lambda k: sn_time(k.stop)), "datetime"),
        "planned_end_time": Field(c(lambda k: sn_time(k.planned_end)), "datetime"),
        "original_breach_time": Field(c(lambda k: sn_time(k.planned_end)), "datetime"),
        "pause_time": Field(c(lambda k: sn_time(k.paused_since)), "datetime"),
        "business_percentage": percent(lambda k: 100 * k.business_elapsed / k.definition.seconds),
        "percentage": percent(lambda k: 100 * k.calendar_elapsed / k.definition.seconds),
        "business_time_left": duration(left),
        "time_left": duration(lambda k: max(0.0, (k.planned_end - k.now).total_seconds()) if not k.stop else 0),
        "business_duration": duration(lambda k: k.business_elapsed),
        "duration": duration(lambda k: k.calendar_elapsed),
        "business_pause_duration": duration(lambda k: k.business_paused),
        "pause_duration": duration(lambda k: k.calendar_paused),
        "schedule": const(sys_id_for("cmn_schedule-8-5"), "reference", ref="cmn_schedule"),
        "timezone": const("UTC"),
        "sys_created_on": Field(lambda row: sn_time(row.incident.opened_at), "datetime"),
        "sys_updated_on": Field(lambda row: sn_time(row.incident.updated_on), "datetime"),
        "sys_created_by": const("system"), "sys_updated_by": const("system"),
        "sys_mod_count": Field(lambda row: str(row.incident.mod_count), "integer"), "sys_tags": const(""),
    }
    rows = _all_children(store, children)
    return Table("task_sla", fields, "sla", rows=rows, by_id=_scan_by_id(rows),
                 index=_keyed_index(store, "task", children), cacheable=False)


def contract_sla_table() -> Table:
    rows = {definition.sys_id: definition for definition in sla.DEFINITIONS.values()}
    fields = {
        "sys_id": Field(_attr("sys_id")), "name": Field(_attr("name")), "target": Field(_attr("target")),
        "duration": Field(lambda row: schedule.duration_value(row.seconds), "duration",
                          display=lambda row: schedule.duration_display(row.seconds)),
        "schedule": const(sys_id_for("cmn_schedule-8-5"), "reference", ref="cmn_schedule"),
        "collection": const("incident"), "active": const("true", "boolean"), "type": const("SLA"),
        "start_condition": Field(lambda row: f"priority={row.priority}^EQ"),
        "pause_condition": Field(lambda row: "state=3^EQ" if row.target == "resolution" else ""),
        "sys_class_name": const("contract_sla"),
    }
    return Table("contract_sla", fields, "name", rows=lambda: rows.values(), by_id=rows.get)


class _Schedule:
    sys_id = sys_id_for("cmn_schedule-8-5")
    name = schedule.SCHEDULE_NAME


def schedule_table() -> Table:
    fields = {"sys_id": Field(_attr("sys_id")), "name": Field(_attr("name")), "time_zone": const("UTC"),
              "type": const(""), "description": const("Monday to Friday, 08:00-17:00 UTC, no holidays")}
    only = _Schedule()
    return Table("cmn_schedule", fields, "name", rows=lambda: [only],
                 by_id=lambda sys_id: only if sys_id == only.sys_id else None)


def label_table(store: ServiceNowStore) -> Table:
    owner = lambda row: getattr(store.users_by_name.get(row.created_by), "sys_id", "")  # noqa: E731
    fields = {
        "sys_id": Field(_attr("sys_id")), "name": Field(_attr("name")),
        "type": const("standard", "choice", choices={"standard": "Standard"}),
        "viewable_by": const("everyone", "choice", choices={"everyone": "Everyone"}),
        "active": const("true", "boolean"), "owner": Field(owner, "reference", ref="sys_user"),
        **_system_columns("created_on", lambda row: row.created_by),
    }

    def index(parsed):
        wanted = equality_values(parsed, "name")
        if wanted is None:
            return None
        return [label for label in (store.label_named(name) for name in sorted(wanted)) if label], (), parsed
    return Table("label", fields, "name", rows=lambda: store.labels.values(), by_id=store.labels.get, index=index)


def label_entry_table(store: ServiceNowStore) -> Table:
    number = lambda row: getattr(store.incidents.get(row.table_key), "number", "")  # noqa: E731
    fields = {
        "sys_id": Field(_attr("sys_id")), "label": Field(_attr("label_id"), "reference", ref="label"),
        "table": const("incident"), "table_key": Field(_attr("table_key")),
        "title": Field(lambda row: f"Incident - {number(row)}"),
        "url": Field(lambda row: f"incident.do?sys_id={row.table_key}"), "id_type": const("incident"),
        "read": const("yes"),
        **_system_columns("created_on", lambda row: row.created_by),
    }
    return Table("label_entry", fields, "title", rows=lambda: store.label_entries.values(),
                 by_id=store.label_entries.get,
                 index=_keyed_index(store, "table_key", lambda incident: incident.tags))


def build_catalog(store: ServiceNowStore) -> Catalog:
    """Register every table of the emulated instance on ``store.catalog``."""
    for table in (
        incident_table(store), user_table(store), group_table(store), membership_table(store),
        company_table(store), journal_table(store), audit_table(store), task_sla_table(store),
        contract_sla_table(), schedule_table(), label_table(store), label_entry_table(store),
    ):
        store.catalog.add(table)
    return store.catalog

