"""Building blocks the per-system mapping schemas share.

Admins write plain YAML with a closed vocabulary: names, native ids and a few
enumerations, never expressions. These small models make each of those shapes
strict (``extra="forbid"``) so :mod:`core.yamlconf` can point at the exact line
of a mistake.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
_TAG_RE = re.compile(r"[^\s,]+")


class Strict(BaseModel):
    """Unknown keys are errors; loaded mappings never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_name(value: str) -> str:
    if not _NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid name: use lowercase letters, digits and _, starting with a letter")
    return value


def _native_id(value: Any) -> Any:
    """Admins write numeric ids as numbers (360000001) or strings; both become strings."""
    if isinstance(value, bool) or value is None:
        return value  # let the str check reject it with the value shown
    if isinstance(value, int):
        return str(value)
    return value


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _check_tag(value: str) -> str:
    if not _TAG_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid tag: no spaces or commas")
    return value


# A logical name that policy and shared definitions speak: l1, tier2, billing, premier, ...
Name = Annotated[str, AfterValidator(_check_name)]
# A helpdesk's own id or column name: 360000001, "customfield_10050", "u_product_area".
NativeId = Annotated[str, BeforeValidator(_native_id), AfterValidator(_non_empty)]
Tag = Annotated[str, AfterValidator(_check_tag)]


class SlaTarget(StrEnum):
    """What a native SLA measures, in the words deskbridge's own clocks use."""

    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class ValueField(Strict):
    """A helpdesk field whose value deskbridge reads, with an optional native -> logical value map."""

    field: NativeId
    # native value -> logical value (e.g. Zendesk "pa_billing" -> "billing"). Without it the
    # native value is taken as it is.
    values: dict[str, Name] | None = None


class FlagField(Strict):
    """A checkbox-like field: true/false, "true"/"false", or a Jira checkbox list (non-empty = set)."""

    field: NativeId


class TextField(Strict):
    """A field whose value is read as text (an account id, a team option)."""

    field: NativeId


class IntegrationUser(Strict):
    """The helpdesk user deskbridge writes as: its comments and changes are echoes, not human activity.

    Give whatever identifies it in that helpdesk's payloads; any one that matches is enough.
    """

    email: str | None = None  # Zendesk (with side-loaded users), Jira (author.emailAddress)
    id: NativeId | None = None  # Zendesk user id, Jira accountId, ServiceNow sys_id
    login: str | None = None  # ServiceNow user_name (sys_created_by, sys_audit.user)

    @model_validator(mode="after")
    def _at_least_one(self) -> IntegrationUser:
        if not (self.email or self.id or self.login):
            raise ValueError("give at least one of: email, id, login")
        return self

    def matches(self, *identifiers: str | None) -> bool:
        """True when any identifier (id, e-mail or login, as found in a payload) is this user."""
        mine = {x.casefold() for x in (self.email, self.id, self.login) if x}
        return any(i is not None and str(i).casefold() in mine for i in identifiers)


class TagsDecision(Strict):
    """A supervisor approves or rejects a proposal by adding a tag (Zendesk tags, Jira labels).

    Without ``approve``/``reject`` the shared ``supervisor_tags`` apply.
    """

    kind: Literal["tags"]
    approve: Tag | None = None
    reject: Tag | None = None


class FieldDecision(Strict):
    """A supervisor approves or rejects a proposal by setting a field (ServiceNow has no tags).

    The normalizer turns the field's value into the shared approve/reject tag on the
    ticket, so the policy reads one signal whatever the helpdesk.
    """

    kind: Literal["field"]
    field: NativeId
    approve: str  # the field value that approves
    reject: str  # the field value that rejects
    # The tags those values stand for; default: the shared supervisor_tags.
    approve_tag: Tag | None = None
    reject_tag: Tag | None = None


SupervisorDecision = Annotated[TagsDecision | FieldDecision, Field(discriminator="kind")]


class SupervisorTags(Strict):
    """The tags that carry a supervisor's answer to a proposal (propose mode)."""

    approve: Tag = "deskbridge_approved"
    reject: Tag = "deskbridge_rejected"


class SharedDefinitions(Strict):
    """Names every system file refers to, defined once (mapping/shared.yaml)."""

    groups: list[Name]  # logical support groups / queues
    product_areas: list[Name]
    tiers: list[Name]  # account tiers the policy knows
    supervisor_tags: SupervisorTags = SupervisorTags()
