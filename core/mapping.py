"""The admin mapping of each system: what its native values mean to deskbridge.

One commented YAML file per system in ``mapping/`` (``zendesk.yaml``,
``servicenow.yaml``, ``jira.yaml``, ``salesforce.yaml``) plus ``shared.yaml``
with the names they all refer to. These schemas are strict: unknown keys,
wrong enumeration values and wrong types are errors with a file and a line
(see :mod:`core.yamlconf`); cross-checks that need more than one key live in
:mod:`core.mapping_checks`, and :mod:`core.config` loads a whole directory.

The normalizers in ``connectors/<system>/normalize.py`` read these objects;
the connectors use them to turn logical names back into native ids.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, PrivateAttr

from core.mapping_parts import (
    FlagField,
    IntegrationUser,
    Name,
    NativeId,
    SharedDefinitions,
    SlaTarget,
    Strict,
    SupervisorDecision,
    TextField,
    ValueField,
)
from core.model import Priority, Status

__all__ = [
    "JiraMapping",
    "SalesforceMapping",
    "ServiceNowMapping",
    "SharedDefinitions",
    "ZendeskMapping",
    "MAPPING_MODELS",
]


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        import difflib

        hint = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        raise ValueError(
            f"{value!r} is not a known time zone" + (f"; did you mean '{hint[0]}'?" if hint else " (use an IANA name)")
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]

_SOQL_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?")


def _check_soql_field(value: str) -> str:
    if not _SOQL_FIELD_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a Salesforce field name (e.g. Support_Tier__c or Owner.Email)")
    return value


SoqlField = Annotated[str, AfterValidator(_check_soql_field)]

_PROJECT_KEY_RE = re.compile(r"[A-Z][A-Z0-9_]{0,254}")


def _check_project_key(value: str) -> str:
    if not _PROJECT_KEY_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a Jira project key (capital letters, digits and _, e.g. SUP)")
    return value


ProjectKey = Annotated[str, AfterValidator(_check_project_key)]


class _Groups(Strict):
    """Logical group <-> native id lookups, shared by the helpdesk mappings (which declare ``groups``)."""

    _by_native: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: object) -> None:
        self._by_native = {native: logical for logical, native in self.groups.items()}  # type: ignore[attr-defined]

    def logical_group(self, native_id: str | None) -> str | None:
        """The logical name (tier2, ...) of a native group id, None when the mapping does not name it."""
        return None if native_id is None else self._by_native.get(str(native_id))


class HelpdeskFields(Strict):
    """Which custom field holds what deskbridge needs (all optional: a helpdesk may lack one)."""

    product_area: ValueField | None = None
    escalation_flag: FlagField | None = None  # an agent asks for escalation
    customer_escalation_request: FlagField | None = None  # the customer asked for it
    salesforce_account_id: TextField | None = None  # joins the ticket to a Salesforce Account
    # More fields to carry along by name in Ticket.custom_fields (name -> native field id).
    extra: dict[Name, NativeId] = {}

    def named(self) -> dict[str, ValueField | FlagField | TextField]:
        """The four fields above that the mapping sets, by their key (``product_area``, ...)."""
        refs = {"product_area": self.product_area, "escalation_flag": self.escalation_flag,
                "customer_escalation_request": self.customer_escalation_request,
                "salesforce_account_id": self.salesforce_account_id}
        return {name: ref for name, ref in refs.items() if ref is not None}


# --- Zendesk ---------------------------------------------------------------


class ZendeskMapping(_Groups):
    """mapping/zendesk.yaml."""

    # Optional: the statuses this instance has; each must then appear in status_map.
    native_statuses: list[str] | None = None
    status_map: dict[str, Status]  # native status -> normalized
    priority_map: dict[str, Priority]  # native priority -> normalized
    missing_priority: Priority = Priority.normal  # what a ticket without a priority counts as
    groups: dict[Name, NativeId]  # logical group -> Zendesk group id
    fields: HelpdeskFields = HelpdeskFields()
    # The organization attribute that holds the Salesforce Account id, used when the ticket
    # field is empty and organizations are side-loaded.
    organization_account_id: Literal["external_id"] | None = None
    integration_user: IntegrationUser
    supervisor_decision: SupervisorDecision


# --- ServiceNow ------------------------------------------------------------


class StateEntry(Strict):
    """One incident state: its display label and what it means."""

    label: str
    status: Status


class HoldReasonEntry(Strict):
    """A hold reason refines an on-hold state (Awaiting Caller is 'pending' on the customer)."""

    label: str
    status: Status


class PriorityEntry(Strict):
    label: str
    priority: Priority


class ServiceNowFields(HelpdeskFields):
    """ServiceNow columns; the same keys as the other helpdesks."""


class ServiceNowMapping(_Groups):
    """mapping/servicenow.yaml."""

    status_map: dict[str, StateEntry]  # state value ("1") -> label and normalized status
    # For states that map to on_hold: hold_reason value -> label and normalized status.
    hold_reasons: dict[str, HoldReasonEntry] = {}
    priority_map: dict[str, PriorityEntry]  # priority value ("1") -> label and normalized priority
    missing_priority: Priority = Priority.normal
    groups: dict[Name, NativeId]  # logical group -> sys_user_group sys_id
    fields: ServiceNowFields = ServiceNowFields()
    # Time zone of display values (sysparm_display_value=true, journal headers). Raw values are UTC.
    display_timezone: TimeZoneName = "UTC"
    # task_sla definition name -> what it measures (unnamed ones keep target None).
    sla_definitions: dict[str, SlaTarget] = {}
    integration_user: IntegrationUser
    supervisor_decision: SupervisorDecision

    _state_by_label: dict[str, str] = PrivateAttr(default_factory=dict)
    _priority_by_label: dict[str, str] = PrivateAttr(default_factory=dict)
    _hold_by_label: dict[str, str] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object) -> None:
        super().model_post_init(context)
        self._state_by_label = {e.label.casefold(): v for v, e in self.status_map.items()}
        self._priority_by_label = {e.label.casefold(): v for v, e in self.priority_map.items()}
        self._hold_by_label = {e.label.casefold(): v for v, e in self.hold_reasons.items()}

    def state_value(self, raw: str) -> str | None:
        """A state value from either its value ("7") or its display label ("Closed")."""
        return raw if raw in self.status_map else self._state_by_label.get(raw.casefold())

    def priority_value(self, raw: str) -> str | None:
        return raw if raw in self.priority_map else self._priority_by_label.get(raw.casefold())

    def hold_reason_value(self, raw: str) -> str | None:
        return raw if raw in self.hold_reasons else self._hold_by_label.get(raw.casefold())


# --- Jira Service Management ------------------------------------------------


class NativeSlaField(Strict):
    """A JSM SLA custom field and what it measures."""

    field: NativeId  # customfield_10020
    target: SlaTarget
    # The SLA's name in JSM, to recognise it in /rest/servicedeskapi/request/{key}/sla answers.
    name: str | None = None


class TeamField(TextField):
    """The single-select field that routes a JSM issue."""

    # Its name as changelogs show it ("Support team"): items do not always carry the field id.
    name: str | None = None


class JiraFields(HelpdeskFields):
    """JSM has no group on an issue: a single-select 'team' field routes it."""

    team: TeamField
    request_type: TextField | None = None
    slas: list[NativeSlaField] = []


class JiraMapping(_Groups):
    """mapping/jira.yaml."""

    # The service project's key: the connector reads (JQL ``project = KEY``) and writes only its issues.
    project: ProjectKey | None = None
    native_statuses: list[str] | None = None
    status_map: dict[str, Status]  # status name -> normalized
    # For statuses not in status_map: the status category decides (omit to make them errors).
    status_categories: dict[Literal["new", "indeterminate", "done"], Status] = {}
    priority_map: dict[str, Priority]  # priority name -> normalized
    missing_priority: Priority = Priority.normal
    groups: dict[Name, NativeId]  # logical group -> option value of the team field
    fields: JiraFields
    integration_user: IntegrationUser
    supervisor_decision: SupervisorDecision


# --- Salesforce ------------------------------------------------------------


class AccountFields(Strict):
    """Account fields (SOQL names; relationship fields with a dot)."""

    tier: SoqlField
    segment: SoqlField | None = None
    owner_id: SoqlField | None = "OwnerId"
    owner_name: SoqlField | None = "Owner.Name"
    owner_email: SoqlField | None = "Owner.Email"
    name: SoqlField = "Name"


class SalesforceMapping(Strict):
    """mapping/salesforce.yaml."""

    object: Literal["Account"] = "Account"
    fields: AccountFields
    tier_map: dict[str, Name]  # picklist value -> tier named in shared.yaml
    default_tier: Name  # for missing accounts and for values not in tier_map

    def soql_fields(self) -> list[str]:
        """The fields a connector selects so the normalizer finds everything it reads."""
        f = self.fields
        wanted = ["Id", f.name, f.tier, f.segment, f.owner_id, f.owner_name, f.owner_email]
        return list(dict.fromkeys(x for x in wanted if x))


SystemMapping = ZendeskMapping | ServiceNowMapping | JiraMapping

# file name (without .yaml) -> schema, in the order files are loaded and reported
MAPPING_MODELS: dict[str, type[Strict]] = {
    "shared": SharedDefinitions,
    "zendesk": ZendeskMapping,
    "servicenow": ServiceNowMapping,
    "jira": JiraMapping,
    "salesforce": SalesforceMapping,
}
