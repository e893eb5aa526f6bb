"""Checks on the policy that need more than one key, each located at the offending line.

Schema validation catches a wrong value in one place; these catch references
that do not resolve (a group, tier or calendar the policy never names), a
tier x priority left without SLA targets, duplicate rule ids, and a rule
routing by keyword without a keyword trigger.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigProblem
from core.model import Priority
from core.policy_rules import Rule, ToGroup, ToKeyword, ToProductArea
from core.triggers import AllOf, AnyOf, Inactivity, Keywords, TierIs
from core.yamlconf import Loc, LocatedYaml

if TYPE_CHECKING:
    from core.policy import Policy


def cross_check(policy: Policy, located: LocatedYaml) -> list[ConfigProblem]:
    """Every cross-reference problem in ``policy``; empty when all resolve."""
    return [
        *_settings_problems(policy, located),
        *_sla_problems(policy, located),
        *(p for i, rule in enumerate(policy.rules) for p in _rule_problems(policy, rule, ("rules", i), located)),
        *_duplicate_rule_ids(policy, located),
    ]


def _one_of(value: str, allowed: list[str], what: str) -> str:
    return f"{value!r} is not one of the policy's {what}: {', '.join(allowed)}"


def _settings_problems(policy: Policy, located: LocatedYaml) -> list[ConfigProblem]:
    problems = []
    settings = policy.settings
    if settings.default_tier not in policy.tiers:
        problems.append(located.problem(("settings", "default_tier"), _one_of(settings.default_tier, policy.tiers, "tiers")))
    for i, group in enumerate(settings.ladder):
        if group not in policy.groups:
            problems.append(located.problem(("settings", "ladder", i), _one_of(group, policy.groups, "groups")))
    if len(set(settings.ladder)) != len(settings.ladder):
        problems.append(located.problem(("settings", "ladder"), "a group appears twice; the ladder must only go up"))
    for queue, target in settings.specialist_escalation.items():
        where = ("settings", "specialist_escalation", queue)
        if queue not in policy.groups:
            problems.append(located.problem(where, _one_of(queue, policy.groups, "groups")))
        elif queue in settings.ladder:
            off_ladder = ", ".join(g for g in policy.groups if g not in settings.ladder)
            problems.append(located.problem(where, f"{queue} is on the ladder; only specialist queues (groups off "
                                                   f"the ladder: {off_ladder}) are named here"))
        if target not in policy.groups:
            problems.append(located.problem(where, _one_of(target, policy.groups, "groups")))
        elif target == queue:
            problems.append(located.problem(where, f"{queue} cannot escalate to itself"))
    if settings.approve_tag == settings.reject_tag:
        problems.append(located.problem(("settings", "reject_tag"), "approve_tag and reject_tag must differ"))
    return problems


def _sla_problems(policy: Policy, located: LocatedYaml) -> list[ConfigProblem]:
    problems = []
    for i, row in enumerate(policy.sla.targets):
        if row.calendar not in policy.calendars:
            problems.append(located.problem(("sla", "targets", i, "calendar"),
                                            _one_of(row.calendar, list(policy.calendars), "calendars")))
        for j, tier in enumerate(row.tier):
            if tier not in policy.tiers:
                problems.append(located.problem(("sla", "targets", i, "tier", j), _one_of(tier, policy.tiers, "tiers")))
    for tier in policy.tiers:
        for priority in Priority:
            covered = any(r.specificity == 0 and tier in r.tier and priority in r.priority for r in policy.sla.targets)
            if not covered:
                problems.append(located.problem(("sla", "targets"),
                                                f"no target row for tier {tier!r} x priority {priority.value!r} "
                                                "(add one without segment/system narrowing)"))
    return problems


def _rule_problems(policy: Policy, rule: Rule, loc: Loc, located: LocatedYaml) -> list[ConfigProblem]:
    problems = []
    for j, tier in enumerate(rule.scope.tiers or []):
        if tier not in policy.tiers:
            problems.append(located.problem((*loc, "scope", "tiers", j), _one_of(tier, policy.tiers, "tiers")))
    problems += _condition_problems(policy, rule.when, (*loc, "when"), located)
    route = rule.route
    if isinstance(route, ToGroup) and route.group not in policy.groups:
        problems.append(located.problem((*loc, "route", "group"), _one_of(route.group, policy.groups, "groups")))
    if isinstance(route, ToProductArea):
        for area, group in route.queues.items():
            if group not in policy.groups:
                problems.append(located.problem((*loc, "route", "queues", area), _one_of(group, policy.groups, "groups")))
    if isinstance(route, ToKeyword) and not _has_keywords(rule.when):
        problems.append(located.problem((*loc, "route", "to"), "route 'keyword' needs a keywords trigger in 'when'"))
    if rule.mode == "propose" and rule.customer_message:
        problems.append(located.problem((*loc, "customer_message"),
                                        "a propose-mode rule cannot message the customer; the supervisor decides first"))
    for j, tag in enumerate(rule.tags):
        if tag in policy.reserved_tags:
            problems.append(located.problem((*loc, "tags", j), f"{tag!r} is reserved for deskbridge itself"))
    return problems


def _condition_problems(policy: Policy, condition, loc: Loc, located: LocatedYaml) -> list[ConfigProblem]:
    if isinstance(condition, (AllOf, AnyOf)):
        key = "all" if isinstance(condition, AllOf) else "any"
        children = condition.all if isinstance(condition, AllOf) else condition.any
        return [p for i, c in enumerate(children) for p in _condition_problems(policy, c, (*loc, key, i), located)]
    problems = []
    if isinstance(condition, Inactivity) and condition.calendar and condition.calendar not in policy.calendars:
        problems.append(located.problem((*loc, "calendar"),
                                        _one_of(condition.calendar, list(policy.calendars), "calendars")))
    if isinstance(condition, Keywords):
        for i, phrase in enumerate(condition.phrases):
            if phrase.route is not None and phrase.route not in policy.groups:
                problems.append(located.problem((*loc, "phrases", i, "route"),
                                                _one_of(phrase.route, policy.groups, "groups")))
    if isinstance(condition, TierIs):
        for i, tier in enumerate(condition.values):
            if tier not in policy.tiers:
                problems.append(located.problem((*loc, "in", i), _one_of(tier, policy.tiers, "tiers")))
    return problems


def _has_keywords(condition) -> bool:
    if isinstance(condition, AllOf):
        return any(_has_keywords(c) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(_has_keywords(c) for c in condition.any)
    return isinstance(condition, Keywords)


def template_problems(policy: Policy, located: LocatedYaml, templates_dir: Path) -> list[ConfigProblem]:
    """Every template the policy names must exist as ``<name>.j2`` or ``<name>.<system>.j2``."""
    available = {f.name.split(".")[0] for f in templates_dir.glob("*.j2")}
    named: list[tuple[Loc, str]] = [(("settings", "handoff_note"), policy.settings.handoff_note),
                                    (("settings", "proposal_note"), policy.settings.proposal_note)]
    for i, rule in enumerate(policy.rules):
        named += [(("rules", i, key), getattr(rule, key)) for key in ("note", "customer_message") if getattr(rule, key)]
    return [
        located.problem(loc, f"no template {name!r} in {templates_dir.name}/ (expected {name}.j2 or "
                             f"{name}.<system>.j2); have: {', '.join(sorted(available)) or 'none'}")
        for loc, name in named
        if name not in available
    ]


def _duplicate_rule_ids(policy: Policy, located: LocatedYaml) -> list[ConfigProblem]:
    seen: set[str] = set()
    problems = []
    for i, rule in enumerate(policy.rules):
        if rule.id in seen:
            problems.append(located.problem(("rules", i, "id"), f"rule id {rule.id!r} is used twice"))
        seen.add(rule.id)
    return problems
