"""SalesforceAccounts against the Salesforce emulator, driven by the real simple-salesforce over HTTPS.

One TLS server serves the module; each test gets a fresh org behind it (a switchboard app), built from a
world of 460 accounts. The accounts' cache clock is the sandbox's virtual clock, so one ``advance`` moves
the cache TTL and Salesforce's session timeout together, as the flow's single clock does in production.
Failures (rate limits, server errors, the org limit, degrading, secrets) are in
``test_connector_salesforce_failures.py``, which imports the fixtures below.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
from simple_salesforce import SalesforceLogin

from connectors.base import AccountSource
from connectors.credentials import SalesforceCredentials
from connectors.retry import RetryPolicy
from connectors.salesforce.accounts import SalesforceAccounts
from core.errors import FatalAPIError
from core.mapping import SalesforceMapping
from core.yamlconf import load_model
from sandbox.context import SandboxContext
from sandbox.salesforce import build
from sandbox.salesforce.ids import to_18
from sandbox.tls_server import BackgroundServer, make_certificates
from sandbox.world import SeedAccount, SeedUser, World

ROOT = Path(__file__).resolve().parent.parent
MAPPING = load_model(ROOT / "mapping" / "salesforce.yaml", SalesforceMapping)
N_ACCOUNTS = 460
TIERS = {"Premier Support": "premier", "Business Support": "business", "Standard Support": "standard"}
SEGMENTS = ["Enterprise", "Mid-Market", "SMB", "Public Sector"]
FAST = RetryPolicy(max_attempts=4, max_total_wait=3.5, base_delay=0.01, max_delay=0.05)
LOGIN = "POST /services/Soap/u/59.0"
QUERY = "GET /services/data/v59.0/query/"
UNKNOWN_ID = to_18("001Dm0000999999")


def account_id(k: int) -> str:
    return to_18(f"001Dm0000{k:06d}")


def small_world() -> World:
    owners = [SeedUser(f"owner-{k}", f"Owner Number{k}", f"owner{k}@acme.test", "admin") for k in range(1, 4)]
    tiers = list(TIERS)
    accounts = [
        SeedAccount(account_id(k), f"Account {k:03d}", tiers[k % 3], SEGMENTS[k % 4], owners[k % 3])
        for k in range(N_ACCOUNTS)
    ]
    return World(seed=7, users={o.key: o for o in owners}, accounts=accounts, tickets=[])


class Switchboard:
    """An ASGI app that forwards to whichever emulator the current test built."""

    def __init__(self) -> None:
        self.target = None

    async def __call__(self, scope, receive, send):
        await self.target(scope, receive, send)


@dataclass
class Org:
    emulator: object
    ctx: SandboxContext
    env: dict[str, str]

    def credentials(self, **override: str) -> SalesforceCredentials:
        return SalesforceCredentials(
            username=self.env["DESKBRIDGE_SALESFORCE_USERNAME"],
            password=override.get("password", self.env["DESKBRIDGE_SALESFORCE_PASSWORD"]),
            security_token=self.env["DESKBRIDGE_SALESFORCE_SECURITY_TOKEN"],
            login_url=self.env["DESKBRIDGE_SALESFORCE_LOGIN_URL"],
        )

    def source(self, waits: list[float] | None = None, *, password: str | None = None, **kw) -> SalesforceAccounts:
        kw.setdefault("policy", FAST)
        kw.setdefault("clock", self.ctx.clock.now)
        if waits is not None:
            kw["sleep"] = waits.append
        creds = self.credentials(**({"password": password} if password else {}))
        return SalesforceAccounts(creds, MAPPING, **kw)

    def requests(self, fragment: str, at_least: int = 0) -> list[dict]:
        """Logged requests whose path contains ``fragment`` (the log is written just after each response)."""
        deadline = time.monotonic() + 2
        while True:
            found = [r for r in self.ctx.log.query_requests("salesforce") if fragment in r["path"]]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.01)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    certs = make_certificates(Path(tmp_path_factory.mktemp("sf-connector-tls")))
    board = Switchboard()
    running = BackgroundServer(board, certs, name="salesforce").start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", str(certs.bundle_file))
        mp.setenv("CURL_CA_BUNDLE", str(certs.bundle_file))
        yield running, board
    running.stop()


def make_org(server, **build_kw) -> Org:
    running, board = server
    ctx = SandboxContext()
    emulator = build(ctx, small_world(), **build_kw)
    board.target = emulator.app
    return Org(emulator, ctx, emulator.env(running.url))


@pytest.fixture
def org(server) -> Org:
    return make_org(server)


def ids_in(query: str) -> list[str]:
    soql = parse_qs(query)["q"][0]
    return re.findall(r"'([A-Za-z0-9]+)'", soql)


# -- lookups ---------------------------------------------------------------------------------


def test_accounts_carry_tier_segment_and_owner_through_the_mapping(org):
    source = org.source()
    assert isinstance(source, AccountSource)
    wanted = [account_id(k) for k in (0, 1, 2, 7)]
    got = source.accounts(wanted)
    assert list(got) == wanted
    for k in (0, 1, 2, 7):
        account = got[account_id(k)]
        seeded = small_world().accounts[k]
        assert account.known and account.tier_note is None
        assert account.tier == TIERS[seeded.tier_value] and account.segment == SEGMENTS[k % 4]
        assert account.name == f"Account {k:03d}"
        assert (account.owner_name, account.owner_email) == (seeded.owner.name, seeded.owner.email)
    assert {got[account_id(k)].tier for k in (0, 1, 2)} == {"premier", "business", "standard"}
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 1}
    assert source.api_usage() == (1, 15000)


def test_450_ids_are_queried_in_three_chunks_of_at_most_200(org):
    source = org.source()
    wanted = [account_id(k) for k in range(450)]
    got = source.accounts(wanted)
    assert len(got) == 450 and all(a.known for a in got.values())
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 3}
    queries = org.requests("/query", at_least=3)
    assert [len(ids_in(q["query"])) for q in queries] == [200, 200, 50]
    assert sorted(i for q in queries for i in ids_in(q["query"])) == sorted(wanted)


def test_15_and_18_character_ids_match_and_answers_are_keyed_by_the_asked_id(org):
    source = org.source()
    long_id, short_id = account_id(5), account_id(6)[:15]
    got = source.accounts([long_id, short_id, long_id[:15], short_id, long_id])
    assert list(got) == [long_id, short_id, long_id[:15]]  # de-duplicated, in first-seen order
    assert got[long_id] == got[long_id[:15]] and got[long_id].id == long_id
    assert got[short_id].id == account_id(6) and got[short_id].known  # Salesforce answers with the 18-char id
    (query,) = org.requests("/query", at_least=1)
    assert sorted(ids_in(query["query"])) == sorted([long_id, short_id])  # each account asked for once


def test_a_batch_larger_than_the_orgs_page_size_is_followed_with_query_more(org):
    org.emulator.org.page_size = 50  # a small org page: 120 records come back in three batches
    source = org.source()
    got = source.accounts([account_id(k) for k in range(120)])
    assert len(got) == 120 and all(a.known for a in got.values())
    calls = source.calls.by_endpoint()
    assert calls.pop(LOGIN) == 1 and calls.pop(QUERY) == 1
    assert sum(calls.values()) == 2 and all("/query/0r8" in endpoint for endpoint in calls)


# -- the cache -------------------------------------------------------------------------------


def test_a_second_lookup_within_the_ttl_makes_no_call_and_one_after_it_queries_again(org):
    source = org.source(cache_seconds=900)
    wanted = [account_id(k) for k in range(10)]
    first = source.accounts(wanted)
    org.emulator.set_account(account_id(3), Support_Tier__c="Premier Support")  # an admin's edit
    org.ctx.clock.advance(899)
    assert source.accounts(wanted) == first  # served from the cache: the edit is not seen yet
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 1}
    org.ctx.clock.advance(1)
    again = source.accounts(wanted)
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 2}
    assert again[account_id(3)].tier == "premier"  # the edit read back after expiry
    (_, second) = org.requests("/query", at_least=2)
    assert len(ids_in(second["query"])) == 10


def test_only_the_uncached_ids_are_queried(org):
    source = org.source()
    source.accounts([account_id(k) for k in range(5)])
    source.accounts([account_id(k) for k in range(8)])
    (_, second) = org.requests("/query", at_least=2)
    assert ids_in(second["query"]) == [account_id(k) for k in range(5, 8)]


# -- unknown, malformed, deleted and unusable ------------------------------------------------


def test_an_unknown_id_gets_the_default_tier_and_one_warning_and_is_not_asked_again(org, caplog):
    source = org.source()
    with caplog.at_level(logging.WARNING, logger="deskbridge.salesforce"):
        got = source.accounts([account_id(1), UNKNOWN_ID])
    unknown = got[UNKNOWN_ID]
    assert (unknown.tier, unknown.known, unknown.id) == (MAPPING.default_tier, False, UNKNOWN_ID)
    assert "not in Salesforce" in unknown.tier_note and got[account_id(1)].known
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"salesforce: account {UNKNOWN_ID} not found; default tier 'standard' used"]
    source.accounts([UNKNOWN_ID])
    assert source.calls.by_endpoint()[QUERY] == 1


def test_malformed_ids_are_dropped_from_the_query_with_a_warning_and_the_rest_still_resolve(org, caplog):
    source = org.source()
    bad = ["001Dm0000000001'); DELETE", "12345", "001Dm0000000001IAAX", ""]
    with caplog.at_level(logging.WARNING, logger="deskbridge.salesforce"):
        got = source.accounts([account_id(1), *bad, None, account_id(2)])
    assert got[account_id(1)].known and got[account_id(2)].known
    assert "" not in got  # a blank id means "no account": nothing to answer
    for value in bad[:3]:
        assert got[value].known is False and got[value].tier == "standard" and "not a Salesforce id" in got[value].tier_note
    assert sum("is not a Salesforce id" in r.getMessage() for r in caplog.records) == 3
    (query,) = org.requests("/query", at_least=1)
    assert query["status"] == 200 and ids_in(query["query"]) == [account_id(1), account_id(2)]


def test_a_deleted_account_is_unknown(org):
    org.emulator.delete_account(account_id(4))
    got = org.source().accounts([account_id(4), account_id(5)])
    assert got[account_id(4)].known is False and got[account_id(5)].known


def test_an_unusable_record_gets_the_default_tier_while_the_others_resolve(org, caplog):
    org.emulator.set_account(account_id(8), Customer_Segment__c={"broken": True})  # a field that is no text
    source = org.source()
    with caplog.at_level(logging.WARNING, logger="deskbridge.salesforce"):
        got = source.accounts([account_id(k) for k in range(7, 10)])
    broken = got[account_id(8)]
    assert broken.known is False and broken.tier == "standard" and "Customer_Segment__c" in broken.tier_note
    assert got[account_id(7)].known and got[account_id(9)].known
    assert any("Customer_Segment__c" in r.getMessage() and account_id(8) in r.getMessage() for r in caplog.records)
    org.emulator.set_account(account_id(8), Customer_Segment__c="SMB")  # the admin fixes it
    assert source.accounts([account_id(8)])[account_id(8)].segment == "SMB"  # not cached: read again at once


# -- sessions and credentials ----------------------------------------------------------------


def test_a_session_revoked_by_an_admin_means_one_new_login_and_the_query_succeeds(org):
    source = org.source()
    source.accounts([account_id(1)])
    org.emulator.org.expire_sessions()
    got = source.accounts([account_id(2)])
    assert got[account_id(2)].known
    assert source.calls.by_endpoint() == {LOGIN: 2, QUERY: 3}  # query, 401, query again
    assert [r["status"] for r in org.requests("/query", at_least=3)] == [200, 401, 200]


def test_a_session_idle_for_two_hours_of_virtual_time_is_renewed(org):
    source = org.source(cache_seconds=60)
    source.accounts([account_id(1)])
    org.ctx.clock.advance(7201)
    assert source.accounts([account_id(1)])[account_id(1)].known
    assert source.calls.by_endpoint() == {LOGIN: 2, QUERY: 3}


def test_a_given_session_id_is_used_without_a_login_and_renewed_from_the_credentials(org):
    session_id, instance = SalesforceLogin(
        username=org.env["DESKBRIDGE_SALESFORCE_USERNAME"], password=org.env["DESKBRIDGE_SALESFORCE_PASSWORD"],
        security_token=org.env["DESKBRIDGE_SALESFORCE_SECURITY_TOKEN"],
        scratch_url=org.env["DESKBRIDGE_SALESFORCE_LOGIN_URL"], session=requests.Session(),
    )
    source = org.source(session_id=session_id, instance=instance)
    assert session_id not in repr(source) and session_id not in repr(source.client)
    source.accounts([account_id(1)])
    assert source.calls.by_endpoint() == {QUERY: 1}
    org.emulator.org.expire_sessions()
    source.accounts([account_id(2)])
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 3}


def test_a_wrong_password_is_a_fatal_error_naming_the_variable_not_the_value(org):
    source = org.source(password="Wrong-Pa55word-QX", degrade_on_failure=False)
    with pytest.raises(FatalAPIError) as caught:
        source.accounts([account_id(1)])
    text = str(caught.value)
    assert "DESKBRIDGE_SALESFORCE_PASSWORD" in text and "INVALID_LOGIN" in text and text.startswith("salesforce ")
    assert "Wrong-Pa55word-QX" not in text and org.env["DESKBRIDGE_SALESFORCE_SECURITY_TOKEN"] not in text
    assert source.calls.by_endpoint() == {LOGIN: 1}  # a refused login is not retried


def test_from_env_reads_credentials_and_the_cache_setting(org, monkeypatch):
    for key, value in org.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DESKBRIDGE_ACCOUNT_CACHE_SECONDS", "30")
    source = SalesforceAccounts.from_env(MAPPING, clock=org.ctx.clock.now)
    assert source.cache.ttl_seconds == 30
    source.accounts([account_id(1)])
    org.ctx.clock.advance(30)
    source.accounts([account_id(1)])
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 2}
