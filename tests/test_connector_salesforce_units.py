"""The Salesforce connector's pure parts (ids, SOQL, the TTL cache, error translation) and the narrow edges
the emulator cannot reach (a real SOAP fault that is Salesforce's own outage), with ``responses``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from connectors.calls import CallCounter
from connectors.credentials import SalesforceCredentials
from connectors.retry import RetryPolicy
from connectors.salesforce.accounts import SalesforceAccounts
from connectors.salesforce.cache import AccountCache
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.ids import accounts_by_id_soql, id_key, is_record_id, unique_ids
from connectors.salesforce.translate import SessionExpired, translate
from core.errors import FatalAPIError, PayloadError, RetriableAPIError
from core.mapping import SalesforceMapping
from core.model import Account
from core.yamlconf import load_model

ROOT = Path(__file__).resolve().parent.parent
MAPPING = load_model(ROOT / "mapping" / "salesforce.yaml", SalesforceMapping)
CREDS = SalesforceCredentials(username="api@acme.test", password="pw-unit-secret", security_token="TOKunit",
                              login_url="https://acme.my.salesforce.com")
QUERY = "GET /services/data/v59.0/query/"


# -- ids and SOQL ------------------------------------------------------------------------------


@pytest.mark.parametrize("value, ok", [
    ("001Dm0000000001", True), ("001Dm0000000001IAA", True), ("001dm0000000001iaa", True),
    ("001Dm000000001", False), ("001Dm0000000001IA", False), ("001Dm0000000001IAAX", False),
    ("001Dm00000'0001", False), ("001Dm 000000001", False), ("", False), (None, False), (1234567890123456, False),
])
def test_only_15_or_18_alphanumerics_are_ids(value, ok):
    assert is_record_id(value) is ok


def test_ids_share_their_15_character_key_and_blanks_are_skipped_in_order():
    assert id_key("001Dm0000000001IAA") == id_key("001Dm0000000001") == "001Dm0000000001"
    assert unique_ids(["b", None, "a", "", "  ", "b", "c", 7]) == ["b", "a", "c", "7"]


def test_the_soql_selects_the_mapped_fields_and_lists_every_id():
    soql = accounts_by_id_soql(MAPPING.soql_fields(), ["001Dm0000000001", "001Dm0000000002IAA"])
    assert soql == (
        "SELECT Id, Name, Support_Tier__c, Customer_Segment__c, OwnerId, Owner.Name, Owner.Email FROM Account "
        "WHERE Id IN ('001Dm0000000001', '001Dm0000000002IAA')"
    )


@pytest.mark.parametrize("ids", [[], ["001Dm0000000001", "x') OR Name != ('"]])
def test_the_soql_builder_refuses_empty_or_unsafe_id_lists(ids):
    with pytest.raises(ValueError):
        accounts_by_id_soql(["Id"], ids)


# -- the TTL cache -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_cache_entries_live_exactly_ttl_seconds():
    clock = Clock()
    cache = AccountCache(60, clock)
    account = Account(id="001Dm0000000001IAA", tier="premier")
    cache.put("001Dm0000000001", account)
    clock.now += timedelta(seconds=59.9)
    assert cache.get("001Dm0000000001") == account
    clock.now += timedelta(seconds=0.1)
    assert cache.get("001Dm0000000001") is None and len(cache) == 0


def test_a_zero_ttl_caches_nothing_and_a_negative_one_is_refused():
    cache = AccountCache(0, Clock())
    cache.put("k", Account(id="k", tier="standard"))
    assert cache.get("k") is None
    with pytest.raises(ValueError):
        AccountCache(-1)


def test_chunks_above_200_ids_are_refused():
    with pytest.raises(ValueError, match="chunk_size"):
        SalesforceAccounts(CREDS, MAPPING, chunk_size=201)


def test_construction_makes_no_call_and_the_transport_has_no_retries_of_its_own():
    source = SalesforceAccounts(CREDS, MAPPING)
    assert source.calls.total == 0
    adapter = source.client.session.get_adapter("https://acme.my.salesforce.com")
    assert adapter.max_retries.total == 0 and adapter.timeout == 30.0
    assert "pw-unit-secret" not in repr(source) and "TOKunit" not in repr(source)


# -- error translation -------------------------------------------------------------------------


def _errors(code: str, message: str = "m") -> list[dict]:
    return [{"errorCode": code, "message": message}]


def test_the_org_limit_is_fatal_and_says_retrying_cannot_help():
    exc = SalesforceRefusedRequest("https://x/q", 403, "query", _errors("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
    typed = translate(exc, QUERY, CREDS)
    assert type(typed) is FatalAPIError and typed.status == 403
    assert "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded." in str(typed) and "retrying cannot help" in str(typed)


def test_other_403s_name_the_integration_user_setting():
    typed = translate(SalesforceRefusedRequest("u", 403, "query", _errors("INSUFFICIENT_ACCESS")), QUERY, CREDS)
    assert "permission denied" in str(typed) and "DESKBRIDGE_SALESFORCE_USERNAME" in str(typed)


def test_an_unknown_field_points_at_the_mapping_file():
    exc = SalesforceMalformedRequest("u", 400, "query", _errors("INVALID_FIELD", "No such column 'Tier__c'"))
    assert "mapping/salesforce.yaml" in str(translate(exc, QUERY, CREDS))


def test_rate_limits_and_server_errors_are_retriable_with_an_integer_retry_after():
    typed = translate(SalesforceGeneralError("u", 429, "query", _errors("REQUEST_LIMIT_EXCEEDED")), QUERY, CREDS, "7")
    assert isinstance(typed, RetriableAPIError) and typed.retry_after == 7.0
    typed = translate(SalesforceGeneralError("u", 503, "query", "gateway"), QUERY, CREDS, "Wed, 21 Oct 2026 07:28:00 GMT")
    assert isinstance(typed, RetriableAPIError) and typed.retry_after is None


def test_an_expired_session_is_its_own_type_for_the_one_new_login():
    typed = translate(SalesforceExpiredSession("u", 401, "query", _errors("INVALID_SESSION_ID")), QUERY, CREDS)
    assert isinstance(typed, SessionExpired) and isinstance(typed, FatalAPIError)


def test_a_refused_login_names_where_the_credentials_come_from_block_or_environment():
    exc = SalesforceAuthenticationFailed("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
    from_env = str(translate(exc, "POST /services/Soap/u/59.0", CREDS))
    assert "DESKBRIDGE_SALESFORCE_PASSWORD" in from_env and "DESKBRIDGE_SALESFORCE_SECURITY_TOKEN" in from_env
    block = CREDS.model_copy(update={"source": "Prefect block 'salesforce-prod'"})
    assert "Prefect block 'salesforce-prod' (field password)" in str(translate(exc, "POST /x", block))


def test_garbage_and_dropped_connections_are_typed_and_unknown_exceptions_pass_through():
    try:
        _response(b'{"records": [{"Id": "00').json()
    except requests.exceptions.JSONDecodeError as garbage:
        assert isinstance(translate(garbage, QUERY, CREDS), PayloadError)
    assert isinstance(translate(requests.ConnectionError("reset"), QUERY, CREDS), RetriableAPIError)
    odd = KeyError("x")
    assert translate(odd, QUERY, CREDS) is odd


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response._content, response.status_code = body, 200
    return response


# -- a SOAP fault that is Salesforce's own outage (the emulator answers faults as JSON) ----------

SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com">
<soapenv:Body><soapenv:Fault><faultcode>sf:SERVER_UNAVAILABLE</faultcode><faultstring>SERVER_UNAVAILABLE</faultstring>
<detail><sf:UnexpectedErrorFault><sf:exceptionCode>SERVER_UNAVAILABLE</sf:exceptionCode>
<sf:exceptionMessage>Server temporarily unavailable</sf:exceptionMessage></sf:UnexpectedErrorFault></detail>
</soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">
<soapenv:Body><loginResponse><result><serverUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D</serverUrl>
<sessionId>00Dxx0000000001!SESSIONUNIT</sessionId></result></loginResponse></soapenv:Body></soapenv:Envelope>"""


@responses.activate
def test_a_soap_server_unavailable_fault_at_login_is_retried():
    login_url = "https://acme.my.salesforce.com/services/Soap/u/59.0"
    responses.post(login_url, body=SOAP_FAULT, status=500, content_type="text/xml")
    responses.post(login_url, body=SOAP_OK, status=200, content_type="text/xml")
    responses.get("https://acme.my.salesforce.com/services/data/v59.0/query/",
                  json={"totalSize": 0, "done": True, "records": []})
    waits: list[float] = []
    client = SalesforceClient(CREDS, policy=RetryPolicy(base_delay=0.01), calls=CallCounter("salesforce"),
                              sleep=waits.append)
    assert client.query_records("SELECT Id FROM Account") == []
    assert len(waits) == 1 and [c.request.method for c in responses.calls] == ["POST", "POST", "GET"]
    assert responses.calls[2].request.headers["Authorization"] == "Bearer 00Dxx0000000001!SESSIONUNIT"
