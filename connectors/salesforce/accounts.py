"""Accounts by id from Salesforce: the tier, segment and owner a ticket's SLA and routes depend on.

One ``accounts(ids)`` call per evaluated batch: ids are de-duplicated, checked
(a malformed id would fail a whole ``Id IN`` query), served from a TTL cache
when fresh, and the rest queried in chunks of at most 200 per SOQL query. The
answer is keyed by the id the caller asked with, 15- or 18-character alike.

Enrichment never stops escalations:

- an id Salesforce does not know, a malformed id or an unusable record gets the
  mapping's default tier with ``known=False``, a ``tier_note`` saying why, and a
  warning naming only the id;
- when Salesforce itself fails (retry budget spent, org API limit reached, a
  refused login, an unreadable answer), ``degrade_on_failure=True`` (the
  default) gives every id not yet answered the default tier, logs one loud
  warning with the typed error, and keeps it in :attr:`SalesforceAccounts.last_failure`
  for the run summary; those defaults are not cached, so the next run asks
  again. With ``degrade_on_failure=False`` the typed error is raised instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from connectors.base import SetupCheck
from connectors.calls import CallCounter
from connectors.credentials import SalesforceCredentials, credentials_from_env
from connectors.retry import RetryPolicy
from connectors.salesforce.cache import AccountCache, utc_now
from connectors.salesforce.check import check_setup
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.ids import MAX_IDS_PER_QUERY, accounts_by_id_soql, id_key, is_record_id, unique_ids
from connectors.salesforce.normalize import to_accounts, unknown_account
from core.errors import DeskbridgeError
from core.mapping import SalesforceMapping
from core.model import Account
from core.settings import load_settings

log = logging.getLogger("deskbridge.salesforce")


class SalesforceAccounts:
    """The :class:`~connectors.base.AccountSource` on simple-salesforce (cached, chunked, never fatal by default)."""

    system = "salesforce"

    def __init__(
        self,
        credentials: SalesforceCredentials,
        mapping: SalesforceMapping,
        *,
        policy: RetryPolicy = RetryPolicy(),
        chunk_size: int = MAX_IDS_PER_QUERY,
        cache_seconds: float = 900,
        clock: Callable[[], datetime] = utc_now,
        cache: AccountCache | None = None,
        degrade_on_failure: bool = True,
        session_id: SecretStr | str | None = None,
        instance: str | None = None,
        **client_options: Any,
    ):
        if not 1 <= chunk_size <= MAX_IDS_PER_QUERY:
            raise ValueError(f"chunk_size must be between 1 and {MAX_IDS_PER_QUERY}")
        self.mapping = mapping
        self.chunk_size = chunk_size
        self.degrade_on_failure = degrade_on_failure
        self.calls = CallCounter(self.system)
        self.cache = cache if cache is not None else AccountCache(cache_seconds, clock)
        self.client = SalesforceClient(
            credentials, policy=policy, calls=self.calls, session_id=session_id, instance=instance, **client_options
        )
        self.last_failure: DeskbridgeError | None = None

    @classmethod
    def from_env(cls, mapping: SalesforceMapping, **kw: Any) -> "SalesforceAccounts":
        """Credentials from ``DESKBRIDGE_SALESFORCE_*``; cache and retry settings from ``DESKBRIDGE_*``."""
        settings = load_settings()
        kw.setdefault("cache_seconds", settings.account_cache_seconds)
        kw.setdefault("policy", RetryPolicy(max_attempts=settings.retry_max_attempts,
                                            max_total_wait=settings.retry_max_wait_seconds))
        return cls(credentials_from_env("salesforce"), mapping, **kw)  # type: ignore[arg-type]

    # -- the AccountSource verb ----------------------------------------------------------------

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        """Accounts keyed by the ids asked for; every non-blank id gets an answer, never an error by default."""
        self.last_failure = None
        asked = unique_ids(account_ids)
        malformed: dict[str, Account] = {}
        by_key: dict[str, Account] = {}  # 15-char key -> answer (cached or fetched)
        to_query: dict[str, str] = {}  # 15-char key -> the id to query with
        for account_id in asked:
            if not is_record_id(account_id):
                log.warning("salesforce: account id %r is not a Salesforce id; default tier %r used",
                            account_id[:40], self.mapping.default_tier)
                malformed[account_id] = self._default(account_id, "the account id is not a Salesforce id")
                continue
            key = id_key(account_id)
            cached = by_key.get(key) or self.cache.get(key)
            if cached is not None:
                by_key[key] = cached
            else:
                to_query.setdefault(key, account_id)
        by_key.update(self._fetch(list(to_query.values())))
        answers: dict[str, Account] = {}
        for account_id in asked:
            account = malformed.get(account_id) or by_key[id_key(account_id)]
            answers[account_id] = account if account.known else account.model_copy(update={"id": account_id})
        return answers

    def check_setup(self) -> SetupCheck:
        """Log in and query the mapped Account fields once (``deskbridge check``)."""
        return check_setup(self.client, self.mapping)

    def api_usage(self) -> tuple[int, int] | None:
        """``(used, limit)`` of the org's daily API requests as Salesforce last reported them."""
        return self.client.api_usage()

    def close(self) -> None:
        self.client.close()

    def __repr__(self) -> str:
        return f"SalesforceAccounts(user={self.client.credentials.username!r}, cached={len(self.cache)})"

    # -- querying ------------------------------------------------------------------------------

    def _fetch(self, record_ids: Sequence[str]) -> dict[str, Account]:
        """Query the ids in chunks; answers by 15-char key. Degrades (or raises) on the first failure."""
        out: dict[str, Account] = {}
        pending = list(record_ids)
        while pending:
            chunk = pending[: self.chunk_size]
            try:
                out.update(self._fetch_chunk(chunk))
            except DeskbridgeError as exc:
                if not self.degrade_on_failure:
                    raise
                self._degrade(exc, pending, out)
                break
            pending = pending[self.chunk_size :]
        return out

    def _degrade(self, exc: DeskbridgeError, pending: list[str], out: dict[str, Account]) -> None:
        """Default tiers for every id not yet answered, one loud warning, the error kept for the run summary."""
        self.last_failure = exc
        log.warning(
            "salesforce: account lookup FAILED, %d account(s) get the default tier %r this run "
            "(escalations continue): %s", len(pending), self.mapping.default_tier, exc,
        )
        for account_id in pending:
            out[id_key(account_id)] = self._default(account_id, f"Salesforce lookup failed ({type(exc).__name__})")

    def _fetch_chunk(self, chunk: list[str]) -> dict[str, Account]:
        soql = accounts_by_id_soql(self.mapping.soql_fields(), chunk, self.mapping.object)
        records = self.client.query_records(soql)
        found, errors = to_accounts(records, self.mapping)
        by_key = {id_key(account.id): account for account in found.values()}
        unusable = {id_key(e.ticket_id): e for e in errors if e.ticket_id}
        out: dict[str, Account] = {}
        for account_id in chunk:
            key = id_key(account_id)
            if key in by_key:
                out[key] = by_key[key]
                self.cache.put(key, by_key[key])
            elif key in unusable:  # not cached: an admin's fix shows on the next run
                log.warning("%s; default tier %r used", unusable[key], self.mapping.default_tier)
                out[key] = self._default(account_id, f"the Salesforce record is unusable ({unusable[key].field})")
            else:
                log.warning("salesforce: account %s not found; default tier %r used", account_id,
                            self.mapping.default_tier)
                out[key] = self._default(account_id, "the account is not in Salesforce")
                self.cache.put(key, out[key])
        for error in errors:
            if not error.ticket_id:
                log.warning("salesforce: a record without a usable Id was skipped: %s", error)
        return out

    def _default(self, account_id: str, why: str) -> Account:
        note = f"{why}; default tier {self.mapping.default_tier!r} used"
        return unknown_account(account_id, self.mapping).model_copy(update={"tier_note": note})
