"""The shape every connector has, and the error translation they share.

A helpdesk connector has three verbs: pull the changes since a cursor as pages
of normalized tickets (plus the cursor to commit after each page), fetch given
tickets again (for time-based re-evaluation and the full history a handoff note
needs), and apply write plans, answering one result per ticket. Salesforce only
enriches: accounts by id. Connectors return model objects; they never decide.
Each also answers ``check_setup`` for ``deskbridge check``, with read calls only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from connectors.calls import CallCounter
from core.actions import WritePlan, WriteResult
from core.errors import APIError, ConflictError, FatalAPIError, RetriableAPIError
from core.mapping_parts import IntegrationUser
from core.model import Account, Quarantined, System, Ticket


@dataclass
class Page:
    """One page of changes. Commit ``cursor`` only after the page's tickets are handled."""

    tickets: list[Ticket]
    quarantined: list[Quarantined] = field(default_factory=list)
    cursor: str | None = None
    raw_count: int = 0  # records the API returned, before de-duplication


@dataclass(frozen=True)
class SetupProblem:
    """One thing ``deskbridge check`` found wrong; about a mapping key when ``file`` is set."""

    message: str
    file: str | None = None  # the mapping file's name ("zendesk.yaml")
    key: tuple[str | int, ...] = ()  # the key in it, as a path: ("groups", "tier3")


@dataclass(frozen=True)
class SetupCheck:
    """What ``deskbridge check`` learned from one system: who the credentials are there, and what is wrong.

    Each problem names the mapping key it is about and what the system has
    instead, so an admin can fix the mapping (or the account) before a sync
    fails on it.
    """

    identity: str
    problems: tuple[SetupProblem, ...] = ()
    not_checked: tuple[str, ...] = ()  # what could not be checked, and why (a missing permission)


NOT_ECHOES = "deskbridge's own writes would not be recognised as echoes"


def integration_user_problems(file: str, wanted: IntegrationUser, *, email: str | None = None,
                              login: str | None = None, user_id: str | None = None,
                              id_name: str = "user") -> list[SetupProblem]:
    """Each ``integration_user`` key that names someone other than the credentials' own user.

    Only what the system told about that user is compared (``None``: not known);
    ``email=""`` means the system hides it, and the id is then the way to name it.
    """
    problems = []
    if wanted.email and email is not None and wanted.email.casefold() != email.casefold():
        shown = repr(email) if email else f"a user whose e-mail is hidden (give integration_user.id, the {id_name})"
        problems.append(SetupProblem(f"is {wanted.email!r}, but the credentials are {shown}: {NOT_ECHOES}",
                                     file, ("integration_user", "email")))
    if wanted.login and login is not None and wanted.login != login:
        problems.append(SetupProblem(f"is {wanted.login!r}, but the credentials are {login!r}: {NOT_ECHOES}",
                                     file, ("integration_user", "login")))
    if wanted.id and user_id is not None and str(wanted.id) != user_id:
        problems.append(SetupProblem(f"is {wanted.id!r}, but the credentials are {id_name} {user_id!r}: {NOT_ECHOES}",
                                     file, ("integration_user", "id")))
    return problems


@runtime_checkable
class HelpdeskConnector(Protocol):
    system: System
    calls: CallCounter

    def pull_changes(self, cursor: str | None, *, start: datetime) -> Iterator[Page]:
        """Changed tickets since ``cursor`` (or since ``start`` on a first run), page by page."""

    def fetch_tickets(self, ids: Sequence[str], *, full_history: bool = False) -> tuple[list[Ticket], list[Quarantined]]:
        """These tickets as they are now, in bulk; ``full_history`` adds every comment."""

    def apply(self, plans: Sequence[WritePlan]) -> list[WriteResult]:
        """Write the plans, one result per plan, never overwriting a human's newer edit."""

    def check_setup(self) -> SetupCheck:
        """Read calls only: who the credentials are, and what the mapping names that the helpdesk lacks."""


@runtime_checkable
class AccountSource(Protocol):
    calls: CallCounter

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        """Accounts by id; unknown ids get the default tier (``known=False``), never an error."""

    def check_setup(self) -> SetupCheck:
        """Log in and check the mapped fields with one query (``deskbridge check``)."""


def error_for_status(
    system: str,
    endpoint: str,
    status: int,
    message: str,
    *,
    retry_after: str | None = None,
    credential_hint: str = "",
) -> APIError:
    """The typed error for an HTTP status, so every connector classifies alike."""
    if status == 429 or status >= 500:
        return RetriableAPIError(system, endpoint, message, status, retry_after=_seconds(retry_after))
    if status in (401, 403):
        hint = f"; check {credential_hint}" if credential_hint else ""
        what = "authentication failed" if status == 401 else "permission denied"
        return FatalAPIError(system, endpoint, f"{what}{hint}: {message}", status)
    if status in (409, 412):
        return ConflictError(system, endpoint, message, status)
    return FatalAPIError(system, endpoint, message, status)


def _seconds(retry_after: str | None) -> float | None:
    """An integer ``Retry-After``; HTTP dates and garbage count as absent."""
    if retry_after is None:
        return None
    try:
        return float(int(str(retry_after).strip()))
    except ValueError:
        return None
