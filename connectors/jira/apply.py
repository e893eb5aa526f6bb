"""Apply write plans to JSM issues, safely around people editing the same issues.

Jira has no optimistic locking, so right before writing the connector reads
every planned issue in bulk (one ``id in (...)`` search per 100 issues, fields
``updated`` + ``comment`` + what the edits compare with) and then, per plan:

1. the plan's marker is already in a comment -> ``already_applied`` (an
   earlier attempt landed; nothing is written twice). When the embedded
   comments are truncated, the newest 100 are read before deciding;
2. ``fields.updated`` differs from ``plan.expected_token`` -> ``conflict``
   (a person changed the issue since evaluation: re-read and re-plan);
3. otherwise the edit is written: one ``PUT`` for the fields and labels (no
   reload ``GET``), then one ``POST`` per comment, the marker-carrying note
   last in plan order so that its presence means the plan landed.

AssignOwner e-mails are resolved once per apply call (one user search per
distinct e-mail, for the plans that write). Jira has no bulk edit in API v2:
a plan costs at most one PUT plus one POST per comment. The gap between the
check and the PUT is not locked; labels are only added, so a person's labels
survive even then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.jira.client import JiraClient
from connectors.jira.edits import IssueEdit, check_fields, edit_for, owner_emails
from connectors.jira.pull import ID_CHUNK, search_ids
from connectors.jira.reads import embedded_comments, issue_id
from connectors.jira.translate import WriteOutcomeUnknown
from connectors.raw import Reader, dig
from core.actions import WriteOutcome, WritePlan, WriteResult
from core.errors import ConflictError, FatalAPIError, PayloadError
from core.mapping import JiraMapping
from core.markers import find_markers
from core.model import System

log = logging.getLogger("deskbridge.jira")
NEWEST_COMMENTS = 100


def apply_plans(client: JiraClient, mapping: JiraMapping, plans: Sequence[WritePlan]) -> list[WriteResult]:
    """One result per plan, in order. Wrong credentials and an exhausted retry budget raise (the run stops)."""
    ids = list(dict.fromkeys(p.ticket_id for p in plans if p.system is System.jira and p.ticket_id.isdigit()))
    current: dict[str, dict] = {}
    for start in range(0, len(ids), ID_CHUNK):
        for raw in search_ids(client, ids[start:start + ID_CHUNK], fields=check_fields(mapping)):
            current[issue_id(raw) or ""] = raw
    verdicts = [_verdict(client, plan, current.get(plan.ticket_id)) for plan in plans]
    owners = resolve_owners(client, set().union(*(owner_emails(p) for p, v in zip(plans, verdicts) if v is None)))
    written: set[str] = set()
    results = []
    for plan, verdict in zip(plans, verdicts):
        if verdict is None and plan.ticket_id in written:
            verdict = _result(plan, WriteOutcome.conflict, "an earlier plan in this batch wrote the issue; re-plan")
        if verdict is None:
            verdict = _write(client, plan, edit_for(plan, current[plan.ticket_id], mapping, owners))
            written.add(plan.ticket_id)
        results.append(verdict)
    return results


def _verdict(client: JiraClient, plan: WritePlan, raw: dict | None) -> WriteResult | None:
    """The result decided before writing, or None when the plan is to be written."""
    if plan.system is not System.jira:
        return _result(plan, WriteOutcome.failed, f"a {plan.system.value} plan sent to the Jira connector")
    if raw is None:
        return _result(plan, WriteOutcome.failed, f"Jira has no issue {plan.ticket_id} (deleted or moved?)")
    token = dig(raw, "fields", "updated")
    if _has_marker(client, plan, raw):
        return _result(plan, WriteOutcome.already_applied, "the plan's marker is already in a comment",
                       new_token=token)
    if not _same_instant(token, plan.expected_token):
        return _result(plan, WriteOutcome.conflict,
                       f"the issue changed since evaluation (updated {token}, evaluated at {plan.expected_token})",
                       new_token=token)
    return None


def _has_marker(client: JiraClient, plan: WritePlan, raw: dict) -> bool:
    rows, total = embedded_comments(raw)
    if _marked(plan, rows):
        return True
    if total > len(rows):  # truncated: the newest comments decide
        return _marked(plan, client.comments(plan.ticket_id, size=NEWEST_COMMENTS, newest_first=True))
    return False


def _marked(plan: WritePlan, comments: list) -> bool:
    return any(isinstance(c, Mapping) and plan.idempotency_key in find_markers(_text(c.get("body")))
               for c in comments)


def _text(body: Any) -> str:
    return body if isinstance(body, str) else str(body or "")  # v2 bodies are strings; ADF is searched as text


def _same_instant(token: Any, expected: str) -> bool:
    """Tokens compare as instants (the same moment may be written two ways); unreadable ones as text."""
    if not isinstance(token, str):
        return False
    if token == expected:
        return True
    try:
        reader = Reader("jira", None)
        return reader.time(token, "updated") == reader.time(expected, "expected_token")
    except PayloadError:
        return False


def resolve_owners(client: JiraClient, emails: set[str]) -> dict[str, str | None]:
    """accountId per e-mail (casefolded) of an assignable (non-customer, active) Jira user, None when unknown.

    Cloud hides e-mail addresses by default: when no result shows one, a
    search that found exactly one assignable user is taken as the match.
    """
    out: dict[str, str | None] = {}
    for email in sorted(emails):
        try:
            users = [u for u in client.users(email) if _assignable(u)]
        except FatalAPIError as exc:
            if exc.status in (401, 403):
                raise
            log.warning("jira: user search for an owner failed: %s", exc)
            users = []
        exact = [u for u in users if str(u.get("emailAddress") or "").casefold() == email]
        hidden = [u for u in users if not u.get("emailAddress")]
        match = exact or (hidden if len(users) == 1 else [])
        out[email] = str(match[0]["accountId"]) if match else None
    return out


def _assignable(user: Any) -> bool:
    return (isinstance(user, Mapping) and bool(user.get("accountId")) and user.get("active", True) is not False
            and user.get("accountType", "atlassian") == "atlassian")


def _write(client: JiraClient, plan: WritePlan, edit: IssueEdit) -> WriteResult:
    done: list[str] = []
    try:
        if edit.changes_fields:
            client.edit(plan.ticket_id, edit.body)
            done.append("fields")
        for body, internal in edit.comments:
            client.add_comment(plan.ticket_id, body, internal=internal)
            done.append("internal note" if internal else "customer message")
    except ConflictError as exc:
        return _result(plan, WriteOutcome.conflict, _partial(done, exc))
    except (WriteOutcomeUnknown, PayloadError) as exc:
        return _result(plan, WriteOutcome.failed, _partial(done, exc))
    except FatalAPIError as exc:
        if exc.status in (401, 403):
            raise
        return _result(plan, WriteOutcome.failed, _partial(done, exc))
    notes = "; ".join(edit.skipped) or None
    if not done:
        notes = "; ".join(["nothing to change", *edit.skipped])
    return _result(plan, WriteOutcome.applied, notes)


def _partial(done: list[str], exc: Exception) -> str:
    landed = f"written before the failure: {', '.join(done)}; " if done else ""
    return f"{landed}{exc}"


def _result(plan: WritePlan, outcome: WriteOutcome, detail: str | None, new_token: str | None = None) -> WriteResult:
    return WriteResult(system=plan.system, ticket_id=plan.ticket_id, idempotency_key=plan.idempotency_key,
                       outcome=outcome, new_token=new_token, detail=detail)
