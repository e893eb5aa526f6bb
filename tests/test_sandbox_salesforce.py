"""The Salesforce emulator driven by the real simple-salesforce over HTTPS on 127.0.0.1.

deskbridge's login path is exercised as is: ``SalesforceLogin(..., scratch_url=LOGIN_URL)`` then
``Salesforce(session_id=, instance=)``. One TLS server serves the whole module; every test gets a
fresh org behind it (a small switchboard app), so tests never see each other's edits.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from sandbox.context import Fault, SandboxContext
from sandbox.salesforce import build, user_id
from sandbox.salesforce.ids import to_18
from sandbox.tls_server import BackgroundServer, make_certificates
from sandbox.world import SeedAccount, SeedUser, World

N_ACCOUNTS = 205
PAGE = 50
TIERS = ["Premier Support", "Business Support", "Standard Support"]
SEGMENTS = ["Enterprise", "Mid-Market", "SMB", "Public Sector"]


def small_world() -> World:
    owners = [SeedUser(f"owner-{k}", f"Owner Number{k}", f"owner{k}@acme.test", "admin") for k in range(1, 4)]
    accounts = [
        SeedAccount(to_18(f"001Dm0000{k:06d}"), f"Account {k:03d}", TIERS[k % 3], SEGMENTS[k % 4], owners[k % 3])
        for k in range(N_ACCOUNTS)
    ]
    return World(seed=7, users={o.key: o for o in owners}, accounts=accounts, tickets=[])


class Switchboard:
    """An ASGI app that forwards to whichever emulator the current test built."""

    def __init__(self) -> None:
        self.target = None

    async def __call__(self, scope, receive, send):
        await self.target(scope, receive, send)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    certs = make_certificates(Path(tmp_path_factory.mktemp("sf-tls")))
    board = Switchboard()
    running = BackgroundServer(board, certs, name="salesforce").start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", str(certs.bundle_file))
        mp.setenv("CURL_CA_BUNDLE", str(certs.bundle_file))
        yield running, board
    running.stop()


@pytest.fixture
def org(server):
    """A fresh emulator (page size 50) behind the module's server: (emulator, ctx, env)."""
    running, board = server
    ctx = SandboxContext()
    emulator = build(ctx, small_world(), page_size=PAGE)
    board.target = emulator.app
    return emulator, ctx, emulator.env(running.url)


def login(env: dict[str, str], **override: str) -> Salesforce:
    """deskbridge's own login path: SOAP login at the configured URL, then a session-id client."""
    session = requests.Session()
    session_id, instance = SalesforceLogin(
        username=override.get("username", env["DESKBRIDGE_SALESFORCE_USERNAME"]),
        password=override.get("password", env["DESKBRIDGE_SALESFORCE_PASSWORD"]),
        security_token=override.get("token", env["DESKBRIDGE_SALESFORCE_SECURITY_TOKEN"]),
        scratch_url=env["DESKBRIDGE_SALESFORCE_LOGIN_URL"],
        session=session,
    )
    return Salesforce(session_id=session_id, instance=instance, session=session)


def rest_requests(ctx: SandboxContext, fragment: str, at_least: int = 0) -> list[dict]:
    """Logged requests whose path contains ``fragment``; waits briefly for ``at_least`` of them, because the
    middleware logs a request just after its response has gone out."""
    deadline = time.monotonic() + 2
    while True:
        found = [r for r in ctx.log.query_requests("salesforce") if fragment in r["path"]]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


# -- login -------------------------------------------------------------------------------


def test_login_returns_a_session_on_the_emulators_own_host(org, server):
    emulator, _, env = org
    sf = login(env)
    assert sf.sf_instance == server[0].netloc
    assert sf.session_id.startswith(emulator.org.org_id[:15] + "!")
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == N_ACCOUNTS


@pytest.mark.parametrize("override", [{"password": "wrong"}, {"token": "WRONGTOKEN"}, {"username": "x@acme.test"}])
def test_wrong_credentials_raise_authentication_failed_with_invalid_login(org, override):
    _, _, env = org
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        login(env, **override)
    assert caught.value.code == "INVALID_LOGIN"
    assert caught.value.auth_message == "Invalid username, password, security token; or user locked out."


def test_password_with_xml_special_characters_survives_the_envelope(server):
    running, board = server
    creds = {"username": "api@acme.test", "password": "p&<w>'d\"", "security_token": "TOKEN123"}
    emulator = build(SandboxContext(), small_world(), credentials=creds)
    board.target = emulator.app
    sf = login(emulator.env(running.url))
    assert sf.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1


def test_deactivated_api_user_cannot_log_in(org):
    emulator, _, env = org
    emulator.set_user(user_id("sf-integration"), IsActive=False)
    with pytest.raises(SalesforceAuthenticationFailed):
        login(env)


# -- queries and paging --------------------------------------------------------------------


def test_query_all_pages_through_every_batch_with_query_more(org):
    _, ctx, env = org
    sf = login(env)
    result = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    assert result["totalSize"] == N_ACCOUNTS and result["done"] is True
    assert [r["Name"] for r in result["records"]] == [f"Account {k:03d}" for k in range(N_ACCOUNTS)]
    more = rest_requests(ctx, "/query/0r8", at_least=4)
    assert len(more) == 4 and all(r["status"] == 200 for r in more)  # 205 rows at 50 a batch


def test_first_page_points_at_the_next_batch_and_a_cursor_resumes_from_any_offset(org):
    _, _, env = org
    sf = login(env)
    first = sf.query("SELECT Id, Name FROM Account ORDER BY Name")
    assert first["done"] is False and first["totalSize"] == N_ACCOUNTS and len(first["records"]) == PAGE
    locator_path = first["nextRecordsUrl"]
    assert locator_path.startswith("/services/data/v59.0/query/0r8") and locator_path.endswith(f"-{PAGE}")
    resumed = sf.query_more(locator_path.replace(f"-{PAGE}", "-200"), identifier_is_url=True)
    assert resumed["done"] is True and "nextRecordsUrl" not in resumed
    assert [r["Name"] for r in resumed["records"]] == [f"Account {k:03d}" for k in range(200, N_ACCOUNTS)]
    with pytest.raises(SalesforceMalformedRequest) as caught:  # the last batch closed the cursor
        sf.query_more(locator_path, identifier_is_url=True)
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_an_idle_cursor_expires_after_15_minutes_of_virtual_time(org):
    _, ctx, env = org
    sf = login(env)
    first = sf.query("SELECT Id FROM Account")
    ctx.clock.advance(14 * 60)
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)  # use keeps it alive
    ctx.clock.advance(16 * 60)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert caught.value.content == [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]


def test_query_all_iter_is_lazy_and_yields_every_record(org):
    _, ctx, env = org
    sf = login(env)
    records = sf.query_all_iter("SELECT Id FROM Account WHERE Support_Tier__c = 'Premier Support'")
    first_page = [next(records) for _ in range(PAGE)]
    assert all(r["attributes"]["type"] == "Account" for r in first_page)
    assert rest_requests(ctx, "/query/0r8") == []  # the second batch is fetched only when needed
    assert PAGE + sum(1 for _ in records) == len(range(0, N_ACCOUNTS, 3))
    assert len(rest_requests(ctx, "/query/0r8", at_least=1)) == 1


def test_in_list_of_200_ids_in_both_id_forms_returns_exactly_those_accounts(org):
    emulator, _, env = org
    sf = login(env)
    wanted = [a["Id"] for a in emulator.accounts()][3:203]
    mixed = [i if n % 2 else i[:15] for n, i in enumerate(wanted)]
    soql = "SELECT Id, Support_Tier__c FROM Account WHERE Id IN ({})".format(", ".join(f"'{i}'" for i in mixed))
    assert len(soql) > 4000
    result = sf.query_all(soql)
    assert sorted(r["Id"] for r in result["records"]) == sorted(wanted)


def test_owner_relationship_fields_come_back_nested_under_owner(org):
    emulator, _, env = org
    sf = login(env)
    account = emulator.accounts()[4]  # owner-2 (4 % 3 == 1)
    soql = f"SELECT Id, Owner.Name, Owner.Email FROM Account WHERE Id = '{account['Id']}'"
    (record,) = sf.query(soql)["records"]
    assert record["Owner"]["Name"] == "Owner Number2" and record["Owner"]["Email"] == "owner2@acme.test"
    assert record["Owner"]["attributes"]["url"].endswith(f"/sobjects/User/{account['OwnerId']}")


def test_batch_size_header_is_honoured_within_salesforce_bounds(org):
    emulator, _, env = org
    emulator.org.page_size = 2000
    sf = login(env)
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(page["records"]) == 200 and page["nextRecordsUrl"].endswith("-200")  # 200 is the minimum
    assert len(sf.query("SELECT Id FROM Account")["records"]) == N_ACCOUNTS


@pytest.mark.parametrize("soql, code", [
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
    ("SELECT Id, Tier__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity__x", "INVALID_TYPE"),
    ("SELECT Id FROM Account WHERE Id IN ('001Dm0000000001AAA', 'bogus')", "INVALID_QUERY_FILTER_OPERATOR"),
])
def test_bad_soql_raises_malformed_request_with_the_real_error_code(org, soql, code):
    _, _, env = org
    with pytest.raises(SalesforceMalformedRequest) as caught:
        login(env).query(soql)
    assert caught.value.status == 400 and caught.value.content[0]["errorCode"] == code


# -- records, edits and deletes --------------------------------------------------------------


def test_sobject_get_for_account_and_user_and_404s(org):
    emulator, _, env = org
    sf = login(env)
    account = emulator.accounts()[0]
    assert sf.Account.get(account["Id"]) == account
    owner = sf.User.get(account["OwnerId"])
    assert owner["Email"] == "owner1@acme.test" and owner["IsActive"] is True
    assert sf.Account.get(account["Id"], params={"fields": "name,Support_Tier__c"}) == {
        "attributes": account["attributes"], "Name": account["Name"], "Support_Tier__c": account["Support_Tier__c"]}
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get("001Dm0000999999AAA")
    assert caught.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_admin_tier_change_is_visible_to_the_next_read_and_to_a_modstamp_window(org):
    emulator, ctx, env = org
    sf = login(env)
    target = emulator.accounts()[10]["Id"]
    ctx.clock.advance(3600)
    before = ctx.clock.now()
    ctx.clock.advance(60)
    emulator.set_account(target, Support_Tier__c="Premier Support", support_tier__c="Premier Support")
    stamp = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = sf.query_all(f"SELECT Id, Support_Tier__c, SystemModstamp FROM Account WHERE SystemModstamp > {stamp}")
    assert [(r["Id"], r["Support_Tier__c"]) for r in changed["records"]] == [(target, "Premier Support")]
    assert changed["records"][0]["SystemModstamp"] == ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    writes = ctx.log.query_writes("salesforce")
    assert [(w["ticket_id"], w["kind"], w["actor"], w["detail"]) for w in writes] == [
        (target, "field", "human", {"name": "Support_Tier__c", "value": "Premier Support"})]
    with pytest.raises(ValueError):
        emulator.set_account(target, Tier__c="x")
    with pytest.raises(ValueError):
        emulator.set_account(target, OwnerId="005Dm0000000000AAA")


def test_deleted_account_leaves_query_and_get_but_stays_in_query_all(org):
    emulator, _, env = org
    sf = login(env)
    gone = emulator.accounts()[0]["Id"]
    emulator.delete_account(gone)
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{gone}'"
    assert sf.query(soql)["records"] == []
    assert [r["IsDeleted"] for r in sf.query_all(soql, include_deleted=True)["records"]] == [True]
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get(gone)
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert len(emulator.accounts()) == N_ACCOUNTS - 1


def test_the_integration_user_cannot_write_to_the_crm(org):
    emulator, _, env = org
    with pytest.raises(SalesforceMalformedRequest) as caught:
        login(env).Account.update(emulator.accounts()[0]["Id"], {"Support_Tier__c": "Premier Support"})
    assert caught.value.content[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert emulator.accounts()[0]["Support_Tier__c"] == TIERS[0]


# -- sessions, limits and faults ---------------------------------------------------------------


def test_expired_session_raises_expired_session_and_a_new_login_recovers(org):
    emulator, ctx, env = org
    sf = login(env)
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert emulator.expire_sessions() == 1
    with pytest.raises(SalesforceExpiredSession) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert caught.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    sf = login(env)
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    ctx.clock.advance(7200 + 1)  # inactivity timeout, in virtual time
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account LIMIT 1")


def test_api_usage_header_counts_calls_and_the_daily_limit_refuses_with_403(server):
    running, board = server
    ctx = SandboxContext()
    emulator = build(ctx, small_world(), api_limit=3)
    board.target = emulator.app
    sf = login(emulator.env(running.url))
    for expected in (1, 2, 3):
        sf.query("SELECT Id FROM User LIMIT 1")
        assert sf.api_usage["api-usage"].used == expected and sf.api_usage["api-usage"].total == 3
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM User LIMIT 1")
    assert caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    ctx.clock.advance(24 * 3600)  # a new daily window (the idle session has expired meanwhile)
    sf = login(emulator.env(running.url))
    sf.query("SELECT Id FROM User LIMIT 1")
    assert sf.api_usage["api-usage"].used == 1 and emulator.api_usage() == (1, 3)


def test_every_rest_response_carries_sforce_limit_info_even_errors(org, server):
    _, _, env = org
    sf = login(env)
    base = f"{server[0].url}/services/data/v59.0"
    auth = {"Authorization": f"Bearer {sf.session_id}"}
    for path, status in [("/query/?q=SELECT+Id+FROM+Account+LIMIT+1", 200), ("/query/?q=SELECT", 400),
                         ("/sobjects/Account/001Dm0000999999AAA", 404), ("/nothing/here", 404)]:
        response = requests.get(base + path, headers=auth, timeout=10)
        assert response.status_code == status
        assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    anonymous = requests.get(base + "/query/?q=SELECT+Id+FROM+Account", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_injected_429_raises_general_error_then_the_retry_succeeds_without_side_effects(org):
    _, ctx, env = org
    sf = login(env)
    ctx.faults.add(Fault(kind="429", system="salesforce", path="/query", count=1, retry_after=2))
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert caught.value.status == 429 and caught.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    assert [r["status"] for r in rest_requests(ctx, "/query", at_least=2)] == [429, 200]


@pytest.mark.parametrize("status, error, code", [
    (503, SalesforceGeneralError, "SERVER_UNAVAILABLE"),
    (500, SalesforceGeneralError, "UNKNOWN_EXCEPTION"),
    (403, SalesforceRefusedRequest, "REQUEST_LIMIT_EXCEEDED"),
])
def test_injected_server_faults_have_salesforce_error_shapes(org, status, error, code):
    _, ctx, env = org
    sf = login(env)
    ctx.faults.add(Fault(kind="5xx", system="salesforce", status=status, count=1))
    with pytest.raises(error) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert caught.value.status == status and caught.value.content[0]["errorCode"] == code


def test_conflict_fault_lets_an_admin_edit_the_account_just_before_the_read(org):
    emulator, ctx, env = org
    sf = login(env)
    target = emulator.accounts()[7]["Id"]
    ctx.clock.advance(90)
    ctx.faults.add(Fault(kind="conflict", system="salesforce", path="/sobjects/Account/", count=1))
    record = sf.Account.get(target)
    assert record["Description"].startswith("human_edit")
    assert record["SystemModstamp"] == ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    writes = ctx.log.query_writes("salesforce", actor="human")
    assert [(w["ticket_id"], w["detail"]["name"]) for w in writes] == [(target, "Description")]
    assert sf.Account.get(target)["Description"] == record["Description"]  # the fault fired once


def test_public_surface_and_environment_names(org, server):
    import sandbox.salesforce as package

    assert all(hasattr(package, name) for name in package.__all__)
    emulator, _, env = org
    assert emulator.system == "salesforce"
    assert env == {
        "DESKBRIDGE_SALESFORCE_USERNAME": emulator.credentials["username"],
        "DESKBRIDGE_SALESFORCE_PASSWORD": emulator.credentials["password"],
        "DESKBRIDGE_SALESFORCE_SECURITY_TOKEN": emulator.credentials["security_token"],
        "DESKBRIDGE_SALESFORCE_LOGIN_URL": server[0].url,
    }
    versions = requests.get(f"{server[0].url}/services/data/", timeout=10).json()
    assert {"label": "API 59.0", "url": "/services/data/v59.0", "version": "59.0"} in versions
