"""What the normalizer needs beside the incident rows, read in bulk: journal, audit, task_sla, users.

Every child query is keyed by incident sys_ids (IN lists chunked), so it can ride in whatever
Batch API call is going out anyway: the pull puts a page's children in the batch that fetches the
next page, and ``fetch_tickets`` puts the incidents and their children in one batch (both are
known from the ids asked for). Answers longer than one inner page are followed at the next offset.

Callers come with the incident row itself (``caller_id.user_name``, dot-walked: see
:data:`~connectors.servicenow.queries.CALLER_LOGIN`), so no user lookup is needed to tell a
customer's comment from an agent's. Journal authors are cached for the connector's lifetime;
those not cached yet cost one more batch, and only when the caller asks for names (the handoff
note's full history).
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
    CALLER_LOGIN,
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
    """One bulk query inside a batch: which table, what filter, which columns, filed under ``name``.

    ``follow``: a longer answer continues at the next offset (every row is wanted); without it the
    query is one page of ``limit`` rows (the pull's next incident page).
    """

    name: str  # journal | audits | slas | users | incidents | page | labels
    table: str
    query: str
    columns: tuple[str, ...]
    display: str = "false"
    limit: int = INNER_LIMIT
    follow: bool = True


class Rows(dict[str, list[dict[str, Any]]]):
    """Rows by query name, plus the match count (``X-Total-Count``) of each query's first answer."""

    def __init__(self) -> None:
        super().__init__()
        self.totals: dict[str, int | None] = {}


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


def caller_of(incident: dict[str, Any]) -> dict[str, Any] | None:
    """The caller as a user row, from the incident's own ``caller_id`` and dot-walked login."""
    sys_id, login = _value(incident.get("caller_id")), _value(incident.get(CALLER_LOGIN))
    if not sys_id or not login:
        return None
    shown = incident.get("caller_id")
    name = shown.get("display_value") if isinstance(shown, dict) else None
    return {"sys_id": sys_id, "user_name": login, "name": name or login}


class ChildReader:
    """Bulk reads in batches, and the journal authors' cache for the connector's lifetime."""

    def __init__(self, api: ServiceNowApi):
        self.api = api
        self._users_by_id: dict[str, dict[str, Any]] = {}
        self._users_by_login: dict[str, dict[str, Any]] = {}

    def assemble(self, incidents: Sequence[dict[str, Any]], rows: Rows, *, name_authors: bool = False) -> Children:
        """The children of ``incidents`` (raw rows in any display form) out of a batch's ``rows``.

        ``rows`` must hold :func:`child_queries` of these incidents. Journal authors not in the
        cache are looked up (one more batch) only with ``name_authors``.
        """
        wanted = {_value(row.get("sys_id")) for row in incidents} - {None}
        self._remember(c for c in map(caller_of, incidents) if c)
        out = Children()
        for name in ("journal", "audits", "slas"):
            target = getattr(out, name)
            for row in rows.get(name, []):
                owner = owner_of(row, name)
                if owner in wanted:
                    target.setdefault(owner, []).append(row)
        authors = {_value(r.get("sys_created_by")) for rs in out.journal.values() for r in rs}
        authors |= {_value(r.get("user")) for rs in out.audits.values() for r in rs}
        unknown = authors - set(self._users_by_login) - {None, "", "system", "guest"}
        if unknown and name_authors:
            self._remember(self.run(user_queries("user_name", unknown)).get("users", []))
        out.users = self._users_for(incidents, authors)
        return out

    def run(self, queries: Sequence[ChildQuery]) -> Rows:
        """Every row of every query, posting at most MAX_INNER inner GETs per batch and following offsets."""
        out = Rows()
        pending = [(q, 0) for q in queries]
        while pending:
            now, pending = pending[:MAX_INNER], pending[MAX_INNER:]
            inner = [InnerRequest(str(i), "GET", table_path(q.table, q.query, columns=q.columns, display=q.display,
                                                           limit=q.limit, offset=offset))
                     for i, (q, offset) in enumerate(now)]
            answers = self.api.read_batch(inner)
            for request, (query, offset) in zip(inner, now):
                if request.id not in answers:  # unserviced (the batch hit a limit): post it again
                    pending.append((query, offset))
                    continue
                rows, total = answers[request.id]
                out.setdefault(query.name, []).extend(rows)
                if offset == 0:
                    out.totals.setdefault(query.name, total)
                if query.follow and rows and total is not None and offset + len(rows) < total:
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
