"""ServiceNow incidents -> core.model.Ticket. Pure: no I/O, no clock.

Inputs: an incident record from the Table API in any ``sysparm_display_value``
form (see :mod:`connectors.servicenow.normalize_fields`), with or without its
``{"result": ...}`` envelope; optionally its ``sys_journal_field`` rows (or CSM
activity entries), ``sys_audit`` rows, ``task_sla`` rows and ``sys_user`` rows
(to recognise the caller among journal authors).

The concurrency token is ``sys_mod_count``, which every update increments. A
record fetched without it (a narrow ``sysparm_fields``) falls back to
``sys_updated_on:<raw value>``, coarser (one-second resolution) but still a
change detector; use :func:`concurrency_token` to compute it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from connectors.derive import decision_tags, first_agent_reply, history_from, solved_time, sort_comments
from connectors.raw import Reader, as_flag, normalize_many as _normalize_many, payload_guard, raw_id, storable
from connectors.servicenow.normalize_fields import Form, Record, detect_form
from connectors.servicenow.normalize_journal import (
    People,
    changes_from_audit,
    comment_from_row,
    comments_from_text,
    index_users,
    sla_from_row,
)
from connectors.text import to_plain
from core.mapping import ServiceNowMapping
from core.mapping_parts import FieldDecision
from core.model import Priority, Quarantined, Status, System, Ticket

SYSTEM = System.servicenow


def to_ticket(
    raw: Mapping[str, Any],
    mapping: ServiceNowMapping,
    *,
    journal: Iterable[Mapping[str, Any]] | None = None,
    audits: Iterable[Mapping[str, Any]] = (),
    slas: Iterable[Mapping[str, Any]] = (),
    users: Iterable[Mapping[str, Any]] = (),
    form: Form = "auto",
) -> Ticket:
    """Normalize one incident; raises PayloadError (never anything else) when it is unusable.

    ``journal=None`` reads the conversation from the record's own journal text (display
    forms); pass the sys_journal_field rows (even an empty list) to use those instead.
    """
    record = raw.get("result", raw) if isinstance(raw, Mapping) else raw
    with payload_guard(SYSTEM, raw_id(record, "sys_id", "number")):
        if not isinstance(record, Mapping):
            raise Reader(SYSTEM, None).error(None, f"expected an incident object, got {type(record).__name__}")
        return _to_ticket(dict(record), mapping, journal, audits, slas, users, form)


def _to_ticket(raw: dict, mapping: ServiceNowMapping, journal, audits, slas, users, form: Form) -> Ticket:
    r = Reader(SYSTEM, raw_id(raw, "sys_id", "number"))
    if form == "auto":
        form = detect_form(raw, {e.label.casefold() for e in mapping.status_map.values()})
    rec = Record(raw, r, form, mapping.display_timezone)
    sys_id = rec.value("sys_id")
    if sys_id is None:
        raise r.error("sys_id", "is missing")
    status, native_status = _status(rec, mapping)
    priority, native_priority = _priority(rec, mapping)
    people = People(mapping, rec.value("caller_id"), rec.display("caller_id"), index_users(users, r))
    created_at = rec.time("opened_at") or rec.time("sys_created_on", required=True)
    comments = sort_comments(_comments(rec, journal, people, r))
    history = history_from(changes_from_audit(r.records(audits, "audits"), people, r, created_at))
    fields = _custom_fields(rec, mapping)
    group_id = rec.value("assignment_group")
    decision = mapping.supervisor_decision
    decision_value = rec.value(decision.field) if isinstance(decision, FieldDecision) else None
    native_slas = [sla_from_row(row, mapping, r) for row in r.records(slas, "slas")]
    return Ticket(
        system=SYSTEM,
        id=sys_id,
        key=rec.value("number") or sys_id,
        url=_url(rec, sys_id),
        subject=rec.value("short_description") or "",
        description=to_plain(rec.value("description")),
        status=status,
        native_status=native_status,
        priority=priority,
        native_priority=native_priority,
        category=rec.label_or_value("category"),
        product_area=fields.pop("_product_area", None),
        requester_id=people.caller_id,
        requester_name=people.caller_name,
        organization_id=rec.value("company"),
        account_id=fields.get("salesforce_account_id"),
        assignee_id=rec.value("assigned_to"),
        group_id=group_id,
        group_name=rec.display("assignment_group"),
        group=mapping.logical_group(group_id),
        tags=decision_tags(decision, decision_value, _tags(rec)),
        custom_fields=fields,
        agent_escalation_flag=as_flag(fields.get("escalation_flag")),
        customer_escalation_request=as_flag(fields.get("customer_escalation_request")),
        created_at=created_at,
        updated_at=rec.time("sys_updated_on", required=True),
        solved_at=solved_time(status, history, rec.time("resolved_at") or rec.time("closed_at")),
        first_agent_reply_at=first_agent_reply(comments),
        comments=comments,
        history=history,
        concurrency_token=concurrency_token(raw),
        native_slas=tuple(s for s in native_slas if s is not None),
    )


def concurrency_token(record: Mapping[str, Any]) -> str:
    """``sys_mod_count`` (raw value), or ``sys_updated_on:<raw value>`` when the record lacks it."""
    r = Reader(SYSTEM, raw_id(record, "sys_id"))
    rec = Record(dict(record), r, "auto")
    count = rec.value("sys_mod_count")
    if count is not None:
        return count
    updated = record.get("sys_updated_on")
    updated = updated.get("value") if isinstance(updated, dict) else updated
    if not updated:
        raise r.error("sys_mod_count", "is missing (and so is sys_updated_on): no concurrency token")
    return f"sys_updated_on:{updated}"


def _status(rec: Record, mapping: ServiceNowMapping) -> tuple[Status, str]:
    raw = rec.value("state")
    if raw is None:
        raise rec.r.error("state", "is missing")
    value = mapping.state_value(raw)
    if value is None:
        known = ", ".join(f"{v} ({e.label})" for v, e in mapping.status_map.items())
        raise rec.r.error("state", f"{raw!r} is not in the ServiceNow mapping's status_map ({known})")
    status = mapping.status_map[value].status
    if status is Status.on_hold:
        reason = rec.value("hold_reason")
        reason_value = mapping.hold_reason_value(reason) if reason else None
        if reason_value is not None:
            status = mapping.hold_reasons[reason_value].status
    return status, value


def _priority(rec: Record, mapping: ServiceNowMapping) -> tuple[Priority, str | None]:
    raw = rec.value("priority")
    if raw is None:
        return mapping.missing_priority, None
    value = mapping.priority_value(raw)
    if value is None:
        raise rec.r.error("priority", f"{raw!r} is not in the ServiceNow mapping's priority_map "
                                      f"({', '.join(mapping.priority_map)})")
    return mapping.priority_map[value].priority, value


def _comments(rec: Record, journal, people: People, r: Reader) -> list:
    if journal is not None:
        rows = r.records(journal, "journal")
        return [c for c in (comment_from_row(row, people, r) for row in rows) if c is not None]
    out = []
    for element in ("comments", "work_notes"):
        text = rec.display(element) if rec.form != "plain" else None
        out += comments_from_text(text, element, people, r)
    return out


def _custom_fields(rec: Record, mapping: ServiceNowMapping) -> dict[str, Any]:
    f = mapping.fields
    out: dict[str, Any] = {}
    for name, ref in f.named().items():
        value = rec.value(ref.field)
        if value is not None:
            out[name] = value
    for name, column in f.extra.items():
        value = rec.value(column)
        if value is not None:
            out[name] = value
    area = out.get("product_area")
    if area is not None and f.product_area is not None:
        out["_product_area"] = f.product_area.values.get(area) if f.product_area.values is not None else area
    return out


def _tags(rec: Record) -> list[str]:
    """sys_tags as the record shows them (comma-separated labels)."""
    text = rec.label_or_value("sys_tags") or ""
    return [t.strip() for t in text.split(",") if t.strip()]


def _url(rec: Record, sys_id: str) -> str | None:
    """The incident form on the instance, when a reference link tells which instance."""
    link = rec.link()
    if not link:
        return None
    parts = urlsplit(link)
    return storable(f"{parts.scheme}://{parts.netloc}/incident.do?sys_id={sys_id}") if parts.netloc else None


def normalize_many(
    raws: Iterable[Mapping[str, Any]],
    mapping: ServiceNowMapping,
    *,
    journal_by_ticket: Mapping[str, list] | None = None,
    audits_by_ticket: Mapping[str, list] | None = None,
    slas_by_ticket: Mapping[str, list] | None = None,
    users: Iterable[Mapping[str, Any]] = (),
    form: Form = "auto",
) -> tuple[list[Ticket], list[Quarantined]]:
    """Normalize a page of incidents (keyed by sys_id); bad ones are quarantined, the rest go on."""
    users = list(users) if isinstance(users, Iterator) else users  # read once per ticket; junk is reported there

    def one(raw: Mapping[str, Any]) -> Ticket:
        sys_id = raw_id(raw, "sys_id") or ""
        journal = journal_by_ticket.get(sys_id, []) if journal_by_ticket is not None else None
        return to_ticket(raw, mapping, journal=journal, audits=(audits_by_ticket or {}).get(sys_id, ()),
                         slas=(slas_by_ticket or {}).get(sys_id, ()), users=users, form=form)

    return _normalize_many(raws, one, system=SYSTEM, id_of=lambda raw: raw_id(raw, "sys_id", "number"))
