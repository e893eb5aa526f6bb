"""Build what a sync run needs from settings, credentials and the mapping directory.

The only place that knows which class serves which system; everything else
speaks the Protocols in :mod:`connectors.base`.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta

from connectors.retry import RetryPolicy
from core.config import Mappings, load_mappings
from core.model import System
from core.notes import NoteRenderer
from core.settings import Settings
from core.store import Store
from flows.blocks import load_credentials
from flows.pipeline import SyncContext

# system -> (module, class); imported lazily so one system's client is loaded only when used.
CONNECTORS = {
    System.zendesk: ("connectors.zendesk.connector", "ZendeskConnector"),
    System.servicenow: ("connectors.servicenow.connector", "ServiceNowConnector"),
    System.jira: ("connectors.jira.connector", "JiraConnector"),
}
ACCOUNTS = ("connectors.salesforce.accounts", "SalesforceAccounts")


def _class(path: tuple[str, str]):
    module, name = path
    return getattr(importlib.import_module(module), name)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.retry_max_attempts, max_total_wait=settings.retry_max_wait_seconds)


def build_connector(system: System, mappings: Mappings, settings: Settings, credentials_block: str | None = None):
    """The helpdesk connector for ``system``, with credentials from the block or the environment."""
    credentials = load_credentials(system.value, credentials_block)
    return _class(CONNECTORS[system])(credentials, mappings.for_system(system), policy=retry_policy(settings))


def build_accounts(mappings: Mappings, settings: Settings, credentials_block: str | None = None, clock=None):
    """The Salesforce account source (cached, batched)."""
    credentials = load_credentials("salesforce", credentials_block)
    kwargs = {"policy": retry_policy(settings), "cache_seconds": settings.account_cache_seconds}
    if clock is not None:
        kwargs["clock"] = clock
    return _class(ACCOUNTS)(credentials, mappings.salesforce, **kwargs)


def build_context(
    system: System,
    settings: Settings,
    now: datetime,
    *,
    credentials_block: str | None = None,
    salesforce_block: str | None = None,
    store: Store | None = None,
) -> SyncContext:
    """Load and check the admin files, then build connectors, the store and the note renderer."""
    mappings = load_mappings(settings.mapping_dir, display_root=str(settings.mapping_dir))
    return SyncContext(
        connector=build_connector(system, mappings, settings, credentials_block),
        accounts=build_accounts(mappings, settings, salesforce_block, clock=lambda: now),
        store=store or Store.open(settings.state_url, clock=lambda: now),
        mappings=mappings,
        policy=mappings.policy,
        renderer=NoteRenderer(settings.mapping_dir / "templates"),
        start=now - timedelta(days=settings.initial_lookback_days),
    )
