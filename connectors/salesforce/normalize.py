"""Salesforce Account records -> core.model.Account. Pure: no I/O, no clock.

Input: one record of a SOQL query answer (``records[i]``) selecting
:meth:`core.mapping.SalesforceMapping.soql_fields`; relationship fields arrive
nested (``{"Owner": {"Name": ..., "Email": ...}}``).

Tiers: the tier field's picklist value goes through ``tier_map``. An account
that exists but whose value is empty or not in the map keeps ``known=True``
(it is a real customer), gets ``default_tier``, and says why in ``tier_note``.
An id Salesforce does not know gets :func:`unknown_account` (``known=False``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.raw import Reader, dig, payload_guard, raw_id
from core.errors import PayloadError
from core.mapping import SalesforceMapping
from core.model import Account

SYSTEM_NAME = "salesforce"


def field_value(record: Mapping[str, Any], path: str) -> Any:
    """``Owner.Email`` -> record["Owner"]["Email"] (None when the relationship is null)."""
    return dig(record, *path.split("."))


def to_account(raw: Mapping[str, Any], mapping: SalesforceMapping) -> Account:
    """Normalize one Account record; raises PayloadError naming the account and field when unusable."""
    with payload_guard(SYSTEM_NAME, raw_id(raw, "Id"), kind="account"):
        if not isinstance(raw, Mapping):
            problem = f"expected a record object, got {type(raw).__name__}"
            raise Reader(SYSTEM_NAME, None, kind="account").error(None, problem)
        return _to_account(raw, mapping)


def _to_account(raw: Mapping[str, Any], mapping: SalesforceMapping) -> Account:
    r = Reader(SYSTEM_NAME, raw_id(raw, "Id"), kind="account")
    account_id = r.id(raw.get("Id"), "Id", required=True)
    kind = dig(raw, "attributes", "type")
    if kind is not None and kind != mapping.object:
        raise r.error("attributes.type", f"is {kind!r}, expected {mapping.object!r}")
    f = mapping.fields
    tier_value = r.text(field_value(raw, f.tier), f.tier)
    tier, note = _tier(mapping, tier_value)
    if tier_value is None and f.tier.split(".")[0] not in raw:
        note = f"{f.tier} is not in the record (was it selected?); default tier {mapping.default_tier!r} used"
    text = lambda path: r.text(field_value(raw, path), path) if path else None  # noqa: E731
    return Account(
        id=account_id,
        name=text(f.name),
        tier=tier,
        segment=text(f.segment),
        owner_id=text(f.owner_id),
        owner_name=text(f.owner_name),
        owner_email=text(f.owner_email),
        known=True,
        tier_note=note,
    )


def _tier(mapping: SalesforceMapping, value: str | None) -> tuple[str, str | None]:
    field = mapping.fields.tier
    if value is None or value.strip() == "":
        return mapping.default_tier, f"{field} is empty; default tier {mapping.default_tier!r} used"
    if value in mapping.tier_map:
        return mapping.tier_map[value], None
    return mapping.default_tier, f"{field} {value!r} is not in tier_map; default tier {mapping.default_tier!r} used"


def unknown_account(account_id: str, mapping: SalesforceMapping) -> Account:
    """What a ticket's account id that Salesforce does not know stands for: the default tier."""
    return Account(id=account_id, tier=mapping.default_tier, known=False)


def to_accounts(
    records: Iterable[Mapping[str, Any]], mapping: SalesforceMapping, wanted: Iterable[str] = ()
) -> tuple[dict[str, Account], list[PayloadError]]:
    """Accounts by id from query records, plus the default for every wanted id not found.

    Ids are matched on their first 15 characters too (Salesforce ids are 15-character
    case-sensitive or 18-character with a checksum suffix). Unusable records come back
    as errors, never raised, so one bad record does not hide the others.
    """
    found: dict[str, Account] = {}
    errors: list[PayloadError] = []
    for raw in records:
        try:
            account = to_account(raw, mapping)
        except PayloadError as exc:
            errors.append(exc)
            continue
        found[account.id] = account
    by_short = {key[:15]: acc for key, acc in found.items()}
    out = dict(found)
    for account_id in wanted:
        if account_id not in out:
            out[account_id] = by_short.get(account_id[:15]) or unknown_account(account_id, mapping)
    return out, errors
