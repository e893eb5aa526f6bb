"""The escalation policy (``mapping/policy.yaml``): calendars, SLA targets, rules and settings.

:func:`load_policy` validates the file with :mod:`core.yamlconf`, so every
mistake reads ``mapping/policy.yaml:42: rules[3].route.group: ...``, then runs
the checks that need more than one key (a rule routing to a group the policy
does not name, a target row on an unknown calendar, a tier x priority with no
target) and reports all problems at once. The loaded policy carries its
compiled calendars, so their per-year caches live as long as the policy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from core.calendar import BusinessCalendar, CalendarSpec
from core.errors import ConfigError
from core.markers import ESCALATED_TAG, PROPOSED_TAG
from core.policy_checks import cross_check, template_problems
from core.policy_compiled import CompiledPolicy
from core.policy_rules import Minutes, Rule
from core.policy_sla import SlaSpec, TargetName
from core.model import Status
from core.yamlconf import read_yaml, validate


class Settings(BaseModel):
    """Policy-wide settings; every key has a sensible default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_tier: str = "standard"  # for tickets whose account is unknown or has a tier the policy lacks
    ladder: list[str] = Field(default_factory=lambda: ["l1", "tier2", "tier3", "management"], min_length=2)
    # Where a ladder route sends a ticket that sits in a specialist queue (off the ladder): that queue's own
    # escalation group, e.g. billing -> management. A queue not named here keeps its tickets.
    specialist_escalation: dict[str, str] = Field(default_factory=dict)
    approve_tag: str = "deskbridge_approved"  # the supervisor's verdict on a proposal
    reject_tag: str = "deskbridge_rejected"
    cooldown: Minutes = 240  # default minutes before the same rule may act on the same ticket again
    customer_message_interval: Minutes = 1440  # at most one customer message per ticket per this many minutes
    handoff_note: str = "handoff_note"  # default internal-note template
    proposal_note: str = "escalation_proposal"  # internal note asking a supervisor to approve


class Policy(BaseModel):
    """The whole policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    tiers: list[str] = Field(min_length=1)
    groups: list[str] = Field(min_length=1)
    settings: Settings = Field(default_factory=Settings)
    calendars: dict[str, CalendarSpec] = Field(min_length=1)
    sla: SlaSpec
    rules: list[Rule] = Field(default_factory=list)

    _compiled: CompiledPolicy | None = PrivateAttr(default=None)

    def model_post_init(self, __context: object) -> None:
        self._compiled = CompiledPolicy.build(self)
        self._compiled.digest = hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    @property
    def compiled(self) -> CompiledPolicy:
        """Calendars and per-kind-of-ticket lookups, built once (what the engine consults)."""
        # From pydantic's private dict: self._compiled goes through BaseModel.__getattr__ (1.5 us a read).
        return self.__pydantic_private__["_compiled"]  # type: ignore[index]

    @property
    def digest(self) -> str:
        """A short hash of the policy, recorded with each decision so replays can tell versions apart."""
        return self.compiled.digest

    @property
    def pauses(self) -> dict[TargetName, frozenset[Status]]:
        """Per target, the statuses that pause it (solved and closed always stop every clock)."""
        return self.compiled.pauses

    def calendar(self, name: str) -> BusinessCalendar:
        """A compiled calendar by name."""
        return self.compiled.calendars[name]

    def tier_of(self, tier: str | None) -> str:
        """The tier the policy uses for an account tier (unknown tiers get the default)."""
        return tier if tier in self.tiers else self.settings.default_tier

    @property
    def reserved_tags(self) -> frozenset[str]:
        """Tags with a meaning to deskbridge itself."""
        return frozenset({ESCALATED_TAG, PROPOSED_TAG, self.settings.approve_tag, self.settings.reject_tag})


def load_policy(path: Path | str, display_name: str | None = None) -> Policy:
    """Read, validate and cross-check the policy file; raise one ConfigError listing every problem.

    When a ``templates/`` directory sits beside the file (a mapping directory), the
    templates the policy names must exist there.
    """
    path = Path(path)
    located = read_yaml(path, display_name)
    policy = validate(located, Policy)
    problems = cross_check(policy, located)
    templates = path.parent / "templates"
    if templates.is_dir():  # beside a mapping directory's policy.yaml
        problems += template_problems(policy, located, templates)
    if problems:
        raise ConfigError(problems)
    policy.compiled.digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return policy
