"""Each helpdesk's markup, and Jinja environments that escape every value for it.

Templates hold the markup (Jira ``h3.`` and ``||tables||``, Zendesk markdown,
ServiceNow plain text); every ``{{ value }}`` they print is escaped for the
target helpdesk on the way out, so a customer who writes ``*bold*``,
``[code]<script>`` or a fake deskbridge marker gets exactly those characters
shown, never interpreted. Only the formatting filters below (dates, durations,
percentages) produce :class:`Trusted` text that skips escaping.

Values are also collapsed to one line: a template places them inline (after a
bullet, in a table cell), never at the start of a line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from jinja2 import BaseLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core.markers import marker
from core.model import System

Escaper = Callable[[str], str]


class Trusted(str):
    """Text deskbridge formatted itself (a date, a duration) that needs no escaping.

    Any operation on it (concatenation, slicing) yields a plain ``str``
    again, which is escaped; trust never spreads to customer text.
    """


_WHITESPACE = re.compile(r"\s+")
_MARKER_OPEN = re.compile(r"\[(deskbridge:[^\]\s]*)\]")
_ZENDESK_SPECIAL = re.compile(r"([\\`*_\[\]<|~])")
# Block syntax only counts at the start of a line: "# " heading, "> " quote, "- "/"+ " list, "1. " list.
_ZENDESK_LINE_START = re.compile(r"^([#>+\-](?=\s|$)|\d+\.(?=\s|$))")
_SERVICENOW_CODE_TAG = re.compile(r"\[(\s*/?\s*code\s*)\]", re.IGNORECASE)
# Characters Jira's wiki renderer treats as markup (BackslashEscapeRendererComponent).
_JIRA_SPECIAL = re.compile(r"[\\{}\[\]|*_+\-^~?!#()%@]")


def one_line(text: str) -> str:
    """Collapse all whitespace, newlines included, to single spaces."""
    return _WHITESPACE.sub(" ", text).strip()


def defang_markers(text: str) -> str:
    """Turn any ``[deskbridge:...]`` in foreign text into ``(deskbridge:...)``.

    A quoted customer message must never carry a marker into our note: the
    note would then name two idempotency keys.
    """
    return _MARKER_OPEN.sub(r"(\1)", text)


def escape_zendesk(text: str) -> str:
    """Escape markdown for a Zendesk comment body (rendered as markdown for agents)."""
    text = _ZENDESK_SPECIAL.sub(r"\\\1", text)
    start = _ZENDESK_LINE_START.match(text)
    if start is None:
        return text
    token = start.group(1)
    escaped = token[:-1] + "\\." if token[0].isdigit() else "\\" + token
    return escaped + text[len(token):]


def escape_servicenow(text: str) -> str:
    """Neutralise ``[code]`` tags, which make a ServiceNow journal entry pass HTML through.

    Everything else in a journal entry is shown as typed (ServiceNow escapes HTML).
    """
    previous = None
    while previous != text:
        previous, text = text, _SERVICENOW_CODE_TAG.sub(r"(\1)", text)
    return text


def escape_jira(text: str) -> str:
    """Escape Jira wiki markup (API v2 comment bodies).

    A backslash cannot be escaped in Jira wiki markup (``\\\\`` is a line
    break), so it becomes the HTML entity, as pandoc's Jira writer does.
    """
    return _JIRA_SPECIAL.sub(lambda m: "&#92;" if m.group(0) == "\\" else "\\" + m.group(0), text)


ESCAPERS: dict[System, Escaper] = {
    System.zendesk: escape_zendesk,
    System.servicenow: escape_servicenow,
    System.jira: escape_jira,
}


def escape(text: str, system: System) -> str:
    """Make foreign ``text`` inert in ``system``'s markup, on one line."""
    return ESCAPERS[System(system)](defang_markers(one_line(text)))


def marker_line(system: System, idempotency_key: str) -> str:
    """The last line of every note and message deskbridge writes: its idempotency marker.

    In Jira it sits in a ``{noformat}`` block so the brackets are not read as a link.
    """
    text = marker(idempotency_key)
    return f"{{noformat}}{text}{{noformat}}" if System(system) is System.jira else text


# ---- formatting filters: deskbridge's own values, never customer text ----------------------


def format_when(value: datetime | None) -> Trusted:
    """``2026-03-02 09:00 UTC``."""
    if value is None:
        return Trusted("—")
    if not isinstance(value, datetime):
        raise TypeError(f"'when' formats datetimes, not {type(value).__name__}")
    return Trusted(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def format_duration(minutes: float | None) -> Trusted:
    """``2h 05m`` (sign dropped: the template says whether it is overdue)."""
    if minutes is None:
        return Trusted("—")
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise TypeError(f"'duration' formats minutes, not {type(minutes).__name__}")
    total = int(round(abs(minutes)))
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return Trusted(f"{days}d {hours}h {mins:02d}m")
    return Trusted(f"{hours}h {mins:02d}m" if hours else f"{mins}m")


def format_percent(value: float | None) -> Trusted:
    """``85%`` from a 0-100 figure."""
    if value is None:
        return Trusted("—")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"'percent' formats numbers, not {type(value).__name__}")
    return Trusted(f"{round(value):d}%")


def humanize(value: Any) -> str:
    """``first_response`` -> ``first response`` (still escaped when printed)."""
    return str(value.value if isinstance(value, Enum) else value).replace("_", " ")


def _finalizer(system: System) -> Callable[[Any], str]:
    def finalize(value: Any) -> str:
        if isinstance(value, Trusted):
            return value
        if value is None:
            return "—"
        if isinstance(value, datetime):
            return format_when(value)
        if isinstance(value, Enum):
            value = value.value
        return escape(str(value), system)

    return finalize


def sandboxed_environment(system: System, loader: BaseLoader, *, with_globals: bool) -> ImmutableSandboxedEnvironment:
    """A sandboxed, strict Jinja environment that escapes every printed value for ``system``.

    ``with_globals=False`` removes Jinja's default globals (range, cycler, ...)
    so a template reaches nothing but the context it is given.
    """
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        finalize=_finalizer(System(system)),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=format_when, duration=format_duration, percent=format_percent, label=humanize)
    if not with_globals:
        env.globals.clear()
    return env
