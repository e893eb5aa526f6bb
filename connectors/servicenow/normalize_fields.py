"""Reading ServiceNow Table API records in any of their three shapes.

``sysparm_display_value`` decides the shape of every field:

- ``false`` (plain): raw values; references as ``{"link", "value"}``; times in UTC.
- ``true`` (display): labels ("Closed", "3 - Moderate"); references as
  ``{"display_value", "link"}``; times in the reading user's time zone.
- ``all``: ``{"display_value", "value"}`` per field (pysnc's default).

:class:`Record` hides the difference: ``value()`` is the raw value where one
exists (for display-form references, the sys_id at the end of the link),
``display()`` the label, ``time()`` an aware UTC instant.
https://docs.servicenow.com/bundle/latest/page/integrate/inbound-rest/concept/c_TableAPI.html
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from connectors.raw import Reader

Form = Literal["auto", "plain", "display", "all"]


def detect_form(record: dict, state_labels: set[str] = frozenset()) -> Form:
    """Which representation a record is in, from its field shapes (and its state, as a last resort)."""
    for value in record.values():
        if isinstance(value, dict):
            if "value" in value and "display_value" in value:
                return "all"
            if "display_value" in value and "value" not in value:
                return "display"
    state = record.get("state")
    if isinstance(state, str) and state.casefold() in state_labels:
        return "display"
    return "plain"


class Record:
    """One record's fields, whatever ``sysparm_display_value`` produced it."""

    def __init__(self, raw: dict, reader: Reader, form: Form, display_tz: str = "UTC"):
        self.raw = raw
        self.r = reader
        self.form = detect_form(raw) if form == "auto" else form
        self.display_tz: tzinfo = ZoneInfo(display_tz)

    def value(self, name: str) -> str | None:
        """The raw value ("7", a sys_id); None when absent or empty."""
        field = self.raw.get(name)
        if isinstance(field, dict):
            if "value" in field:
                return self._scalar(field.get("value"), name)
            link = field.get("link")
            if isinstance(link, str) and link.rstrip("/"):
                return self._scalar(link.rstrip("/").rsplit("/", 1)[-1], name)  # display form: the sys_id ends the link
            return self._scalar(field.get("display_value"), name)
        return self._scalar(field, name)

    def display(self, name: str) -> str | None:
        """The label ("Closed", "David Loo") when the record carries one."""
        field = self.raw.get(name)
        if isinstance(field, dict):
            return self._scalar(field.get("display_value"), name)
        if self.form == "display":
            return self._scalar(field, name)
        return None

    def label_or_value(self, name: str) -> str | None:
        return self.display(name) or self.value(name)

    def time(self, name: str, *, required: bool = False) -> datetime | None:
        """An instant: raw values are UTC, display-only values are in the display time zone."""
        field = self.raw.get(name)
        if isinstance(field, dict):
            raw_value = field.get("value")
            if raw_value not in (None, ""):
                return self.r.time(raw_value, name, required=required)
            return self.r.time(field.get("display_value"), name, required=required, tz=self.display_tz)
        tz = self.display_tz if self.form == "display" else ZoneInfo("UTC")
        return self.r.time(field, name, required=required, tz=tz)

    def link(self) -> str | None:
        """Any reference link in the record (gives the instance's base URL)."""
        for field in self.raw.values():
            if isinstance(field, dict) and isinstance(field.get("link"), str):
                return field["link"]
        return None

    def _scalar(self, value: Any, name: str) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return self.r.text(value, name)


def duration_seconds(value: str | None) -> float | None:
    """A ServiceNow duration's raw value ("1970-01-01 00:20:00", i.e. since the epoch) in seconds."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip()).replace(tzinfo=ZoneInfo("UTC"))
    except ValueError:
        return None
    return moment.timestamp()
