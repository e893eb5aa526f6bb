"""SalesforceAccounts.from_env against the assembled sandbox (the session ``sandbox`` fixture), steered only through
its environment and admin API, on the accounts the seeded tickets actually reference."""

from __future__ import annotations

from pathlib import Path

from connectors.salesforce.accounts import SalesforceAccounts
from core.mapping import SalesforceMapping
from core.yamlconf import load_model

pytest_plugins = ["sandbox_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
MAPPING = load_model(ROOT / "mapping" / "salesforce.yaml", SalesforceMapping)
TIERS = dict(MAPPING.tier_map)
LOGIN = "POST /services/Soap/u/59.0"
QUERY = "GET /services/data/v59.0/query/"


def test_the_seeded_tickets_accounts_resolve_from_the_environment_alone(sandbox, sandbox_admin, monkeypatch):
    monkeypatch.setenv("DESKBRIDGE_ACCOUNT_CACHE_SECONDS", "60")
    world = sandbox.world
    seeded = {a.id: a for a in world.accounts}
    referenced = {t.account_id for t in world.tickets if t.account_id}
    assert referenced - set(seeded), "the seed deals at least one ticket an account Salesforce does not know"
    source = SalesforceAccounts.from_env(MAPPING, clock=sandbox.ctx.clock.now)

    got = source.accounts(referenced)
    assert set(got) == referenced
    for account_id, account in got.items():
        if account_id in seeded:
            assert account.known and account.tier == TIERS[seeded[account_id].tier_value]
            assert account.owner_email == seeded[account_id].owner.email
        else:
            assert not account.known and account.tier == MAPPING.default_tier
    assert source.calls.by_endpoint() == {LOGIN: 1, QUERY: 1}

    target = next(iter(seeded.values()))
    original = target.tier_value
    new_value = next(v for v in TIERS if v != original)
    sandbox_admin.set_account(target.id, Support_Tier__c=new_value)
    try:
        sandbox_admin.expire_sessions()
        sandbox_admin.advance(60)
        again = source.accounts([target.id])
        assert again[target.id].tier == TIERS[new_value]  # the admin's edit, read after the TTL
        assert source.calls.by_endpoint() == {LOGIN: 2, QUERY: 3}  # one new login after the revoked session
    finally:
        sandbox_admin.set_account(target.id, Support_Tier__c=original)
