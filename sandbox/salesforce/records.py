"""The emulator's internal record and how it renders as Salesforce REST JSON.

A :class:`Row` holds raw Python values keyed by canonical field name; JSON is
produced on every read, so a later read always reflects the latest edit and
timestamps render in Salesforce's own ``2024-01-02T03:04:05.000+0000`` form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .schema import ObjectDef, format_datetime


class Row:
    """One Account or User. ``seq`` is creation order (the order of unsorted query results)."""

    __slots__ = ("obj", "seq", "values")

    def __init__(self, obj: ObjectDef, seq: int, values: dict[str, Any]):
        self.obj = obj
        self.seq = seq
        self.values = values

    @property
    def id(self) -> str:
        return self.values["Id"]

    @property
    def deleted(self) -> bool:
        return bool(self.values.get("IsDeleted", False))

    def get(self, name: str) -> Any:
        return self.values.get(name)


def render_value(value: Any) -> Any:
    """A raw value as Salesforce JSON writes it (datetimes as strings, the rest unchanged)."""
    return format_datetime(value) if isinstance(value, datetime) else value


def attributes(obj_name: str, record_id: str, version: str) -> dict[str, str]:
    """The ``attributes`` block every record carries: its type and REST URL (a path)."""
    return {"type": obj_name, "url": f"/services/data/v{version}/sobjects/{obj_name}/{record_id}"}


def render_full(row: Row, version: str, fields: list[str] | None = None) -> dict[str, Any]:
    """A record as ``GET /sobjects/{type}/{id}`` returns it: attributes, then every field in schema order."""
    names = fields if fields is not None else row.obj.field_names
    record: dict[str, Any] = {"attributes": attributes(row.obj.name, row.id, version)}
    for name in names:
        record[name] = render_value(row.get(name))
    return record
