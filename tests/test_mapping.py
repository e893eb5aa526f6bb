"""The shipped mapping files: valid, complete for the sandbox vocabulary, and strict about mistakes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from broken_mappings.corpus import mapping_with
from core.config import load_mappings, policy_module
from core.errors import ConfigError
from core.mapping import JiraMapping, SalesforceMapping, ServiceNowMapping, ZendeskMapping
from core.mapping_parts import FieldDecision, IntegrationUser, TagsDecision
from core.model import Priority, Status, System
from core.yamlconf import load_model
from sandbox import vocab

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped():
    return load_mappings(ROOT / "mapping", display_root="mapping", with_policy=False)


def problems(tmp_path: Path, name: str, text: str, model) -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_model(path, model, f"mapping/{name}")
    return [str(p) for p in err.value.problems]


# --- the shipped files cover everything the sandbox emits -----------------------------------


def test_shared_definitions_match_the_sandbox(shipped):
    assert shipped.shared.groups == vocab.GROUPS
    assert shipped.shared.product_areas == vocab.PRODUCT_AREAS
    assert set(shipped.shared.tiers) == set(vocab.SALESFORCE["tiers"].values())


def test_zendesk_covers_vocab(shipped):
    z, v = shipped.zendesk, vocab.ZENDESK
    assert {native: z.status_map[native].value for native in v["status"].values()} == {n: s for s, n in v["status"].items()}
    assert {native: z.priority_map[native].value for native in v["priority"].values()} == {n: p for p, n in v["priority"].items()}
    assert z.groups == {logical: str(native) for logical, (native, _name) in v["groups"].items()}
    fields = v["custom_fields"]
    assert z.fields.product_area.field == str(fields["product_area"])
    assert z.fields.escalation_flag.field == str(fields["escalation_flag"])
    assert z.fields.customer_escalation_request.field == str(fields["customer_escalation_request"])
    assert z.fields.salesforce_account_id.field == str(fields["salesforce_account_id"])
    assert z.fields.product_area.values == {native: area for area, native in v["product_area_values"].items()}


def test_servicenow_covers_vocab(shipped):
    s, v = shipped.servicenow, vocab.SERVICENOW
    for status, (value, label) in v["status"].items():
        assert (s.status_map[value].status.value, s.status_map[value].label) == (status, label)
    for value, label in v["hold_reason"].items():
        assert s.hold_reasons[value].label == label
        assert s.hold_reasons[value].status is (Status.pending if value == "1" else Status.on_hold)
    for priority, (value, label) in v["priority"].items():
        assert (s.priority_map[value].priority.value, s.priority_map[value].label) == (priority, label)
    assert s.groups == {logical: sys_id for logical, (sys_id, _name) in v["groups"].items()}
    for name, column in v["custom_fields"].items():
        assert getattr(s.fields, name).field == column


def test_jira_covers_vocab(shipped):
    j, v = shipped.jira, vocab.JIRA
    for status, name in v["status"].items():
        assert j.status_map[name].value == status
    for name in v["extra_open_statuses"]:
        assert j.status_map[name] is Status.open
    assert set(j.native_statuses) == set(v["status"].values()) | set(v["extra_open_statuses"])
    for priority, name in v["priority"].items():
        assert j.priority_map[name].value == priority
    for name, priority in v["extra_priorities"].items():
        assert j.priority_map[name].value == priority
    assert j.groups == v["groups"]
    ids = {name: field_id for name, (field_id, _label) in v["custom_fields"].items()}
    for name in ("team", "product_area", "escalation_flag", "customer_escalation_request",
                 "salesforce_account_id", "request_type"):
        assert getattr(j.fields, name).field == ids[name]
    assert j.fields.team.name == v["custom_fields"]["team"][1]
    slas = {s.field: (s.target.value, s.name) for s in j.fields.slas}
    assert slas == {
        ids["sla_first_response"]: ("first_response", v["custom_fields"]["sla_first_response"][1]),
        ids["sla_resolution"]: ("resolution", v["custom_fields"]["sla_resolution"][1]),
    }


def test_salesforce_covers_vocab(shipped):
    sf, v = shipped.salesforce, vocab.SALESFORCE
    assert sf.fields.tier == v["tier_field"]
    assert sf.fields.segment == v["segment_field"]
    assert sf.tier_map == v["tiers"]
    assert sf.default_tier == v["default_tier"]
    assert sf.soql_fields() == ["Id", "Name", "Support_Tier__c", "Customer_Segment__c", "OwnerId",
                                "Owner.Name", "Owner.Email"]


def test_supervisor_tags_come_from_shared_definitions(shipped):
    assert shipped.zendesk.supervisor_decision == TagsDecision(kind="tags", approve="deskbridge_approved",
                                                               reject="deskbridge_rejected")
    decision = shipped.servicenow.supervisor_decision
    assert isinstance(decision, FieldDecision)
    assert (decision.field, decision.approve_tag, decision.reject_tag) == ("approval", "deskbridge_approved",
                                                                           "deskbridge_rejected")
    assert shipped.for_system(System.jira) is shipped.jira


def test_reverse_lookups(shipped):
    assert shipped.zendesk.logical_group("360000002") == "tier2"
    assert shipped.zendesk.logical_group("999") is None
    assert shipped.servicenow.state_value("Resolved") == "6"
    assert shipped.servicenow.state_value("6") == "6"
    assert shipped.servicenow.priority_value("1 - critical") == "1"
    assert shipped.servicenow.hold_reason_value("Awaiting Caller") == "1"
    assert shipped.jira.logical_group("Security Response") == "security"


# --- schema strictness ----------------------------------------------------------------------


def test_integration_user_needs_an_identifier():
    with pytest.raises(ValueError, match="give at least one of: email, id, login"):
        IntegrationUser()
    assert IntegrationUser(email="Bot@Acme.test").matches(None, "bot@acme.TEST")
    assert not IntegrationUser(login="deskbridge.integration").matches("someone", None)


def test_names_are_closed_vocabulary(tmp_path):
    text = "groups: [l1, Tier 2]\nproduct_areas: [api]\ntiers: [premier]\n"
    from core.mapping_parts import SharedDefinitions

    assert problems(tmp_path, "shared.yaml", text, SharedDefinitions) == [
        "mapping/shared.yaml:1: groups[1]: 'Tier 2' is not a valid name: use lowercase letters, digits and _, "
        "starting with a letter"
    ]


def test_time_zone_with_hint(tmp_path):
    base = (ROOT / "mapping" / "servicenow.yaml").read_text()
    text = base.replace("display_timezone: UTC", "display_timezone: Europe/Londn")
    assert problems(tmp_path, "servicenow.yaml", text, ServiceNowMapping) == [
        f"mapping/servicenow.yaml:{_line(text, 'display_timezone:')}: display_timezone: 'Europe/Londn' is not a "
        "known time zone; did you mean 'Europe/London'?"
    ]


def test_jira_status_category_is_an_enum(tmp_path):
    base = (ROOT / "mapping" / "jira.yaml").read_text()
    text = base.replace("  done: solved", "  finished: solved")
    assert problems(tmp_path, "jira.yaml", text, JiraMapping) == [
        f"mapping/jira.yaml:{_line(text, '  finished:')}: status_categories.finished: 'finished' is not one of: "
        "new, indeterminate, done"
    ]


def test_salesforce_field_names_are_checked(tmp_path):
    base = (ROOT / "mapping" / "salesforce.yaml").read_text()
    text = base.replace("owner_email: Owner.Email", "owner_email: Owner.Email + 1")
    assert problems(tmp_path, "salesforce.yaml", text, SalesforceMapping) == [
        f"mapping/salesforce.yaml:{_line(text, '  owner_email:')}: fields.owner_email: 'Owner.Email + 1' is not a "
        "Salesforce field name (e.g. Support_Tier__c or Owner.Email)"
    ]


def test_missing_discriminator_names_the_key(tmp_path):
    base = (ROOT / "mapping" / "zendesk.yaml").read_text()
    text = base.replace("supervisor_decision:\n  kind: tags\n", "supervisor_decision:\n  approve: ok\n")
    assert problems(tmp_path, "zendesk.yaml", text, ZendeskMapping) == [
        f"mapping/zendesk.yaml:{_line(text, 'supervisor_decision:')}: supervisor_decision.kind: required key is "
        "missing; add it under supervisor_decision"
    ]


def _line(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


# --- cross-checks ---------------------------------------------------------------------------


def _edit(directory: Path, name: str, old: str, new: str) -> str:
    path = directory / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path.read_text()


LOW_LINE = '  "4": {label: 3 - moderate'


def test_duplicate_shared_names_and_hold_reasons_without_hold_state(tmp_path):
    d = mapping_with("wrong_enum", tmp_path / "m")
    shutil.copy(ROOT / "mapping" / "zendesk.yaml", d)  # only the edits below are wrong
    shared = _edit(d, "shared.yaml", "  - api\n", "  - api\n  - api\n")
    sn = _edit(d, "servicenow.yaml", '"3": {label: On Hold, status: on_hold}', '"3": {label: On Hold, status: open}')
    sn = _edit(d, "servicenow.yaml", '"4": {label: 4 - Low, priority: low}', '"4": {label: 3 - moderate, priority: low}')
    with pytest.raises(ConfigError) as err:
        load_mappings(d, display_root="mapping", with_policy=False)
    assert [str(p) for p in err.value.problems] == [
        f"mapping/shared.yaml:{_line(shared, '  - api') + 1}: product_areas[2]: 'api' is listed more than once",
        f"mapping/servicenow.yaml:{_line(sn, 'hold_reasons:')}: hold_reasons: hold reasons refine an on_hold state, "
        "but no state in status_map has status on_hold",
        f"mapping/servicenow.yaml:{_line(sn, LOW_LINE)}: priority_map.4.label: label "
        "'3 - moderate' is already used by '3'; labels must be unique",
    ]


def test_missing_file_is_reported_with_the_others(tmp_path):
    d = mapping_with("wrong_enum", tmp_path / "m")
    (d / "jira.yaml").unlink()
    with pytest.raises(ConfigError) as err:
        load_mappings(d, display_root="mapping", with_policy=False)
    assert [str(p) for p in err.value.problems] == [
        "mapping/zendesk.yaml:16: status_map.hold: 'on-hold' is not one of: new, open, pending, on_hold, solved, closed",
        "mapping/jira.yaml: file is missing: every mapping directory needs shared.yaml, zendesk.yaml, "
        "servicenow.yaml, jira.yaml, salesforce.yaml",
    ]


@pytest.mark.skipif(policy_module() is None, reason="core.policy is not in this tree yet")
def test_policy_and_shared_must_agree_on_supervisor_tags(tmp_path):
    d = mapping_with("wrong_enum", tmp_path / "m")
    shutil.copy(ROOT / "mapping" / "zendesk.yaml", d)
    shared = _edit(d, "shared.yaml", "  approve: deskbridge_approved", "  approve: supervisor_ok")
    mappings_ok = load_mappings(ROOT / "mapping", display_root="mapping")
    policy_tag = mappings_ok.policy.settings.approve_tag
    with pytest.raises(ConfigError) as err:
        load_mappings(d, display_root="mapping")
    assert [str(p) for p in err.value.problems] == [
        f"mapping/shared.yaml:{_line(shared, '  approve:')}: supervisor_tags.approve: 'supervisor_ok' differs "
        f"from policy.yaml settings.approve_tag {policy_tag!r}; both must name the same tag"
    ]


@pytest.mark.skipif(policy_module() is None, reason="core.policy is not in this tree yet")
def test_shipped_directory_is_valid_with_its_policy():
    mappings = load_mappings(ROOT / "mapping", display_root="mapping")
    assert mappings.policy is not None
    assert mappings.files[-1] == "mapping/policy.yaml"
    assert set(mappings.policy.tiers) == set(mappings.shared.tiers)


def test_priority_defaults_for_missing_priority(shipped):
    assert shipped.zendesk.missing_priority is Priority.normal
