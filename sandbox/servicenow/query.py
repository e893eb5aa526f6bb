"""ServiceNow encoded queries (``sysparm_query``): parse once, then test rows and order them.

An encoded query is ``^``-joined terms: ``field<op>value`` conditions, ``^OR``
alternatives that bind to the condition just before them, ``^NQ`` that starts a
new OR-ed group, and ``ORDERBY<field>`` / ``ORDERBYDESC<field>`` (pysnc may send
two). Like a real instance with the default ``glide.invalid_query.returns_no_rows
= false``, a condition on a field the table does not have is dropped rather than
failing the query: :func:`prune` does that per table.
See https://www.servicenow.com/docs/r/platform-user-interface/r_OpAvailableFiltersQueries.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# Longer spellings first where one is a prefix of another ("NOT IN" before "IN", ">=" before ">").
OPERATORS = (
    "ISNOTEMPTY", "ISEMPTY", "EMPTYSTRING", "ANYTHING", "NOT IN", "NOT LIKE", "NOTLIKE",
    "IN", "LIKE", "STARTSWITH", "ENDSWITH", "BETWEEN", ">=", "<=", "!=", "=", ">", "<",
)
_VALUELESS = {"ISNOTEMPTY", "ISEMPTY", "EMPTYSTRING", "ANYTHING"}
_CONDITION = re.compile(
    r"^(?P<field>[A-Za-z0-9_.]+?)(?P<op>" + "|".join(re.escape(op) for op in OPERATORS) + r")(?P<value>.*)$",
    re.DOTALL,
)
_DATE_GENERATE = re.compile(r"javascript:gs\.dateGenerate\('(\d{4}-\d{2}-\d{2})'\s*,\s*'(\d{2}:\d{2}:\d{2})'\)")
_ESCAPED_CARET = "\x00"


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``field<op>value`` test."""

    field: str
    op: str
    value: str


Term = tuple[Condition, ...]  # alternatives joined by ^OR
Group = tuple[Term, ...]  # terms joined by ^ (AND)


@dataclass(frozen=True)
class EncodedQuery:
    """A parsed query: OR-ed groups of AND-ed terms, plus the requested ordering."""

    groups: tuple[Group, ...] = ()
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    ignored: tuple[str, ...] = field(default=())  # terms that were not understood

    def conditions(self) -> Iterable[Condition]:
        """Every condition, in order."""
        for group in self.groups:
            for term in group:
                yield from term


def parse(text: str | None) -> EncodedQuery:
    """Parse ``sysparm_query``; terms that are not conditions or orderings are kept in ``ignored``."""
    if not text:
        return EncodedQuery()
    text = text.replace("^^", _ESCAPED_CARET)
    groups: list[Group] = []
    order: list[tuple[str, bool]] = []
    ignored: list[str] = []
    for raw_group in text.split("^NQ"):
        terms: list[list[Condition]] = []
        for raw in raw_group.split("^"):
            raw = raw.replace(_ESCAPED_CARET, "^")
            if _parse_ordering(raw, order) or raw in ("", "EQ") or raw.startswith("GROUPBY"):
                continue
            is_or = raw.startswith("OR")
            condition = _parse_condition(raw[2:] if is_or else raw)
            if condition is None:
                ignored.append(raw)
            elif is_or and terms:
                terms[-1].append(condition)
            else:
                terms.append([condition])
        if terms:
            groups.append(tuple(tuple(term) for term in terms))
    return EncodedQuery(tuple(groups), tuple(order), tuple(ignored))


def _parse_ordering(raw: str, order: list[tuple[str, bool]]) -> bool:
    if raw.startswith("ORDERBYDESC"):
        order.append((raw[len("ORDERBYDESC"):], True))
        return True
    if raw.startswith("ORDERBY"):
        order.append((raw[len("ORDERBY"):], False))
        return True
    return False


def _parse_condition(raw: str) -> Condition | None:
    match = _CONDITION.match(raw)
    if match is None:
        return None
    op = "NOT LIKE" if match["op"] == "NOTLIKE" else match["op"]
    value = match["value"]
    if op in _VALUELESS:
        value = ""
    generated = _DATE_GENERATE.fullmatch(value)
    if generated:
        value = f"{generated[1]} {generated[2]}"
    return Condition(match["field"], op, value)


def prune(query: EncodedQuery, is_known: Callable[[str], bool]) -> EncodedQuery:
    """Drop conditions and orderings on fields the table does not have, as the instance does."""
    groups: list[Group] = []
    ignored = list(query.ignored)
    for group in query.groups:
        terms: list[Term] = []
        for term in group:
            kept = tuple(c for c in term if is_known(c.field))
            ignored.extend(f"{c.field}{c.op}{c.value}" for c in term if not is_known(c.field))
            if kept:
                terms.append(kept)
        groups.append(tuple(terms))
    # A group whose every term was dropped matches everything, like an empty query.
    order = tuple((name, desc) for name, desc in query.order if is_known(name))
    return EncodedQuery(tuple(groups), order, tuple(ignored))


Getter = Callable[[str], str]


def matches(query: EncodedQuery, value_of: Getter) -> bool:
    """True when the row whose field values ``value_of`` returns satisfies the query."""
    if not query.groups:
        return True
    return any(all(any(_test(c, value_of(c.field)) for c in term) for term in group) for group in query.groups)


def _test(condition: Condition, actual: str) -> bool:
    op, wanted = condition.op, condition.value
    if op == "ANYTHING":
        return True
    if op in ("ISEMPTY", "EMPTYSTRING"):
        return actual == ""
    if op == "ISNOTEMPTY":
        return actual != ""
    low, want = actual.lower(), wanted.lower()
    if op == "=":
        return low == want
    if op == "!=":
        return low != want
    if op in ("IN", "NOT IN"):
        found = low in {part.strip().lower() for part in wanted.split(",")}
        return found if op == "IN" else not found
    if op == "LIKE":
        return want in low
    if op == "NOT LIKE":
        return want not in low
    if op == "STARTSWITH":
        return low.startswith(want)
    if op == "ENDSWITH":
        return low.endswith(want)
    if actual == "":
        return False  # an empty value is NULL in the database: no ordering comparison holds
    if op == "BETWEEN":
        low_bound, _, high_bound = wanted.partition("@")
        return _compare(actual, low_bound) >= 0 and _compare(actual, high_bound) <= 0
    result = _compare(actual, wanted)
    return {">": result > 0, ">=": result >= 0, "<": result < 0, "<=": result <= 0}[op]


def _compare(left: str, right: str) -> int:
    """Numbers compare as numbers, everything else (dates included: fixed format) as text."""
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    left, right = left.lower(), right.lower()
    return (left > right) - (left < right)


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "")) if text and text[0] in "-0123456789" else None
    except ValueError:
        return None


def sort_key(value: str) -> tuple:
    """Ordering of one field value: empty first (NULL), then numbers, then text."""
    if value == "":
        return (0, 0.0, "")
    number = _number(value)
    if number is not None:
        return (1, number, "")
    return (2, 0.0, value.lower())


def order_rows(rows: list, order: Sequence[tuple[str, bool]], value_of: Callable[[object, str], str]) -> list:
    """Sort ``rows`` by the ORDERBY terms (first term most significant); stable otherwise."""
    for name, descending in reversed(order):
        rows.sort(key=lambda row, name=name: sort_key(value_of(row, name)), reverse=descending)
    return rows


def equality_values(query: EncodedQuery, field_name: str) -> set[str] | None:
    """The values ``field_name`` must take when the query pins it with ``=`` or ``IN`` in every match.

    Used to pick index candidates; None when the query does not pin the field.
    """
    if len(query.groups) != 1:
        return None
    for term in query.groups[0]:
        if len(term) == 1 and term[0].field == field_name and term[0].op in ("=", "IN"):
            condition = term[0]
            parts = condition.value.split(",") if condition.op == "IN" else [condition.value]
            return {part.strip() for part in parts}
    return None


def range_bounds(query: EncodedQuery, field_name: str) -> tuple[str | None, str | None] | None:
    """Inclusive lower/upper bounds the query puts on ``field_name`` (AND-ed single terms only)."""
    if len(query.groups) != 1:
        return None
    low: str | None = None
    high: str | None = None
    for term in query.groups[0]:
        if len(term) != 1 or term[0].field != field_name:
            continue
        op, value = term[0].op, term[0].value
        if op in (">", ">=") and (low is None or value > low):
            low = value
        elif op in ("<", "<=") and (high is None or value < high):
            high = value
    if low is None and high is None:
        return None
    return low, high
