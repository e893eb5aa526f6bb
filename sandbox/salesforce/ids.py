"""Salesforce record ids: 15-character case-sensitive ids and their 18-character form.

The 18-character id appends a three-letter checksum of the capitalisation of
the first fifteen, so case-insensitive tools can still tell ids apart; SOQL
accepts either form wherever an id is expected. Ids the emulator invents
(users, the org, query locators) are derived from stable inputs so tests and
other helpers can predict them.
"""

from __future__ import annotations

import hashlib
import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SHAPE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")

USER_PREFIX = "005"
ACCOUNT_PREFIX = "001"
ORG_PREFIX = "00D"


def to_18(id15: str) -> str:
    """The 18-character form of a 15-character id (an 18-character id is returned as is)."""
    if len(id15) == 18:
        return id15
    if len(id15) != 15:
        raise ValueError(f"a Salesforce id has 15 or 18 characters, not {len(id15)}")
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return id15 + suffix


def is_valid_id(value: str) -> bool:
    """True when ``value`` has the shape of a 15- or 18-character id (SOQL rejects anything else)."""
    return _ID_SHAPE.fullmatch(value) is not None


def same_id(left: str, right: str) -> bool:
    """Ids compare on their case-sensitive first 15 characters, so 15- and 18-char forms match."""
    return left[:15] == right[:15]


def derived_id(prefix: str, seed: str) -> str:
    """A stable 18-character id with ``prefix`` for a seed string (e.g. a SeedUser key)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    body = ""
    for _ in range(8):
        number, digit = divmod(number, 62)
        body += _BASE62[digit]
    return to_18(f"{prefix}Dm00{body}")


def user_id(user_key: str) -> str:
    """The Salesforce User id of a SeedUser, predictable from its key."""
    return derived_id(USER_PREFIX, f"user:{user_key}")


def org_id(seed: int) -> str:
    """The organization id of a sandbox world."""
    return derived_id(ORG_PREFIX, f"org:{seed}")
