"""The Zendesk emulator driven by the real zenpy client over HTTPS on 127.0.0.1.

Each test gets a fresh emulator (small hand-built world) behind a TLS server;
zenpy is pointed at it with ZENPY_FORCE_NETLOC and trusts the sandbox CA through
REQUESTS_CA_BUNDLE, exactly as deskbridge's connector will be.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket
from zenpy.lib.exception import APIException, RecordNotFoundException, TooManyValuesException

from sandbox.context import Fault, SandboxContext
from sandbox.tls_server import BackgroundServer, make_certificates
from sandbox.world import SeedAccount, SeedComment, SeedEvent, SeedTicket, SeedUser, World
from sandbox.zendesk import INTEGRATION_EMAIL, build, organization_id, user_id

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # the sandbox clock starts 2026-03-02 09:00 UTC
ACCOUNT = "001xx000003DGb0AAG"
PEOPLE = [
    ("agent-1", "agent", "l1"), ("agent-2", "agent", "l1"), ("agent-3", "agent", "tier2"),
    ("cust-1", "customer", None), ("cust-2", "customer", None),
]


def make_world(n_tickets: int = 5, *, same_second: bool = False, comments_per_ticket: int = 1) -> World:
    """A tiny world: a few agents and customers, one account, ``n_tickets`` open Zendesk tickets."""
    users = {key: SeedUser(key, key.replace("-", " ").title(), f"{key}@example.test", role, group)
             for key, role, group in PEOPLE}
    owner = SeedUser("am-1", "Account Manager", "am-1@acme.test", "admin")
    tickets = []
    for n in range(1, n_tickets + 1):
        created = T0 + timedelta(minutes=n)
        updated = T0 + timedelta(hours=2) if same_second else created + timedelta(minutes=30)
        comments = [SeedComment("cust-1", "customer", True, f"Problem {n}", created)]
        comments += [SeedComment("agent-1", "agent", True, f"Reply {n}.{k}", created + timedelta(minutes=k))
                     for k in range(1, comments_per_ticket + 1)]
        tickets.append(SeedTicket(
            n=n, system="zendesk", subject=f"Subject {n}", description=f"Problem {n}", status="open",
            priority="normal", requester="cust-1", account_id=ACCOUNT, group="l1", assignee="agent-1",
            product_area="billing", tags=["vip"], created_at=created, updated_at=updated, comments=comments,
            events=[SeedEvent("status", created + timedelta(minutes=1), "new", "open", "agent-1")],
        ))
    other = SeedTicket(n=1, system="jira", subject="not ours", description="x", status="open", priority="low",
                       requester="cust-2", account_id=None, group="l1", assignee=None, product_area=None)
    return World(seed=7, users=users, accounts=[SeedAccount(ACCOUNT, "Northwind", "Premier Support", "Enterprise", owner)],
                 tickets=tickets + [other])


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("zendesk-tls"))


class Sandbox:
    """One emulator, its server, and a zenpy client pointed at it."""

    def __init__(self, world: World, certs, monkeypatch):
        self.ctx = SandboxContext()
        self.emu = build(self.ctx, world)
        self.server = BackgroundServer(self.emu.app, certs, name="zendesk").start()
        for name, value in self.emu.env(self.server.url).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs.bundle_file))
        monkeypatch.setenv("CURL_CA_BUNDLE", str(certs.bundle_file))
        self.clients: list[Zenpy] = []
        self.zenpy = self.client()
        self.http = requests.Session()
        self.http.auth = (f"{INTEGRATION_EMAIL}/token", self.emu.credentials["token"])

    def client(self, token: str | None = None, **kw) -> Zenpy:
        client = Zenpy(subdomain="acme", email=INTEGRATION_EMAIL, token=token or self.emu.credentials["token"],
                       disable_cache=True, **kw)
        self.clients.append(client)
        return client

    def stop(self) -> None:
        for client in self.clients:
            client.users.session.close()
        self.http.close()
        self.server.server.force_exit = True  # do not wait for idle keep-alive connections
        self.server.stop()

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(f"{self.server.url}/api/v2/{path}", params=params)

    def requests_to(self, suffix: str, expected: int) -> list[dict]:
        """Logged requests whose path ends with ``suffix`` (the log entry lands just after the answer)."""
        deadline = time.monotonic() + 2
        while True:
            rows = [r for r in self.ctx.log.query_requests("zendesk") if r["path"].endswith(suffix)]
            if len(rows) >= expected or time.monotonic() > deadline:
                return rows
            time.sleep(0.01)

    def writes(self, **kw) -> list[dict]:
        return self.ctx.log.query_writes("zendesk", **kw)

    def tick(self, seconds: float = 1) -> None:
        self.ctx.clock.advance(seconds)


@pytest.fixture
def sandbox_factory(certs, monkeypatch):
    started: list[Sandbox] = []

    def start(world: World | None = None) -> Sandbox:
        box = Sandbox(world or make_world(), certs, monkeypatch)
        started.append(box)
        return box

    yield start
    for box in started:
        box.stop()


@pytest.fixture
def box(sandbox_factory) -> Sandbox:
    return sandbox_factory()


# -- incremental cursor export -------------------------------------------------

def test_cursor_export_pages_to_end_of_stream_with_sideloads(box):
    gen = box.zenpy.tickets.incremental(start_time=0, per_page=2, include=["users", "groups", "organizations", "metric_sets"])
    assert [t.id for t in gen] == [1, 2, 3, 4, 5]
    assert gen.end_of_stream is True
    pages = box.requests_to("cursor.json", 3)
    assert len(pages) == 3 and all(r["status"] == 200 for r in pages)

    page = box.get("incremental/tickets/cursor.json", start_time=0, per_page=2, include="users,groups,organizations,metric_sets").json()
    while True:
        assert "end_time" not in page
        requesters = {t["requester_id"] for t in page["tickets"]}
        assert requesters <= {u["id"] for u in page["users"]}
        assert [m["ticket_id"] for m in page["metric_sets"]] == [t["id"] for t in page["tickets"]]
        assert page["organizations"][0]["external_id"] == ACCOUNT
        assert page["groups"][0]["name"] == "L1 Support"
        if page["end_of_stream"]:
            break
        assert page["after_url"].startswith(box.server.url) and "include=" in page["after_url"]
        page = box.http.get(page["after_url"]).json()


def test_resume_from_after_cursor_loses_and_repeats_nothing_when_tickets_share_a_second(sandbox_factory):
    box = sandbox_factory(make_world(5, same_second=True))
    gen = box.zenpy.tickets.incremental(start_time=0, per_page=2)
    first_page = [t.id for t in itertools.islice(gen, 2)]
    cursor = gen.after_cursor
    assert len({t.updated_at for t in box.zenpy.tickets(ids=[1, 2, 3, 4, 5])}) == 1
    rest = [t.id for t in box.zenpy.tickets.incremental(cursor=cursor)]
    assert first_page == [1, 2] and rest == [3, 4, 5]


def test_changed_ticket_moves_behind_every_cursor_once_its_second_has_passed(box):
    gen = box.zenpy.tickets.incremental(start_time=0)
    assert len(list(gen)) == 5
    cursor = gen.after_cursor
    box.zenpy.tickets.update(Ticket(id=1, priority="high"))
    assert list(box.zenpy.tickets.incremental(cursor=cursor)) == []  # the current second is held back
    box.tick(1)
    again = box.zenpy.tickets.incremental(cursor=cursor)
    assert [(t.id, t.priority) for t in again] == [(1, "high")]
    assert list(box.zenpy.tickets.incremental(cursor=again.after_cursor)) == []


def test_before_cursor_walks_back_one_page(box):
    first = box.get("incremental/tickets/cursor.json", start_time=0, per_page=2).json()
    assert first["before_cursor"] is None
    second = box.http.get(first["after_url"]).json()
    back = box.http.get(second["before_url"]).json()
    assert [t["id"] for t in back["tickets"]] == [t["id"] for t in first["tickets"]]


def test_ticket_events_pages_always_progress_and_complete_their_last_second(sandbox_factory):
    box = sandbox_factory(make_world(4, same_second=True, comments_per_ticket=0))
    for tid in (1, 2, 3, 4):  # four audits in the same second
        box.zenpy.tickets.update(Ticket(id=tid, priority="high"))
    box.tick(1)
    seen, pages = [], 0
    page = box.get("incremental/ticket_events.json", start_time=0, per_page=2).json()
    while True:
        pages += 1
        seen += [e["id"] for e in page["ticket_events"]]
        if page["end_of_stream"] or pages > 20:
            break
        assert f"start_time={page['end_time']}" in page["next_page"]
        page = box.http.get(page["next_page"]).json()
    assert page["end_of_stream"] and pages < 20
    every = [e.id for e in box.zenpy.tickets.events(start_time=0)]
    assert set(seen) == set(every) and len(every) == 12  # creation, seeded status change, API update per ticket


# -- updates --------------------------------------------------------------------

def test_update_then_read_back_logs_each_effect_once(box):
    t = box.zenpy.tickets(id=2)
    t.status, t.priority, t.group_id = "pending", "urgent", 360000002
    t.comment = Comment(body="Escalated to Tier 2 [deskbridge:k-123456]", public=False)
    result = box.zenpy.tickets.update(t)
    assert result.ticket.status == "pending" and result.audit.events
    back = box.zenpy.tickets(id=2)
    assert (back.status, back.priority, back.group_id, back.assignee_id) == ("pending", "urgent", 360000002, None)
    assert back.updated_at == box.ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    note = list(box.zenpy.tickets.comments(ticket=2))[-1]
    assert (note.public, note.author_id) == (False, user_id("deskbridge-integration"))
    kinds = sorted(w["kind"] for w in box.writes(actor="api"))
    assert kinds == ["assignee", "comment", "group", "priority", "status"]
    group = next(w for w in box.writes() if w["kind"] == "group")
    assert group["detail"] == {"from": "l1", "to": "tier2"}


def test_safe_update_with_stale_stamp_is_a_409_and_changes_nothing(box):
    t = box.zenpy.tickets(id=1)
    t.status, t.safe_update, t.updated_stamp = "pending", True, "2020-01-01T00:00:00Z"
    with pytest.raises(APIException) as raised:
        box.zenpy.tickets.update(t)
    assert raised.value.response.status_code == 409
    assert raised.value.response.json()["error"] == "UpdateConflict"
    assert box.emu.view("1")["status"] == "open" and box.writes() == []


def test_conflict_fault_makes_a_human_edit_before_the_safe_update_lands(box):
    t = box.zenpy.tickets(id=1)
    before = box.emu.view("1")["token"]
    box.ctx.faults.add(Fault(kind="conflict", system="zendesk", method="PUT", path=r"/tickets/1\.json", count=1))
    t.priority, t.safe_update, t.updated_stamp = "high", True, t.updated_at
    with pytest.raises(APIException) as raised:
        box.zenpy.tickets.update(t)
    assert raised.value.response.status_code == 409
    view = box.emu.view("1")
    assert "human_edit" in view["tags"] and view["token"] != before and view["priority"] == "normal"
    assert [(w["kind"], w["actor"]) for w in box.writes()] == [("tags_added", "human")]
    fresh = box.zenpy.tickets(id=1)
    fresh.priority, fresh.safe_update, fresh.updated_stamp = "high", True, fresh.updated_at
    assert box.zenpy.tickets.update(fresh).ticket.priority == "high"


def test_additional_and_removed_tags_leave_other_tags_alone(box):
    t = box.zenpy.tickets(id=3)
    t.additional_tags = ["deskbridge_escalated"]
    assert box.zenpy.tickets.update(t).ticket.tags == ["vip", "pa_billing", "deskbridge_escalated"]
    box.zenpy.tickets.update(Ticket(id=3, remove_tags=["vip"]))
    assert box.emu.view("3")["tags"] == ["pa_billing", "deskbridge_escalated"]
    box.zenpy.tickets.update(Ticket(id=3, tags=["pa_api", "deskbridge_escalated"]))  # a dropdown tag moves the field
    fields = {f["id"]: f["value"] for f in box.zenpy.tickets(id=3).custom_fields}
    assert fields[360010001] == "pa_api"
    log = [(w["kind"], w["detail"]) for w in box.writes()]
    assert log == [("tags_added", {"tags": ["deskbridge_escalated"]}), ("tags_removed", {"tags": ["vip"]}),
                   ("tags_added", {"tags": ["pa_api"]}), ("tags_removed", {"tags": ["pa_billing"]}),
                   ("field", {"name": "product_area", "value": "api"})]


def test_a_write_that_changes_nothing_leaves_no_trace(box):
    token = box.emu.view("4")["token"]
    box.zenpy.tickets.update(Ticket(id=4, additional_tags=["vip"], status="open"))
    assert box.emu.view("4")["token"] == token and box.writes() == []


def test_update_many_job_reports_per_ticket_results_including_a_conflict(box):
    fresh = [box.zenpy.tickets(id=i) for i in (2, 3, 4)]
    for t in fresh:
        t.additional_tags, t.safe_update = ["deskbridge_escalated"], True
        t.updated_stamp = t.updated_at if t.id != 3 else "2020-01-01T00:00:00Z"
    job = box.zenpy.tickets.update(fresh)
    assert job.status == "queued" and job.total == 3
    first, second = box.zenpy.job_status(id=job.id), box.zenpy.job_status(id=job.id)
    assert first.status == "working" and second.status == "completed"
    results = {r.id: r for r in second.results}
    assert [results[i].success for i in (2, 3, 4)] == [True, False, True]
    assert results[3].errors == "UpdateConflict" and results[2].status == "Updated"
    assert [w["ticket_id"] for w in box.writes()] == ["2", "4"]
    assert "deskbridge_escalated" not in box.emu.view("3")["tags"]


def test_show_many_job_statuses_polls_several_jobs_in_one_call_with_the_single_endpoints_objects(box):
    jobs = [box.zenpy.tickets.update([Ticket(id=i, additional_tags=[f"batch_{i}"])]) for i in (2, 3)]
    ids = [j.id for j in jobs]
    first = box.get("job_statuses/show_many.json", ids=",".join([ids[1], "V3-" + "0" * 32, ids[0]])).json()
    assert list(first) == ["job_statuses"]  # unknown ids left out, the rest in the order asked
    assert [(j["id"], j["status"], j["results"]) for j in first["job_statuses"]] == [(ids[1], "working", None),
                                                                                    (ids[0], "working", None)]
    done = box.zenpy.job_status(ids=ids)["job_statuses"]  # zenpy's own show_many call parses the answer
    assert [(j.id, j.status) for j in done] == [(ids[0], "completed"), (ids[1], "completed")]
    single = box.get(f"job_statuses/{ids[0]}.json").json()["job_status"]
    many = box.get("job_statuses/show_many.json", ids=ids[0]).json()["job_statuses"]
    assert many == [single] and single["results"][0] == {"id": 2, "action": "update", "success": True,
                                                        "status": "Updated"}
    too_many = box.get("job_statuses/show_many.json", ids=",".join(f"V3-{k:032x}" for k in range(101)))
    assert too_many.status_code == 400 and too_many.json()["error"] == "TooManyValues"
    assert box.get("job_statuses/show_many.json").json() == {"job_statuses": []}


def test_update_many_over_one_hundred_tickets_is_refused_whole(box):
    with pytest.raises(TooManyValuesException):
        box.zenpy.tickets.update([Ticket(id=1 + i % 5, priority="high") for i in range(101)])
    assert box.writes() == []


def test_validation_errors_are_422_record_invalid(box):
    with pytest.raises(APIException) as raised:
        box.zenpy.tickets.update(Ticket(id=1, group_id=360000002, assignee_id=user_id("agent-2")))
    assert raised.value.response.status_code == 422
    assert raised.value.response.json()["error"] == "RecordInvalid"
    with pytest.raises(APIException):
        box.zenpy.tickets.update(Ticket(id=1, status="on-hold"))
    assert box.writes() == []


# -- faults and auth --------------------------------------------------------------

def test_a_429_with_retry_after_is_waited_out_and_applied_once(box):
    box.ctx.faults.add(Fault(kind="429", system="zendesk", method="PUT", count=1, retry_after=1))
    client = box.client(ratelimit_budget=5)
    client.tickets.update(Ticket(id=5, comment=Comment(body="internal", public=False)))
    assert [w["kind"] for w in box.writes()] == ["comment"]  # applied once, by the retried request
    assert [r["fault"] for r in box.requests_to("tickets/5.json", 2)] == ["429", None]
    rate = box.get("tickets/5.json").headers
    assert int(rate["X-Rate-Limit"]) == 700 and 0 <= int(rate["X-Rate-Limit-Remaining"]) < 700


def test_503_is_retried_by_zenpys_https_adapter(box):
    box.ctx.faults.add(Fault(kind="5xx", system="zendesk", method="GET", path=r"/tickets/1\.json", count=2))
    assert box.zenpy.tickets(id=1).id == 1


def test_wrong_token_gets_zendesks_401(box):
    with pytest.raises(APIException) as raised:
        box.client(token="not-the-token").tickets(id=1)
    assert raised.value.response.status_code == 401
    assert raised.value.response.json() == {"error": "Couldn't authenticate you"}


def test_unknown_ticket_is_record_not_found(box):
    with pytest.raises(RecordNotFoundException):
        box.zenpy.tickets(id=999)


# -- reads ------------------------------------------------------------------------

def test_comments_page_with_absolute_next_links(sandbox_factory):
    box = sandbox_factory(make_world(1, comments_per_ticket=4))
    page = box.get("tickets/1/comments.json", **{"page[size]": 2}).json()
    assert page["meta"]["has_more"] is True and page["links"]["next"].startswith(box.server.url)
    bodies = [c["body"] for c in page["comments"]]
    while page["meta"]["has_more"]:
        page = box.http.get(page["links"]["next"]).json()
        bodies += [c["body"] for c in page["comments"]]
    assert bodies == ["Problem 1", "Reply 1.1", "Reply 1.2", "Reply 1.3", "Reply 1.4"]
    assert [c.body for c in box.zenpy.tickets.comments(ticket=1)] == bodies


def test_audits_metrics_and_ticket_events_tell_the_same_history(box):
    box.zenpy.tickets.update(Ticket(id=1, status="solved"))
    box.tick(60)
    box.emu.human("1", {"action": "comment", "public": True, "body": "Still broken"})  # reopens
    box.tick(60)
    audits = list(box.zenpy.tickets.audits(ticket=1))
    assert audits[0].events[0]["type"] == "Comment" and audits[0].events[0]["body"] == "Problem 1"
    metric = box.zenpy.tickets.metrics(ticket=1)
    assert (metric.reopens, metric.replies, metric.assignee_stations) == (1, 1, 1)
    events = list(box.zenpy.tickets.events(start_time=0, include="comment_events"))
    mine = [e for e in events if e.ticket_id == 1]
    assert [e.id for e in mine] == [a.id for a in audits]
    changes = [c for e in mine for c in e.child_events if c["event_type"] == "Change" and c["field_name"] == "status"]
    assert [(c["previous_value"], c["value"]) for c in changes] == [("new", "open"), ("open", "solved"), ("solved", "open")]


def test_people_lookups(box):
    agent = list(box.zenpy.users.search(query="email:agent-3@example.test"))
    assert [u.id for u in agent] == [user_id("agent-3")] and agent[0].default_group_id == 360000002
    org = box.zenpy.organizations(id=organization_id(ACCOUNT))
    assert org.external_id == ACCOUNT
    assert box.zenpy.users(id=user_id("am-1")).role == "admin"
    assert {g.name for g in box.zenpy.groups()} >= {"L1 Support", "Tier 2 Support"}


# -- the platform interface -----------------------------------------------------

def test_human_actions_move_state_like_the_agent_ui(box):
    token = box.emu.view("2")["token"]
    view = box.emu.human("2", {"action": "reassign", "group": "tier2", "assignee": "agent-3"})
    assert (view["group"], view["assignee"]) == ("tier2", "agent-3@example.test") and view["token"] != token
    box.emu.human("2", {"action": "set_status", "status": "pending"})
    view = box.emu.human("2", {"action": "comment", "body": "Any news?"})  # the requester replies
    assert view["status"] == "open" and view["comments"][-1]["author_email"] == "cust-1@example.test"
    view = box.emu.human("2", {"action": "set_field", "field": "product_area", "value": "mobile"})
    assert "pa_mobile" in view["tags"] and "pa_billing" not in view["tags"]
    assert {w["actor"] for w in box.writes()} == {"human"}
    with pytest.raises(ValueError):
        box.emu.human("2", {"action": "dance"})


def test_create_takes_the_next_free_id(box):
    seed = make_world(1).tickets[0]
    new_id = box.emu.create(seed)
    assert new_id == "6" and box.emu.ticket_ids()[-1] == "6"
    assert box.zenpy.tickets(id=6).subject == "Subject 1"
    assert box.writes()[-1]["kind"] == "created"
