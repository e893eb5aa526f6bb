"""Nothing internal can reach a customer-facing message, whatever its template tries."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.errors import ConfigError
from core.model import Account, Comment, Priority, Role, Status, System, Ticket
from core.notes import TEMPLATES_DIR, CustomerContext, NoteRenderer, SlaLine, note_context

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "sn-l1-0123456789abcdef0123"
SECRETS = ("INTERNAL-NOTE-7731", "AGENT-REPLY-5150", "platinum-x9", "Olga Owner", "olga@acme.example",
           "REASON-4242", "Acme Corp")  # fmt: skip


def ticket_with_secrets() -> Ticket:
    return Ticket(
        system=System.servicenow, id="abc", key="INC0010042", subject="VPN drops every hour",
        status=Status.open, native_status="2", priority=Priority.high, requester_name="Dana Buyer",
        account_id="001ACME", created_at=T0 - timedelta(hours=2), updated_at=T0, concurrency_token="3",
        comments=(
            Comment(id="1", role=Role.customer, public=True, body="The VPN drops.", created_at=T0 - timedelta(hours=2)),
            Comment(id="2", role=Role.agent, public=True, body="AGENT-REPLY-5150", created_at=T0 - timedelta(hours=1)),
            Comment(id="3", role=Role.agent, public=False, body="INTERNAL-NOTE-7731 customer is difficult",
                    created_at=T0 - timedelta(minutes=30)),
        ),
    )  # fmt: skip


ACCOUNT = Account(id="001ACME", name="Acme Corp", tier="platinum-x9", owner_name="Olga Owner",
                  owner_email="olga@acme.example")  # fmt: skip
PROMISE = "We will update you within 4 business hours."

HOSTILE_TEMPLATES = {
    "reasons": "{{ reasons }}",
    "account_tier": "{{ account.tier }}",
    "ticket_comments": "{% for c in ticket.comments %}{{ c.body }}{% endfor %}",
    "note_context": "{{ tried }}{{ customer_messages }}{{ sla }}",
    "include_internal_note": "{% include 'handoff_note.servicenow.j2' %}",
    "import_internal_note": "{% import 'handoff_note.servicenow.j2' as n %}{{ n }}",
    "python_internals": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "template_context": "{{ self._TemplateReference__context }}",
    "jinja_globals": "{{ cycler.__init__.__globals__ }}",
    "range_global": "{{ range(3) }}",
    "namespace_global": "{% set ns = namespace(x=1) %}{{ ns }}",
    "dict_methods": "{{ promise.__class__.__base__.__subclasses__() }}",
    "format_attack": "{{ '{0.__class__}'.format(promise) }}",
    "attr_filter": "{{ promise | attr('__class__') }}",
    "allowed_but_useless": "{{ self }} {{ customer_name.upper() }} {{ ticket_key ~ subject }} {{ varargs is defined }}",
}


@pytest.fixture
def hostile_dir(tmp_path):
    for path in TEMPLATES_DIR.glob("*.j2"):
        shutil.copy(path, tmp_path / path.name)
    for name, body in HOSTILE_TEMPLATES.items():
        (tmp_path / f"{name}.j2").write_text("Hi {{ customer_name }}\n" + body + "\n", encoding="utf-8")
    return tmp_path


def test_customer_context_holds_only_customer_safe_fields():
    context = CustomerContext.from_ticket(ticket_with_secrets(), PROMISE)
    assert context.model_dump() == {
        "ticket_key": "INC0010042", "subject": "VPN drops every hour", "customer_name": "Dana Buyer", "promise": PROMISE,
    }  # fmt: skip
    with pytest.raises(ValidationError):
        CustomerContext(ticket_key="x", subject="y", customer_name=None, promise="p", tier="platinum-x9")


@pytest.mark.parametrize("template", ["escalation_notice", "progress_update"])
@pytest.mark.parametrize("system", list(System))
def test_the_shipped_customer_templates_carry_nothing_internal(template, system):
    message = NoteRenderer().customer_message(template, CustomerContext.from_ticket(ticket_with_secrets(), PROMISE),
                                              system, KEY)  # fmt: skip
    assert "VPN drops every hour" in message and PROMISE in message
    for secret in SECRETS:
        assert secret not in message


@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
def test_a_hostile_customer_template_reaches_nothing_internal(hostile_dir, name):
    renderer = NoteRenderer(hostile_dir)
    ticket = ticket_with_secrets()
    # The internal note is rendered by the same renderer first, so its data has been through it.
    note = renderer.handoff_note(note_context(
        ticket, ACCOUNT, reasons=["REASON-4242"], idempotency_key=KEY, generated_at=T0,
        sla=[SlaLine(target="resolution", due_at=T0, percent_used=50, remaining_minutes=60, breached=False)],
    ))  # fmt: skip
    assert "INTERNAL-NOTE-7731" in note and "REASON-4242" in note and "platinum\\-x9" not in note
    try:
        message = renderer.customer_message(name, CustomerContext.from_ticket(ticket, PROMISE), System.servicenow, KEY)
    except ConfigError as refused:  # undefined name, unsafe attribute, or template not usable: nothing printed
        assert "cannot render" in str(refused)
        return
    for secret in SECRETS:
        assert secret not in message


def test_a_note_context_cannot_be_sent_to_a_customer():
    ticket = ticket_with_secrets()
    internal = note_context(ticket, ACCOUNT, reasons=["REASON-4242"], sla=[], idempotency_key=KEY, generated_at=T0)
    with pytest.raises(TypeError, match="CustomerContext"):
        NoteRenderer().customer_message("escalation_notice", internal, System.servicenow, KEY)  # type: ignore[arg-type]
