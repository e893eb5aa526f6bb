"""Metrics on a constructed history whose expected values are worked out by hand below.

The history (all times UTC; the window is Mon 2026-03-02 00:00 to Thu 2026-03-05 00:00, one period per day):

    ticket  system      tier      priority          group           created      ended        escalations (auto)                      breaches
    A       zendesk     premier   high              l1              Mon 09:00    Tue 09:00    Mon 11:00 at_risk:resolution              resolution Mon 17:00
    B       zendesk     business  normal (->urgent) l1 (->tier3)    Mon 10:00    open         Tue 10:00 keyword:outage                  first_response Mon 14:00
    C       servicenow  standard  normal            l1              Sun 12:00    Mon 12:00    -                                         -
    D       jira        premier   high              tier2           Tue 09:00    open         Tue 09:45 at_risk:first_response,         first_response Tue 10:00
                                                                                               Tue 12:00 breached:first_response
    E       jira        standard  low               l1              Wed 08:00    open         - (proposed Wed 15:00 at_risk:resolution) -
    G       servicenow  business  normal            l1              Mon 13:00    Wed 13:00    -                                         -
    H       zendesk     business  urgent            tier2           Wed 09:00    open         Wed 12:00 at_risk:first_response          -
    F       zendesk     premier   urgent            l1              Feb 20       Feb 21       (outside the window: never counted)

B's priority and group were changed by deskbridge (history events marked by_deskbridge), so B counts as
normal / l1. Calendars: premier tickets run on 24x7 ("always"), business and standard on "office"
(Mon-Fri 09:00-17:00 UTC). SLA targets: premier and business set first_response, next_response and
resolution; standard sets only first_response and resolution.
Touches (public agent replies + human reassignments): A 3+1=4, C 2+0=2, G 1+2=3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.metrics import compute_metrics, period_metrics
from core.metrics_load import build_report, load_metric_tickets
from core.metrics_models import Filters
from core.metrics_stats import Ratio, Stat
from core.metrics_window import Period, Window, make_window, parse_since, period_start
from core.model import Comment, EventKind, HistoryEvent, Priority, Role, Status, System, Ticket
from core.policy import Policy, load_policy
from core.store import DecisionRecord, Store

MON = datetime(2026, 3, 2, tzinfo=UTC)
END = MON + timedelta(days=3)  # Thu 00:00
WINDOW = Window(MON, END, "day")

POLICY_YAML = """\
version: 1
tiers: [premier, business, standard]
groups: [l1, tier2, tier3, security, billing, management]
calendars:
  always:
    always_open: true
  office:
    timezone: UTC
    hours:
      mon: &day ["09:00-17:00"]
      tue: *day
      wed: *day
      thu: *day
      fri: *day
sla:
  targets:
    - {tier: premier, priority: [low, normal, high, urgent], calendar: always,
       first_response: 60, next_response: 120, resolution: 480}
    - {tier: business, priority: [low, normal, high, urgent], calendar: office,
       first_response: 240, next_response: 480, resolution: 2400}
    - {tier: standard, priority: [low, normal, high, urgent], calendar: office,
       first_response: 480, resolution: 2400}
"""


def h(day: int, hour: float) -> datetime:
    """Day 0 = Mon 2026-03-02; ``hour`` may carry minutes as a fraction."""
    return MON + timedelta(days=day, hours=hour)


def _comments(n: int, at: datetime) -> tuple[Comment, ...]:
    return tuple(Comment(id=f"c{i}", role=Role.agent, public=True, body="reply", created_at=at + timedelta(minutes=i))
                 for i in range(n))  # fmt: skip


def _moves(n: int, at: datetime) -> tuple[HistoryEvent, ...]:
    return tuple(HistoryEvent(kind=EventKind.group_change, at=at, from_value="l1", to_value="tier2",
                              actor_role=Role.agent) for _ in range(n))  # fmt: skip


def make_ticket(system: str, tid: str, created: datetime, *, ended: datetime | None = None, priority: str = "normal",
                group: str = "l1", product_area: str | None = None, account: str | None = None, replies: int = 0,
                moves: int = 0, history: tuple[HistoryEvent, ...] = ()) -> Ticket:  # fmt: skip
    status = Status.solved if ended else Status.open
    return Ticket(
        system=System(system), id=tid, key=f"K-{tid}", status=status, native_status=status.value,
        priority=Priority(priority), group=group, product_area=product_area, account_id=account,
        created_at=created, updated_at=ended or created + timedelta(minutes=5), solved_at=ended,
        concurrency_token="t", comments=_comments(replies, created + timedelta(minutes=1)),
        history=_moves(moves, created + timedelta(minutes=30)) + history,
    )  # fmt: skip


def decision(system: str, tid: str, at: datetime, codes: list[str], rules: list[str], *, calendar: str,
             escalate: bool = True, mode: str | None = None) -> DecisionRecord:  # fmt: skip
    return DecisionRecord(
        system=System(system), ticket_id=tid, evaluated_at=at, policy_version="1", policy_hash="p",
        escalate=escalate, level=1 if escalate else 0, rule_ids=tuple(rules),
        reasons=[{"code": c, "rule_id": rules[0], "text": c} for c in codes],
        inputs={"sla_calendar": calendar, "mode": mode or ("auto" if escalate else "none")},
    )  # fmt: skip


def populate(store: Store) -> None:
    """Write the history of the module docstring through the store's own verbs."""
    by_deskbridge = (
        HistoryEvent(kind=EventKind.priority_change, at=h(1, 10), from_value="normal", to_value="urgent",
                     by_deskbridge=True),
        HistoryEvent(kind=EventKind.group_change, at=h(1, 10), from_value="l1", to_value="tier3", by_deskbridge=True),
    )  # fmt: skip
    tickets = [
        (make_ticket("zendesk", "A", h(0, 9), ended=h(1, 9), priority="high", product_area="billing",
                     account="acct-1", replies=3, moves=1), "premier"),
        (make_ticket("zendesk", "B", h(0, 10), priority="urgent", group="tier3", product_area="platform",
                     account="acct-2", history=by_deskbridge), "business"),
        (make_ticket("servicenow", "C", h(-1, 12), ended=h(0, 12), replies=2), "standard"),
        (make_ticket("jira", "D", h(1, 9), priority="high", group="tier2", product_area="billing",
                     account="acct-1"), "premier"),
        (make_ticket("jira", "E", h(2, 8), priority="low"), "standard"),
        (make_ticket("servicenow", "G", h(0, 13), ended=h(2, 13), replies=1, moves=2), "business"),
        (make_ticket("zendesk", "H", h(2, 9), priority="urgent", group="tier2", account="acct-3"), "business"),
        (make_ticket("zendesk", "F", h(-10, 9), ended=h(-9, 9), priority="urgent"), "premier"),
    ]  # fmt: skip
    decisions = [
        decision("zendesk", "A", h(0, 11), ["at_risk:resolution"], ["sla_at_risk"], calendar="always"),
        decision("zendesk", "B", h(0, 12), [], [], calendar="office", escalate=False),  # an ordinary evaluation
        decision("zendesk", "B", h(1, 10), ["keyword:outage"], ["critical_keywords"], calendar="office"),
        decision("jira", "D", h(1, 9.75), ["at_risk:first_response"], ["sla_at_risk"], calendar="always"),
        decision("jira", "D", h(1, 12), ["breached:first_response"], ["sla_breached"], calendar="always"),
        decision("jira", "E", h(2, 15), ["proposed:at_risk:resolution"], ["standard_at_risk"], calendar="office",
                 escalate=False, mode="propose"),
        decision("zendesk", "H", h(2, 12), ["at_risk:first_response"], ["sla_at_risk"], calendar="office"),
        decision("zendesk", "F", h(-10, 10), ["agent_flag"], ["agent_flagged"], calendar="always"),
    ]  # fmt: skip
    breaches = {("zendesk", "A"): {"resolution": h(0, 17)}, ("zendesk", "B"): {"first_response": h(0, 14)},
                ("jira", "D"): {"first_response": h(1, 10)}}  # fmt: skip
    with store.transaction() as tx:
        for ticket, tier in tickets:
            tx.upsert_ticket(ticket, tier, None, None)
        for d in decisions:
            tx.record_decision(d)
        for (system, tid), times in breaches.items():
            tx.record_breaches(System(system), tid, times)


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML)
    return load_policy(path, "policy.yaml")


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}", clock=lambda: END) as opened:
        populate(opened)
        yield opened


@pytest.fixture
def report(store, policy):
    return build_report(store, policy, WINDOW, Filters(), generated_at=END)


def ratio(n: int, d: int) -> Ratio:
    return Ratio.of(n, d)


# -- escalation rate --------------------------------------------------------------------------


def test_escalation_rate_per_day_and_window(report):
    all_ = report.scope("all")
    # Active: Mon A,B,C,G (C ends Mon 12:00, still open at Mon 00:00); Tue A,B,D,G (A ends Tue 09:00);
    # Wed B,D,E,G,H. Window: A,B,C,D,E,G,H = 7 (F ended in February).
    # Escalated: Mon A; Tue B and D (D twice, counted once); Wed H. Window A,B,D,H.
    assert [(p.label, p.active, p.escalated, p.escalation_rate) for p in all_.periods] == [
        ("2026-03-02", 4, 1, 0.25),   # 1/4
        ("2026-03-03", 4, 2, 0.5),    # 2/4
        ("2026-03-04", 5, 1, 0.2),    # 1/5
    ]
    assert (all_.window.active, all_.window.escalated, all_.window.escalation_rate) == (7, 4, 0.5714)  # 4/7
    # E was proposed (not escalated) on Wednesday.
    assert [p.proposed for p in all_.periods] == [0, 0, 1] and all_.window.proposed == 1


def test_per_helpdesk_scopes(report):
    # zendesk: A, B, H (3 active, all escalated); servicenow: C, G (none); jira: D, E (D escalated).
    figures = {s.scope: (s.window.active, s.window.escalated) for s in report.scopes}
    assert figures == {"all": (7, 4), "zendesk": (3, 3), "servicenow": (2, 0), "jira": (2, 1)}


# -- time to escalate -------------------------------------------------------------------------


def test_time_to_escalate_calendar_and_business(report):
    all_ = report.scope("all")
    # First escalations: A Mon 11:00 (created Mon 09:00): 120 min, 24x7 -> 120 business min.
    # B Tue 10:00 (created Mon 10:00): 1440 min; office: Mon 10:00-17:00 = 420 + Tue 09:00-10:00 = 60 -> 480.
    # D Tue 09:45 (created Tue 09:00): 45 min, 24x7 -> 45.  H Wed 12:00 (created Wed 09:00): 180, office -> 180.
    mon, tue, wed = all_.periods
    assert mon.time_to_escalate_minutes == Stat(count=1, median=120, p90=120, mean=120)
    # Tuesday: calendar [45, 1440]: median (45 + 1440) / 2 = 742.5; p90 rank ceil(0.9*2) = 2 -> 1440.
    assert tue.time_to_escalate_minutes == Stat(count=2, median=742.5, p90=1440, mean=742.5)
    # business [45, 480]: median 262.5, p90 480.
    assert tue.time_to_escalate_business_minutes == Stat(count=2, median=262.5, p90=480, mean=262.5)
    assert wed.time_to_escalate_business_minutes == Stat(count=1, median=180, p90=180, mean=180)
    # Window, calendar [45, 120, 180, 1440]: median (120 + 180) / 2 = 150; p90 rank ceil(3.6) = 4 -> 1440;
    # mean 1785 / 4 = 446.25.  Business [45, 120, 180, 480]: median 150, p90 480, mean 825 / 4 = 206.25.
    assert all_.window.time_to_escalate_minutes == Stat(count=4, median=150, p90=1440, mean=446.25)
    assert all_.window.time_to_escalate_business_minutes == Stat(count=4, median=150, p90=480, mean=206.25)
    assert all_.time_to_escalate_business_minutes == [45, 120, 180, 480]


# -- resolution and touches -------------------------------------------------------------------


def test_resolution_time_escalated_vs_not(report):
    all_ = report.scope("all")
    mon, tue, wed = all_.periods
    # Resolved: Mon C (not escalated): 24 h calendar; office Mon 09:00-12:00 = 3 business hours.
    assert (mon.resolved, mon.resolution_hours_not_escalated.median, mon.resolution_business_hours_not_escalated.median,
            mon.resolution_hours_escalated.count) == (1, 24, 3, 0)  # fmt: skip
    # Tue A (escalated Mon 11:00, before it was solved): 24 h, 24x7 -> 24 business hours.
    assert (tue.resolution_hours_escalated.median, tue.resolution_business_hours_escalated.median) == (24, 24)
    # Wed G: 48 h; office Mon 13:00-17:00 (4) + Tue (8) + Wed 09:00-13:00 (4) = 16 business hours.
    assert (wed.resolution_hours_not_escalated.median, wed.resolution_business_hours_not_escalated.median) == (48, 16)
    # Window, not escalated [24, 48]: median 36, p90 rank 2 -> 48; business [3, 16]: median 9.5.
    w = all_.window
    assert w.resolved == 3
    assert w.resolution_hours_not_escalated == Stat(count=2, median=36, p90=48, mean=36)
    assert w.resolution_business_hours_not_escalated == Stat(count=2, median=9.5, p90=16, mean=9.5)
    assert w.resolution_hours_escalated == Stat(count=1, median=24, p90=24, mean=24)


def test_touches_per_resolved_ticket(report):
    w = report.scope("all").window
    # Escalated and resolved: A with 3 replies + 1 reassignment = 4. Not escalated: C 2 + 0 = 2, G 1 + 2 = 3.
    assert w.touches_escalated == Stat(count=1, median=4, p90=4, mean=4)
    assert w.touches_not_escalated == Stat(count=2, median=2.5, p90=3, mean=2.5)


# -- SLA breaches -----------------------------------------------------------------------------


def test_breach_rate_per_target(report):
    all_ = report.scope("all")
    mon, tue, wed = all_.periods
    # Monday, active A,B,C,G: first_response B (Mon 14:00) 1/4; resolution A (Mon 17:00) 1/4;
    # next_response: C is standard (no such target) so 0/3; any target: A and B, 2/4.
    assert mon.breach["first_response"] == ratio(1, 4)
    assert mon.breach["resolution"] == ratio(1, 4)
    assert mon.breach["next_response"] == ratio(0, 3)
    assert mon.breach["periodic_update"] == ratio(0, 0)  # no row sets it: no rate at all
    assert mon.breach_any == ratio(2, 4)
    # Tuesday, active A,B,D,G: first_response D (Tue 10:00) 1/4.
    assert tue.breach["first_response"] == ratio(1, 4) and tue.breach_any == ratio(1, 4)
    # Wednesday, active B,D,E,G,H: nothing breached; next_response eligible B,D,G,H.
    assert wed.breach_any == ratio(0, 5) and wed.breach["next_response"] == ratio(0, 4)
    # Window, 7 active: first_response B, D 2/7; resolution A 1/7; any A, B, D 3/7.
    assert all_.window.breach["first_response"] == ratio(2, 7)
    assert all_.window.breach["resolution"] == ratio(1, 7)
    assert all_.window.breach_any == ratio(3, 7)
    assert all_.window.breach_any.rate == 0.4286


def test_breach_rate_by_tier(report):
    # premier A, D both breached 2/2; business B of B, G, H 1/3; standard C, E 0/2.
    assert report.scope("all").breach_by_tier == {
        "business": ratio(1, 3), "premier": ratio(2, 2), "standard": ratio(0, 2)}


def test_at_risk_escalations_that_still_breached(report):
    all_ = report.scope("all")
    # A at risk (resolution) Mon 11:00, breached Mon 17:00; D at risk (first_response) Tue 09:45, breached
    # Tue 10:00; H at risk Wed 12:00, never breached.
    assert [p.at_risk_breached for p in all_.periods] == [ratio(1, 1), ratio(1, 1), ratio(0, 1)]
    assert all_.window.at_risk_breached == ratio(2, 3)


# -- recurring reasons ------------------------------------------------------------------------


def trends(report, dimension: str) -> list[tuple]:
    return [(r.value, r.total, r.by_period, r.previous, r.last, r.change)
            for r in report.scope("all").reasons[dimension]]  # fmt: skip


def test_reasons_by_trigger_keyword_area_account_tier_with_trends(report):
    # Triggers: at_risk A (Mon), D (Tue), H (Wed) = 3; breached D (Tue); keyword B (Tue).
    assert trends(report, "trigger") == [
        ("at_risk", 3, [1, 1, 1], 1, 1, 0),
        ("breached", 1, [0, 1, 0], 1, 0, -1),
        ("keyword", 1, [0, 1, 0], 1, 0, -1),
    ]
    assert trends(report, "keyword") == [("outage", 1, [0, 1, 0], 1, 0, -1)]
    # Product areas: billing A (Mon), D (Tue); platform B (Tue); H has none.
    assert trends(report, "product_area") == [
        ("billing", 2, [1, 1, 0], 1, 0, -1), ("(none)", 1, [0, 0, 1], 0, 1, 1), ("platform", 1, [0, 1, 0], 1, 0, -1)]
    assert trends(report, "account") == [
        ("acct-1", 2, [1, 1, 0], 1, 0, -1), ("acct-2", 1, [0, 1, 0], 1, 0, -1), ("acct-3", 1, [0, 0, 1], 0, 1, 1)]
    # Tiers: business B (Tue), H (Wed); premier A (Mon), D (Tue); ties sort by name.
    assert trends(report, "tier") == [("business", 2, [0, 1, 1], 1, 1, 0), ("premier", 2, [1, 1, 0], 1, 0, -1)]


# -- filters ----------------------------------------------------------------------------------


def window_figures(store, policy, **filters) -> tuple[int, int, float | None]:
    w = build_report(store, policy, WINDOW, Filters(**filters), END).scope("all").window
    return w.active, w.escalated, w.escalation_rate


def test_filters(store, policy):
    assert window_figures(store, policy, tiers=("premier",)) == (2, 2, 1.0)  # A, D
    # B counts as normal (deskbridge raised it to urgent): B, C, G active, B escalated.
    assert window_figures(store, policy, priorities=("normal",)) == (3, 1, 0.3333)
    assert window_figures(store, policy, priorities=("urgent",)) == (1, 1, 1.0)  # H only
    # B counts in l1, where it was before deskbridge moved it to tier3: A, B, C, E, G; A and B escalated.
    assert window_figures(store, policy, groups=("l1",)) == (5, 2, 0.4)
    assert window_figures(store, policy, groups=("tier3",)) == (0, 0, None)
    # Reasons filter escalations: by trigger (A, D, H), by code, or by rule id (D's second escalation only).
    assert window_figures(store, policy, reasons=("at_risk",)) == (7, 3, 0.4286)
    assert window_figures(store, policy, reasons=("keyword:outage",)) == (7, 1, 0.1429)
    assert window_figures(store, policy, reasons=("sla_breached",)) == (7, 1, 0.1429)
    assert window_figures(store, policy, systems=("jira",)) == (2, 1, 0.5)


def test_reason_filter_moves_the_first_escalation(store, policy):
    # D's first escalation for "breached" is Tue 12:00: 180 minutes after it was created.
    w = build_report(store, policy, WINDOW, Filters(reasons=("breached",)), END).scope("all").window
    assert w.time_to_escalate_minutes == Stat(count=1, median=180, p90=180, mean=180)


def test_system_filter_keeps_only_that_scope(store, policy):
    report = build_report(store, policy, WINDOW, Filters(systems=("jira",)), END)
    assert [s.scope for s in report.scopes] == ["all", "jira"]


def test_records_read_as_before_deskbridge(store, policy):
    tickets = {t.ticket_id: t for t in load_metric_tickets(store, policy, MON, END)}
    assert set(tickets) == {"A", "B", "C", "D", "E", "G", "H"}
    b = tickets["B"]
    assert (b.priority, b.group, b.calendar.name) == ("normal", "l1", "office")
    assert tickets["A"].touches == 4 and tickets["G"].touches == 3
    assert tickets["C"].sla_targets == {"first_response", "resolution"}


def test_report_round_trips_through_json(report):
    assert type(report).model_validate_json(report.model_dump_json()) == report


# -- statistics and windows -------------------------------------------------------------------


def test_stat_definitions():
    # odd size: middle value; even size: mean of the two middle values; p90 by nearest rank.
    assert Stat.of([5, 1, 3]) == Stat(count=3, median=3, p90=5, mean=3)
    assert Stat.of(list(range(1, 11))) == Stat(count=10, median=5.5, p90=9, mean=5.5)  # rank ceil(9.0) = 9
    assert Stat.of(list(range(1, 12))).p90 == 10  # rank ceil(9.9) = 10
    assert Stat.of([]) == Stat(count=0, median=None, p90=None, mean=None)
    assert Ratio.of(1, 0).rate is None


def test_windows_and_periods():
    end = datetime(2026, 3, 5, 15, 30, tzinfo=UTC)  # a Thursday
    assert parse_since("7d", end) == end - timedelta(days=7)
    assert parse_since("12h", end) == end - timedelta(hours=12)
    assert parse_since("2026-03-01", end) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since("2026-03-01T10:00:00+01:00", end) == datetime(2026, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a duration"):
        parse_since("last week", end)
    week = make_window("10d", end, "week")
    assert week.start == datetime(2026, 2, 23, tzinfo=UTC)  # Monday of the week holding Feb 23 15:30
    assert [p.label for p in week.periods()] == ["2026-02-23", "2026-03-02"]
    assert week.periods()[-1].end == end  # the last period is partial
    assert period_start(end, "day") == datetime(2026, 3, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="not before"):
        make_window("2026-04-01", end)


def test_pure_core_matches_store_path(store, policy):
    # compute_metrics over the records equals the report built from the store, and period_metrics alone agrees.
    tickets = load_metric_tickets(store, policy, MON, END)
    direct = compute_metrics(tickets, WINDOW, Filters(), END)
    assert direct == build_report(store, policy, WINDOW, Filters(), END)
    monday = period_metrics(tickets, Period(MON, MON + timedelta(days=1)))
    assert (monday.active, monday.escalated) == (4, 1)


def test_period_boundaries_and_escalations_after_resolution():
    from core.metrics_records import EscalationEvent, MetricTicket

    tue = MON + timedelta(days=1)
    def record(tid: str, created: datetime, ended: datetime | None, events=()) -> MetricTicket:
        return MetricTicket(system="zendesk", ticket_id=tid, key=tid, tier="business", priority="normal", group="l1",
                            product_area=None, account_id=None, created_at=created, ended_at=ended, agent_replies=0,
                            reassignments=0, events=tuple(events))  # fmt: skip
    late = EscalationEvent(h(1, 8), "auto", 1, ("agent_flagged",), ("agent_flag",))
    tickets = [
        record("solved-at-midnight", h(0, 9), tue),  # resolved exactly at Tue 00:00: still active on Tuesday
        record("created-at-midnight", tue, None),  # created exactly at Tue 00:00: not active on Monday
        record("escalated-after-solved", h(0, 9), h(1, 6), [late]),  # data from a reopen: solved before it escalated
    ]
    monday, tuesday = (period_metrics(tickets, Period(MON + timedelta(days=d), MON + timedelta(days=d + 1)))
                       for d in (0, 1))  # fmt: skip
    assert (monday.active, tuesday.active) == (2, 3)
    # Resolved on Tuesday: the first ticket (00:00) and the third (06:00); the third's escalation came after
    # its resolution, so both count as not escalated.
    assert (tuesday.resolved, tuesday.resolution_hours_not_escalated.count, tuesday.resolution_hours_escalated.count) \
        == (2, 2, 0)
