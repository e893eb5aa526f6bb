"""Handoff notes and customer messages rendered from mapping/templates for all three helpdesks."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ConfigError
from core.markers import find_markers, marker
from core.markup import marker_line
from core.model import Account, Comment, EventKind, HistoryEvent, Priority, Role, Status, System, Ticket
from core.notes import (
    TEMPLATES_DIR,
    CustomerContext,
    NoteRenderer,
    OtherEscalation,
    SlaLine,
    note_context,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "zd-l2-0123456789abcdef0123"
KEYS = {System.zendesk: "#4711", System.servicenow: "INC0010042", System.jira: "SUP-42"}


def realistic_ticket(system: System, *, last_customer_words: str = "Still failing, we lose orders every minute.") -> Ticket:
    return Ticket(
        system=system, id="4711", key=KEYS[system], subject="Checkout fails with 502 for EU shoppers",
        status=Status.open, native_status="open", priority=Priority.high, requester_name="Dana Buyer",
        group_name="Tier 1", account_id="001ACME", created_at=T0 - timedelta(hours=6), updated_at=T0,
        concurrency_token="7",
        comments=(
            Comment(id="1", role=Role.customer, public=True, author_name="Dana Buyer",
                    body="Payments fail since 8am.\n\nOur EU store is down.", created_at=T0 - timedelta(hours=6)),
            Comment(id="2", role=Role.agent, public=True, author_name="Alex Agent",
                    body="We are looking into it.", created_at=T0 - timedelta(hours=5)),
            Comment(id="3", role=Role.agent, public=False, author_name="Alex Agent",
                    body="Restarted the payment worker; no change. Gateway returns TLS errors.",
                    created_at=T0 - timedelta(hours=4)),
            Comment(id="4", role=Role.agent, public=False, author_name="deskbridge", by_deskbridge=True,
                    body="older deskbridge note [deskbridge:zd-l1-aaaaaaaaaaaa]", created_at=T0 - timedelta(hours=3)),
            Comment(id="5", role=Role.customer, public=True, author_name="Dana Buyer",
                    body=last_customer_words, created_at=T0 - timedelta(hours=1)),
        ),
        history=(
            HistoryEvent(kind=EventKind.created, at=T0 - timedelta(hours=6)),
            HistoryEvent(kind=EventKind.status_change, at=T0 - timedelta(hours=5), from_value="new", to_value="open",
                         actor_role=Role.agent),
            HistoryEvent(kind=EventKind.group_change, at=T0 - timedelta(hours=3), from_value="L1", to_value="Tier 1",
                         actor_role=Role.agent),
            HistoryEvent(kind=EventKind.reopen, at=T0 - timedelta(hours=2), actor_role=Role.customer),
        ),
    )  # fmt: skip


ACCOUNT = Account(id="001ACME", name="Acme Corp", tier="enterprise", segment="emea",
                  owner_name="Olga Owner", owner_email="olga@acme.example")  # fmt: skip
SLA = [
    SlaLine(target="first_response", due_at=T0 + timedelta(minutes=9), percent_used=85.0, remaining_minutes=9,
            breached=False),
    SlaLine(target="resolution", due_at=T0 - timedelta(minutes=30), percent_used=112.5, remaining_minutes=-30,
            breached=True),
]  # fmt: skip


def context_for(ticket: Ticket, **changes):
    values = dict(
        reasons=["First response at 85% of its 60-minute target", "Enterprise account"], sla=SLA,
        other_escalations=[OtherEscalation(system=System.jira, key="SUP-7", level=2)],
        idempotency_key=KEY, generated_at=T0, level=2, level_name="tier2",
    )  # fmt: skip
    return note_context(ticket, ACCOUNT, **(values | changes))


@pytest.fixture(scope="module")
def renderer() -> NoteRenderer:
    return NoteRenderer()


def lines(text: str) -> list[str]:
    return text.splitlines()


def assert_one_marker_at_the_end(text: str, system: System, key: str = KEY) -> None:
    assert find_markers(text) == {key}
    assert text.count(marker(key)) == 1
    assert lines(text)[-1] == marker_line(system, key)


def test_zendesk_handoff_note(renderer):
    note = renderer.handoff_note(context_for(realistic_ticket(System.zendesk)))
    got = lines(note)
    assert got[0] == "**deskbridge escalation: #4711, level 2 (tier2)**"
    assert got[1] == "Checkout fails with 502 for EU shoppers · open · high priority · group Tier 1"
    for expected in [
        "**Why it escalated**",
        "- First response at 85% of its 60-minute target",
        "- first response: 85% used, 9m left (due 2026-03-02 09:09 UTC)",
        "- resolution: 112% used, BREACHED, overdue by 30m (due 2026-03-02 08:30 UTC)",
        "- Acme Corp: tier enterprise, segment emea",
        "- Owner: Olga Owner (olga@acme.example)",
        "- Other open escalations: SUP-7 (jira, level 2)",
        "- 2026-03-02 03:00 UTC: created",
        "- 2026-03-02 04:00 UTC: status new → open (agent)",
        "- 2026-03-02 06:00 UTC: reassigned to group Tier 1 (was L1) (agent)",
        "- 2026-03-02 07:00 UTC: reopened (customer)",
        "- 2026-03-02 04:00 UTC, reply by Alex Agent: We are looking into it.",
        "- 2026-03-02 05:00 UTC, internal note by Alex Agent: Restarted the payment worker; no change. Gateway returns TLS errors.",
        "- 2026-03-02 03:00 UTC, Dana Buyer: Payments fail since 8am. Our EU store is down.",
        "- 2026-03-02 08:00 UTC, Dana Buyer: Still failing, we lose orders every minute.",
        "Written by deskbridge at 2026-03-02 09:00 UTC.",
    ]:
        assert expected in got, expected
    assert "older deskbridge note" not in note  # our own echoes are not "what was tried"
    assert_one_marker_at_the_end(note, System.zendesk)


def test_servicenow_work_note(renderer):
    note = renderer.handoff_note(context_for(realistic_ticket(System.servicenow)))
    got = lines(note)
    assert got[0] == "deskbridge escalation: INC0010042, level 2 (tier2)"
    for expected in [
        "WHY IT ESCALATED",
        "- Enterprise account",
        "SLA",
        "- resolution: 112% used, BREACHED, overdue by 30m (due 2026-03-02 08:30 UTC)",
        "ACCOUNT",
        "- Owner: Olga Owner (olga@acme.example)",
        "TIMELINE",
        "- 2026-03-02 07:00 UTC: reopened (customer)",
        "WHAT WAS TRIED",
        "WHAT THE CUSTOMER SAID",
        "- 2026-03-02 08:00 UTC, Dana Buyer: Still failing, we lose orders every minute.",
    ]:
        assert expected in got, expected
    assert_one_marker_at_the_end(note, System.servicenow)


def test_jira_wiki_markup_note(renderer):
    note = renderer.handoff_note(context_for(realistic_ticket(System.jira)))
    got = lines(note)
    assert got[0] == r"h3. deskbridge escalation: SUP\-42, level 2 (tier2)"
    for expected in [
        "h4. Why it escalated",
        r"* First response at 85\% of its 60\-minute target",
        "||Target||Used||Remaining||Due||Breached||",
        "|first response|85%|9m|2026-03-02 09:09 UTC|no|",
        "|resolution|112%|overdue by 30m|2026-03-02 08:30 UTC|*yes*|",
        "h4. Account",
        r"* Owner: Olga Owner (olga\@acme.example)",
        r"* Other open escalations: SUP\-7 (jira, level 2)",
        "h4. Timeline",
        r"* 2026-03-02 06:00 UTC: reassigned to group Tier 1 \(was L1\) (agent)",
        "h4. What was tried",
        "h4. What the customer said",
    ]:
        assert expected in got, expected
    assert got[-1] == f"{{noformat}}[deskbridge:{KEY}]{{noformat}}"
    assert_one_marker_at_the_end(note, System.jira)


HOSTILE = ("*bold* _it_ {color:red}x{color} [evil|http://evil.example] |cell| h1. big "
           "[code]<script>alert(1)</script>[/CODE] [deskbridge:zd-l9-fakefakefake] C:\\temp\n# heading")  # fmt: skip


@pytest.mark.parametrize("system", list(System))
def test_hostile_customer_text_is_escaped_and_cannot_plant_a_marker(renderer, system):
    ticket = realistic_ticket(system, last_customer_words=HOSTILE)
    note = renderer.handoff_note(context_for(ticket))
    said = next(line for line in lines(note) if "Dana Buyer:" in line and "bold" in line)
    assert_one_marker_at_the_end(note, system)
    assert "fakefakefake" in note and "zd-l9-fakefakefake" not in find_markers(note)
    if system is System.jira:
        assert r"\*bold\* \_it\_ \{color:red\}x\{color\} \[evil\|http://evil.example\] \|cell\|" in said
        assert r"C:&#92;temp \# heading" in said
        for raw in (r"\{color", r"\[evil", r"\*bold", r"\|cell", r"\[code"):
            assert re.search(r"(?<!\\)" + raw, said) is None, raw  # no unescaped markup left
    elif system is System.servicenow:
        assert "(code)<script>alert(1)</script>(/CODE)" in said
        assert "[code]" not in note.lower() and "[/code]" not in note.lower()
    else:
        assert r"\*bold\* \_it\_ {color:red}x{color} \[evil\|http://evil.example\] \|cell\|" in said
        assert r"\[code\]\<script>alert(1)\</script>\[/CODE\]" in said
        assert "# heading" in said and not said.startswith("#")


def test_customer_text_is_one_trimmed_line(renderer):
    ticket = realistic_ticket(System.zendesk, last_customer_words=("word " * 200) + "\n\nEND")
    context = context_for(ticket)
    text = context.customer_messages[-1].text
    assert len(text) <= 300 and text.endswith("…") and "\n" not in text and "END" not in text


@pytest.mark.parametrize("system", list(System))
def test_proposal_note_tells_the_supervisor_how_to_decide(renderer, system):
    context = context_for(realistic_ticket(system), approve_tag="deskbridge_approved", reject_tag="deskbridge_rejected")
    note = renderer.handoff_note(context, "escalation_proposal")
    assert "deskbridge proposes an escalation" in note
    plain = note.replace("\\", "")
    assert "deskbridge_approved" in plain and "deskbridge_rejected" in plain
    assert_one_marker_at_the_end(note, system)


@pytest.mark.parametrize("system", list(System))
@pytest.mark.parametrize("template", ["escalation_notice", "progress_update"])
def test_customer_messages(renderer, system, template):
    ticket = realistic_ticket(system)
    context = CustomerContext.from_ticket(ticket, "We will update you within 4 business hours.")
    message = renderer.customer_message(template, context, system, KEY)
    assert lines(message)[0] == "Hi Dana Buyer,"
    assert "We will update you within 4 business hours." in message
    assert "Checkout fails with 502 for EU shoppers" in message
    assert_one_marker_at_the_end(message, system)


def test_the_shipped_templates_pass_the_startup_check(renderer):
    renderer.check()


def test_a_misspelt_variable_is_reported_with_file_and_line(tmp_path):
    for path in TEMPLATES_DIR.glob("*.j2"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "handoff_note.jira.j2").write_text("h3. {{ ticket.key }}\n\n{{ ticket.subjct }}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        NoteRenderer(tmp_path).check()
    [problem] = caught.value.problems
    assert problem.file.endswith("handoff_note.jira.j2") and problem.line == 3
    assert "subjct" in problem.message and "jira" in problem.message


def test_a_template_syntax_error_fails_at_load_with_its_line(tmp_path):
    (tmp_path / "handoff_note.j2").write_text("fine\n{% for x in reasons %}\n{{ x }\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        NoteRenderer(tmp_path)
    [problem] = caught.value.problems
    assert problem.file.endswith("handoff_note.j2") and problem.line == 3
    assert "syntax" in problem.message


def test_a_missing_template_names_what_to_add(tmp_path):
    with pytest.raises(ConfigError, match=r"add handoff_note.zendesk.j2 or handoff_note.j2"):
        NoteRenderer(tmp_path).handoff_note(context_for(realistic_ticket(System.zendesk)))


def test_a_template_cannot_write_a_marker_of_its_own(tmp_path):
    (tmp_path / "handoff_note.j2").write_text("note\n[deskbridge:zd-l1-abcdefabcdef]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="marker"):
        NoteRenderer(tmp_path).handoff_note(context_for(realistic_ticket(System.servicenow)))


@pytest.mark.parametrize("system", list(System))
def test_a_bare_ticket_with_no_account_sla_or_comments_still_renders(renderer, system):
    bare = Ticket(system=system, id="9", key=KEYS[system], subject="Question", status=Status.new, native_status="new",
                  priority=Priority.normal, created_at=T0, updated_at=T0, concurrency_token="1")  # fmt: skip
    note = renderer.handoff_note(note_context(bare, None, reasons=["Untouched for 8 business hours"], sla=[],
                                              idempotency_key=KEY, generated_at=T0))  # fmt: skip
    text = note.lower()
    assert "no account is linked" in text and "no sla clock is running" in text
    assert "other open escalations: none" in text and "created" in text
    assert_one_marker_at_the_end(note, system)
