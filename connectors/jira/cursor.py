"""The Jira pull cursor and the JQL window it opens. Pure: no I/O.

JQL compares ``updated`` at minute granularity, in the searching user's time
zone, so an exact "after the last issue" filter would lose issues updated
later in the same minute (or indexed late). The cursor therefore keeps two
things, as compact JSON (opaque to callers, readable by an operator)::

    {"v": 1, "watermark": "2026-03-02T09:00:00.000Z", "seen": {"10061": 1772442000000}}

- ``watermark``: the ``updated`` instant of the last issue returned, in UTC.
  Every issue updated before it has been returned (issues come in
  ``ORDER BY updated ASC, key ASC``).
- ``seen``: issue id -> ``updated`` (epoch milliseconds) of every issue
  returned inside the window the next search re-reads, so that re-read is
  de-duplicated exactly on (id, updated) while an issue indexed late inside
  the window is still returned: no gap, no duplicate.

The next search reads ``updated >= floor_to_minute(watermark) - overlap``
(overlap at least one minute), written in the integration user's time zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

CURSOR_VERSION = 1
MIN_OVERLAP = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_millis(instant: datetime) -> int:
    """Epoch milliseconds of an aware instant (exact: no float rounding)."""
    return (instant - _EPOCH) // _MS


def from_millis(millis: int) -> datetime:
    return _EPOCH + millis * _MS


def floor_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class PullCursor:
    """Where the next pull starts, and what it must not return again."""

    watermark: datetime
    seen: dict[str, int] = field(default_factory=dict)

    @classmethod
    def starting_at(cls, start: datetime) -> PullCursor:
        """A first run's cursor: nothing returned yet."""
        if start.tzinfo is None:
            raise ValueError("the pull start must be a timezone-aware instant")
        return cls(start.astimezone(UTC))

    def window_start(self, overlap: timedelta) -> datetime:
        """The earliest ``updated`` the next search asks for."""
        return floor_minute(self.watermark) - max(overlap, MIN_OVERLAP)

    def already_returned(self, issue_id: str, updated_ms: int) -> bool:
        """True when this issue was returned at this ``updated`` (or later) before."""
        previous = self.seen.get(issue_id)
        return previous is not None and updated_ms <= previous

    def after(self, returned: Iterable[tuple[str, int]], overlap: timedelta) -> PullCursor:
        """The cursor once ``returned`` (id, updated ms) pairs were handed out, in order."""
        seen = dict(self.seen)
        watermark = to_millis(self.watermark)
        for issue_id, updated_ms in returned:
            seen[issue_id] = max(updated_ms, seen.get(issue_id, updated_ms))
            watermark = max(watermark, updated_ms)
        moved = PullCursor(from_millis(watermark))
        floor = to_millis(moved.window_start(overlap))
        return PullCursor(moved.watermark, {i: ms for i, ms in seen.items() if ms >= floor})

    def encode(self) -> str:
        at = self.watermark.astimezone(UTC)
        text = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        return json.dumps({"v": CURSOR_VERSION, "watermark": text, "seen": dict(sorted(self.seen.items()))},
                          separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> PullCursor:
        """A cursor this module wrote; ValueError (naming what is wrong) for anything else."""
        try:
            data = json.loads(text)
            version = data.get("v") if isinstance(data, dict) else None
            if version != CURSOR_VERSION:
                raise ValueError(f"version {version!r} is not {CURSOR_VERSION}")
            watermark = datetime.fromisoformat(str(data["watermark"]).replace("Z", "+00:00"))
            if watermark.tzinfo is None:
                raise ValueError("the watermark has no time zone")
            seen = {str(k): int(v) for k, v in dict(data.get("seen") or {}).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Jira pull cursor deskbridge wrote ({exc}): {text[:80]!r}") from None
        return cls(watermark.astimezone(UTC), seen)


def jql_date(instant: datetime, zone: tzinfo) -> str:
    """``"yyyy/MM/dd HH:mm"`` as Jira reads it in ``zone``, never later than ``instant``.

    At a daylight-saving fall-back a wall time happens twice and Jira may read
    the later one; one hour earlier is then written, so both readings are at
    or before ``instant`` (a re-read, never a gap).
    """
    wall = instant.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None)
    if wall.replace(tzinfo=zone, fold=0).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset():
        wall -= timedelta(hours=1)
    return wall.strftime("%Y/%m/%d %H:%M")


def changes_jql(project: str, since: datetime, zone: tzinfo) -> str:
    """The incremental search, ordered so that paging by ``nextPageToken`` is a stable walk."""
    return f'project = {project} AND updated >= "{jql_date(since, zone)}" ORDER BY updated ASC, key ASC'


def ids_jql(ids: Iterable[str]) -> str:
    """One bulk read of given issues by id."""
    return f"id in ({', '.join(ids)}) ORDER BY key ASC"
