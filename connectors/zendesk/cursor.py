"""deskbridge's Zendesk pull cursor: Zendesk's export cursor plus where the event window starts.

Format ``zd1.<seconds>.<after_cursor>``:

- ``after_cursor`` is the cursor-based incremental export's own opaque cursor
  (``after_cursor`` of the last page read). Zendesk orders that export by
  ``(updated_at, id)``, so resuming from it neither skips nor repeats a ticket,
  even when many tickets share one second — no overlap is needed for tickets.
- ``seconds`` is the ``updated_at`` (unix seconds) of the last ticket returned. The
  time-based ticket event export (comments and history) has no cursor, so the next
  run starts its event window there, minus an overlap (Zendesk holds back the last
  minute of events), and de-duplicates events on their id.

Zendesk cursors are base64 (no dots), so the format splits unambiguously.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "zd1"


@dataclass(frozen=True)
class PullCursor:
    export_cursor: str
    position: int  # updated_at (unix seconds) of the last ticket returned

    def encode(self) -> str:
        return f"{PREFIX}.{self.position}.{self.export_cursor}"

    @classmethod
    def decode(cls, text: str) -> PullCursor:
        """Read a stored cursor; ValueError names what is wrong (never guesses)."""
        prefix, _, rest = text.partition(".")
        seconds, _, export_cursor = rest.partition(".")
        if prefix != PREFIX or not seconds.isdigit() or not export_cursor:
            raise ValueError(f"{text[:40]!r} is not a deskbridge Zendesk cursor (expected {PREFIX}.<seconds>.<cursor>)")
        return cls(export_cursor, int(seconds))
