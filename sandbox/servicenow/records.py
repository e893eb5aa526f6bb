"""The emulator's compact internal records; the native JSON is rendered from them on every read.

Slotted dataclasses keep a 100,000-incident sandbox small: journal and audit
rows hang off their incident, times are datetimes truncated to the second, and
values are the raw Table API strings (state "2", priority "3", sys_ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sandbox.servicenow.ids import sys_id_for


@dataclass(slots=True)
class User:
    sys_id: str
    key: str  # SeedUser.key, or the integration user's name
    user_name: str
    name: str
    email: str
    role: str  # agent | customer | admin | integration
    group: str | None  # logical group of an agent
    created_on: datetime


@dataclass(slots=True)
class Group:
    sys_id: str
    logical: str
    name: str
    created_on: datetime


@dataclass(slots=True)
class Company:
    sys_id: str
    name: str
    sf_account_id: str
    created_on: datetime


@dataclass(slots=True)
class Label:
    """A tag (table ``label``)."""

    sys_id: str
    name: str
    created_on: datetime
    created_by: str


@dataclass(slots=True)
class LabelEntry:
    """A tag on one incident (table ``label_entry``)."""

    sys_id: str
    label_id: str
    table_key: str  # incident sys_id
    created_on: datetime
    created_by: str


@dataclass(slots=True)
class JournalEntry:
    """A work note or additional comment (table ``sys_journal_field``)."""

    index: int  # position in the incident's journal (small ints are shared: no per-row allocation)
    element_id: str  # incident sys_id
    element: str  # "comments" (customer-visible) | "work_notes" (internal)
    value: str
    created_on: datetime
    created_by: str  # user_name

    @property
    def sys_id(self) -> str:
        return sys_id_for(f"sys_journal_field-{self.element_id}-{self.index}")


@dataclass(slots=True)
class AuditEntry:
    """One field change (table ``sys_audit``)."""

    index: int  # position in the incident's audit trail
    documentkey: str  # incident sys_id
    fieldname: str
    oldvalue: str
    newvalue: str
    created_on: datetime
    user: str  # user_name
    checkpoint: int  # the incident's sys_mod_count after the change

    @property
    def sys_id(self) -> str:
        return sys_id_for(f"sys_audit-{self.documentkey}-{self.index}")


@dataclass(slots=True)
class Incident:
    n: int
    sys_id: str
    number: str
    short_description: str
    description: str
    state: str
    hold_reason: str
    priority: str
    impact: str
    urgency: str
    caller_id: str
    assignment_group: str
    assigned_to: str
    company: str
    category: str
    contact_type: str
    u_product_area: str
    u_escalation_flag: str
    u_customer_escalation: str
    u_sf_account_id: str
    opened_at: datetime
    created_by: str
    updated_on: datetime
    updated_by: str
    mod_count: int = 0
    resolved_at: datetime | None = None
    resolved_by: str = ""
    closed_at: datetime | None = None
    closed_by: str = ""
    close_code: str = ""
    close_notes: str = ""
    approval: str = "not requested"  # a supervisor's answer in propose mode (mapping/servicenow.yaml)
    reopen_count: int = 0
    reopened_time: datetime | None = None
    reopened_by: str = ""
    reassignment_count: int = 0
    journal: list[JournalEntry] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    tags: list[LabelEntry] = field(default_factory=list)

    def note(self, element: str, value: str, at: datetime, by: str) -> JournalEntry:
        """Append a journal entry (by ``by``, a user_name)."""
        entry = JournalEntry(len(self.journal), self.sys_id, element, value, at, by)
        self.journal.append(entry)
        return entry

    def audited(self, fieldname: str, old: str, new: str, at: datetime, user: str) -> AuditEntry:
        """Append a sys_audit row for a change made at the current sys_mod_count."""
        entry = AuditEntry(len(self.audit), self.sys_id, fieldname, old, new, at, user, self.mod_count)
        self.audit.append(entry)
        return entry
