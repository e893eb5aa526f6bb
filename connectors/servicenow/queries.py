"""Encoded queries, field lists and the pull cursor for the ServiceNow connector. Pure: no I/O.

Encoded-query semantics relied on
(https://www.servicenow.com/docs/r/platform-user-interface/r_OpAvailableFiltersQueries.html):
``a^b`` is AND, ``^OR`` binds to the condition just before it (``a^b^ORc`` = a AND (b OR c)), and several
``ORDERBY`` terms sort by the first, then the next. ``sys_updated_on`` raw values are UTC, whole seconds,
``YYYY-MM-DD HH:MM:SS``, so comparing them as text is comparing instants.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from core.mapping import ServiceNowMapping
from core.mapping_parts import FieldDecision

SN_TIME = "%Y-%m-%d %H:%M:%S"
CURSOR_PREFIX = "sn1"
# pysnc appends ^ORDERBYsys_id itself (its default order) unless order_by() is called: the pair gives a total order.
ORDER = "ORDERBYsys_updated_on"
TIEBREAK = "ORDERBYsys_id"  # what pysnc appends; inner requests of a batch carry it themselves

# Columns the normalizer reads from an incident (the mapping's custom columns are added to these).
# The journal columns (comments, work_notes) are left out: the conversation comes from sys_journal_field.
INCIDENT_COLUMNS = (
    "number", "short_description", "description", "state", "hold_reason", "priority", "impact", "urgency",
    "category", "caller_id", "company", "assigned_to", "assignment_group", "opened_at", "sys_created_on",
    "sys_updated_on", "sys_mod_count", "resolved_at", "closed_at", "sys_tags",
)
JOURNAL_COLUMNS = ("element", "element_id", "name", "value", "sys_created_on", "sys_created_by")
# Only the columns that become history events; journal columns are audited too but would only bloat the answer.
AUDITED_FIELDS = ("state", "hold_reason", "assignment_group", "assigned_to", "priority")
AUDIT_COLUMNS = ("documentkey", "fieldname", "oldvalue", "newvalue", "sys_created_on", "user")
SLA_COLUMNS = ("task", "sla", "stage", "has_breached", "start_time", "end_time", "planned_end_time", "time_left")
USER_COLUMNS = ("user_name", "name", "email")
# The caller's login, dot-walked on the incident row: it tells the caller's journal entries (which name
# their author by login) from the agents' without a sys_user lookup.
CALLER_LOGIN = "caller_id.user_name"
# What a write needs to know right before writing: the concurrency token, plus what "raise, never lower"
# and "add tags only" compare with.
TOKEN_COLUMNS = ("sys_mod_count", "sys_updated_on", "priority", "sys_tags")


def sn_time(moment: datetime) -> str:
    """An aware instant as a raw ServiceNow date-time (UTC, whole seconds)."""
    return moment.astimezone(UTC).strftime(SN_TIME)


def parse_sn_time(text: str) -> datetime:
    """A raw ServiceNow date-time (UTC) as an aware instant; ValueError when it is not one."""
    return datetime.strptime(text, SN_TIME).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """The last incident fully returned by a pull, in (sys_updated_on, sys_id) order.

    Serialized as ``sn1|<sys_updated_on raw>|<sys_id>``. A resumed pull starts ``overlap`` before
    ``updated_on`` (records that commit late can carry an earlier stamp) and relies on
    de-duplication on (sys_id, sys_updated_on) for what it sees again.
    """

    updated_on: str
    sys_id: str

    def encode(self) -> str:
        return f"{CURSOR_PREFIX}|{self.updated_on}|{self.sys_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        parts = text.split("|")
        if len(parts) != 3 or parts[0] != CURSOR_PREFIX or not parts[2]:
            expected = f"{CURSOR_PREFIX}|<sys_updated_on>|<sys_id>"
            raise ValueError(f"not a ServiceNow cursor (expected '{expected}'): {text!r}")
        parse_sn_time(parts[1])
        return cls(parts[1], parts[2])


def window_start(cursor: Cursor | None, start: datetime, overlap: timedelta) -> str:
    """Where a pull begins: ``start`` on a first run, else the cursor's stamp minus the overlap."""
    if cursor is None:
        return sn_time(start)
    return sn_time(parse_sn_time(cursor.updated_on) - overlap)


def since_query(since: str) -> str:
    """Every incident updated at or after ``since``, in (sys_updated_on, sys_id) order."""
    return f"sys_updated_on>={since}^{ORDER}"


def after_query(last: Cursor) -> str:
    """Keyset continuation: strictly after ``last`` in (sys_updated_on, sys_id) order.

    ``sys_updated_on>=T ^ (sys_updated_on>T OR sys_id>ID)``: equal stamps are split by sys_id, so a
    thousand incidents updated in one second still page without loss or repeat, and an incident
    updated while we page (our own write, say) moves behind us instead of shifting an offset.
    """
    t, sys_id = last.updated_on, last.sys_id
    return f"sys_updated_on>={t}^sys_updated_on>{t}^ORsys_id>{sys_id}^{ORDER}"


def ordered(query: str) -> str:
    """``query`` with the sys_id tie-break pysnc appends to its own GETs, for a page read inside a batch."""
    return f"{query}^{TIEBREAK}"


def in_query(column: str, values: Iterable[str], *extra: str) -> str:
    """``columnIN<a,b,...>`` plus further AND-ed terms."""
    return "^".join([f"{column}IN{','.join(values)}", *extra])


def chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    """``values`` in lists of at most ``size`` (IN lists stay short: pysnc moves queries over ~10,000 chars
    to the Batch API on its own, and instances cap URL length)."""
    for at in range(0, len(values), size):
        yield list(values[at:at + size])


def incident_columns(mapping: ServiceNowMapping) -> list[str]:
    """The incident columns to ask for: the normalizer's, plus the mapping's custom ones."""
    f = mapping.fields
    custom = [ref.field for ref in (f.product_area, f.escalation_flag, f.customer_escalation_request,
                                    f.salesforce_account_id) if ref is not None]
    custom += list(f.extra.values())
    if isinstance(mapping.supervisor_decision, FieldDecision):
        custom.append(mapping.supervisor_decision.field)
    return list(dict.fromkeys(["sys_id", *INCIDENT_COLUMNS, CALLER_LOGIN, *custom]))


def table_path(table: str, query: str | None = None, *, columns: Sequence[str] = (), display: str = "false",
               limit: int | None = None, offset: int = 0, input_display: bool = False) -> str:
    """A Table API path with its parameters (for Batch API inner requests).

    ``input_display``: the body's reference values are display values (``sysparm_input_display_value``),
    e.g. a ``label_entry`` naming a tag created earlier in the same batch by its name.
    """
    params: dict[str, str] = {}
    if input_display:
        params["sysparm_input_display_value"] = "true"
    if query:
        params["sysparm_query"] = query
    if columns:
        params["sysparm_fields"] = ",".join(columns)
    params["sysparm_display_value"] = display
    params["sysparm_exclude_reference_link"] = "true"
    params["sysparm_suppress_pagination_header"] = "true"
    if limit is not None:
        params["sysparm_limit"] = str(limit)
        params["sysparm_offset"] = str(offset)
    return f"/api/now/table/{table}?{urlencode(params)}"


def record_path(table: str, sys_id: str, *, columns: Sequence[str] = ()) -> str:
    """The path of one record (PATCH target), answering only ``columns``."""
    params = {"sysparm_fields": ",".join(columns)} if columns else {}
    suffix = f"?{urlencode(params)}" if params else ""
    return f"/api/now/table/{table}/{sys_id}{suffix}"
