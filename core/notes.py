"""Handoff notes and customer messages, rendered from admin-edited Jinja templates.

Two audiences, two context types, two sandboxed environments:

- :class:`NoteContext` feeds internal notes (the handoff note, the proposal
  note): timeline, what was tried, the customer's words, account context, SLA
  figures and the reasons. Built from a Ticket and an Account by
  :func:`note_context`.
- :class:`CustomerContext` feeds public replies and holds only what the
  customer may see: ticket key, subject, their own name and the policy's
  promise. No internal note, tier, owner or reason is ever given to a customer
  template, so none can be printed, whatever the template tries.

Templates live in ``mapping/templates`` as ``<name>.<system>.j2`` (or
``<name>.j2`` for every system); every printed value is escaped for the
target helpdesk (see :mod:`core.markup`) and the renderer appends the
idempotency marker as the last line, exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import FileSystemLoader, Template, TemplateError, TemplateNotFound, TemplateSyntaxError
from pydantic import AwareDatetime, BaseModel, ConfigDict

from core.errors import ConfigError, ConfigProblem
from core.markers import find_markers, marker
from core.markup import marker_line, one_line, sandboxed_environment
from core.model import Account, Comment, EventKind, HistoryEvent, Priority, Role, Status, System, Ticket

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "mapping" / "templates"
NOTE_TEMPLATES = ("handoff_note", "escalation_proposal")
CUSTOMER_TEMPLATES = ("escalation_notice", "progress_update")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TicketFacts(_Frozen):
    """The ticket as the note's header shows it."""

    system: System
    key: str
    subject: str
    status: Status
    priority: Priority
    group_name: str | None
    requester_name: str | None
    url: str | None
    created_at: AwareDatetime


class TimelineEntry(_Frozen):
    at: AwareDatetime
    what: str  # "status open → pending", "reassigned to Tier 2", "reopened"
    by: str | None  # "agent", "customer", "deskbridge", or None when unknown


class Excerpt(_Frozen):
    """A trimmed comment: what an agent tried, or what the customer said."""

    at: AwareDatetime
    author: str | None
    kind: Literal["reply", "internal note", "customer"]
    text: str


class AccountFacts(_Frozen):
    name: str | None
    tier: str
    segment: str | None
    owner_name: str | None
    owner_email: str | None
    known: bool  # False: the account was unknown and the default tier applied


class SlaLine(_Frozen):
    """One SLA target's figures; builds from core.sla.SlaClock with ``model_validate(clock, from_attributes=True)``."""

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)

    target: str
    due_at: AwareDatetime | None
    percent_used: float  # 0-100
    remaining_minutes: float  # negative once overdue
    breached: bool


class OtherEscalation(_Frozen):
    """Another open escalation of the same account (from Transaction.open_escalations_for_account)."""

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)

    system: System
    key: str
    level: int
    first_escalated_at: AwareDatetime | None = None


class NoteLimits(_Frozen):
    timeline: int = 15
    tried: int = 3
    customer: int = 3
    chars: int = 300


class NoteContext(_Frozen):
    """Everything an internal note template may print."""

    ticket: TicketFacts
    level: int
    level_name: str | None
    reasons: tuple[str, ...]
    sla: tuple[SlaLine, ...]
    timeline: tuple[TimelineEntry, ...]
    tried: tuple[Excerpt, ...]
    customer_messages: tuple[Excerpt, ...]
    account: AccountFacts | None
    other_escalations: tuple[OtherEscalation, ...]
    approve_tag: str | None = None  # proposal notes: how a supervisor approves or rejects
    reject_tag: str | None = None
    generated_at: AwareDatetime
    idempotency_key: str


class CustomerContext(_Frozen):
    """Everything a customer-facing template may print, and nothing else."""

    ticket_key: str
    subject: str
    customer_name: str | None
    promise: str  # policy-provided text, e.g. "We will update you within 4 business hours."

    @classmethod
    def from_ticket(cls, ticket: Ticket, promise: str) -> CustomerContext:
        return cls(ticket_key=ticket.key, subject=ticket.subject, customer_name=ticket.requester_name, promise=promise)


# ---- building the note context (pure) -----------------------------------------------------


def trim(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, cut at a word where possible."""
    flat = one_line(text)
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"


def _event_text(event: HistoryEvent) -> str | None:
    change = f"{event.from_value or '—'} → {event.to_value or '—'}"
    return {
        EventKind.created: "created",
        EventKind.status_change: f"status {change}",
        EventKind.group_change: f"reassigned to group {event.to_value or '—'} (was {event.from_value or '—'})",
        EventKind.assignee_change: f"assignee {change}",
        EventKind.reopen: "reopened",
        EventKind.priority_change: f"priority {change}",
    }.get(event.kind)


def timeline(ticket: Ticket, limit: int) -> tuple[TimelineEntry, ...]:
    """Created, status changes, reassignments and reopens, the latest ``limit`` of them, oldest first."""
    entries = [] if any(e.kind is EventKind.created for e in ticket.history) else [
        TimelineEntry(at=ticket.created_at, what="created", by=None)]  # fmt: skip
    for event in ticket.history:
        what = _event_text(event)
        if what is not None:
            by = "deskbridge" if event.by_deskbridge else (event.actor_role.value if event.actor_role else None)
            entries.append(TimelineEntry(at=event.at, what=what, by=by))
    entries.sort(key=lambda e: e.at)
    return tuple(entries[-limit:])


def _excerpt(comment: Comment, chars: int) -> Excerpt:
    kind = "customer" if comment.role is Role.customer else ("reply" if comment.public else "internal note")
    return Excerpt(at=comment.created_at, author=comment.author_name, kind=kind, text=trim(comment.body, chars))


def what_was_tried(ticket: Ticket, limits: NoteLimits) -> tuple[Excerpt, ...]:
    """The latest agent replies and internal notes by people (deskbridge's own notes excluded)."""
    by_agents = [c for c in ticket.comments if c.role is Role.agent and not c.by_deskbridge]
    return tuple(_excerpt(c, limits.chars) for c in by_agents[-limits.tried:])


def customer_words(ticket: Ticket, limits: NoteLimits) -> tuple[Excerpt, ...]:
    """The customer's last few messages (the description when they wrote no comment)."""
    said = [c for c in ticket.comments if c.role is Role.customer and c.public and not c.by_deskbridge]
    if said:
        return tuple(_excerpt(c, limits.chars) for c in said[-limits.customer:])
    if ticket.description.strip():
        return (Excerpt(at=ticket.created_at, author=ticket.requester_name, kind="customer",
                        text=trim(ticket.description, limits.chars)),)  # fmt: skip
    return ()


def note_context(
    ticket: Ticket,
    account: Account | None,
    *,
    reasons: Iterable[str],
    sla: Iterable[SlaLine | Any],
    other_escalations: Iterable[OtherEscalation | Any] = (),
    idempotency_key: str,
    generated_at: datetime,
    level: int = 0,
    level_name: str | None = None,
    approve_tag: str | None = None,
    reject_tag: str | None = None,
    limits: NoteLimits = NoteLimits(),
) -> NoteContext:
    """Gather what a handoff note shows from the ticket, its account and the decision's figures."""
    facts = TicketFacts(
        system=ticket.system, key=ticket.key, subject=ticket.subject, status=ticket.status,
        priority=ticket.priority, group_name=ticket.group_name, requester_name=ticket.requester_name,
        url=ticket.url, created_at=ticket.created_at,
    )  # fmt: skip
    account_facts = None if account is None else AccountFacts(
        name=account.name, tier=account.tier, segment=account.segment, owner_name=account.owner_name,
        owner_email=account.owner_email, known=account.known,
    )  # fmt: skip
    return NoteContext(
        ticket=facts, level=level, level_name=level_name, reasons=tuple(reasons),
        sla=tuple(SlaLine.model_validate(s, from_attributes=True) for s in sla),
        timeline=timeline(ticket, limits.timeline), tried=what_was_tried(ticket, limits),
        customer_messages=customer_words(ticket, limits), account=account_facts,
        other_escalations=tuple(OtherEscalation.model_validate(o, from_attributes=True) for o in other_escalations),
        approve_tag=approve_tag, reject_tag=reject_tag, generated_at=generated_at, idempotency_key=idempotency_key,
    )  # fmt: skip


# ---- rendering -----------------------------------------------------------------------------


class NoteRenderer:
    """The templates of one directory, ready to render notes and messages for every helpdesk.

    Loading parses every ``*.j2`` file, so a syntax error is reported at start-up
    with its file and line; :meth:`check` also renders the named templates on a
    sample so that a misspelt variable fails early too.
    """

    def __init__(self, templates_dir: Path = TEMPLATES_DIR):
        self.templates_dir = Path(templates_dir)
        loader = FileSystemLoader(str(self.templates_dir))
        self._note_envs = {s: sandboxed_environment(s, loader, with_globals=True) for s in System}
        self._customer_envs = {s: sandboxed_environment(s, loader, with_globals=False) for s in System}
        self._parse_all()

    def handoff_note(self, context: NoteContext, template: str = "handoff_note") -> str:
        """An internal note for the ticket's own helpdesk, ending with its marker line."""
        system = context.ticket.system
        body = self._render(self._note_envs[system], template, system, context.model_dump())
        return _with_marker(body, system, context.idempotency_key)

    def customer_message(self, template: str, context: CustomerContext, system: System, idempotency_key: str) -> str:
        """A public reply; its template sees the four customer-safe fields and nothing else."""
        if not isinstance(context, CustomerContext):
            raise TypeError(f"customer messages render from a CustomerContext only, not {type(context).__name__}")
        body = self._render(self._customer_envs[System(system)], template, System(system), context.model_dump())
        return _with_marker(body, System(system), idempotency_key)

    def check(self, note_templates: Iterable[str] = NOTE_TEMPLATES,
              customer_templates: Iterable[str] = CUSTOMER_TEMPLATES) -> None:  # fmt: skip
        """Render each named template for each helpdesk on a sample; raise every problem at once."""
        problems: list[ConfigProblem] = []
        for system in System:
            sample = _sample_ticket(system)
            note = note_context(sample, _SAMPLE_ACCOUNT, reasons=["sample reason"], sla=[_SAMPLE_SLA],
                                idempotency_key="sample-key", generated_at=sample.updated_at, level=1,
                                approve_tag="approve", reject_tag="reject")  # fmt: skip
            jobs = [(lambda n=n: self.handoff_note(note, n)) for n in note_templates]
            jobs += [(lambda n=n: self.customer_message(n, CustomerContext.from_ticket(sample, "soon"), system,
                                                        "sample-key")) for n in customer_templates]  # fmt: skip
            for job in jobs:
                try:
                    job()
                except ConfigError as exc:
                    problems += [p for p in exc.problems if p not in problems]
        if problems:
            raise ConfigError(problems)

    def _parse_all(self) -> None:
        env, problems = self._note_envs[System.zendesk], []
        for path in sorted(self.templates_dir.glob("*.j2")):
            try:
                env.parse(path.read_text(encoding="utf-8"), path.name, str(path))
            except TemplateSyntaxError as exc:
                problems.append(ConfigProblem(_display(path), exc.lineno, "", f"template syntax error: {exc.message}"))
        if problems:
            raise ConfigError(problems)

    def _render(self, env, name: str, system: System, variables: dict[str, Any]) -> str:  # noqa: ANN001
        candidates = [f"{name}.{system.value}.j2", f"{name}.j2"]
        try:
            template: Template = env.select_template(candidates)
        except TemplateNotFound:
            where = _display(self.templates_dir / candidates[0])
            raise ConfigError([ConfigProblem(where, None, "", f"no template {name!r} for {system.value}: "
                                             f"add {candidates[0]} or {candidates[1]}")]) from None  # fmt: skip
        try:
            return template.render(**variables)
        except (TemplateError, TypeError, ValueError) as exc:
            line = _template_line(exc, template.filename)
            message = getattr(exc, "message", None) or str(exc)
            raise ConfigError([ConfigProblem(_display(Path(template.filename or name)), line, "",
                                             f"cannot render for {system.value}: {message}")]) from exc  # fmt: skip


def _with_marker(body: str, system: System, idempotency_key: str) -> str:
    text = f"{body.strip()}\n\n{marker_line(system, idempotency_key)}"
    if find_markers(text) != {idempotency_key} or text.count(marker(idempotency_key)) != 1:
        raise ConfigError([ConfigProblem("mapping/templates", None, "", "a template must not write a deskbridge "
                                         "marker itself; the renderer appends the only one")])  # fmt: skip
    return text


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    """The template line Jinja's rewritten traceback points at, if any."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if filename and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ---- the sample :meth:`NoteRenderer.check` renders ------------------------------------------

_T = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
_SAMPLE_ACCOUNT = Account(id="001SAMPLE", name="Sample Co", tier="enterprise", segment="emea",
                          owner_name="Sam Owner", owner_email="sam@example.com")  # fmt: skip
_SAMPLE_SLA = SlaLine(target="first_response", due_at=_T, percent_used=80.0, remaining_minutes=12.0, breached=False)


def _sample_ticket(system: System) -> Ticket:
    return Ticket(
        system=system, id="1", key="SAMPLE-1", subject="Sample subject", status=Status.open, native_status="open",
        priority=Priority.high, requester_name="Casey Customer", group_name="Tier 1", created_at=_T, updated_at=_T,
        concurrency_token="1",
        comments=(Comment(id="c1", role=Role.customer, public=True, body="It is broken", created_at=_T),
                  Comment(id="c2", role=Role.agent, public=False, body="Restarted the worker", created_at=_T)),
        history=(HistoryEvent(kind=EventKind.status_change, at=_T, from_value="new", to_value="open"),),
    )  # fmt: skip
