"""ZendeskConnector's read side against the Zendesk emulator, driven by the real zenpy over HTTPS.

Uses the session sandbox (tests/sandbox_fixtures.py). Its virtual clock is shared and
only moves forward; both exports hold back the current virtual second, so every test
advances the clock after its writes before pulling. The write side is in
``test_connector_zendesk_writes.py``, failures (429, 401, garbage bodies, secrets) in
``test_connector_zendesk_failures.py``; both import the helpers below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.base import HelpdeskConnector, Page
from connectors.calls import endpoint_of
from connectors.retry import RetryPolicy
from connectors.zendesk.connector import ZendeskConnector
from connectors.zendesk.cursor import PullCursor
from connectors.zendesk.jobs import JobWait
from connectors.zendesk.people import Directory
from core.history import merge_history
from core.mapping import ZendeskMapping
from core.model import Role, Ticket
from core.yamlconf import load_model
from sandbox.zendesk import user_id as zendesk_user_id

ROOT = Path(__file__).resolve().parent.parent
MAPPING = load_model(ROOT / "mapping" / "zendesk.yaml", ZendeskMapping)
FAST = RetryPolicy(max_attempts=5, max_total_wait=4.0, base_delay=0.01, max_delay=0.05)
QUICK_JOBS = JobWait(first_delay=0.01, factor=2.0, max_delay=0.05, max_wait=5.0)
EXPORT = "GET /api/v2/incremental/tickets/cursor.json"
EVENTS = "GET /api/v2/incremental/ticket_events.json"


def make_connector(waits: list[float] | None = None, **kw) -> ZendeskConnector:
    """A connector from the sandbox environment; ``waits`` records every sleep instead of sleeping."""
    kw.setdefault("policy", FAST)
    kw.setdefault("job_wait", QUICK_JOBS)
    if waits is not None:
        kw["sleep"] = waits.append
    return ZendeskConnector.from_env(MAPPING, **kw)


def pull_all(connector: ZendeskConnector, cursor: str | None, start) -> tuple[list[Page], str | None]:
    pages = list(connector.pull_changes(cursor, start=start))
    return pages, (pages[-1].cursor if pages else cursor)


def tickets_of(pages: list[Page]) -> list[Ticket]:
    return [t for p in pages for t in p.tickets]


def settle(admin, seconds: float = 5) -> None:
    """Move the virtual clock past the second the exports hold back.

    The emulator stamps each write at least one second after the ticket's previous
    ``updated_at``, so a few writes in one virtual second end up slightly ahead of
    the clock: settle by more than one second.
    """
    admin.advance(seconds)


@pytest.fixture
def zendesk(sandbox, clean_faults) -> ZendeskConnector:
    connector = make_connector([])
    yield connector
    connector.close()


@pytest.fixture
def far_back(sandbox_admin):
    """A start that covers the whole seeded world."""
    return sandbox_admin.now() - timedelta(days=400)


@pytest.fixture
def caught_up(zendesk, far_back, sandbox_admin) -> Callable[[], str]:
    """A cursor at the end of the export right now (everything before it handled)."""

    def cursor() -> str:
        settle(sandbox_admin)
        _pages, at = pull_all(zendesk, None, far_back)
        return at

    return cursor


def test_the_connector_has_the_protocol_shape(zendesk):
    assert isinstance(zendesk, HelpdeskConnector)
    assert zendesk.system.value == "zendesk"


def test_full_pull_returns_every_zendesk_ticket_normalized_with_side_loads(zendesk, sandbox, sandbox_admin, far_back):
    settle(sandbox_admin)
    pages, cursor = pull_all(zendesk, None, far_back)
    pulled = tickets_of(pages)
    expected = set(sandbox_admin.ticket_ids("zendesk"))
    assert {t.id for t in pulled} == expected and len(pulled) == len(expected)
    assert not [q for p in pages for q in p.quarantined]
    assert PullCursor.decode(cursor).position == max(int(t.updated_at.timestamp()) for t in pulled)
    sample = next(t for t in pulled if t.group == "l1" and t.comments)
    view = sandbox_admin.view("zendesk", sample.id)
    assert sample.status.value == view["status"] and sample.concurrency_token == view["token"]
    assert sample.requester_name and sample.group_name == "L1 Support"  # users and groups side-loaded
    assert any(t.account_id for t in pulled)  # from the ticket field or the organization's external_id


def test_a_pull_is_bulk_one_export_call_per_page_and_no_call_per_ticket(zendesk, sandbox_admin, far_back):
    settle(sandbox_admin)
    small = make_connector([], page_size=7)
    pages, _ = pull_all(small, None, far_back)
    n = len(tickets_of(pages))
    calls = small.calls.by_endpoint()
    assert calls[EXPORT] == len(pages) == -(-n // 7)
    assert calls[EVENTS] <= len(pages) + 1  # the event window is read forward once for the whole run
    assert not [e for e in calls if "{id}" in e], calls  # nothing per ticket
    assert set(calls) <= {EXPORT, EVENTS, "GET /api/v2/users/show_many.json"}


def test_resume_from_a_saved_cursor_has_no_gap_and_no_duplicate_inside_one_second(
        zendesk, sandbox, sandbox_admin, caught_up, far_back):
    start_cursor = caught_up()
    created = [sandbox_admin.create_ticket("zendesk", f"Same second {k}") for k in range(7)]
    settle(sandbox_admin)
    small = make_connector([], page_size=3)
    first_page = next(iter(small.pull_changes(start_cursor, start=far_back)))  # then the run "dies"
    assert len(first_page.tickets) == 3
    assert len({t.updated_at for t in first_page.tickets}) == 1  # all seven share one second
    restarted = make_connector([], page_size=3)
    rest, _ = pull_all(restarted, first_page.cursor, far_back)
    ids = [t.id for t in first_page.tickets] + [t.id for t in tickets_of(rest)]
    assert sorted(ids, key=int) == created  # every one, exactly once
    assert [len(p.tickets) for p in rest] == [3, 1]


def test_a_ticket_changed_during_the_run_comes_again_later_with_its_new_version(
        zendesk, sandbox_admin, caught_up, far_back):
    start_cursor = caught_up()
    first, second = (sandbox_admin.create_ticket("zendesk", f"Moving {k}") for k in range(2))
    settle(sandbox_admin)
    small = make_connector([], page_size=1)
    run = small.pull_changes(start_cursor, start=far_back)
    page = next(run)
    assert [t.id for t in page.tickets] == [first]
    sandbox_admin.human("zendesk", first, "add_tags", tags=["touched_meanwhile"])
    settle(sandbox_admin)
    later = [t for p in run for t in p.tickets]
    assert [t.id for t in later] == [second, first]
    assert "touched_meanwhile" in later[-1].tags and later[-1].updated_at > page.tickets[0].updated_at


def test_a_ticket_handed_out_twice_in_a_run_gets_only_its_new_events_the_second_time(
        zendesk, sandbox_admin, caught_up, far_back):
    """Its first version's events were dropped after the hand-out (memory stays flat): the later
    version says from when it is complete, and merged with the first it equals the full audit read."""
    start_cursor = caught_up()
    first = sandbox_admin.create_ticket("zendesk", "Twice in one run", description="It broke.")
    sandbox_admin.create_ticket("zendesk", "A neighbour")
    settle(sandbox_admin)
    run = make_connector([], page_size=1).pull_changes(start_cursor, start=far_back)
    early = next(run).tickets[0]
    assert early.id == first and early.history_since is None  # created inside the window: its whole life
    sandbox_admin.human("zendesk", first, "comment", author="agent-1", body="On it", public=True)
    settle(sandbox_admin)
    again = next(t for p in run for t in p.tickets if t.id == first)
    assert [c.body for c in again.comments] == ["On it"] and again.history_since == early.updated_at
    merged = merge_history(early, again)
    (full,), _ = zendesk.fetch_tickets([first], full_history=True)
    assert merged.history_since is None
    assert merged.comments == full.comments and merged.history == full.history


def test_pulled_comments_and_history_come_from_the_event_window_and_match_the_audits(
        zendesk, sandbox_admin, caught_up, far_back):
    start_cursor = caught_up()
    tid = sandbox_admin.create_ticket("zendesk", "Invoices are wrong", description="Our invoice doubled.")
    settle(sandbox_admin, 60)
    sandbox_admin.human("zendesk", tid, "reassign", group="billing")
    sandbox_admin.human("zendesk", tid, "comment", body="Any news?", public=True)
    sandbox_admin.human("zendesk", tid, "comment", author="agent-1", body="Looking into it", public=False)
    settle(sandbox_admin)
    pages, _ = pull_all(zendesk, start_cursor, far_back)
    assert not [q for p in pages for q in p.quarantined]
    pulled = next(t for t in tickets_of(pages) if t.id == tid)
    (full,), _ = zendesk.fetch_tickets([tid], full_history=True)
    assert [c.body for c in pulled.comments] == ["Our invoice doubled.", "Any news?", "Looking into it"]
    assert [c.role for c in pulled.comments] == [Role.customer, Role.customer, Role.agent]
    assert pulled.comments == full.comments and pulled.history == full.history
    assert [e.kind.value for e in pulled.history][:1] == ["created"]
    assert any(e.kind.value == "group_change" and e.to_value == "billing" for e in pulled.history)


def test_the_event_window_of_a_resumed_run_starts_at_the_cursor_not_at_the_tickets_creation(
        zendesk, sandbox_admin, caught_up, far_back):
    tid = sandbox_admin.create_ticket("zendesk", "Old news", description="First message")
    settle(sandbox_admin, 600)
    sandbox_admin.create_ticket("zendesk", "Later news")  # the cursor's position moves 10 minutes on
    cursor = caught_up()
    sandbox_admin.human("zendesk", tid, "comment", body="Second message", public=True)
    settle(sandbox_admin)
    pages, _ = pull_all(zendesk, cursor, far_back)
    (pulled,) = [t for t in tickets_of(pages) if t.id == tid]
    assert [c.body for c in pulled.comments] == ["Second message"]  # activity since the last run only
    (full,), _ = zendesk.fetch_tickets([tid], full_history=True)
    assert [c.body for c in full.comments] == ["First message", "Second message"]


def test_a_ticket_with_a_broken_field_is_quarantined_and_the_rest_of_its_page_goes_on(
        zendesk, sandbox, sandbox_admin, caught_up, far_back):
    cursor = caught_up()
    good, bad, also_good = (sandbox_admin.create_ticket("zendesk", f"Quarantine {k}") for k in range(3))
    # Zendesk itself refuses unknown priorities over the API; write one into the emulator's record directly.
    sandbox.emulators["zendesk"].store.tickets[int(bad)].priority = "p0-critical"
    settle(sandbox_admin)
    pages, new_cursor = pull_all(zendesk, cursor, far_back)
    assert [t.id for t in tickets_of(pages)] == [good, also_good]
    (quarantined,) = [q for p in pages for q in p.quarantined]
    assert quarantined.ticket_id == bad and quarantined.field == "priority"
    assert "p0-critical" in quarantined.reason and "priority_map" in quarantined.reason
    assert PullCursor.decode(new_cursor).position >= PullCursor.decode(cursor).position  # the cursor moved past it
    sandbox.emulators["zendesk"].store.tickets[int(bad)].priority = "normal"


def test_nothing_new_means_no_page_and_the_cursor_stays(zendesk, sandbox_admin, caught_up, far_back):
    cursor = caught_up()
    pages, after = pull_all(zendesk, cursor, far_back)
    assert pages == [] and after == cursor
    assert zendesk.calls.by_endpoint()[EXPORT] >= 1


def test_fetch_tickets_reads_in_bulk_and_full_history_only_when_asked(zendesk, sandbox_admin):
    ids = sandbox_admin.ticket_ids("zendesk")[:12]
    zendesk.calls.reset()
    plain, quarantined = zendesk.fetch_tickets(ids + ["not-a-number"])
    assert {t.id for t in plain} == set(ids) and all(t.comments == () for t in plain)
    assert [q.ticket_id for q in quarantined] == ["not-a-number"]
    assert zendesk.calls.by_endpoint() == {"GET /api/v2/tickets/show_many.json": 1}
    zendesk.calls.reset()
    full, _ = zendesk.fetch_tickets(ids, full_history=True)
    calls = zendesk.calls.by_endpoint()
    assert calls["GET /api/v2/tickets/show_many.json"] == 1
    assert calls["GET /api/v2/tickets/{id}/audits.json"] == len(ids)  # one per escalating ticket, on demand
    assert all(t.comments for t in full)


def test_a_stored_cursor_that_is_not_ours_is_refused_clearly(zendesk, far_back):
    with pytest.raises(ValueError, match="not a deskbridge Zendesk cursor"):
        next(zendesk.pull_changes("MTY5NTA1MjY2My4wfHwyOHw=", start=far_back))


def test_job_ids_fold_into_one_endpoint_in_the_call_counts():
    url = "https://acme.zendesk.com/api/v2/job_statuses/V3-47ed156789697d342091e8d273f50b5d.json"
    assert endpoint_of("GET", url) == "GET /api/v2/job_statuses/{id}.json"


def test_the_user_directory_is_bounded_and_keeps_an_owner_found_by_e_mail(zendesk, sandbox):
    """A backlog's customers must not make the cache grow with the tickets; a searched owner is not re-searched."""
    directory = Directory(zendesk.client, limit=3)
    customers = [u for u in sandbox.world.users.values() if u.role == "customer"][:6]
    ids = [zendesk_user_id(u.key) for u in customers]
    directory.remember([{"id": int(i), "email": u.email, "role": "end-user"} for i, u in zip(ids, customers)])
    assert len(directory) == 3  # the three most recent
    owner = next(a.owner for a in sandbox.world.accounts if a.owner is not None)
    found, why = directory.agent_id(owner.email)
    assert found == str(zendesk_user_id(owner.key)) and why is None
    directory.remember([{"id": int(i), "email": u.email, "role": "end-user"} for i, u in zip(ids, customers)])
    assert directory.agent_id(owner.email.upper()) == (found, None)
    assert zendesk.calls.by_endpoint()["GET /api/v2/users/search.json"] == 1
    assert [u["id"] for u in directory.users([ids[0], ids[5]])] == [int(ids[0]), int(ids[5])]  # one forgotten: fetched
    assert zendesk.calls.by_endpoint()["GET /api/v2/users/show_many.json"] == 1 and len(directory) == 3
