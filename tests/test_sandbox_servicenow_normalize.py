"""deskbridge's own ServiceNow normalizer reads what the emulator serves, and agrees with the emulator's view."""

from __future__ import annotations

from pathlib import Path

from test_sandbox_servicenow import Running, certs, sn  # noqa: F401  (fixtures)

from connectors.servicenow.normalize import normalize_many
from core.config import load_mappings

MAPPING_DIR = Path(__file__).resolve().parent.parent / "mapping"


def _rows(sn: Running, table: str, query: str) -> list[dict]:
    return sn.raw(f"/api/now/table/{table}", sysparm_query=query, sysparm_display_value="all",
                  sysparm_exclude_reference_link="true").json()["result"]


def _by(rows: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row[key]["value"], []).append(row)
    return out


def test_given_a_page_pulled_like_a_connector_then_every_incident_normalizes_as_the_emulator_sees_it(sn: Running):
    sn.emulator.human(sn.emulator.ticket_ids()[1], {"action": "add_tags", "tags": ["billing_dispute"]})
    incidents = _rows(sn, "incident", "ORDERBYnumber")
    ids = ",".join(row["sys_id"]["value"] for row in incidents)
    journal = _by(_rows(sn, "sys_journal_field", f"element_idIN{ids}^elementINcomments,work_notes"), "element_id")
    audits = _by(_rows(sn, "sys_audit", f"documentkeyIN{ids}^ORDERBYsys_created_on"), "documentkey")
    slas = _by(_rows(sn, "task_sla", f"taskIN{ids}"), "task")
    users = _rows(sn, "sys_user", "")
    mapping = load_mappings(MAPPING_DIR, with_policy=False).servicenow

    tickets, quarantined = normalize_many(incidents, mapping, journal_by_ticket=journal, audits_by_ticket=audits,
                                          slas_by_ticket=slas, users=users)

    assert quarantined == [] and len(tickets) == 10
    for ticket in tickets:
        view = sn.emulator.view(ticket.id)
        assert (ticket.key, ticket.status.value, ticket.priority.value, ticket.group) == (
            view["key"], view["status"], view["priority"], view["group"])
        assert list(ticket.tags) == view["tags"] and ticket.concurrency_token == view["token"]
        assert [(c.public, c.body) for c in ticket.comments] == [(c["public"], c["body"]) for c in view["comments"]]
        assert {s.target for s in ticket.native_slas} <= {"first_response", "resolution"}
        assert all(s.name in mapping.sla_definitions for s in ticket.native_slas)
    customer_comments = [c for t in tickets for c in t.comments if c.role.value == "customer"]
    assert customer_comments and all(c.public for c in customer_comments)
