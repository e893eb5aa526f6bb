"""The policy file: the shipped default loads and is realistic; mistakes read file:line: key: message."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_builders import BASE_POLICY

from core.errors import ConfigError
from core.policy import load_policy
from core.policy_rules import ToKeyword, ToProductArea
from core.triggers import AllOf, Keywords

SHIPPED = Path(__file__).resolve().parent.parent / "mapping" / "policy.yaml"
TRIGGERS = "at_risk, breached, inactivity, keywords, customer_request, agent_flag, reopened, tier, segment, product_area, ticket_type"
GROUPS = "l1, tier2, tier3, security, billing, management"


def test_the_shipped_policy_loads_with_three_calendars_and_every_tier_covered():
    policy = load_policy(SHIPPED, "mapping/policy.yaml")
    assert policy.tiers == ["premier", "business", "standard"]
    assert set(policy.calendars) == {"london_business", "new_york_split", "always"}
    assert policy.calendars["london_business"].holidays.country == "GB"
    assert policy.calendars["new_york_split"].hours["mon"] == ["08:00-12:00", "13:00-18:00"]
    assert policy.sla.row_for("premier", "urgent", None, "jira").calendar == "always"
    assert policy.settings.ladder == ["l1", "tier2", "tier3", "management"]
    assert len(policy.digest) == 16


def test_the_shipped_policy_has_the_rules_the_brief_asks_for():
    policy = load_policy(SHIPPED)
    rules = {r.id: r for r in policy.rules}
    keywords = rules["critical_keywords"].when
    assert isinstance(keywords, Keywords) and isinstance(rules["critical_keywords"].route, ToKeyword)
    routes = {p.phrase: p.route for p in keywords.phrases}
    assert routes == {"outage": "tier3", "down for all users": "tier3", "security breach": "security",
                      "data leak": "security"}
    assert isinstance(rules["billing_specialists"].route, ToProductArea)
    assert rules["billing_specialists"].route.queues == {"billing": "billing"}
    assert isinstance(rules["billing_specialists"].when, AllOf)
    assert any(r.mode == "propose" for r in policy.rules)
    assert any(r.customer_message for r in policy.rules)
    assert rules["reopened_repeatedly"].when.at_least == 2
    assert rules["sla_at_risk"].when.percent_used == 75


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_policy(path, "mapping/policy.yaml")
    return [str(p) for p in err.value.problems]


def _with_rule(rule: str) -> str:
    return BASE_POLICY + "rules:\n" + rule


# BASE_POLICY has 20 lines; "rules:" is line 21 and the first rule starts on line 22.
CASES = [
    ("unknown trigger",
     _with_rule("  - id: r1\n    when: {trigger: at_rsk, percent_used: 75}\n"),
     [f"mapping/policy.yaml:23: rules[0].when: trigger 'at_rsk' is not one of: {TRIGGERS}"]),
    ("unknown trigger nested in all:",
     _with_rule("  - id: r1\n    when:\n      all:\n        - {trigger: tier, in: [premier]}\n"
                "        - {trigger: keyword, phrases: []}\n"),
     [f"mapping/policy.yaml:26: rules[0].when.all[1]: trigger 'keyword' is not one of: {TRIGGERS}"]),
    ("typo in a trigger key",
     _with_rule("  - id: r1\n    when: {trigger: breached, target: [resolution]}\n"),
     ["mapping/policy.yaml:23: rules[0].when.target: unknown key; did you mean 'targets'? "
      "Allowed here: trigger, targets, include_paused, include_completed"]),
    ("at_risk without a threshold",
     _with_rule("  - id: r1\n    when: {trigger: at_risk}\n"),
     ["mapping/policy.yaml:23: rules[0].when: at_risk needs percent_used and/or remaining_minutes"]),
    ("route to an unknown group",
     _with_rule("  - id: r1\n    when: {trigger: reopened, at_least: 2}\n    route: {to: group, group: tier4}\n"),
     [f"mapping/policy.yaml:24: rules[0].route.group: 'tier4' is not one of the policy's groups: {GROUPS}"]),
    ("unknown route kind",
     _with_rule("  - id: r1\n    when: {trigger: reopened, at_least: 2}\n    route: {to: queue}\n"),
     ["mapping/policy.yaml:24: rules[0].route.to: 'queue' is not one of: group, ladder, account_owner, keyword, "
      "product_area"]),
    ("keyword route without keywords",
     _with_rule("  - id: r1\n    when: {trigger: reopened, at_least: 2}\n    route: {to: keyword}\n"),
     ["mapping/policy.yaml:24: rules[0].route.to: route 'keyword' needs a keywords trigger in 'when'"]),
    ("keyword routed to an unknown group",
     _with_rule("  - id: r1\n    when:\n      trigger: keywords\n      phrases:\n"
                "        - {phrase: outage, route: tier9}\n    route: {to: keyword}\n"),
     [f"mapping/policy.yaml:26: rules[0].when.phrases[0].route: 'tier9' is not one of the policy's groups: {GROUPS}"]),
    ("duplicate rule id",
     _with_rule("  - id: r1\n    when: {trigger: reopened, at_least: 2}\n"
                "  - id: r1\n    when: {trigger: reopened, at_least: 3}\n"),
     ["mapping/policy.yaml:24: rules[1].id: rule id 'r1' is used twice"]),
    ("bad mode",
     _with_rule("  - id: r1\n    mode: automatic\n    when: {trigger: reopened, at_least: 2}\n"),
     ["mapping/policy.yaml:23: rules[0].mode: 'automatic' is not one of: auto, propose"]),
    ("propose rule with a customer message",
     _with_rule("  - id: r1\n    mode: propose\n    when: {trigger: reopened, at_least: 2}\n"
                "    customer_message: notice\n"),
     ["mapping/policy.yaml:25: rules[0].customer_message: a propose-mode rule cannot message the customer; "
      "the supervisor decides first"]),
    ("reserved tag",
     _with_rule("  - id: r1\n    when: {trigger: reopened, at_least: 2}\n    tags: [deskbridge_approved]\n"),
     ["mapping/policy.yaml:24: rules[0].tags[0]: 'deskbridge_approved' is reserved for deskbridge itself"]),
    ("missing when",
     _with_rule("  - id: r1\n    route: {to: ladder}\n"),
     ["mapping/policy.yaml:22: rules[0].when: required key is missing; add it under rules[0]"]),
    ("unknown calendar",
     BASE_POLICY.replace("calendar: always", "calendar: alwayz"),
     ["mapping/policy.yaml:19: sla.targets[0].calendar: 'alwayz' is not one of the policy's calendars: always, office"]),
    ("tier x priority without a target",
     BASE_POLICY.replace("[premier, business, standard], priority", "[premier, business], priority"),
     [f"mapping/policy.yaml:18: sla.targets: no target row for tier 'standard' x priority '{p}' "
      "(add one without segment/system narrowing)" for p in ("low", "normal", "high", "urgent")]),
    ("bad duration",
     BASE_POLICY.replace("resolution: 480", "resolution: 8 hours"),
     ["mapping/policy.yaml:20: sla.targets[0].resolution: '8 hours' is not a duration; write minutes (90) or 90m, "
      "4h, 1h 30m"]),
    ("bad time zone",
     BASE_POLICY.replace("timezone: UTC", "timezone: Europe/Lodnon"),
     ["mapping/policy.yaml:10: calendars.office.timezone: 'Europe/Lodnon' is not an IANA time zone "
      "(e.g. Europe/London, America/New_York)"]),
    ("overnight shift",
     BASE_POLICY.replace('mon: &day ["09:00-17:00"]', 'mon: &day ["17:00-09:00"]'),
     ["mapping/policy.yaml:11: calendars.office.hours: mon: '17:00-09:00' ends before it starts; "
      "split overnight shifts at 24:00"]),
    ("unknown pausing status",
     BASE_POLICY.replace("sla:\n", "sla:\n  pause:\n    resolution: [waiting]\n"),
     ["mapping/policy.yaml:19: sla.pause.resolution[0]: 'waiting' is not one of: new, open, pending, on_hold, "
      "solved, closed"]),
    ("ladder through an unknown group",
     BASE_POLICY.replace("  cooldown: 60\n", "  cooldown: 60\n  ladder: [l1, tier2, l3]\n"),
     [f"mapping/policy.yaml:6: settings.ladder[2]: 'l3' is not one of the policy's groups: {GROUPS}"]),
    ("specialist escalation from a ladder group to an unknown one",
     BASE_POLICY.replace("  cooldown: 60\n", "  cooldown: 60\n  specialist_escalation:\n    tier2: managment\n"),
     ["mapping/policy.yaml:7: settings.specialist_escalation.tier2: tier2 is on the ladder; only specialist queues "
      "(groups off the ladder: security, billing) are named here",
      f"mapping/policy.yaml:7: settings.specialist_escalation.tier2: 'managment' is not one of the policy's groups: "
      f"{GROUPS}"]),
    ("YAML syntax error",
     _with_rule("  - id: r1\n    when: {trigger: at_risk, percent_used: 75\n"),
     ["mapping/policy.yaml:24:1: YAML syntax error: expected ',' or '}', but got '<stream end>'"]),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_policy_mistakes_are_reported_with_file_line_key_and_message(tmp_path, text, expected):
    assert _problems(tmp_path, text) == expected


def test_every_problem_is_reported_at_once(tmp_path):
    text = _with_rule("  - id: r1\n    when: {trigger: reopened, at_least: 2}\n    route: {to: group, group: tier4}\n"
                      "  - id: r2\n    when: {trigger: tier, in: [platinum]}\n")
    assert _problems(tmp_path, text.replace("calendar: always", "calendar: alwayz")) == [
        "mapping/policy.yaml:19: sla.targets[0].calendar: 'alwayz' is not one of the policy's calendars: always, office",
        f"mapping/policy.yaml:24: rules[0].route.group: 'tier4' is not one of the policy's groups: {GROUPS}",
        "mapping/policy.yaml:26: rules[1].when.in[0]: 'platinum' is not one of the policy's tiers: premier, business, "
        "standard",
    ]


def test_templates_the_policy_names_must_exist_beside_it(tmp_path):
    (tmp_path / "templates").mkdir()
    for name in ("handoff_note.zendesk.j2", "escalation_proposal.zendesk.j2", "escalation_notice.j2"):
        (tmp_path / "templates" / name).write_text("x")
    good = _with_rule("  - id: r1\n    when: {trigger: reopened, at_least: 2}\n    customer_message: escalation_notice\n")
    (tmp_path / "policy.yaml").write_text(good)
    load_policy(tmp_path / "policy.yaml")
    assert _problems(tmp_path, good.replace("customer_message: escalation_notice", "customer_message: notice")) == [
        "mapping/policy.yaml:24: rules[0].customer_message: no template 'notice' in templates/ (expected notice.j2 "
        "or notice.<system>.j2); have: escalation_notice, escalation_proposal, handoff_note"
    ]
