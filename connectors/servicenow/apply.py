"""Writing plans to ServiceNow: check the token, look for the marker, write through the Batch API.

For each chunk of plans (one plan per incident):

1. One fresh bulk read of ``sys_idIN<ids>`` (sys_mod_count, sys_updated_on, priority, sys_tags).
2. A plan whose ``expected_token`` no longer matches was overtaken: the incident's journal is read
   in bulk for deskbridge markers; the plan's own marker means an earlier attempt landed
   (``already_applied``), otherwise a person changed the incident (``conflict``: the flow re-plans).
3. The rest become Batch API inner requests: ``label_entry`` inserts for new tags first, then one
   incident PATCH (fields, work note, comment) last, so a marker in the journal implies the tags
   landed too. Each inner answer maps to the plan's result.

The Table API has no conditional update (no If-Match on sys_mod_count), so a person editing in
the milliseconds between step 1 and the batch is the one race this cannot close.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from connectors.retry import RetryPolicy
from connectors.servicenow.batch import MAX_INNER, InnerRequest, InnerResponse
from connectors.servicenow.children import ID_CHUNK, ChildQuery, ChildReader, user_queries
from connectors.servicenow.client import BATCH_ENDPOINT, ServiceNowApi, WriteOutcomeUnknown
from connectors.servicenow.normalize import concurrency_token
from connectors.servicenow.queries import TOKEN_COLUMNS, chunks, in_query, record_path, table_path
from connectors.servicenow.translate import SYSTEM
from connectors.servicenow.writes import PreparedWrite, prepare
from core.actions import AddTags, AssignOwner, WriteOutcome, WritePlan, WriteResult
from core.errors import PayloadError, RetryBudgetExceeded
from core.mapping import ServiceNowMapping
from core.markers import find_markers
from core.model import System

log = logging.getLogger("deskbridge.servicenow")
PLANS_PER_READ = 100  # plans settled per read batch; their writes go out in batches of at most MAX_INNER
TOKEN_FIELDS = ("sys_id", *TOKEN_COLUMNS)


class Applier:
    """Applies write plans for one connector (shares its API, user cache and retry policy)."""

    def __init__(self, api: ServiceNowApi, reader: ChildReader, mapping: ServiceNowMapping, policy: RetryPolicy,
                 sleep: Callable[[float], None] = time.sleep):
        self.api, self.reader, self.mapping, self.policy, self._sleep = api, reader, mapping, policy, sleep
        self._labels: dict[str, str] = {}  # tag name (case-folded) -> label sys_id, for the connector's lifetime

    def apply(self, plans: Sequence[WritePlan]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        for round_ in _rounds(plans):
            for part in chunks(round_, PLANS_PER_READ):  # type: ignore[arg-type]
                results.update(self._apply_chunk(part, plans))
        return [results[i] for i in range(len(plans))]

    # -- one chunk -------------------------------------------------------------------------------

    def _apply_chunk(self, indexes: list[int], plans: Sequence[WritePlan]) -> dict[int, WriteResult]:
        """Read, settle and write up to PLANS_PER_READ plans; look again before re-sending an unanswered batch."""
        results: dict[int, WriteResult] = {}
        pending = list(indexes)
        for attempt in range(1, self.policy.max_attempts + 1):
            fresh, owners = self._read_state([plans[i] for i in pending])
            ready = self._settle(pending, plans, fresh, results)
            prepared = [prepare(i, plans[i], fresh[plans[i].ticket_id], self.mapping, owners) for i in ready]
            try:
                pending = self._send(prepared, fresh, results, last=attempt == self.policy.max_attempts)
                if not pending:
                    return results
                log.info("servicenow: %d plans were not serviced by the batch; sending them again", len(pending))
            except WriteOutcomeUnknown as exc:
                if attempt == self.policy.max_attempts:
                    raise RetryBudgetExceeded(SYSTEM, BATCH_ENDPOINT, f"gave up after {attempt} attempts: {exc}",
                                              exc.status) from exc
                wait = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
                log.warning("servicenow: %s; reading the incidents again in %.1fs before writing", exc, wait)
                self._sleep(wait)
                pending = [i for i in ready if i not in results]  # what landed will show its marker
        return results

    def _send(self, prepared: list[PreparedWrite], fresh: dict[str, dict[str, Any]],
              results: dict[int, WriteResult], *, last: bool) -> list[int]:
        """Post the writes batch by batch and record each plan's result; return the plans not serviced.

        Tags whose label does not exist yet get it created at the head of the first batch; their
        ``label_entry`` inserts name the label by its display value (``sysparm_input_display_value``),
        so creation and use share one call.
        """
        tags = [t for p in prepared for t in p.tags]
        known = {t.casefold(): self._labels[t.casefold()] for t in tags if t.casefold() in self._labels}
        new = {t.casefold(): t for t in reversed(tags) if t.casefold() not in self._labels}
        unserviced: list[int] = []
        for creations, group in _write_groups(prepared, known, new):
            inner = creations + [r for _p, requests in group for r in requests]
            answers = self.api.write_batch(inner) if inner else {}
            self._remember_labels(_created(answers[r.id] for r in creations))
            for p, requests in group:
                if requests and answers[requests[-1].id].status == 0 and not last:
                    unserviced.append(p.index)  # the batch hit the instance's limit before it: nothing of it ran
                else:
                    results[p.index] = _outcome(p, requests, answers, fresh[p.plan.ticket_id])
        return unserviced

    def _read_state(self, plans: Sequence[WritePlan]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """One read batch: the incidents' tokens, the owners by e-mail, the labels not cached yet."""
        ids = sorted({p.ticket_id for p in plans})
        emails = {a.email.strip() for p in plans for a in p.actions if isinstance(a, AssignOwner)}
        tags = {t for p in plans for a in p.actions if isinstance(a, AddTags) for t in a.tags}
        queries = [ChildQuery("incidents", "incident", in_query("sys_id", part), TOKEN_FIELDS)
                   for part in chunks(ids, ID_CHUNK)]
        queries += user_queries("email", emails)
        queries += _label_queries(t for t in tags if t.casefold() not in self._labels)
        rows = self.reader.run(queries)
        self._remember_labels(rows.get("labels", []))
        fresh = {str(row.get("sys_id")): row for row in rows.get("incidents", [])}
        owners = {str(r.get("email", "")).casefold(): str(r["sys_id"])
                  for r in rows.get("users", []) if r.get("sys_id")}
        return fresh, owners

    def _settle(self, pending: list[int], plans: Sequence[WritePlan], fresh: dict[str, dict[str, Any]],
                results: dict[int, WriteResult]) -> list[int]:
        """Answer the plans that need no write (gone, overtaken); return those still to write."""
        ready, changed = [], []
        for i in pending:
            row = fresh.get(plans[i].ticket_id)
            if row is None:
                results[i] = _result(plans[i], WriteOutcome.failed, detail="incident not found (deleted or no access)")
            elif concurrency_token(row) != plans[i].expected_token:
                changed.append(i)
            else:
                ready.append(i)
        if changed:
            marked = self._markers({plans[i].ticket_id for i in changed})
            for i in changed:
                plan, token = plans[i], concurrency_token(fresh[plans[i].ticket_id])
                if plan.idempotency_key in marked.get(plan.ticket_id, set()):
                    results[i] = _result(plan, WriteOutcome.already_applied, token, "marker found in the journal")
                else:
                    results[i] = _result(plan, WriteOutcome.conflict, token,
                                         f"changed since evaluation (sys_mod_count {plan.expected_token} -> {token})")
        return ready

    def _markers(self, sys_ids: set[str]) -> dict[str, set[str]]:
        """Idempotency keys found in these incidents' comments and work notes (deskbridge's entries only)."""
        queries = [ChildQuery("journal", "sys_journal_field",
                              in_query("element_id", part, "elementINcomments,work_notes", "valueLIKE[deskbridge:"),
                              ("element_id", "value")) for part in chunks(sorted(sys_ids), ID_CHUNK)]
        out: dict[str, set[str]] = {}
        for row in self.reader.run(queries).get("journal", []):
            out.setdefault(str(row.get("element_id")), set()).update(find_markers(str(row.get("value") or "")))
        return out

    # -- tags ------------------------------------------------------------------------------------

    def _remember_labels(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            if row.get("name") and row.get("sys_id"):
                self._labels[str(row["name"]).casefold()] = str(row["sys_id"])


def _label_queries(names: Iterable[str]) -> list[ChildQuery]:
    return [ChildQuery("labels", "label", in_query("name", part), ("sys_id", "name"))
            for part in chunks(sorted(set(names)), ID_CHUNK)]


def _created(answers: Iterable[InnerResponse]) -> list[dict[str, Any]]:
    """The label rows a batch created (a refused or unreadable creation is looked up on the next read)."""
    out = []
    for answer in answers:
        try:
            data = answer.json() if answer.status in (200, 201) else None
        except PayloadError:
            continue
        result = data.get("result") if isinstance(data, dict) else None
        if isinstance(result, dict):
            out.append(result)
    return out


def _write_groups(prepared: list[PreparedWrite], labels: dict[str, str], new: dict[str, str]
                  ) -> list[tuple[list[InnerRequest], list[tuple[PreparedWrite, list[InnerRequest]]]]]:
    """Batches of at most MAX_INNER: the label creations (first batch only), then plans with their requests.

    ``labels``: label sys_id by case-folded tag; ``new``: tags (by case-folded name) whose label the
    first batch creates. A plan is never split between batches.
    """
    creations = [InnerRequest(f"label-{n}", "POST", table_path("label", columns=("sys_id", "name")), {"name": name})
                 for n, name in enumerate(sorted(new.values()))]
    groups: list[tuple[list[InnerRequest], list[tuple[PreparedWrite, list[InnerRequest]]]]] = [(creations, [])]
    size = len(creations)
    for p in prepared:
        requests = _requests(p, labels, new)
        if groups[-1][1] and size + len(requests) > MAX_INNER:
            groups.append(([], []))
            size = 0
        groups[-1][1].append((p, requests))
        size += len(requests)
    return [(c, g) for c, g in groups if c or g]


def _rounds(plans: Sequence[WritePlan]) -> list[list[int]]:
    """Plan indexes split so each incident appears once per round (a second plan sees the first's token)."""
    rounds: list[list[int]] = []
    seen: list[set[str]] = []
    for i, plan in enumerate(plans):
        k = next((n for n, ids in enumerate(seen) if plan.ticket_id not in ids), len(rounds))
        if k == len(rounds):
            rounds.append([])
            seen.append(set())
        rounds[k].append(i)
        seen[k].add(plan.ticket_id)
    return rounds


def _requests(p: PreparedWrite, labels: dict[str, str], new: dict[str, str]) -> list[InnerRequest]:
    """Tag inserts first, the incident PATCH (which carries the marker) last."""
    sys_id, out = p.plan.ticket_id, []
    for n, tag in enumerate(p.tags):
        label, by_name = labels.get(tag.casefold()), new.get(tag.casefold())
        if label is None and by_name is None:
            p.failed.append(f"add_tags: the tag '{tag}' could not be created")
            continue
        path = table_path("label_entry", columns=("sys_id",), input_display=label is None)
        out.append(InnerRequest(f"{p.index}-tag-{n}", "POST", path,
                                {"table": "incident", "table_key": sys_id, "label": label or by_name}))
    if p.patch:
        out.append(InnerRequest(f"{p.index}-patch", "PATCH",
                                record_path("incident", sys_id, columns=("sys_mod_count", "sys_updated_on")), p.patch))
    return out


def _outcome(p: PreparedWrite, sent: list[InnerRequest], answers: dict[str, InnerResponse],
             fresh: dict[str, Any]) -> WriteResult:
    token = concurrency_token(fresh)
    problems = list(p.failed)
    landed = 0
    for request in sent:
        answer = answers[request.id]
        if answer.status in (200, 201):
            landed += 1
            if request.method == "PATCH":
                token = _token_from(answer) or token
        elif request.method == "PATCH" and answer.status in (409, 412):
            refused = f"the instance refused the update: {answer.error_message()}"
            return _result(p.plan, WriteOutcome.conflict, token, refused)
        else:
            what = "update" if request.method == "PATCH" else "add_tags"
            problems.append(f"{what}: {answer.error_message() if answer.status else 'not serviced by the batch'}")
    detail = "; ".join(problems + p.notes) or None
    if any(r.method == "PATCH" and answers[r.id].status != 200 for r in sent):
        return _result(p.plan, WriteOutcome.failed, token, detail)
    if landed:
        return _result(p.plan, WriteOutcome.applied, token, detail)
    if problems:
        return _result(p.plan, WriteOutcome.failed, token, detail)
    return _result(p.plan, WriteOutcome.applied, token, detail or "nothing to change")


def _token_from(answer: InnerResponse) -> str | None:
    try:
        result = answer.json().get("result")
        return concurrency_token(result) if isinstance(result, dict) else None
    except Exception:  # noqa: BLE001 - the write landed; a missing token only costs a re-read
        return None


def _result(plan: WritePlan, outcome: WriteOutcome, token: str | None = None, detail: str | None = None) -> WriteResult:
    return WriteResult(system=System.servicenow, ticket_id=plan.ticket_id, idempotency_key=plan.idempotency_key,
                       outcome=outcome, new_token=token, detail=detail)
