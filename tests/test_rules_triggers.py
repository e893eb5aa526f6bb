"""One table row per trigger: the rule fires (with its reason code) exactly when it should."""

from __future__ import annotations

import pytest
from engine_builders import account, at, comment, policy, reopen, status_change, ticket

from core.rules import evaluate

# BASE_POLICY: every ticket on the 24x7 calendar, first_response 60, next_response 120, resolution 480.
CASES = [
    # (id, when, ticket fields, account fields, minutes after creation, expected reason codes or [] for no fire)
    ("at_risk percent reached", "{trigger: at_risk, targets: [resolution], percent_used: 75}",
     {}, {}, 360, ["at_risk:resolution"]),
    ("at_risk percent not yet", "{trigger: at_risk, targets: [resolution], percent_used: 75}",
     {}, {}, 359, []),
    ("at_risk minutes remaining", "{trigger: at_risk, targets: [first_response], remaining_minutes: 10}",
     {}, {}, 50, ["at_risk:first_response"]),
    ("at_risk both required, one reached", "{trigger: at_risk, targets: [resolution], percent_used: 50, "
     "remaining_minutes: 60, require_both: true}", {}, {}, 300, []),
    ("at_risk both required, both reached", "{trigger: at_risk, targets: [resolution], percent_used: 50, "
     "remaining_minutes: 60, require_both: true}", {}, {}, 420, ["at_risk:resolution"]),
    ("at_risk is not breached", "{trigger: at_risk, targets: [first_response], percent_used: 50}",
     {}, {}, 61, []),
    ("breached", "{trigger: breached, targets: [first_response]}", {}, {}, 61, ["breached:first_response"]),
    ("breached not yet", "{trigger: breached, targets: [first_response]}", {}, {}, 59, []),
    ("breached but answered late does not count", "{trigger: breached, targets: [first_response]}",
     {"comments": [comment("1", "agent", at(70), "hi")]}, {}, 80, []),
    ("breached answered late with include_completed",
     "{trigger: breached, targets: [first_response], include_completed: true}",
     {"comments": [comment("1", "agent", at(70), "hi")]}, {}, 80, ["breached:first_response"]),
    ("breached but paused while waiting on the customer", "{trigger: breached, targets: [resolution]}",
     {"status": "pending", "native_status": "pending", "history": [status_change(at(500), "open", "pending")]}, {},
     600, []),
    ("breached and paused with include_paused", "{trigger: breached, targets: [resolution], include_paused: true}",
     {"status": "pending", "native_status": "pending", "history": [status_change(at(500), "open", "pending")]}, {},
     600, ["breached:resolution"]),
    ("inactivity since the last agent comment", "{trigger: inactivity, minutes: 120, of: agent}",
     {"comments": [comment("1", "agent", at(30), "on it", public=False)]}, {}, 150, ["inactivity"]),
    ("inactivity not yet", "{trigger: inactivity, minutes: 120, of: agent}",
     {"comments": [comment("1", "agent", at(30), "on it", public=False)]}, {}, 149, []),
    ("inactivity ignores deskbridge echoes", "{trigger: inactivity, minutes: 120, of: agent}",
     {"comments": [comment("1", "agent", at(100), "[deskbridge:k1] note", by_deskbridge=True)]}, {}, 121,
     ["inactivity"]),
    ("inactivity not while waiting on the customer", "{trigger: inactivity, minutes: 120}",
     {"status": "pending", "native_status": "pending"}, {}, 500, []),
    ("keyword in the subject, any case", "{trigger: keywords, phrases: [{phrase: security breach, route: security}]}",
     {"subject": "Possible SECURITY  Breach on our tenant"}, {}, 5, ["keyword:security breach"]),
    ("keyword only on word boundaries", "{trigger: keywords, phrases: [{phrase: outage}]}",
     {"subject": "outages and blackouts"}, {}, 5, []),
    ("keyword accent-insensitive in a customer comment", "{trigger: keywords, phrases: [{phrase: securite}]}",
     {"comments": [comment("1", "customer", at(1), "Problème de Sécurité urgent")]}, {}, 5, ["keyword:securite"]),
    ("keyword in an agent comment does not count", "{trigger: keywords, phrases: [{phrase: outage}]}",
     {"comments": [comment("1", "agent", at(1), "this is not an outage")]}, {}, 5, []),
    ("customer request phrase", "{trigger: customer_request, phrases: [escalate, speak to a manager]}",
     {"comments": [comment("1", "customer", at(1), "I want to speak to a   MANAGER now")]}, {}, 5,
     ["customer_request"]),
    ("customer request phrase written by an agent does not count", "{trigger: customer_request}",
     {"comments": [comment("1", "agent", at(1), "shall I escalate?")]}, {}, 5, []),
    ("customer request field", "{trigger: customer_request}", {"customer_escalation_request": True}, {}, 5,
     ["customer_request"]),
    ("customer request field ignored when use_field is false", "{trigger: customer_request, use_field: false}",
     {"customer_escalation_request": True}, {}, 5, []),
    ("agent flag field", "{trigger: agent_flag}", {"agent_escalation_flag": True}, {}, 5, ["agent_flag"]),
    ("agent flag tag", "{trigger: agent_flag, tag: needs_escalation}", {"tags": ["vip", "needs_escalation"]}, {},
     5, ["agent_flag"]),
    ("agent flag absent", "{trigger: agent_flag, tag: needs_escalation}", {"tags": ["vip"]}, {}, 5, []),
    ("reopened twice", "{trigger: reopened, at_least: 2}", {"history": [reopen(at(10)), reopen(at(20))]}, {}, 30,
     ["reopened"]),
    ("reopened once", "{trigger: reopened, at_least: 2}", {"history": [reopen(at(10))]}, {}, 30, []),
    ("tier", "{trigger: tier, in: [premier]}", {}, {"tier": "premier"}, 5, ["tier:premier"]),
    ("tier other", "{trigger: tier, in: [premier]}", {}, {"tier": "business"}, 5, []),
    ("segment", "{trigger: segment, in: [Enterprise]}", {}, {"segment": "Enterprise"}, 5, ["segment:Enterprise"]),
    ("product area", "{trigger: product_area, in: [billing]}", {"product_area": "billing"}, {}, 5,
     ["product_area:billing"]),
    ("ticket type", "{trigger: ticket_type, in: [incident]}", {"type": "incident"}, {}, 5, ["ticket_type:incident"]),
    ("all: every part must hold", "{all: [{trigger: tier, in: [premier]}, {trigger: agent_flag}]}",
     {"agent_escalation_flag": True}, {"tier": "business"}, 5, []),
    ("all: every part holds", "{all: [{trigger: tier, in: [premier]}, {trigger: agent_flag}]}",
     {"agent_escalation_flag": True}, {"tier": "premier"}, 5, ["tier:premier", "agent_flag"]),
    ("any: one part is enough", "{any: [{trigger: tier, in: [premier]}, {trigger: agent_flag}]}",
     {"agent_escalation_flag": True}, {"tier": "business"}, 5, ["agent_flag"]),
    ("nested groups", "{all: [{trigger: agent_flag}, {any: [{trigger: reopened, at_least: 5}, "
     "{trigger: breached, targets: [first_response]}]}]}", {"agent_escalation_flag": True}, {}, 61,
     ["agent_flag", "breached:first_response"]),
]


@pytest.mark.parametrize("when, fields, account_fields, minutes, codes", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_trigger(tmp_path, when, fields, account_fields, minutes, codes):
    pol = policy(tmp_path, rules=f"- id: r\n  when: {when}\n")
    decision = evaluate(ticket(**fields), account(**account_fields), pol, at(minutes))
    assert [r.code for r in decision.reasons] == codes
    assert decision.escalate is bool(codes)
    assert decision.rule_ids == (("r",) if codes else ())


@pytest.mark.parametrize(
    "scope, fires",
    [
        ("{systems: [zendesk]}", True),
        ("{systems: [jira, servicenow]}", False),
        ("{tiers: [business]}", True),
        ("{tiers: [premier]}", False),
        ("{priorities: [high, urgent]}", False),
        ("{segments: [Mid-Market]}", True),
        ("{segments: [Enterprise]}", False),
    ],
)
def test_scope_limits_which_tickets_a_rule_looks_at(tmp_path, scope, fires):
    pol = policy(tmp_path, rules=f"- id: r\n  scope: {scope}\n  when: {{trigger: agent_flag}}\n")
    decision = evaluate(ticket(agent_escalation_flag=True), account(), pol, at(5))
    assert decision.escalate is fires


def test_keyword_matches_report_field_offset_and_route(tmp_path):
    pol = policy(tmp_path, rules="""\
        - id: r
          when:
            trigger: keywords
            phrases:
              - {phrase: security breach, route: security}
              - {phrase: outage, route: tier3}
          route: {to: keyword}
        """)
    t = ticket(subject="Outage since 9am", description="we suspect a data leak",
               comments=[comment("c9", "customer", at(1), "Looks like a Security Breach, honestly")])
    decision = evaluate(t, account(), pol, at(5))
    found = [(k.phrase, k.field, k.offset, k.matched, k.route) for k in decision.inputs.keywords]
    assert found == [("outage", "subject", 0, "Outage", "tier3"),
                     ("security breach", "comment:c9", 13, "Security Breach", "security")]
    # the first phrase in the list that matched decides the route, wherever it matched
    assert decision.actions[0].group == "security"
    assert decision.reasons[0].code == "keyword:security breach"


def test_keyword_offsets_point_into_the_original_accented_text(tmp_path):
    pol = policy(tmp_path, rules="- id: r\n  when: {trigger: keywords, phrases: [{phrase: fuite de donnees}]}\n")
    t = ticket(subject="Œuvre: grosse FUITE DE DONNÉES")
    (match,) = evaluate(t, account(), pol, at(5)).inputs.keywords
    assert (match.offset, match.matched) == (14, "FUITE DE DONNÉES")
    assert t.subject[match.offset:match.offset + len(match.matched)] == "FUITE DE DONNÉES"
