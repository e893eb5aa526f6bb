"""Give parsed JQL its meaning over :class:`IssueRecord`s: filter, order and page.

Dates are compared at the instant JQL names ("yyyy/MM/dd HH:mm" is minute
granularity, in the integration user's time zone, UTC), so a cursor truncated
to the minute re-reads the overlap, as against real Jira Cloud. Paging is
keyset: ``nextPageToken`` carries the sort key of the last issue served, so an
issue that moves while a client pages is read again later rather than
skipped, and a token is bound to the JQL it was issued for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sandbox.jira import catalog
from sandbox.jira.jql import EMPTY, BoolOp, Clause, JqlError, Not, Query
from sandbox.jira.records import IssueRecord

Predicate = Callable[[IssueRecord], bool]
SortKey = tuple[int, ...]

UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_PERIOD = re.compile(r"^([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")
_PRIORITY_RANK = {name: -int(pid) for name, pid in catalog.PRIORITIES.items()}  # Highest ranks highest


def no_field(name: str) -> JqlError:
    return JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")


def compile_where(query: Query, now: datetime, key_to_n: Callable[[str], int | None]) -> Predicate:
    """A predicate for the query's WHERE part; raises JqlError for values Jira would reject."""
    if query.where is None:
        raise JqlError(UNBOUNDED)
    return _compile(query.where, now, key_to_n)


def _compile(node, now: datetime, key_to_n) -> Predicate:
    if isinstance(node, BoolOp):
        parts = [_compile(p, now, key_to_n) for p in node.parts]
        if node.op == "and":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    if isinstance(node, Not):
        inner = _compile(node.part, now, key_to_n)
        return lambda r: not inner(r)
    return _clause(node, now, key_to_n)


def _clause(c: Clause, now: datetime, key_to_n) -> Predicate:
    field = c.field
    if field == "project":
        known = (catalog.PROJECT["key"].lower(), catalog.PROJECT["id"], catalog.PROJECT["name"].lower())
        for v in c.values:
            if v is not EMPTY and str(v).lower() not in known:
                raise JqlError(f"The value '{v}' does not exist for the field 'project'.")
        project_key = catalog.PROJECT["key"]
        return _single(c, lambda r: project_key, {project_key})
    if field == "status":
        names = {_status_name(v, field) for v in c.values if v is not EMPTY}
        return _single(c, lambda r: r.status.lower(), names)
    if field == "priority":
        names = {_priority_name(v, field) for v in c.values if v is not EMPTY}
        return _single(c, lambda r: r.priority.lower(), names)
    if field in ("assignee", "reporter"):
        wanted = {str(v).lower() for v in c.values if v is not EMPTY}
        return _single(c, lambda r: (getattr(r, field) or "").lower() or None, wanted)
    if field == "labels":
        return _labels(c)
    if field in ("key", "issuekey", "id", "issue"):
        wanted = {_issue_n(v, field, key_to_n) for v in c.values}
        return _single(c, lambda r: r.n, wanted)
    if field in ("updated", "updateddate", "created", "createddate", "resolved", "resolutiondate"):
        return _date(c, now)
    raise no_field(field)


def _single(c: Clause, get: Callable[[IssueRecord], object], wanted: set) -> Predicate:
    """=, !=, IN, NOT IN, IS [NOT] EMPTY over a single-valued field (an empty value never matches != / NOT IN)."""
    if c.op in ("is", "is not"):
        if c.values[0] is not EMPTY:
            raise JqlError(f"The operator '{c.op.upper()}' only supports EMPTY or NULL")
        return (lambda r: get(r) is None) if c.op == "is" else (lambda r: get(r) is not None)
    if c.op in ("=", "in"):
        return lambda r: get(r) in wanted
    if c.op in ("!=", "not in"):
        return lambda r: (value := get(r)) is not None and value not in wanted
    raise JqlError(f"The operator '{c.op}' is not supported by the '{c.field}' field.")


def _labels(c: Clause) -> Predicate:
    wanted = {str(v).lower() for v in c.values if v is not EMPTY}
    if c.op in ("is", "is not"):
        return (lambda r: not r.labels) if c.op == "is" else (lambda r: bool(r.labels))
    if c.op in ("=", "in"):
        return lambda r: any(label.lower() in wanted for label in r.labels)
    if c.op in ("!=", "not in"):
        return lambda r: bool(r.labels) and not any(label.lower() in wanted for label in r.labels)
    raise JqlError(f"The operator '{c.op}' is not supported by the 'labels' field.")


def _date(c: Clause, now: datetime) -> Predicate:
    attr = {"updateddate": "updated", "createddate": "created", "resolved": "resolutiondate"}.get(c.field, c.field)
    if c.op in ("is", "is not"):
        if attr != "resolutiondate":
            return (lambda r: False) if c.op == "is" else (lambda r: True)
        return (lambda r: r.resolutiondate is None) if c.op == "is" else (lambda r: r.resolutiondate is not None)
    instants = [parse_date(str(v), c.field, now) for v in c.values if v is not EMPTY]
    compare = {
        "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    }
    if c.op in ("in", "not in"):
        wanted = set(instants)
        return (lambda r: getattr(r, attr) in wanted) if c.op == "in" else (lambda r: getattr(r, attr) not in wanted)
    if c.op not in compare:
        raise JqlError(f"The operator '{c.op}' is not supported by the '{c.field}' field.")
    test, instant = compare[c.op], instants[0]
    return lambda r: (value := getattr(r, attr)) is not None and test(value, instant)


def parse_date(text: str, field: str, now: datetime) -> datetime:
    """A JQL date value: absolute (to the minute, UTC) or a period relative to now ("-5m", "-1d 2h")."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    period = _PERIOD.match(text.strip())
    if period:
        units = {"w": 604800, "d": 86400, "h": 3600, "m": 60}
        seconds = sum(int(n) * units[u] for n, u in re.findall(r"(\d+)\s*([wdhm])", period.group(2)))
        return now + timedelta(seconds=-seconds if period.group(1) == "-" else seconds)
    raise JqlError(
        f"Date value '{text}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def _status_name(value, field: str) -> str:
    text = str(value).lower()
    for name, (status_id, _) in catalog.STATUSES.items():
        if text in (name.lower(), status_id):
            return name.lower()
    raise JqlError(f"The value '{value}' does not exist for the field '{field}'.")


def _priority_name(value, field: str) -> str:
    text = str(value).lower()
    for name, priority_id in catalog.PRIORITIES.items():
        if text in (name.lower(), priority_id):
            return name.lower()
    raise JqlError(f"The value '{value}' does not exist for the field '{field}'.")


def _issue_n(value, field: str, key_to_n) -> int:
    text = str(value)
    if text.isdigit():
        n = int(text) - 10000
        if key_to_n(f"{catalog.PROJECT['key']}-{n}") is None:
            raise JqlError(f"An issue with key '{text}' does not exist for field '{field}'.")
        return n
    if not _KEY.match(text):
        raise JqlError(f"The issue key '{text}' for field '{field}' is invalid.")
    n = key_to_n(text.upper())
    if n is None:
        raise JqlError(f"An issue with key '{text}' does not exist for field '{field}'.")
    return n


def _millis(instant: datetime | None) -> int:
    return -1 if instant is None else int(instant.timestamp() * 1000)


_ORDER_FIELDS: dict[str, Callable[[IssueRecord], int]] = {
    "updated": lambda r: _millis(r.updated),
    "created": lambda r: _millis(r.created),
    "resolved": lambda r: _millis(r.resolutiondate),
    "resolutiondate": lambda r: _millis(r.resolutiondate),
    "priority": lambda r: _PRIORITY_RANK.get(r.priority, 0),
    "key": lambda r: r.n,
    "issuekey": lambda r: r.n,
    "id": lambda r: r.n,
}


def sort_key_function(query: Query) -> Callable[[IssueRecord], SortKey]:
    """The total order the query asks for (default key DESC); issue number breaks ties."""
    order = list(query.order) or [("key", True)]
    getters = []
    for name, descending in order:
        if name not in _ORDER_FIELDS:
            raise no_field(name)
        getters.append((_ORDER_FIELDS[name], -1 if descending else 1))
    if not any(name in ("key", "issuekey", "id") for name, _ in order):
        getters.append((_ORDER_FIELDS["key"], 1))
    return lambda r: tuple(sign * get(r) for get, sign in getters)


def run(records: Iterable[IssueRecord], predicate: Predicate, sort_key) -> tuple[list[SortKey], list[IssueRecord]]:
    """Every matching record in order, with its sort key (for keyset paging)."""
    rows = sorted(((sort_key(r), r) for r in records if predicate(r)), key=lambda pair: pair[0])
    return [k for k, _ in rows], [r for _, r in rows]


def page(keys: list[SortKey], rows: list[IssueRecord], after: SortKey | None, size: int):
    """One page after ``after`` and the sort key of its last row when more follow, else None."""
    start = 0 if after is None else bisect_right(keys, after)
    chunk = rows[start:start + size]
    more = start + size < len(rows)
    return chunk, (keys[start + size - 1] if more else None)


def _query_hash(jql: str) -> str:
    return hashlib.sha1(jql.strip().encode()).hexdigest()[:12]


def encode_token(jql: str, key: SortKey) -> str:
    """An opaque nextPageToken bound to the JQL text."""
    raw = json.dumps({"q": _query_hash(jql), "k": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(jql: str, token: str) -> SortKey:
    """The sort key a token continues after; ValueError when it is not one of ours for this JQL."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if raw["q"] != _query_hash(jql):
            raise ValueError("token issued for another query")
        return tuple(int(v) for v in raw["k"])
    except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError, base64.binascii.Error) as exc:
        raise ValueError("malformed token") from exc
