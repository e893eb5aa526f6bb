"""Native ids and fixed values of the emulated Zendesk account ``acme``.

User and organization ids are derived from stable keys (a SeedUser key, a
Salesforce Account id) so tests and other helpers can predict them without
asking the emulator; tickets are numbered ``SeedTicket.n``. Everything else
(comments, audits, events) comes from one counter per emulator.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import threading
from datetime import UTC, datetime

from sandbox import vocab

SUBDOMAIN = vocab.ZENDESK["subdomain"]
INTEGRATION_KEY = "deskbridge-integration"
INTEGRATION_EMAIL = "deskbridge@acme.test"
INTEGRATION_NAME = "deskbridge integration"
SUPPORT_ADDRESS = f"support@{SUBDOMAIN}.zendesk.com"
BRAND_ID = 360000100001
TICKET_FORM_ID = 360000200001
CUSTOM_ROLE_ID = 360000300001
RATE_LIMIT_PER_MINUTE = 700  # Suite Enterprise account-wide limit

# Every status category has a default custom status; tickets carry its id.
CUSTOM_STATUS_IDS = {
    "new": 360000400001,
    "open": 360000400002,
    "pending": 360000400003,
    "hold": 360000400004,
    "solved": 360000400005,
    "closed": 360000400006,
}

STATUS_TO_NATIVE: dict[str, str] = dict(vocab.ZENDESK["status"])
STATUS_FROM_NATIVE = {native: normalized for normalized, native in STATUS_TO_NATIVE.items()}
PRIORITY_TO_NATIVE: dict[str, str] = dict(vocab.ZENDESK["priority"])
PRIORITY_FROM_NATIVE = {native: normalized for normalized, native in PRIORITY_TO_NATIVE.items()}
GROUP_IDS = {logical: gid for logical, (gid, _name) in vocab.ZENDESK["groups"].items()}
GROUP_FROM_ID = {gid: logical for logical, gid in GROUP_IDS.items()}
GROUP_NAMES = {gid: name for _logical, (gid, name) in vocab.ZENDESK["groups"].items()}
FIELD_IDS: dict[str, int] = dict(vocab.ZENDESK["custom_fields"])
FIELD_NAMES = {fid: name for name, fid in FIELD_IDS.items()}
FIELD_ORDER = list(FIELD_IDS.values())  # position of each field in TicketRecord.fields
CHECKBOX_FIELDS = {FIELD_IDS["escalation_flag"], FIELD_IDS["customer_escalation_request"]}
PRODUCT_AREA_FIELD = FIELD_IDS["product_area"]
PRODUCT_AREA_TAGS: dict[str, str] = dict(vocab.ZENDESK["product_area_values"])
PRODUCT_AREA_FROM_TAG = {tag: area for area, tag in PRODUCT_AREA_TAGS.items()}

_THIRTEEN_DIGITS = 9_000_000_000_000


def _stable_number(namespace: str, key: str) -> int:
    digest = hashlib.sha256(f"{namespace}:{key}".encode()).digest()
    return 1_000_000_000_000 + int.from_bytes(digest[:8], "big") % _THIRTEEN_DIGITS


@functools.cache  # one shared int per user: 100,000 tickets point at the same few objects
def user_id(key: str) -> int:
    """The Zendesk user id of a SeedUser key (13 digits, stable across runs)."""
    return _stable_number("zendesk-user", key)


@functools.cache
def organization_id(account_id: str) -> int:
    """The Zendesk organization id of a Salesforce Account id."""
    return _stable_number("zendesk-org", account_id)


def metric_id(ticket_id: int) -> int:
    """The ticket_metric id of a ticket (one metric record per ticket)."""
    return 7_000_000_000_000 + ticket_id


class IdSequence:
    """Thread-safe ids for comments, audits and events, in the range real accounts use."""

    def __init__(self, start: int = 21_000_000_000_000):
        self._lock = threading.Lock()
        self._counter = itertools.count(start)

    def next(self) -> int:
        with self._lock:
            return next(self._counter)

    def block(self, size: int) -> int:
        """The first of ``size`` consecutive ids (an audit and its events)."""
        with self._lock:
            first = next(self._counter)
            self._counter = itertools.count(first + size)
            return first


def to_ts(instant: datetime) -> int:
    """Whole epoch seconds: Zendesk timestamps have one-second resolution."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return int(instant.timestamp())


def iso(ts: int) -> str:
    """Zendesk's timestamp format, e.g. ``2023-09-18T15:57:42Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> int | None:
    """Epoch seconds of an ISO 8601 string, or None when it is not one."""
    try:
        return to_ts(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (TypeError, ValueError):
        return None
