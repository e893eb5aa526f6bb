"""Turn the neutral world into the CRM org: Users (account owners, admins, the API user) and Accounts.

Everything not in the world (industry, billing country, dates, ...) is derived
from a hash of the record's id, so the same world always renders the same org.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sandbox.world import SeedAccount, SeedUser, World

from .ids import user_id

DOMAIN = "acme-crm.example"
INTEGRATION_USER = SeedUser(key="sf-integration", name="Deskbridge Integration",
                            email=f"deskbridge.integration@{DOMAIN}", role="admin")
ADMIN_USER = SeedUser(key="sf-admin", name="Org Admin", email=f"admin@{DOMAIN}", role="admin")

_INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education", "Media", "Energy"]
_TYPES = ["Customer - Direct", "Customer - Channel"]
_PLACES = [
    ("Burlington", "NC", "USA"), ("Mountain View", "CA", "United States"), ("Austin", "TX", "US"),
    ("London", None, "United Kingdom"), ("Berlin", None, "Germany"), ("Toronto", "ON", "Canada"),
    ("Sydney", "NSW", "Australia"), ("Paris", None, "France"), ("Amsterdam", None, "Netherlands"),
]


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _pick(options: list, text: str) -> Any:
    return options[_digest(text) % len(options)]


def _dates(record_id: str, now: datetime) -> tuple[datetime, datetime]:
    """Created 30-900 days before ``now``; last modified somewhere between then and now (whole seconds)."""
    now = now.replace(microsecond=0)
    created = now - timedelta(days=30 + _digest(f"created:{record_id}") % 870,
                              seconds=_digest(f"secs:{record_id}") % 86400)
    span = int((now - created).total_seconds())
    modified = created + timedelta(seconds=_digest(f"modified:{record_id}") % max(span, 1))
    return created, modified


def crm_users(world: World) -> list[SeedUser]:
    """The org's Users: the API user, an admin, then account owners and helpdesk admins in first-seen order."""
    users: dict[str, SeedUser] = {u.key: u for u in (INTEGRATION_USER, ADMIN_USER)}
    for account in world.accounts:
        users.setdefault(account.owner.key, account.owner)
    for user in world.users.values():
        if user.role == "admin":
            users.setdefault(user.key, user)
    return list(users.values())


def user_values(user: SeedUser, now: datetime) -> dict[str, Any]:
    """A User's field values."""
    uid = user_id(user.key)
    first, _, last = user.name.rpartition(" ")
    created, modified = _dates(uid, now)
    return {
        "Id": uid, "Username": user.email, "LastName": last or user.name, "FirstName": first or None,
        "Name": user.name, "Email": user.email, "IsActive": True, "UserType": "Standard",
        "Title": "Integration User" if user is INTEGRATION_USER else "Account Manager",
        "CreatedDate": created, "LastModifiedDate": modified, "SystemModstamp": modified,
    }


def account_values(account: SeedAccount, now: datetime) -> dict[str, Any]:
    """An Account's field values, with the tier and segment from the world."""
    city, state, country = _pick(_PLACES, f"place:{account.id}")
    slug = "".join(ch for ch in account.name.lower() if ch.isalnum()) or "account"
    created, modified = _dates(account.id, now)
    creator = user_id(ADMIN_USER.key)
    return {
        "Id": account.id, "IsDeleted": False, "Name": account.name,
        "Type": _pick(_TYPES, f"type:{account.id}"),
        "BillingCity": city, "BillingState": state, "BillingCountry": country,
        "Phone": f"(555) {_digest('phone:' + account.id) % 900 + 100}-{_digest('ext:' + account.id) % 9000 + 1000}",
        "Website": f"www.{slug}.com",
        "AccountNumber": f"CD{_digest('number:' + account.id) % 1_000_000:06d}",
        "Industry": "Government" if account.segment == "Public Sector" else _pick(_INDUSTRIES, f"ind:{account.id}"),
        "Description": None,
        "OwnerId": user_id(account.owner.key),
        "CreatedDate": created, "CreatedById": creator,
        "LastModifiedDate": modified, "LastModifiedById": creator, "SystemModstamp": modified,
        "Support_Tier__c": account.tier_value, "Customer_Segment__c": account.segment,
    }
