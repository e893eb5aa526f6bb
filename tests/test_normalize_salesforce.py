"""Salesforce Account normalizer: tiers through the tier map, defaults that say why, unknown accounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.salesforce.normalize import to_account, to_accounts, unknown_account
from core.config import load_mappings
from core.errors import PayloadError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mapping():
    return load_mappings(ROOT / "mapping", with_policy=False).salesforce


@pytest.fixture
def load(payloads_dir):
    return lambda name: json.loads((payloads_dir / "salesforce" / name).read_text(encoding="utf-8"))


def test_account_query_page(load, mapping):
    """The captured org has no support-tier field selected: every account gets the default, and says so."""
    page = load("query_account_first_page_next_records_url.json")
    accounts = [to_account(r, mapping) for r in page["records"]]
    assert [(a.id, a.name) for a in accounts] == [
        ("001dM00003jU9GyQAK", "Burlington Textiles Corp of America"),
        ("001dM00003jU9H7QAK", "GenePoint"),
        ("001dM00003jU9H8QAK", "sForce"),
    ]
    for a in accounts:
        assert (a.tier, a.known, a.segment, a.owner_id, a.owner_email) == ("standard", True, None, None, None)
        assert a.tier_note == "Support_Tier__c is not in the record (was it selected?); default tier 'standard' used"


def test_a_case_record_is_not_an_account(load, mapping):
    case = load("query_case_page.json")["records"][0]
    with pytest.raises(PayloadError) as err:
        to_account(case, mapping)
    assert str(err.value) == "salesforce account 500dM00003F2OMjQAN field 'attributes.type': is 'Case', expected 'Account'"


def _record(**over) -> dict:
    base = {
        "attributes": {"type": "Account", "url": "/services/data/v59.0/sobjects/Account/001xx000003DGb2AAG"},
        "Id": "001xx000003DGb2AAG", "Name": "Acme Café GmbH", "Support_Tier__c": "Premier Support",
        "Customer_Segment__c": "Enterprise", "OwnerId": "005xx000001Sv6AAAS",
        "Owner": {"attributes": {"type": "User"}, "Name": "Olivia Owner", "Email": "olivia@acme.test"},
    }
    return base | over


def test_sandbox_shaped_account(mapping):
    a = to_account(_record(), mapping)
    assert (a.id, a.name, a.tier, a.segment, a.known, a.tier_note) == (
        "001xx000003DGb2AAG", "Acme Café GmbH", "premier", "Enterprise", True, None)
    assert (a.owner_id, a.owner_name, a.owner_email) == ("005xx000001Sv6AAAS", "Olivia Owner", "olivia@acme.test")


@pytest.mark.parametrize(("value", "note"), [
    (None, "Support_Tier__c is empty; default tier 'standard' used"),
    ("", "Support_Tier__c is empty; default tier 'standard' used"),
    ("Gold Plus", "Support_Tier__c 'Gold Plus' is not in tier_map; default tier 'standard' used"),
])
def test_default_tier_for_known_accounts_says_why(mapping, value, note):
    a = to_account(_record(Support_Tier__c=value, Owner=None), mapping)
    assert (a.tier, a.known, a.tier_note, a.owner_email) == ("standard", True, note, None)


def test_unknown_ids_get_the_default_tier_and_known_false(mapping):
    accounts, errors = to_accounts([_record(), _record(Id=None), "junk"], mapping,
                                   wanted=["001xx000003DGb2", "001xx000009ZZZZAAA"])
    assert [str(e) for e in errors] == [
        "salesforce account ? field 'Id': is missing",
        "salesforce account ?: expected a record object, got str",
    ]
    assert accounts["001xx000003DGb2"].tier == "premier"  # a 15-character id finds its 18-character record
    assert accounts["001xx000009ZZZZAAA"] == unknown_account("001xx000009ZZZZAAA", mapping)
    assert (accounts["001xx000009ZZZZAAA"].known, accounts["001xx000009ZZZZAAA"].tier) == (False, "standard")


def test_wrong_types_are_payload_errors(mapping):
    with pytest.raises(PayloadError) as err:
        to_account(_record(Name=["a"]), mapping)
    assert str(err.value) == "salesforce account 001xx000003DGb2AAG field 'Name': expected text, got list"
