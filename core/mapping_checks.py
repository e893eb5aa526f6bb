"""Checks that need more than one key, or more than one file.

Each check returns located problems (``file:line: key.path: message``) and
never stops at the first: :mod:`core.config` gathers them from every file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from core.errors import ConfigProblem
from core.mapping import JiraMapping, SalesforceMapping, ServiceNowMapping, ZendeskMapping
from core.mapping_parts import SharedDefinitions
from core.model import Status
from core.yamlconf import LocatedYaml


def _hint(value: str, allowed: Iterable[str]) -> str:
    found = difflib.get_close_matches(value, list(allowed), n=1, cutoff=0.6)
    return f"; did you mean '{found[0]}'?" if found else ""


def check_shared(doc: LocatedYaml, shared: SharedDefinitions) -> list[ConfigProblem]:
    """No name listed twice."""
    problems = []
    for key in ("groups", "product_areas", "tiers"):
        seen: set[str] = set()
        for index, name in enumerate(getattr(shared, key)):
            if name in seen:
                problems.append(doc.problem((key, index), f"{name!r} is listed more than once"))
            seen.add(name)
    return problems


def _check_names(
    doc: LocatedYaml, loc: tuple, used: Iterable[str], defined: list[str], what: str
) -> list[ConfigProblem]:
    """Every name used at ``loc`` must be defined in shared.yaml under ``what``."""
    return [
        doc.problem((*loc, name), f"{name!r} is not one of the {what} in shared.yaml{_hint(name, defined)}"
                    f" ({', '.join(defined)})")
        for name in used
        if name not in defined
    ]


def _check_groups(doc: LocatedYaml, groups: dict[str, str], shared: SharedDefinitions) -> list[ConfigProblem]:
    problems = _check_names(doc, ("groups",), groups, shared.groups, "groups")
    missing = [g for g in shared.groups if g not in groups]
    if missing:
        problems.append(
            doc.problem(("groups",), f"no native id for {', '.join(missing)}: shared.yaml defines "
                        f"{'it' if len(missing) == 1 else 'them'}, so add {'it' if len(missing) == 1 else 'them'} here")
        )
    owners: dict[str, str] = {}
    for logical, native in groups.items():
        if native in owners:
            problems.append(
                doc.problem(("groups", logical), f"{native!r} is already the native id of {owners[native]}; "
                            "each native group can stand for one logical group")
            )
        owners.setdefault(native, logical)
    return problems


def _check_product_areas(doc: LocatedYaml, mapping, shared: SharedDefinitions) -> list[ConfigProblem]:
    field = mapping.fields.product_area
    if field is None or field.values is None:
        return []
    return [
        doc.problem(("fields", "product_area", "values", native),
                    f"{area!r} is not one of the product_areas in shared.yaml{_hint(area, shared.product_areas)}"
                    f" ({', '.join(shared.product_areas)})")
        for native, area in field.values.items()
        if area not in shared.product_areas
    ]


def _check_native_statuses(doc: LocatedYaml, mapping: ZendeskMapping | JiraMapping) -> list[ConfigProblem]:
    if mapping.native_statuses is None:
        return []
    problems, seen = [], set()
    for index, native in enumerate(mapping.native_statuses):
        if native in seen:
            problems.append(doc.problem(("native_statuses", index), f"{native!r} is listed more than once"))
        seen.add(native)
        if native not in mapping.status_map:
            problems.append(doc.problem(("native_statuses", index),
                                        f"{native!r} has no entry in status_map; map it to one of: "
                                        f"{', '.join(s.value for s in Status)}"))
    for native in mapping.status_map:
        if native not in mapping.native_statuses:
            problems.append(doc.problem(("status_map", native),
                                        f"{native!r} is not in native_statuses"
                                        f"{_hint(native, mapping.native_statuses)}"))
    return problems


def _helpdesk_common(doc: LocatedYaml, mapping, shared: SharedDefinitions) -> list[ConfigProblem]:
    return _check_groups(doc, mapping.groups, shared) + _check_product_areas(doc, mapping, shared)


ZENDESK_PRIORITIES = ("low", "normal", "high", "urgent")  # fixed by Zendesk: an instance cannot add or rename one


def check_zendesk(doc: LocatedYaml, mapping: ZendeskMapping, shared: SharedDefinitions) -> list[ConfigProblem]:
    problems = _check_native_statuses(doc, mapping) + _helpdesk_common(doc, mapping, shared)
    for native in mapping.priority_map:
        if native not in ZENDESK_PRIORITIES:
            problems.append(doc.problem(("priority_map", native), f"{native!r} is not a Zendesk priority"
                                        f"{_hint(native, ZENDESK_PRIORITIES)} ({', '.join(ZENDESK_PRIORITIES)})"))
    missing = [p for p in ZENDESK_PRIORITIES if p not in mapping.priority_map]
    if missing:
        problems.append(doc.problem(("priority_map",), f"no entry for {', '.join(missing)}: every Zendesk priority "
                                    "needs one, or its tickets would be quarantined"))
    return problems + _zendesk_ids(doc, mapping)


def _zendesk_ids(doc: LocatedYaml, mapping: ZendeskMapping) -> list[ConfigProblem]:
    """Zendesk group and ticket field ids are numbers (360000001); text there is a typo, not an id."""
    f = mapping.fields
    refs = {("groups", name): native for name, native in mapping.groups.items()}
    refs |= {("fields", name, "field"): ref.field for name, ref in f.named().items()}
    refs |= {("fields", "extra", name): native for name, native in f.extra.items()}
    return [doc.problem(loc, f"{native!r} is not a Zendesk id (digits, e.g. 360000001)")
            for loc, native in refs.items() if not native.isdigit()]


def check_jira(doc: LocatedYaml, mapping: JiraMapping, shared: SharedDefinitions) -> list[ConfigProblem]:
    problems = _check_native_statuses(doc, mapping) + _helpdesk_common(doc, mapping, shared)
    seen: dict[str, int] = {}
    for index, sla in enumerate(mapping.fields.slas):
        if sla.field in seen:
            problems.append(doc.problem(("fields", "slas", index, "field"),
                                        f"{sla.field!r} is already listed at slas[{seen[sla.field]}]"))
        seen.setdefault(sla.field, index)
    return problems


def check_servicenow(doc: LocatedYaml, mapping: ServiceNowMapping, shared: SharedDefinitions) -> list[ConfigProblem]:
    problems = _helpdesk_common(doc, mapping, shared)
    problems += _duplicate_labels(doc, "status_map", {v: e.label for v, e in mapping.status_map.items()})
    problems += _duplicate_labels(doc, "priority_map", {v: e.label for v, e in mapping.priority_map.items()})
    problems += _duplicate_labels(doc, "hold_reasons", {v: e.label for v, e in mapping.hold_reasons.items()})
    if mapping.hold_reasons and not any(e.status is Status.on_hold for e in mapping.status_map.values()):
        problems.append(doc.problem(("hold_reasons",), "hold reasons refine an on_hold state, but no state in "
                                    "status_map has status on_hold"))
    return problems


def _duplicate_labels(doc: LocatedYaml, key: str, labels: dict[str, str]) -> list[ConfigProblem]:
    seen: dict[str, str] = {}
    problems = []
    for value, label in labels.items():
        folded = label.casefold()
        if folded in seen:
            problems.append(doc.problem((key, value, "label"),
                                        f"label {label!r} is already used by {seen[folded]!r}; labels must be unique"))
        seen.setdefault(folded, value)
    return problems


def check_salesforce(doc: LocatedYaml, mapping: SalesforceMapping, shared: SharedDefinitions) -> list[ConfigProblem]:
    problems = []
    for value, tier in mapping.tier_map.items():
        if tier not in shared.tiers:
            problems.append(doc.problem(("tier_map", value), f"{tier!r} is not one of the tiers in shared.yaml"
                                        f"{_hint(tier, shared.tiers)} ({', '.join(shared.tiers)})"))
    if mapping.default_tier not in shared.tiers:
        problems.append(doc.problem(("default_tier",), f"{mapping.default_tier!r} is not one of the tiers in "
                                    f"shared.yaml{_hint(mapping.default_tier, shared.tiers)} "
                                    f"({', '.join(shared.tiers)})"))
    return problems


CHECKS = {
    "zendesk": check_zendesk,
    "servicenow": check_servicenow,
    "jira": check_jira,
    "salesforce": check_salesforce,
}


def check_policy(
    shared_doc: LocatedYaml, shared: SharedDefinitions, policy_doc: LocatedYaml, policy: Any
) -> list[ConfigProblem]:
    """policy.yaml and shared.yaml must speak the same names (tiers, groups, supervisor tags)."""
    problems = []
    for index, tier in enumerate(policy.tiers):
        if tier not in shared.tiers:
            problems.append(policy_doc.problem(("tiers", index), f"{tier!r} is not one of the tiers in shared.yaml"
                                               f"{_hint(tier, shared.tiers)} ({', '.join(shared.tiers)})"))
    for index, tier in enumerate(shared.tiers):
        if tier not in policy.tiers:
            problems.append(shared_doc.problem(("tiers", index), f"{tier!r} is not a tier in policy.yaml, which sets "
                                               "the SLA targets of every tier"))
    for index, group in enumerate(policy.groups):
        if group not in shared.groups:
            problems.append(policy_doc.problem(("groups", index), f"{group!r} is not one of the groups in shared.yaml"
                                               f"{_hint(group, shared.groups)} ({', '.join(shared.groups)})"))
    settings = policy.settings
    for which in ("approve", "reject"):
        mine, theirs = getattr(shared.supervisor_tags, which), getattr(settings, f"{which}_tag")
        if mine != theirs:
            problems.append(shared_doc.problem(("supervisor_tags", which), f"{mine!r} differs from policy.yaml "
                                               f"settings.{which}_tag {theirs!r}; both must name the same tag"))
    return problems
