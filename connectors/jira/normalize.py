"""Jira Service Management issues -> core.model.Ticket. Pure: no I/O, no clock.

Inputs: an issue from ``GET /rest/api/{2,3}/issue/{key}`` or a search page
(``fields`` with ``comment``; ``changelog`` when ``expand=changelog``);
optionally its comments from ``GET /issue/{key}/comment`` (instead of
``fields.comment``), changelog histories from ``GET /issue/{key}/changelog``
(instead of the expanded ``changelog``), and the values of
``GET /rest/servicedeskapi/request/{key}/sla``.

JSM has no group: the single-select team field named in the mapping routes the
issue, so its option value is the group id. The concurrency token is
``fields.updated`` (Jira has no server-side optimistic locking; the connector
compares it before writing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from connectors.derive import decision_tags, first_agent_reply, history_from, solved_time, sort_comments
from connectors.jira.normalize_parts import changes_from_histories, sla_from_jsm, to_comment
from connectors.raw import (
    Reader,
    as_flag,
    dig,
    normalize_many as _normalize_many,
    payload_guard,
    raw_id,
    storable,
    storable_value,
)
from connectors.text import body_text
from core.mapping import JiraMapping
from core.model import NativeSla, Priority, Quarantined, Status, System, Ticket

SYSTEM = System.jira

__all__ = ["to_ticket", "to_comment", "normalize_many", "native_slas"]


def to_ticket(
    raw: Mapping[str, Any],
    mapping: JiraMapping,
    *,
    comments: Iterable[Mapping[str, Any]] | None = None,
    changelog: Iterable[Mapping[str, Any]] | None = None,
    slas: Iterable[Mapping[str, Any]] = (),
) -> Ticket:
    """Normalize one issue; raises PayloadError (never anything else) when it is unusable."""
    with payload_guard(SYSTEM, raw_id(raw, "key", "id")):
        if not isinstance(raw, Mapping):
            raise Reader(SYSTEM, None).error(None, f"expected an issue object, got {type(raw).__name__}")
        return _to_ticket(raw, mapping, comments, changelog, slas)


def _to_ticket(raw: Mapping[str, Any], mapping: JiraMapping, comments, changelog, slas) -> Ticket:
    r = Reader(SYSTEM, raw_id(raw, "key", "id"))
    issue_id = r.id(raw.get("id"), "id", required=True)
    f = r.mapping(raw.get("fields"), "fields")
    if not f:
        raise r.error("fields", "is missing")
    reporter = r.mapping(f.get("reporter"), "fields.reporter")
    reporter_id = r.id(reporter.get("accountId"), "fields.reporter.accountId")
    status, native_status = _status(r, mapping, r.mapping(f.get("status"), "fields.status"))
    priority, native_priority = _priority(r, mapping, f.get("priority"))
    rows = _comment_rows(r, f, comments)
    all_comments = sort_comments(to_comment(c, mapping, reporter_id=reporter_id, reader=r) for c in rows)
    histories = _histories(r, raw, changelog)
    history = history_from(changes_from_histories(histories, mapping, reporter_id=reporter_id, reader=r))
    custom = _custom_fields(r, mapping, f)
    team = custom.pop("_team", None)
    updated_raw = r.text(f.get("updated"), "fields.updated")
    key = r.text(raw.get("key"), "key") or issue_id
    labels = [storable(x) for x in r.items(f.get("labels"), "fields.labels") if isinstance(x, str)]
    return Ticket(
        system=SYSTEM,
        id=issue_id,
        key=key,
        url=_browse_url(raw.get("self"), key),
        subject=r.text(f.get("summary"), "fields.summary") or "",
        description=body_text(f.get("description")),
        status=status,
        native_status=native_status,
        priority=priority,
        native_priority=native_priority,
        type=r.text(dig(f, "issuetype", "name"), "fields.issuetype.name"),
        category=custom.pop("_request_type", None),
        product_area=custom.pop("_product_area", None),
        requester_id=reporter_id,
        requester_name=r.text(reporter.get("displayName"), "fields.reporter.displayName"),
        requester_email=r.text(reporter.get("emailAddress"), "fields.reporter.emailAddress"),
        account_id=custom.get("salesforce_account_id"),
        assignee_id=r.id(dig(f, "assignee", "accountId"), "fields.assignee.accountId"),
        group_id=team,
        group_name=team,
        group=mapping.logical_group(team),
        tags=decision_tags(mapping.supervisor_decision, None, labels),
        custom_fields=custom,
        agent_escalation_flag=as_flag(custom.get("escalation_flag")),
        customer_escalation_request=as_flag(custom.get("customer_escalation_request")),
        created_at=r.time(f.get("created"), "fields.created", required=True),
        updated_at=r.time(updated_raw, "fields.updated", required=True),
        solved_at=solved_time(status, history, r.time(f.get("resolutiondate"), "fields.resolutiondate")),
        first_agent_reply_at=first_agent_reply(all_comments),
        comments=all_comments,
        history=history,
        concurrency_token=updated_raw,
        native_slas=native_slas(f, mapping, slas, reader=r),
    )


def _status(r: Reader, mapping: JiraMapping, status: dict) -> tuple[Status, str]:
    name = r.text(status.get("name"), "fields.status.name")
    if not name:
        raise r.error("fields.status", "is missing")
    if name in mapping.status_map:
        return mapping.status_map[name], name
    category = dig(status, "statusCategory", "key")
    if category in mapping.status_categories:
        return mapping.status_categories[category], name
    raise r.error("fields.status", f"{name!r} (category {category!r}) is not in the Jira mapping's status_map "
                                   f"and its category is not in status_categories")


def _priority(r: Reader, mapping: JiraMapping, value: Any) -> tuple[Priority, str | None]:
    name = r.text(dig(value, "name") if isinstance(value, dict) else value, "fields.priority.name")
    if not name:
        return mapping.missing_priority, None
    if name not in mapping.priority_map:
        raise r.error("fields.priority", f"{name!r} is not in the Jira mapping's priority_map "
                                         f"({', '.join(mapping.priority_map)})")
    return mapping.priority_map[name], name


def _comment_rows(r: Reader, fields: dict, comments) -> list[dict]:
    if comments is not None:
        given = comments.get("comments") if isinstance(comments, Mapping) else comments
        return r.records(given, "comments")
    return r.records(dig(r.mapping(fields.get("comment"), "fields.comment"), "comments"), "fields.comment.comments")


def _histories(r: Reader, raw: Mapping[str, Any], changelog) -> list[dict]:
    if changelog is not None:
        given = changelog.get("values", changelog.get("histories")) if isinstance(changelog, Mapping) else changelog
        return r.records(given, "changelog")
    return r.records(dig(r.mapping(raw.get("changelog"), "changelog"), "histories"), "changelog.histories")


def _option(value: Any) -> Any:
    """A select field's option value ({"value": ...}), or the value itself."""
    return value.get("value") if isinstance(value, dict) else value


def _custom_fields(r: Reader, mapping: JiraMapping, fields: dict) -> dict[str, Any]:
    mf = mapping.fields
    out: dict[str, Any] = {}
    for name, ref in (("escalation_flag", mf.escalation_flag),
                      ("customer_escalation_request", mf.customer_escalation_request)):
        if ref is not None and fields.get(ref.field) not in (None, [], ""):
            out[name] = storable_value(fields[ref.field])
    for name, ref in (("product_area", mf.product_area), ("salesforce_account_id", mf.salesforce_account_id),
                      ("team", mf.team)):
        value = _option(fields.get(ref.field)) if ref is not None else None
        if value not in (None, ""):
            out[name] = r.text(value, f"fields.{ref.field}")
    for name, field_id in mf.extra.items():
        if fields.get(field_id) is not None:
            out[name] = storable_value(fields[field_id])
    if "team" in out:
        out["_team"] = out["team"]
    area = out.get("product_area")
    if area is not None and mf.product_area is not None:
        out["_product_area"] = mf.product_area.values.get(area) if mf.product_area.values is not None else area
    if mf.request_type is not None:
        request_type = fields.get(mf.request_type.field)
        name = dig(request_type, "requestType", "name") if isinstance(request_type, dict) else None
        if isinstance(name, str):
            out["_request_type"] = storable(name)
    return out


def native_slas(fields: Mapping[str, Any], mapping: JiraMapping, request_slas: Iterable[Mapping[str, Any]] = (),
                *, reader: Reader | None = None) -> tuple[NativeSla, ...]:
    """SLA custom fields named in the mapping, plus request SLA endpoint values (matched by name)."""
    r = reader or Reader(SYSTEM, None)
    out: list[NativeSla] = []
    seen: set[str] = set()
    for spec in mapping.fields.slas:
        value = fields.get(spec.field)
        if isinstance(value, dict):
            sla = sla_from_jsm(value, target=spec.target.value, name=spec.name, reader=r, where=f"fields.{spec.field}")
            out.append(sla)
            seen.add(sla.name.casefold())
    by_name = {s.name.casefold(): s.target.value for s in mapping.fields.slas if s.name}
    given = request_slas.get("values", []) if isinstance(request_slas, Mapping) else request_slas
    for index, value in enumerate(r.records(given, "slas")):
        name = r.text(value.get("name"), f"slas[{index}].name") or ""
        if name.casefold() in seen:
            continue  # the same SLA already read from its field
        target = by_name.get(name.casefold())
        out.append(sla_from_jsm(value, target=target, name=name, reader=r, where=f"slas[{index}]"))
    return tuple(out)


def _browse_url(self_url: Any, key: str) -> str | None:
    """https://site.atlassian.net/browse/KEY from the issue's REST self URL (not for api.atlassian.com routes)."""
    if not isinstance(self_url, str) or "/rest/api/" not in self_url:
        return None
    base = self_url.split("/rest/api/", 1)[0]
    return None if "//api.atlassian.com/" in base + "/" else storable(f"{base}/browse/{key}")


def normalize_many(
    raws: Iterable[Mapping[str, Any]],
    mapping: JiraMapping,
    *,
    comments_by_issue: Mapping[str, list] | None = None,
    changelog_by_issue: Mapping[str, list] | None = None,
    slas_by_issue: Mapping[str, list] | None = None,
) -> tuple[list[Ticket], list[Quarantined]]:
    """Normalize a page of issues (extras keyed by issue id); bad ones are quarantined, the rest go on."""

    def one(raw: Mapping[str, Any]) -> Ticket:
        issue_id = raw_id(raw, "id") or ""
        return to_ticket(raw, mapping, comments=(comments_by_issue or {}).get(issue_id),
                         changelog=(changelog_by_issue or {}).get(issue_id),
                         slas=(slas_by_issue or {}).get(issue_id, ()))

    return _normalize_many(raws, one, system=SYSTEM, id_of=lambda raw: raw_id(raw, "key", "id"))
