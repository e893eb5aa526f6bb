"""What the normalizer needs beside the incident rows, read in bulk: journal, audit, task_sla, users.

One Batch API POST per page of incidents carries every child query (each IN list chunked), so a
page costs two calls (the incident GET and this batch) whatever its size; answers longer than one
inner page are followed with more inner GETs at the next offset. Users (callers and journal authors,
needed to tell a customer's comment from an agent's and to name authors) are cached for the
connector's lifetime. Callers ride in the same batch; authors not yet cached cost one more batch,
and only when the caller asks for names (the handoff note's full history).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.servicenow.batch import MAX_INNER, InnerRequest
from connectors.servicenow.client import ServiceNowApi
from connectors.servicenow.queries import (
    AUDIT_COLUMNS,
    AUDITED_FIELDS,
    JOURNAL_COLUMNS,
    SLA_COLUMNS,
    USER_COLUMNS,
    chunks,
    in_query,
    table_path,
)

ID_CHUNK = 100  # sys_ids per IN list: about 3,300 characters of query
INNER_LIMIT = 5000  # rows per inner GET; longer answers continue at the next offset


@dataclass(frozen=True)
class ChildQuery:
    """One bulk child query: which table, what filter, which columns, keyed by which column."""

    name: str  # journal | audits | slas | users
    table: str
    query: str
    columns: tuple[str, ...]
    display: str = "false"


@dataclass
class Children:
    """Child rows by incident sys_id, plus the user rows the normalizer resolves people with."""

    journal: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    slas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)


def child_queries(sys_ids: Sequence[str]) -> list[ChildQuery]:
    """The journal, audit and task_sla queries for these incidents, IN lists chunked."""
    out = []
    for part in chunks(sys_ids, ID_CHUNK):
        out += [
            ChildQuery("journal", "sys_journal_field",
                       in_query("element_id", part, "elementINcomments,work_notes", "name=incident",
                                "ORDERBYsys_created_on", "ORDERBYsys_id"), JOURNAL_COLUMNS),
            ChildQuery("audits", "sys_audit",
                       in_query("documentkey", part, f"fieldnameIN{','.join(AUDITED_FIELDS)}",
                                "ORDERBYsys_created_on", "ORDERBYsys_id"), AUDIT_COLUMNS),
            # display values: the SLA definition's name only comes as the reference's display value
            ChildQuery("slas", "task_sla", in_query("task", part, "ORDERBYsys_id"), SLA_COLUMNS, display="all"),
        ]
    return out


def user_queries(column: str, values: Iterable[str]) -> list[ChildQuery]:
    wanted = sorted({v for v in values if v})
    return [ChildQuery("users", "sys_user", in_query(column, part, "ORDERBYsys_id"), ("sys_id", *USER_COLUMNS))
            for part in chunks(wanted, ID_CHUNK)]


def owner_of(row: dict[str, Any], name: str) -> str | None:
    """The incident a child row belongs to."""
    column = {"journal": "element_id", "audits": "documentkey", "slas": "task"}[name]
    value = row.get(column)
    return value.get("value") if isinstance(value, dict) else value


class ChildReader:
    """Bulk child reads for pages of incidents, with a user cache for the connector's lifetime."""

    def __init__(self, api: ServiceNowApi):
        self.api = api
        self._users_by_id: dict[str, dict[str, Any]] = {}
        self._users_by_login: dict[str, dict[str, Any]] = {}

    def read(self, incidents: Sequence[dict[str, Any]], *, name_authors: bool = False) -> Children:
        """Journal, audits, task_slas and users for ``incidents`` (raw rows in any display form).

        Callers are always resolved (they tell a customer's comment from an agent's). Journal authors
        not in the cache are looked up only with ``name_authors`` (the handoff note names them).
        """
        sys_ids = [_value(row.get("sys_id")) for row in incidents]
        sys_ids = [s for s in sys_ids if s]
        callers = {_value(row.get("caller_id")) for row in incidents} - set(self._users_by_id) - {None, ""}
        queries = child_queries(sys_ids) + user_queries("sys_id", callers)  # type: ignore[arg-type]
        rows = self.run(queries)
        self._remember(rows.get("users", []))
        out = Children()
        for name in ("journal", "audits", "slas"):
            target = getattr(out, name)
            for row in rows.get(name, []):
                owner = owner_of(row, name)
                if owner:
                    target.setdefault(owner, []).append(row)
        authors = {_value(r.get("sys_created_by")) for r in rows.get("journal", [])}
        authors |= {_value(r.get("user")) for r in rows.get("audits", [])}
        unknown = authors - set(self._users_by_login) - {None, "", "system", "guest"}
        if unknown and name_authors:
            self._remember(self.run(user_queries("user_name", unknown)).get("users", []))
        out.users = self._users_for(incidents, authors)
        return out

    def run(self, queries: Sequence[ChildQuery]) -> dict[str, list[dict[str, Any]]]:
        """Every row of every query, posting at most MAX_INNER inner GETs per batch and following offsets."""
        out: dict[str, list[dict[str, Any]]] = {}
        pending = [(q, 0) for q in queries]
        while pending:
            now, pending = pending[:MAX_INNER], pending[MAX_INNER:]
            inner = [InnerRequest(str(i), "GET", table_path(q.table, q.query, columns=q.columns, display=q.display,
                                                           limit=INNER_LIMIT, offset=offset))
                     for i, (q, offset) in enumerate(now)]
            answers = self.api.read_batch(inner)
            for request, (query, offset) in zip(inner, now):
                if request.id not in answers:  # unserviced (the batch hit a limit): post it again
                    pending.append((query, offset))
                    continue
                rows, total = answers[request.id]
                out.setdefault(query.name, []).extend(rows)
                if rows and total is not None and offset + len(rows) < total:
                    pending.append((query, offset + len(rows)))
        return out

    def _remember(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            sys_id, login = _value(row.get("sys_id")), _value(row.get("user_name"))
            if sys_id:
                self._users_by_id[sys_id] = row
            if login:
                self._users_by_login[login] = row

    def _users_for(self, incidents: Sequence[dict[str, Any]], authors: set[str | None]) -> list[dict[str, Any]]:
        found = {id(r): r for r in (self._users_by_id.get(_value(i.get("caller_id")) or "") for i in incidents) if r}
        found |= {id(r): r for r in (self._users_by_login.get(a or "") for a in authors) if r}
        return list(found.values())


def _value(field: Any) -> str | None:
    value = field.get("value") if isinstance(field, dict) else field
    return str(value) if value not in (None, "") else None
