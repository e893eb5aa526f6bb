"""Tables as the Table API sees them: typed fields, dot-walking, the three display modes, and selection.

Each table is a set of :class:`Field` getters over the internal records, so a
query evaluates only the fields it names and a page renders only the fields
asked for (``sysparm_fields``). Rendering follows the real API:

* ``sysparm_display_value=false``: raw values; references as ``{"link", "value"}``
* ``true``: display values; references as ``{"display_value", "link"}``
* ``all``: ``{"display_value", "value"}`` per field (plus ``"link"`` on references)

and ``sysparm_exclude_reference_link=true`` drops the links (references become
plain strings in the first two modes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.servicenow import query as q


@dataclass(frozen=True, slots=True)
class Field:
    """One column: how to read its raw value, and how the instance displays it."""

    get: Callable[[Any], str]
    kind: str = "string"  # string | reference | choice | boolean | integer | datetime | journal | duration
    ref: str | None = None  # referenced table, for references
    choices: Mapping[str, str] | None = None  # value -> label, for choices
    display: Callable[[Any], str] | None = None  # a computed display value (journal text, durations, ...)


def const(value: str, kind: str = "string", **kw: Any) -> Field:
    """A column every row of this sandbox has the same value in."""
    return Field(lambda _row: value, kind, **kw)


@dataclass
class Table:
    """A table: its fields, its rows, and optionally an index that narrows a query to candidates."""

    name: str
    fields: dict[str, Field]
    display_field: str
    rows: Callable[[], Iterable[Any]]
    by_id: Callable[[str], Any | None]
    # Given a query: candidate rows (a superset of the matches), the field names they are already sorted by, and
    # the part of the query the candidates still have to pass (the index may have applied some of it exactly).
    index: Callable[[q.EncodedQuery], tuple[list, tuple[str, ...], q.EncodedQuery] | None] | None = None
    cacheable: bool = True  # False when values depend on the clock (task_sla)


@dataclass
class Catalog:
    """Every table of the instance, so references can be displayed and dot-walked."""

    tables: dict[str, Table] = field(default_factory=dict)

    def add(self, table: Table) -> None:
        self.tables[table.name] = table

    def resolve(self, table: Table, name: str, row: Any) -> tuple[Table, Field, Any] | None:
        """Walk ``a.b.c`` from ``row`` to the last field; None when a link is missing or unknown."""
        *hops, last = name.split(".")
        for hop in hops:
            spec = table.fields.get(hop)
            if spec is None or spec.kind != "reference" or spec.ref not in self.tables:
                return None
            table = self.tables[spec.ref]
            row = table.by_id(spec.get(row)) if row is not None else None
        spec = table.fields.get(last)
        return None if spec is None else (table, spec, row)

    def is_known(self, table: Table, name: str) -> bool:
        """Whether ``name`` (possibly dot-walked) is a field of ``table``."""
        return self.resolve(table, name, None) is not None

    def value(self, table: Table, row: Any, name: str) -> str:
        """The raw value of ``name`` on ``row`` ("" for unknown fields or broken references)."""
        spec = table.fields.get(name)
        if spec is not None:  # the common case: no dot-walk
            return spec.get(row)
        found = self.resolve(table, name, row)
        if found is None or found[2] is None:
            return ""
        return found[1].get(found[2])

    def display(self, table: Table, row: Any, name: str) -> str:
        """What the form would show for ``name`` on ``row``."""
        found = self.resolve(table, name, row)
        if found is None or found[2] is None:
            return ""
        return self._display(found[1], found[2])

    def _display(self, spec: Field, row: Any) -> str:
        if spec.display is not None:
            return spec.display(row)
        value = spec.get(row)
        if value == "":
            return ""
        if spec.kind == "reference":
            target = self.tables.get(spec.ref or "")
            target_row = target.by_id(value) if target else None
            return self.display(target, target_row, target.display_field) if target_row is not None else ""
        if spec.kind == "choice" and spec.choices is not None:
            return spec.choices.get(value, value)
        if spec.kind == "integer" and value.lstrip("-").isdigit():
            return f"{int(value):,}"
        return value

    def render(
        self, table: Table, row: Any, names: list[str] | None, mode: str, exclude_links: bool, base_url: str
    ) -> dict[str, Any]:
        """The record as the Table API returns it for this display mode."""
        out: dict[str, Any] = {}
        for name in names if names is not None else table.fields:
            found = self.resolve(table, name, row)
            if found is None:
                continue
            _, spec, target = found
            value = spec.get(target) if target is not None else ""
            link = None
            if spec.kind == "reference" and value and not exclude_links:
                link = f"{base_url}/api/now/table/{spec.ref}/{value}"
            if mode == "false":
                out[name] = {"link": link, "value": value} if link else value
                continue
            shown = self._display(spec, target) if target is not None else ""
            if mode == "true":
                out[name] = {"display_value": shown, "link": link} if link else shown
            else:
                out[name] = {"display_value": shown, "value": value, **({"link": link} if link else {})}
        return out

    def select(self, table: Table, parsed: q.EncodedQuery) -> list:
        """The rows matching ``parsed``, in its order (insertion order when it has none)."""
        parsed = q.prune(parsed, lambda name: self.is_known(table, name))
        narrowed = table.index(parsed) if table.index else None
        rows, sorted_by, residual = narrowed if narrowed is not None else (list(table.rows()), (), parsed)
        if any(residual.groups):
            rows = [row for row in rows if q.matches(residual, lambda name, row=row: self.value(table, row, name))]
        order = parsed.order
        already = all(not desc for _, desc in order) and tuple(n for n, _ in order) == sorted_by[: len(order)]
        if order and not already:
            q.order_rows(rows, order, lambda row, name: self.value(table, row, name))
        return rows
