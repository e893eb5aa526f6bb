"""Apply write plans to JSM issues, safely around people editing the same issues.

Jira has no optimistic locking, so right before writing the connector reads
every planned issue in bulk (one ``id in (...)`` search per 100 issues, fields
``updated`` + ``comment`` + what the edits compare with) and then, per plan:

1. the plan's marker is in a comment of every kind the plan writes (internal
   note, customer message) -> ``already_applied`` (an earlier attempt landed;
   nothing is written twice). In some kinds only -> an earlier attempt landed
   in part: only the missing comments are written (``applied``, the detail
   says so). When the embedded comments are truncated, the newest 100 are read
   before deciding;
2. ``fields.updated`` differs from ``plan.expected_token`` -> ``conflict``
   (a person changed the issue since evaluation: re-read and re-plan);
3. otherwise the edit is written: one ``PUT`` for the fields, the labels and
   the customer message (``update.comment.add``; no reload ``GET``), then one
   ``POST`` for the internal note (``sd.public.comment`` internal).

AssignOwner e-mails are resolved once per connector (one user search per
distinct e-mail, cached for the connector's life, i.e. one run). A plan costs
at most one PUT plus one POST: Cloud's bulk edit writes one set of values to
many issues without a per-issue check and cannot add comments, so it is not
used (docs/connector-jira.md). The gap
between the check and the PUT is not locked; labels are only added, so a
person's labels survive even then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.jira.client import JiraClient
from connectors.jira.edits import INTERNAL, PUBLIC, IssueEdit, check_fields, comment_kinds, edit_for, owner_emails
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
UNKNOWN = "comment of unknown visibility"  # a marked comment that is neither clearly internal nor public


def apply_plans(client: JiraClient, mapping: JiraMapping, plans: Sequence[WritePlan], *,
                owner_cache: dict[str, str | None] | None = None) -> list[WriteResult]:
    """One result per plan, in order. Wrong credentials and an exhausted retry budget raise (the run stops).

    ``owner_cache`` (e-mail -> accountId or None) is kept by the caller across calls: one user search per e-mail.
    """
    ids = list(dict.fromkeys(p.ticket_id for p in plans if p.system is System.jira and p.ticket_id.isdigit()))
    current: dict[str, dict] = {}
    for start in range(0, len(ids), ID_CHUNK):
        for raw in search_ids(client, ids[start:start + ID_CHUNK], fields=check_fields(mapping)):
            current[issue_id(raw) or ""] = raw
    checks = [_check(client, plan, current.get(plan.ticket_id)) for plan in plans]
    wanted = set().union(*(owner_emails(p) for p, (verdict, landed) in zip(plans, checks)
                           if verdict is None and not landed))
    owners = resolve_owners(client, wanted, cache=owner_cache)
    written: set[str] = set()
    results = []
    for plan, (verdict, landed) in zip(plans, checks):
        if verdict is None and plan.ticket_id in written:
            verdict = _result(plan, WriteOutcome.conflict, "an earlier plan in this batch wrote the issue; re-plan")
        if verdict is None:
            edit = edit_for(plan, current[plan.ticket_id], mapping, owners)
            if landed:  # an earlier attempt landed in part: write only what is missing
                edit = edit.only_comments(comment_kinds(plan) - landed)
            verdict = _write(client, plan, edit, completing=landed)
            written.add(plan.ticket_id)
        results.append(verdict)
    return results


def _check(client: JiraClient, plan: WritePlan, raw: dict | None) -> tuple[WriteResult | None, set[str]]:
    """The result decided before writing (None: write), and the kinds of comment an earlier attempt landed."""
    if plan.system is not System.jira:
        return _result(plan, WriteOutcome.failed, f"a {plan.system.value} plan sent to the Jira connector"), set()
    if raw is None:
        return _result(plan, WriteOutcome.failed, f"Jira has no issue {plan.ticket_id} (deleted or moved?)"), set()
    token = dig(raw, "fields", "updated")
    landed = _landed(client, plan, raw)
    if landed:
        if UNKNOWN in landed or comment_kinds(plan) <= landed:
            return _result(plan, WriteOutcome.already_applied, "the plan's marker is already in a comment",
                           new_token=token), landed
        return None, landed  # landed in part: the rest is written whatever the token (only comments are added)
    if not _same_instant(token, plan.expected_token):
        return _result(plan, WriteOutcome.conflict,
                       f"the issue changed since evaluation (updated {token}, evaluated at {plan.expected_token})",
                       new_token=token), set()
    return None, set()


def _landed(client: JiraClient, plan: WritePlan, raw: dict) -> set[str]:
    """The kinds of the plan's comments already in the issue (its marker in an internal or a public comment).

    A marked comment whose visibility cannot be told (no ``jsdPublic``, no ``sd.public.comment``) counts as
    everything having landed: nothing is written twice.
    """
    rows, total = embedded_comments(raw)
    landed = _kinds(plan, rows)
    if total > len(rows) and not (UNKNOWN in landed or comment_kinds(plan) <= landed):  # truncated: the newest
        landed |= _kinds(plan, client.comments(plan.ticket_id, size=NEWEST_COMMENTS, newest_first=True))
    return landed


def _kinds(plan: WritePlan, comments: list) -> set[str]:
    return {_kind(c) for c in comments
            if isinstance(c, Mapping) and plan.idempotency_key in find_markers(_text(c.get("body")))}


def _kind(comment: Mapping) -> str:
    public = comment.get("jsdPublic")
    if isinstance(public, bool):
        return PUBLIC if public else INTERNAL
    for prop in comment.get("properties") or []:
        if isinstance(prop, Mapping) and prop.get("key") == "sd.public.comment":
            return INTERNAL if dig(prop, "value", "internal") is True else PUBLIC
    return UNKNOWN


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


def resolve_owners(client: JiraClient, emails: set[str],
                   cache: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """accountId per e-mail (casefolded) of an assignable (non-customer, active) Jira user, None when unknown.

    Cloud hides e-mail addresses by default: when no result shows one, a
    search that found exactly one assignable user is taken as the match.
    Answers (found or not) go into ``cache``; a failed search does not.
    """
    cache = {} if cache is None else cache
    for email in sorted(emails - cache.keys()):
        try:
            users = [u for u in client.users(email) if _assignable(u)]
        except FatalAPIError as exc:
            if exc.status in (401, 403):
                raise
            log.warning("jira: user search for an owner failed: %s", exc)
            continue
        exact = [u for u in users if str(u.get("emailAddress") or "").casefold() == email]
        hidden = [u for u in users if not u.get("emailAddress")]
        match = exact or (hidden if len(users) == 1 else [])
        cache[email] = str(match[0]["accountId"]) if match else None
    return {email: cache.get(email) for email in emails}


def _assignable(user: Any) -> bool:
    return (isinstance(user, Mapping) and bool(user.get("accountId")) and user.get("active", True) is not False
            and user.get("accountType", "atlassian") == "atlassian")


def _write(client: JiraClient, plan: WritePlan, edit: IssueEdit, *, completing: set[str]) -> WriteResult:
    """The PUT (fields, labels, customer message), then the internal note's POST; ``completing``: what had landed."""
    done: list[str] = []
    try:
        if edit.put_body:
            client.edit(plan.ticket_id, edit.put_body, idempotent=not edit.public)  # a comment add is not idempotent
            done += (["fields"] if edit.changes_fields else []) + [PUBLIC] * len(edit.public)
        for body in edit.internal:
            client.add_comment(plan.ticket_id, body, internal=True)
            done.append(INTERNAL)
    except ConflictError as exc:
        return _result(plan, WriteOutcome.conflict, _partial(done, exc))
    except (WriteOutcomeUnknown, PayloadError) as exc:
        return _result(plan, WriteOutcome.failed, _partial(done, exc))
    except FatalAPIError as exc:
        if exc.status in (401, 403):
            raise
        return _result(plan, WriteOutcome.failed, _partial(done, exc))
    notes = list(edit.skipped)
    if completing:
        notes.insert(0, f"an earlier attempt had written the {' and '.join(sorted(completing))}; "
                        f"written now: {', '.join(done)}")
    elif not done:
        notes.insert(0, "nothing to change")
    return _result(plan, WriteOutcome.applied, "; ".join(notes) or None)


def _partial(done: list[str], exc: Exception) -> str:
    landed = f"written before the failure: {', '.join(done)}; " if done else ""
    return f"{landed}{exc}"


def _result(plan: WritePlan, outcome: WriteOutcome, detail: str | None, new_token: str | None = None) -> WriteResult:
    return WriteResult(system=plan.system, ticket_id=plan.ticket_id, idempotency_key=plan.idempotency_key,
                       outcome=outcome, new_token=new_token, detail=detail)
