"""Escaping for each helpdesk's markup, the formatting filters, and building a note's context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from core.markup import (
    Trusted,
    escape,
    escape_jira,
    escape_servicenow,
    escape_zendesk,
    format_duration,
    format_percent,
    format_when,
    marker_line,
)
from core.model import Comment, EventKind, HistoryEvent, Priority, Role, Status, System, Ticket
from core.notes import NoteLimits, SlaLine, customer_words, note_context, timeline, trim, what_was_tried
from core.store import OpenEscalation

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*b* _i_ {x} [a|b] -s- +u+ ^s^ ~s~ ?c? !img! #1 (y) 50% @x", r"\*b\* \_i\_ \{x\} \[a\|b\] \-s\- \+u\+ \^s\^ \~s\~ \?c\? \!img\! \#1 \(y\) 50\% \@x"),
        ("C:\\path\\file", "C:&#92;path&#92;file"),
        ("plain words, digits 123.", "plain words, digits 123."),
    ],
)
def test_jira_escaping(text, expected):
    assert escape_jira(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*b* _i_ `c` [l](u) <b> a|b ~~s~~ \\", r"\*b\* \_i\_ \`c\` \[l\](u) \<b> a\|b \~\~s\~\~ \\"),
        ("# heading", r"\# heading"),
        ("> quote", r"\> quote"),
        ("- item", r"\- item"),
        ("1. item", r"1\. item"),
        ("#4711 and -5 and 10.5", "#4711 and -5 and 10.5"),
    ],
)
def test_zendesk_escaping(text, expected):
    assert escape_zendesk(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[code]<b>x</b>[/code]", "(code)<b>x</b>(/code)"),
        ("[CODE]x[ / Code ]", "(CODE)x( / Code )"),
        ("[co[code]de]", "[co(code)de]"),
        ("*stays* as typed", "*stays* as typed"),
    ],
)
def test_servicenow_escaping(text, expected):
    assert escape_servicenow(text) == expected


@pytest.mark.parametrize("system", list(System))
def test_escape_flattens_lines_and_defangs_markers(system):
    out = escape("line one\n\n  line two [deskbridge:zd-l1-abcdefabcdef]", system)
    assert "\n" not in out and "[deskbridge:" not in out and "deskbridge:zd" in out


def test_marker_lines():
    assert marker_line(System.zendesk, "zd-l1-abcdef") == "[deskbridge:zd-l1-abcdef]"
    assert marker_line(System.servicenow, "sn-l1-abcdef") == "[deskbridge:sn-l1-abcdef]"
    assert marker_line(System.jira, "jr-l1-abcdef") == "{noformat}[deskbridge:jr-l1-abcdef]{noformat}"


def test_formatting_filters_and_trust_that_does_not_spread():
    assert format_when(datetime(2026, 3, 2, 10, 5, tzinfo=UTC)) == "2026-03-02 10:05 UTC"
    assert format_when(None) == "—"
    assert [format_duration(m) for m in (0, 9.4, 65, -30, 60 * 24 + 61)] == ["0m", "9m", "1h 05m", "30m", "1d 1h 01m"]
    assert format_percent(84.6) == "85%"
    with pytest.raises(TypeError):
        format_when("2026-03-02")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_duration("5")  # type: ignore[arg-type]
    assert isinstance(format_percent(1), Trusted)
    assert type(format_percent(1) + "*") is str  # concatenating with anything gives plain, escaped text


def test_trim_cuts_at_a_word_and_flattens():
    assert trim("short\ntext", 50) == "short text"
    assert trim("alpha beta gamma delta", 12) == "alpha beta…"
    assert trim("x" * 30, 10) == "x" * 9 + "…"


def _ticket(**changes) -> Ticket:
    base = dict(system=System.zendesk, id="1", key="#1", status=Status.open, native_status="open",
                priority=Priority.normal, created_at=T0, updated_at=T0, concurrency_token="1")  # fmt: skip
    return Ticket(**(base | changes))


def test_timeline_keeps_the_latest_events_oldest_first_and_names_deskbridge():
    history = tuple(
        HistoryEvent(kind=EventKind.status_change, at=T0 + timedelta(minutes=i), from_value=str(i), to_value=str(i + 1),
                     actor_role=Role.agent)
        for i in range(20)
    ) + (HistoryEvent(kind=EventKind.group_change, at=T0 + timedelta(hours=1), to_value="Tier 2", by_deskbridge=True),)
    entries = timeline(_ticket(history=history), limit=5)
    assert [e.at for e in entries] == sorted(e.at for e in entries) and len(entries) == 5
    assert entries[-1].what == "reassigned to group Tier 2 (was —)" and entries[-1].by == "deskbridge"
    assert timeline(_ticket(), limit=5)[0].what == "created"  # no history: the creation time still shows


def test_what_was_tried_and_what_the_customer_said():
    comments = (
        Comment(id="1", role=Role.customer, public=True, body="help", created_at=T0),
        Comment(id="2", role=Role.agent, public=True, body="reply one", created_at=T0 + timedelta(minutes=1)),
        Comment(id="3", role=Role.agent, public=False, body="note two", created_at=T0 + timedelta(minutes=2)),
        Comment(id="4", role=Role.agent, public=False, body="ours", by_deskbridge=True, created_at=T0 + timedelta(minutes=3)),
        Comment(id="5", role=Role.agent, public=True, body="reply three", created_at=T0 + timedelta(minutes=4)),
        Comment(id="6", role=Role.system, public=False, body="trigger fired", created_at=T0 + timedelta(minutes=5)),
    )  # fmt: skip
    limits = NoteLimits(tried=2, customer=1)
    tried = what_was_tried(_ticket(comments=comments), limits)
    assert [(e.kind, e.text) for e in tried] == [("internal note", "note two"), ("reply", "reply three")]
    assert [e.text for e in customer_words(_ticket(comments=comments), limits)] == ["help"]
    fallback = customer_words(_ticket(description="Initial\nproblem", requester_name="Dana"), limits)
    assert [(e.text, e.author) for e in fallback] == [("Initial problem", "Dana")]


def test_note_context_accepts_engine_and_store_objects_by_attribute():
    clock = SimpleNamespace(target="resolution", due_at=T0, percent_used=40.0, remaining_minutes=90.0,
                            breached=False, calendar="emea", state="running")  # fmt: skip
    other = OpenEscalation(system=System.jira, ticket_id="10001", key="SUP-7", level=2, status=Status.open,
                           priority=Priority.high, first_escalated_at=T0)  # fmt: skip
    context = note_context(_ticket(), None, reasons=["r"], sla=[clock], other_escalations=[other],
                           idempotency_key="zd-l1-abcdefabcdef", generated_at=T0)  # fmt: skip
    assert context.sla == (SlaLine(target="resolution", due_at=T0, percent_used=40.0, remaining_minutes=90.0,
                                   breached=False),)  # fmt: skip
    assert context.other_escalations[0].key == "SUP-7" and context.account is None
