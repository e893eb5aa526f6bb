"""Deterministic native identifiers and the instance's date format.

Other helpers (tests, the demo, the seed checks) predict ServiceNow ids from
the seed alone, so every sys_id here is an md5 of a stable handle, and every
timestamp is rendered the way the Table API does: ``YYYY-MM-DD HH:MM:SS`` in UTC.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache

INTEGRATION_USER = "deskbridge.integration"
SN_TIME = "%Y-%m-%d %H:%M:%S"


def sys_id_for(handle: str) -> str:
    """A 32-hex sys_id that is the same on every run for the same handle."""
    return hashlib.md5(handle.encode("utf-8")).hexdigest()


def incident_sys_id(n: int) -> str:
    """The sys_id of the incident seeded from SeedTicket ``n``."""
    return sys_id_for(f"incident-{n}")


def incident_number(n: int) -> str:
    """The human number of the incident seeded from SeedTicket ``n`` (INC0010001 for n=1)."""
    return f"INC{n + 10000:07d}"


@lru_cache(maxsize=None)
def user_sys_id(key: str) -> str:
    """The sys_user sys_id of SeedUser ``key`` (or of the integration user)."""
    return sys_id_for(f"sys_user-{key}")


@lru_cache(maxsize=None)
def company_sys_id(account_id: str) -> str:
    """The core_company sys_id of the Salesforce account ``account_id``."""
    return sys_id_for(f"core_company-{account_id}")


def label_sys_id(name: str) -> str:
    """The sys_id of the tag (label) called ``name``; tag names are case-insensitive."""
    return sys_id_for(f"label-{name.lower()}")


def sn_time(moment: datetime | None) -> str:
    """A datetime as the Table API shows it: UTC, second precision, or "" when unset."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime(SN_TIME)


def parse_sn_time(text: str) -> datetime | None:
    """The inverse of :func:`sn_time`; None for "" or text that is not a date-time."""
    try:
        return datetime.strptime(text.strip(), SN_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def truncate(moment: datetime) -> datetime:
    """ServiceNow keeps date-times to the second (an instant that already is one is returned as is)."""
    if moment.tzinfo is UTC and moment.microsecond == 0:
        return moment
    return moment.astimezone(UTC).replace(microsecond=0)
