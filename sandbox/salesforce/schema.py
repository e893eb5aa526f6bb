"""The two sObjects the emulator serves, Account and User, as field tables.

SOQL names are case-insensitive, while responses always use the canonical
API name; these tables answer both questions. A field's ``kind`` decides how
SOQL compares it and which literals a filter on it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class FieldDef:
    """One sObject field. kind: id | reference | string | boolean | datetime."""

    name: str
    kind: str


@dataclass(frozen=True)
class Relationship:
    """A parent lookup reachable as ``Name.Field`` (e.g. Owner.Email through OwnerId)."""

    name: str
    id_field: str
    target: str


@dataclass(frozen=True)
class ObjectDef:
    """An sObject: its fields in the order a record GET renders them, and its lookups."""

    name: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    relationships: tuple[Relationship, ...] = ()
    _by_name: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name.lower(): f for f in self.fields})

    def find_field(self, name: str) -> FieldDef | None:
        """The field called ``name`` in any letter case, or None."""
        return self._by_name.get(name.lower())

    def find_relationship(self, name: str) -> Relationship | None:
        lowered = name.lower()
        return next((r for r in self.relationships if r.name.lower() == lowered), None)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _fields(spec: str) -> tuple[FieldDef, ...]:
    return tuple(FieldDef(*item.split(":")) for item in spec.split())


ACCOUNT = ObjectDef(
    name="Account",
    key_prefix="001",
    fields=_fields(
        "Id:id IsDeleted:boolean Name:string Type:string BillingCity:string BillingState:string "
        "BillingCountry:string Phone:string Website:string AccountNumber:string Industry:string "
        "Description:string OwnerId:reference CreatedDate:datetime CreatedById:reference "
        "LastModifiedDate:datetime LastModifiedById:reference SystemModstamp:datetime "
        "Support_Tier__c:string Customer_Segment__c:string"
    ),
    relationships=(
        Relationship("Owner", "OwnerId", "User"),
        Relationship("CreatedBy", "CreatedById", "User"),
        Relationship("LastModifiedBy", "LastModifiedById", "User"),
    ),
)

USER = ObjectDef(
    name="User",
    key_prefix="005",
    fields=_fields(
        "Id:id Username:string LastName:string FirstName:string Name:string Email:string "
        "IsActive:boolean UserType:string Title:string CreatedDate:datetime "
        "LastModifiedDate:datetime SystemModstamp:datetime"
    ),
)

OBJECTS = {obj.name.lower(): obj for obj in (ACCOUNT, USER)}


def find_object(name: str) -> ObjectDef | None:
    """The sObject called ``name`` in any letter case, or None."""
    return OBJECTS.get(name.lower())


def format_datetime(value: datetime) -> str:
    """Salesforce's REST dateTime rendering: ``2024-01-02T03:04:05.000+0000`` (always UTC)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
