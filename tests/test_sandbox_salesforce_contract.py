"""Contract: what the Salesforce emulator sends has the keys, order and value types of the real payloads.

Compared with ../shared/reference/payloads/salesforce/ (recorded from real orgs): Account records,
the query envelope of a first and a last page, the SOAP loginResponse, and error bodies.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from simple_salesforce import SalesforceLogin

from sandbox.context import SandboxContext
from sandbox.salesforce import build
from sandbox.salesforce.ids import to_18
from sandbox.tls_server import BackgroundServer, make_certificates
from sandbox.world import SeedAccount, SeedUser, World

NEXT_RECORDS_URL = re.compile(r"/services/data/v\d+\.\d/query/[A-Za-z0-9]{18}-\d+")
SF_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


@pytest.fixture(scope="module")
def reference(payloads_dir: Path) -> dict:
    folder = payloads_dir / "salesforce"
    return {
        "first_page": json.loads((folder / "query_account_first_page_next_records_url.json").read_text()),
        "last_page": json.loads((folder / "query_case_page.json").read_text()),
        "login": ET.parse(folder / "soap_login_response.xml").getroot(),
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """An org of 30 accounts paged 10 at a time, logged in the way deskbridge does; captures raw responses."""
    owner = SeedUser("owner-1", "Ada Lovelace", "ada@acme.test", "admin")
    accounts = [SeedAccount(to_18(f"001Dm0000{k:06d}"), f"Account {k}", "Business Support", "SMB", owner)
                for k in range(30)]
    emulator = build(SandboxContext(), World(1, {"owner-1": owner}, accounts, []), page_size=10)
    certs = make_certificates(Path(tmp_path_factory.mktemp("sf-contract-tls")))
    server = BackgroundServer(emulator.app, certs, name="salesforce-contract").start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", str(certs.bundle_file))
        mp.setenv("CURL_CA_BUNDLE", str(certs.bundle_file))
        env = emulator.env(server.url)
        session, captured = requests.Session(), []
        # Keep bytes, not Response objects: a live response pins its socket open past server.stop().
        session.hooks["response"].append(lambda response, *a, **k: captured.append(response.content))
        session_id, _ = SalesforceLogin(
            username=env["DESKBRIDGE_SALESFORCE_USERNAME"], password=env["DESKBRIDGE_SALESFORCE_PASSWORD"],
            security_token=env["DESKBRIDGE_SALESFORCE_SECURITY_TOKEN"],
            scratch_url=env["DESKBRIDGE_SALESFORCE_LOGIN_URL"], session=session)
        session.headers["Authorization"] = f"Bearer {session_id}"
        yield {"session": session, "data": f"{server.url}/services/data/v59.0", "login_xml": captured[0]}
    session.close()  # an open keep-alive connection would hold up the server's graceful shutdown
    server.stop()


def _get(live: dict, path: str, **params) -> requests.Response:
    return live["session"].get(live["data"] + path, params=params, timeout=10)


def _types(record: dict) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in record.items()}


def test_account_query_records_have_the_reference_keys_in_order_and_value_types(live, reference):
    ref_records = reference["first_page"]["records"]
    fields = [k for k in ref_records[0] if k != "attributes"]
    records = _get(live, "/query/", q=f"SELECT {', '.join(fields)} FROM Account").json()["records"]
    assert len(records) == 10 and all(list(r) == list(ref_records[0]) for r in records)
    for key in fields:
        allowed = {type(r[key]).__name__ for r in ref_records} | {"NoneType"}
        ours = {type(r[key]).__name__ for r in records}
        assert ours <= allowed and ours - {"NoneType"}, key  # right types, and really populated
    for record in records:
        assert _types(record["attributes"]) == _types(ref_records[0]["attributes"])
        assert record["attributes"]["url"] == f"/services/data/v59.0/sobjects/Account/{record['Id']}"
        for key in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            assert SF_DATETIME.fullmatch(ref_records[0][key]) and SF_DATETIME.fullmatch(record[key])


def test_account_get_is_a_superset_of_the_reference_record_plus_the_tier_fields(live, reference):
    ref_record = reference["first_page"]["records"][0]
    account_id = to_18("001Dm0000000003")
    record = _get(live, f"/sobjects/Account/{account_id}").json()
    assert set(ref_record) <= set(record)
    assert list(record)[:2] == ["attributes", "Id"]
    assert record["Support_Tier__c"] == "Business Support" and record["Customer_Segment__c"] == "SMB"
    assert isinstance(record["OwnerId"], str) and isinstance(record["IsDeleted"], bool)


def test_first_page_envelope_matches_the_reference_first_page(live, reference):
    ref = reference["first_page"]
    body = _get(live, "/query/", q="SELECT Id, Name FROM Account").json()
    assert list(body) == list(ref) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert _types(body) == _types(ref)
    assert NEXT_RECORDS_URL.fullmatch(ref["nextRecordsUrl"]) and NEXT_RECORDS_URL.fullmatch(body["nextRecordsUrl"])
    assert body["totalSize"] == 30 and body["done"] is False and len(body["records"]) == 10


def test_last_page_envelope_matches_the_reference_done_page(live, reference):
    ref = reference["last_page"]
    first = _get(live, "/query/", q="SELECT Id FROM Account").json()
    last = live["session"].get(live["data"].split("/services/")[0] + first["nextRecordsUrl"].replace("-10", "-20"),
                               timeout=10).json()
    assert list(last) == list(ref) == ["totalSize", "done", "records"]
    assert _types(last) == _types(ref) and last["done"] is True and len(last["records"]) == 10


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _shape(element: ET.Element) -> dict:
    return {_local(child.tag): _shape(child) for child in element}


def test_login_response_has_the_reference_element_tree_with_unprefixed_session_fields(live, reference):
    ours = ET.fromstring(live["login_xml"])
    assert _shape(ours) == _shape(reference["login"])
    result = ours.find(".//{urn:partner.soap.sforce.com}result")
    assert result is not None  # default namespace: <sessionId>, not <urn:sessionId>
    assert result.findtext("{urn:partner.soap.sforce.com}serverUrl").startswith("https://127.0.0.1:")
    assert b"<sessionId>" in live["login_xml"] and b"<serverUrl>" in live["login_xml"]


def test_error_bodies_are_lists_of_message_and_error_code(live):
    for path, params in [("/query/", {"q": "SELECT Nope FROM Account"}), ("/sobjects/Account/001Dm0000999999AAA", {})]:
        body = _get(live, path, **params).json()
        assert isinstance(body, list) and len(body) == 1
        assert set(body[0]) == {"message", "errorCode"} and all(isinstance(v, str) for v in body[0].values())
