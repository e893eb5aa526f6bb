"""Run a parsed SOQL query against rows: check names and literal types, filter, sort, project.

Binding mirrors the real error codes: an unknown sObject is ``INVALID_TYPE``,
an unknown field or relationship ``INVALID_FIELD``, a wrongly typed literal
``INVALID_FIELD`` and a malformed id ``INVALID_QUERY_FILTER_OPERATOR`` (so
one bad id in an IN list fails the whole query, as it does in Salesforce).
Semantics follow SOQL: text compares case-insensitively, ids on their first
15 characters, ``!=`` and ``NOT IN`` include nulls, nulls sort first unless
``NULLS LAST``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import soql
from .ids import is_valid_id
from .records import Row, attributes, render_value
from .schema import FieldDef, ObjectDef, Relationship, find_object
from .soql import SoqlError, located

MAX_OFFSET = 2000
Resolve = Callable[[str], "Row | None"]  # a parent id -> its row (any sObject), or None


@dataclass(frozen=True)
class FieldPath:
    """A resolved field: directly on the row, or on the parent reached through ``relationship``."""

    relationship: Relationship | None
    field: FieldDef


@dataclass(frozen=True)
class Predicate:
    """A leaf condition with values already converted to the field's kind. op: = != < <= > >= LIKE IN NOTIN."""

    path: FieldPath
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class BoundNot:
    operand: "Bound"


@dataclass(frozen=True)
class BoundJunction:
    op: str
    operands: tuple["Bound", ...]


Bound = Predicate | BoundNot | BoundJunction


@dataclass(frozen=True)
class Plan:
    """A query checked against the schema and ready to run."""

    obj: ObjectDef
    select: tuple[FieldPath, ...]
    count_only: bool
    where: Bound | None
    order_by: tuple[tuple[FieldPath, bool, bool], ...]  # (path, descending, nulls_last)
    limit: int | None
    offset: int | None


def plan(text: str) -> Plan:
    """Parse and bind a SOQL string, raising :class:`SoqlError` exactly where Salesforce would."""
    query = soql.parse(text)
    obj = find_object(query.sobject.text)
    if obj is None:
        raise SoqlError("INVALID_TYPE", located(text, query.sobject.pos, (
            f"sObject type '{query.sobject.text}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your WSDL or the "
            "describe call for the appropriate names.")))
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
    binder = _Binder(text, obj)
    return Plan(
        obj=obj,
        select=tuple(binder.path(p) for p in query.fields),
        count_only=query.count_only,
        where=binder.condition(query.where) if query.where is not None else None,
        order_by=tuple((binder.path(o.path), o.descending, o.nulls_last) for o in query.order_by),
        limit=query.limit,
        offset=query.offset,
    )


class _Binder:
    def __init__(self, text: str, obj: ObjectDef):
        self.text, self.obj = text, obj

    def path(self, path: soql.Path) -> FieldPath:
        *hops, name = path.parts
        relationship, obj = None, self.obj
        if hops:
            relationship = obj.find_relationship(hops[0])
            if relationship is None or len(hops) > 1:
                self.unknown_relationship(path, hops[1] if relationship else hops[0])
            obj = find_object(relationship.target)  # type: ignore[union-attr,assignment]
        field = obj.find_field(name)
        if field is None:
            raise SoqlError("INVALID_FIELD", located(self.text, path.pos, (
                f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, "
                "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                "describe call for the appropriate names.")))
        return FieldPath(relationship, field)

    def unknown_relationship(self, path: soql.Path, name: str) -> None:
        raise SoqlError("INVALID_FIELD", located(self.text, path.pos, (
            f"Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
            "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
            "your WSDL or the describe call for the appropriate names.")))

    def condition(self, node: soql.Condition) -> Bound:
        if isinstance(node, soql.Junction):
            return BoundJunction(node.op, tuple(self.condition(n) for n in node.operands))
        if isinstance(node, soql.Not):
            return BoundNot(self.condition(node.operand))
        path = self.path(node.path)
        if isinstance(node, soql.InList):
            values = tuple(self.value(path, v, "IN") for v in node.values)
            return Predicate(path, "NOTIN" if node.negated else "IN", values)
        return Predicate(path, node.op, (self.value(path, node.value, node.op),))

    def value(self, path: FieldPath, literal: soql.Literal, op: str) -> Any:
        field = path.field
        if op == "LIKE" and field.kind != "string":
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", located(
                self.text, literal.pos, f"invalid operator on {_kind_word(field)} field: {field.name}"))
        if literal.kind == "null":
            return None
        if field.kind in ("id", "reference"):
            if literal.kind != "string" or not is_valid_id(str(literal.value)):
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", located(
                    self.text, literal.pos, f"invalid ID field: {literal.value}"))
            return literal.value
        expected = {"string": "string", "boolean": "boolean", "datetime": "datetime"}[field.kind]
        if literal.kind != expected:
            quoted = "should be enclosed in quotes" if field.kind == "string" else "should not be enclosed in quotes"
            raise SoqlError("INVALID_FIELD", located(self.text, literal.pos, (
                f"value of filter criterion for field '{field.name}' must be of type {_kind_word(field)} "
                f"and {quoted}")))
        return literal.value


def _kind_word(field: FieldDef) -> str:
    return {"datetime": "dateTime", "reference": "id"}.get(field.kind, field.kind)


# -- running a plan ------------------------------------------------------------


def read(row: Row, path: FieldPath, resolve: Resolve) -> Any:
    """The raw value of ``path`` on ``row``, following a parent lookup when there is one."""
    if path.relationship is None:
        return row.get(path.field.name)
    parent_id = row.get(path.relationship.id_field)
    parent = resolve(parent_id) if parent_id else None
    return parent.get(path.field.name) if parent is not None else None


def _comparable(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("id", "reference"):
        return value[:15]
    if kind == "string":
        return value.casefold()
    return value


@functools.lru_cache(maxsize=256)
def _like(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _holds(pred: Predicate, actual: Any) -> bool:
    kind = pred.path.field.kind
    have = _comparable(kind, actual)
    wanted = [_comparable(kind, v) for v in pred.values]
    if pred.op in ("=", "IN"):
        return have in wanted
    if pred.op in ("!=", "NOTIN"):
        return have not in wanted
    if pred.op == "LIKE":
        return actual is not None and _like(pred.values[0]).fullmatch(actual) is not None
    if have is None or wanted[0] is None:
        return False
    return {"<": have < wanted[0], "<=": have <= wanted[0], ">": have > wanted[0], ">=": have >= wanted[0]}[pred.op]


def matches(node: Bound, row: Row, resolve: Resolve) -> bool:
    """Whether ``row`` satisfies the bound WHERE condition."""
    if isinstance(node, BoundJunction):
        test = all if node.op == "AND" else any
        return test(matches(n, row, resolve) for n in node.operands)
    if isinstance(node, BoundNot):
        return not matches(node.operand, row, resolve)
    return _holds(node, read(row, node.path, resolve))


def id_candidates(node: Bound | None) -> set[str] | None:
    """The 15-char ids a condition restricts ``Id`` to (top-level = / IN, possibly under AND), else None.

    Lets a 200-id IN query touch 200 rows rather than scan the org.
    """
    if isinstance(node, Predicate) and node.path.relationship is None and node.path.field.name == "Id":
        if node.op in ("=", "IN"):
            return {v[:15] for v in node.values if v is not None}
    if isinstance(node, BoundJunction) and node.op == "AND":
        found = [c for c in (id_candidates(n) for n in node.operands) if c is not None]
        if found:
            return set.intersection(*found)
    return None


def run(query: Plan, rows: Iterable[Row], resolve: Resolve) -> list[Row]:
    """Filter, sort and slice ``rows`` (already limited to live or all rows by the caller)."""
    hits = [r for r in rows if query.where is None or matches(query.where, r, resolve)]
    if query.order_by:
        hits.sort(key=functools.cmp_to_key(_order(query, resolve)))
    else:
        hits.sort(key=lambda r: r.seq)
    start = query.offset or 0
    end = None if query.limit is None else start + query.limit
    return hits[start:end]


def _order(query: Plan, resolve: Resolve) -> Callable[[Row, Row], int]:
    def compare(a: Row, b: Row) -> int:
        for path, descending, nulls_last in query.order_by:
            va = _comparable(path.field.kind, read(a, path, resolve))
            vb = _comparable(path.field.kind, read(b, path, resolve))
            if va == vb:
                continue
            if va is None:
                return 1 if nulls_last else -1
            if vb is None:
                return -1 if nulls_last else 1
            result = -1 if va < vb else 1
            return -result if descending else result
        return a.seq - b.seq

    return compare


def project(query: Plan, row: Row, resolve: Resolve, version: str) -> dict[str, Any]:
    """A query result record: attributes, then the selected fields in SELECT order, parents nested."""
    record: dict[str, Any] = {"attributes": attributes(row.obj.name, row.id, version)}
    for path in query.select:
        if path.relationship is None:
            record[path.field.name] = render_value(row.get(path.field.name))
            continue
        name = path.relationship.name
        if name not in record:
            parent_id = row.get(path.relationship.id_field)
            parent = resolve(parent_id) if parent_id else None
            record[name] = None if parent is None else {"attributes": attributes(parent.obj.name, parent.id, version)}
        if record[name] is not None:
            record[name][path.field.name] = render_value(read(row, path, resolve))
    return record
