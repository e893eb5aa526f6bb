"""Reading raw API payloads safely: every surprise becomes a PayloadError naming the field.

The normalizers are pure functions from payload dicts to :mod:`core.model`
objects. Real payloads carry nulls, missing keys, numbers where strings were
expected and vice versa; :class:`Reader` reads them with one rule: tolerate
what can be tolerated, and name the system, ticket id and field when something
cannot. :func:`normalize_many` keeps one bad ticket from stopping the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

from pydantic import ValidationError

from core.errors import PayloadError
from core.model import Quarantined, System

T = TypeVar("T")
R = TypeVar("R")

_SN_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_TZ_NO_COLON_RE = re.compile(r"([+-]\d{2})(\d{2})$")
# JSON may carry NUL ("\u0000") and unpaired surrogates ("\ud800"); neither can be encoded as UTF-8
# nor stored in PostgreSQL text/JSONB, so they never reach a model. (json.loads joins valid pairs.)
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` without NUL, and with unpaired surrogates as U+FFFD, so every encoder and store takes it."""
    if not _UNSTORABLE_RE.search(text):
        return text
    return re.sub("[\ud800-\udfff]", "\ufffd", text.replace("\x00", ""))


def storable_value(value: Any) -> Any:
    """A JSON value (a custom field's, kept as it came) with every string in it made :func:`storable`."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [storable_value(v) for v in value]
    if isinstance(value, dict):
        return {storable(str(k)): storable_value(v) for k, v in value.items()}
    return value


def dig(obj: Any, *path: str | int) -> Any:
    """``obj[a][b]...`` or None when any step is missing or of the wrong kind."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[step] if isinstance(step, int) else obj.get(step)
    return obj


def as_flag(value: Any) -> bool:
    """A checkbox-like value: True, "true", "yes", "1", 1, a non-empty Jira checkbox list."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().casefold() in {"true", "yes", "1", "on", "y", "checked"}
    if isinstance(value, list):
        return any(as_flag(v) if not isinstance(v, dict) else bool(v.get("value")) for v in value)
    if isinstance(value, dict):
        return as_flag(value.get("value"))
    return False


class Reader:
    """Typed reads from one ticket's payload that fail as PayloadError(system, ticket id, field)."""

    def __init__(self, system: System | str, ticket_id: str | None, *, kind: str = "ticket"):
        self.system = str(system)  # "zendesk", ...; Salesforce accounts are read the same way
        self.ticket_id = ticket_id
        self.kind = kind

    def error(self, field: str | None, message: str) -> PayloadError:
        return PayloadError(self.system, self.ticket_id, field, _short(message), kind=self.kind)

    def id(self, value: Any, field: str, *, required: bool = False) -> str | None:
        """A native id: integers and non-empty strings become strings."""
        if value is None or value == "":
            if required:
                raise self.error(field, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self.error(field, f"expected an id, got {type(value).__name__}")
        if isinstance(value, str) and _UNSTORABLE_RE.search(value):
            raise self.error(field, "is not a usable id (it contains NUL or an unpaired surrogate)")
        return str(value)

    def text(self, value: Any, field: str) -> str | None:
        """A text value; numbers are accepted as text, containers are errors; see :func:`storable`."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(field, f"expected text, got {type(value).__name__}")
        return storable(str(value))

    def time(self, value: Any, field: str, *, required: bool = False, tz: tzinfo = UTC) -> datetime | None:
        """An instant from ISO 8601 (Z, +00:00, +0000) or ServiceNow's 'YYYY-MM-DD HH:MM:SS' in ``tz``."""
        if value is None or value == "":
            if required:
                raise self.error(field, "is missing")
            return None
        if not isinstance(value, str):
            raise self.error(field, f"expected a timestamp, got {type(value).__name__}")
        return self._parse_time(value, field, tz)

    def _parse_time(self, value: str, field: str, tz: tzinfo) -> datetime:
        text = value.strip()
        if not _SN_TIME_RE.fullmatch(text):
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            text = _TZ_NO_COLON_RE.sub(r"\1:\2", text)
        try:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=tz)
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range by its zone
            raise self.error(field, f"{value!r} is not a timestamp") from None

    def mapping(self, value: Any, field: str) -> dict:
        """A JSON object, or {} for null."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(field, f"expected an object, got {type(value).__name__}")
        return value

    def items(self, value: Any, field: str) -> list:
        """A JSON array (or rows a caller passed as any other iterable), or [] for null."""
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise self.error(field, f"expected a list, got {type(value).__name__}")
        return list(value)

    def records(self, value: Any, field: str) -> list[dict]:
        """A list of JSON objects (comments, audits, ...); a non-object entry is an error."""
        rows = self.items(value, field)
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise self.error(f"{field}[{index}]", f"expected an object, got {type(row).__name__}")
        return rows


@contextmanager
def payload_guard(system: System | str, ticket_id: str | None, *, kind: str = "ticket") -> Iterator[None]:
    """Turn anything unexpected while normalizing into a PayloadError for this ticket.

    The readers name the field for the failures they anticipate; this is the net
    under them, so a caller only ever sees PayloadError.
    """
    try:
        yield
    except PayloadError:
        raise
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise PayloadError(str(system), ticket_id, field, f"does not fit the model: {first['msg']}",
                           kind=kind) from None
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        message = _short(f"unexpected payload shape: {type(exc).__name__}: {exc}")
        raise PayloadError(str(system), ticket_id, None, message, kind=kind) from None


def raw_id(raw: Any, *keys: str) -> str | None:
    """A best-effort id for error messages and quarantine entries, before anything is validated."""
    for key in keys:
        value = dig(raw, *key.split("."))
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, (int, str)) and not isinstance(value, bool) and value != "":
            return _short(str(value), _ID_SHOWN)
    return None


_ID_SHOWN, _MESSAGE_SHOWN = 128, 500  # the quarantine's ticket_id column; a reason stays readable


def _short(text: str, limit: int = _MESSAGE_SHOWN) -> str:
    """Storable ``text`` cut to ``limit`` characters (a 200 kB value quoted in a reason helps nobody)."""
    text = storable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalize_many(
    raws: Iterable[T],
    normalize: Callable[[T], R],
    *,
    system: System,
    id_of: Callable[[T], str | None],
) -> tuple[list[R], list[Quarantined]]:
    """Normalize every payload; a PayloadError quarantines that one and the rest go on."""
    done: list[R] = []
    quarantined: list[Quarantined] = []
    for raw in raws:
        try:
            done.append(normalize(raw))
        except PayloadError as exc:
            quarantined.append(Quarantined(
                system=system, ticket_id=exc.ticket_id or id_of(raw) or "?", field=exc.field, reason=str(exc)
            ))
    return done, quarantined
