"""Salesforce record ids and the SOQL that looks Accounts up by id. Pure: no I/O.

An id is 15 case-sensitive alphanumerics, or those 15 plus a 3-character
checksum of their capitalisation (the 18-character form). SOQL accepts either
form, and both name the same record, so deskbridge keys everything on the first
15 characters. One malformed id in an ``Id IN (...)`` list fails the whole
query (``INVALID_QUERY_FILTER_OPERATOR``), so ids are checked before any query;
the check also makes inlining them in SOQL safe (no quotes can get through).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_ID_SHAPE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")

# Salesforce accepts up to 4,000 values in an IN list, but the GET URL of a query must stay under
# 16,384 characters; 200 ids keep a query near 5 KB and one answer inside one 2,000-record batch.
MAX_IDS_PER_QUERY = 200


def is_record_id(value: object) -> bool:
    """True for a 15- or 18-character alphanumeric id."""
    return isinstance(value, str) and _ID_SHAPE.fullmatch(value) is not None


def id_key(record_id: str) -> str:
    """The case-sensitive 15-character form both id forms share."""
    return record_id[:15]


def unique_ids(values: Iterable[object]) -> list[str]:
    """The distinct non-empty values as text, in first-seen order (blank ids mean "no account" and are skipped)."""
    return list(dict.fromkeys(str(v) for v in values if v is not None and str(v).strip() != ""))


def accounts_by_id_soql(fields: Sequence[str], record_ids: Sequence[str], sobject: str = "Account") -> str:
    """``SELECT <fields> FROM Account WHERE Id IN ('…', …)`` for ids already checked by :func:`is_record_id`."""
    if not record_ids:
        raise ValueError("an Id IN () query needs at least one id")
    bad = [i for i in record_ids if not is_record_id(i)]
    if bad:
        raise ValueError(f"not Salesforce ids: {bad[:3]}")
    listed = ", ".join(f"'{i}'" for i in record_ids)
    return f"SELECT {', '.join(fields)} FROM {sobject} WHERE Id IN ({listed})"
