"""Fuzzing every normalizer with mutated real payloads: one bad ticket is quarantined, never a crash.

The corpus is real: the recorded reference payloads plus closed tickets read over HTTPS from the
running sandbox (plain ``requests`` and simple-salesforce). One ticket's payload -- its record and
its own comments, audits, journal, changelog and SLA rows -- gets 1-3 hostile edits
(tests/fuzz_support.py) and goes into a batch with the others. Property: ``normalize_many`` never
raises; the mutated ticket is either a valid Ticket the state store can hold (UTF-8, no NUL, sized
columns) or quarantined with a reason naming the system, its id (when it has one) and the field;
every other ticket normalizes exactly as it does alone. Hypothesis runs derandomized without an
example database, so every run draws the same examples (DESKBRIDGE_FUZZ_EXAMPLES=5000 goes deeper).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pg_fixture import postgres_server, postgres_url  # noqa: F401  (fixtures)
from simple_salesforce import Salesforce, SalesforceLogin

from connectors.jira import normalize as jira
from connectors.raw import raw_id
from connectors.salesforce.normalize import to_accounts
from connectors.servicenow import normalize as servicenow
from connectors.zendesk import normalize as zendesk
from core.config import load_mappings
from core.model import Account, Quarantined, System, Ticket
from core.store import Store
from fuzz_support import mutated

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ROOT.parent / "shared" / "reference" / "payloads"
MAPPINGS = load_mappings(ROOT / "mapping", with_policy=False)
FUZZ = settings(max_examples=int(os.environ.get("DESKBRIDGE_FUZZ_EXAMPLES", "300")), deadline=None,
                derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
CORPORA = ("zendesk", "servicenow", "servicenow_text", "jira")
NORMALIZE_MANY = {"zendesk": zendesk.normalize_many, "servicenow": servicenow.normalize_many,
                  "jira": jira.normalize_many}  # fmt: skip
# The keyword each normalize_many takes a ticket's own rows by, and the record key it looks them up by.
EXTRA_KWARGS = {
    "zendesk": {"comments": "comments_by_ticket", "audits": "audits_by_ticket"},
    "servicenow": {"journal": "journal_by_ticket", "audits": "audits_by_ticket", "slas": "slas_by_ticket"},
    "jira": {"comments": "comments_by_issue", "changelog": "changelog_by_issue", "slas": "slas_by_issue"},
}
EXTRA_KEY = {"zendesk": ("id", "ticket.id"), "servicenow": ("sys_id",), "jira": ("id",)}
SHOWN_ID = {"zendesk": ("id",), "servicenow": ("sys_id", "number"), "jira": ("key", "id")}  # in the record


@dataclass
class Item:
    """One ticket as a connector hands it over: the record and its own rows by kind."""

    raw: Any
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Corpus:
    system: str
    items: list[Item]
    shared: dict[str, Any] = field(default_factory=dict)  # side-loads: users, groups, organizations
    journal_rows: bool = True  # ServiceNow: journal rows given (else read from the record's journal text)


class Quiet(dict):
    """A fixture value hypothesis may print in a failure report without drowning it."""

    def __repr__(self) -> str:
        return f"<{', '.join(self)}>"


def run(corpus: Corpus, items: list[Item], *, target: int | None = None, shared: dict | None = None):
    """normalize_many over ``items``, each one's rows keyed by id the way a connector keys them.

    When the target stole a neighbour's id, the neighbour keeps its own rows and the target reads
    them too (as it would from a connector that fetched rows by id).
    """
    extras: dict[str, dict[str, Any]] = {kind: {} for kind in EXTRA_KWARGS[corpus.system]}
    keys = [raw_id(item.raw, *EXTRA_KEY[corpus.system]) for item in items]
    for index, (item, key) in enumerate(zip(items, keys)):
        if key is not None and not (index == target and keys.count(key) > 1):
            for kind, rows in item.extras.items():
                extras[kind][key] = rows
    kwargs = {EXTRA_KWARGS[corpus.system][kind]: rows for kind, rows in extras.items()}
    if not corpus.journal_rows:
        kwargs.pop("journal_by_ticket")
    mapping = MAPPINGS.for_system(corpus.system)
    return NORMALIZE_MANY[corpus.system]([i.raw for i in items], mapping, **kwargs, **(shared or corpus.shared))


# -- the corpus ------------------------------------------------------------------------------------


def _read(path: str) -> Any:
    return json.loads((PAYLOADS / path).read_text(encoding="utf-8"))


def reference_corpora() -> dict[str, Corpus]:
    show = _read("zendesk/ticket_show_captured.json")
    audited = dict(show["ticket"], id=1)  # the recorded audits page belongs to ticket 1
    activities = _read("servicenow/csm_case_activities_doc_example.json")["result"]["entries"]
    return {
        "zendesk": Corpus("zendesk", [
            Item(show, {"comments": _read("zendesk/ticket_comments_list.json")["comments"]}),
            Item(_read("zendesk/ticket_object_doc_example.json")),
            Item(_read("zendesk/incremental_tickets_cursor_page.json")["tickets"][0]),
            Item(audited, {"audits": _read("zendesk/ticket_audits_page.json")["audits"]}),
        ], {"users": [_read("zendesk/user_show.json")["user"]],
            "groups": _read("zendesk/groups_list_page.json")["groups"],
            "organizations": [_read("zendesk/organization_show.json")["organization"]]}),
        "servicenow": Corpus("servicenow", [
            Item(_read("servicenow/incident_table_plain_values.json")["result"][0], {"journal": activities})]),
        "servicenow_text": Corpus("servicenow", [
            Item(_read("servicenow/incident_get_display_value_true.json")["result"]),
            Item(_read("servicenow/incident_table_display_value_all.json")["result"][0]),
        ], journal_rows=False),
        "jira": Corpus("jira", [Item(_read("jira/issue_get_v3_captured.json"), {
            "comments": _read("jira/issue_comments_v3.json"),
            "changelog": _read("jira/issue_changelog_v3_captured.json")["values"],
            "slas": _read("jira/jsm_request_sla_doc_example.json"),
        })]),
    }  # fmt: skip


def _client(user_env: str, secret_env: str, suffix: str = ""):
    """GET-and-decode with the sandbox credentials the environment holds."""
    session = requests.Session()
    session.auth = (os.environ[user_env] + suffix, os.environ[secret_env])
    session.headers["Accept"] = "application/json"

    def get(url: str, **params: Any) -> Any:
        response = session.get(url, params=params, timeout=20)
        response.raise_for_status()
        return response.json()

    return get


def _zendesk_live(url: str, count: int) -> tuple[list[Item], dict]:
    get = _client("DESKBRIDGE_ZENDESK_EMAIL", "DESKBRIDGE_ZENDESK_TOKEN", "/token")
    page = get(f"{url}/api/v2/incremental/tickets/cursor.json", start_time=0, include="users,groups,organizations")
    reference_ids = {1, 28, 4017, 35436}  # a batch keys comments and audits by id
    closed = sorted((t for t in page["tickets"] if t["status"] == "closed" and t["id"] not in reference_ids),
                    key=lambda t: t["id"])[:count]  # fmt: skip
    items = [Item(t, {"comments": get(f"{url}/api/v2/tickets/{t['id']}/comments.json")["comments"],
                      "audits": get(f"{url}/api/v2/tickets/{t['id']}/audits.json")["audits"]}) for t in closed]
    people = {str(row.get("author_id")) for i in items for kind in ("comments", "audits") for row in i.extras[kind]}
    people |= {str(i.raw[key]) for i in items for key in ("requester_id", "assignee_id")}
    return items, {"users": [u for u in page["users"] if str(u["id"]) in people], "groups": page["groups"]}


def _servicenow_live(instance: str, count: int) -> tuple[list[Item], list[dict]]:
    get = _client("DESKBRIDGE_SERVICENOW_USERNAME", "DESKBRIDGE_SERVICENOW_PASSWORD")
    table = f"{instance}/api/now/table/"
    query = dict(sysparm_display_value="all", sysparm_query="state=7^ORDERBYnumber", sysparm_limit=count)
    items = []
    for record in get(table + "incident", **query)["result"]:
        rows = {kind: get(table + name, sysparm_display_value="all", sysparm_query=f"{key}={record['sys_id']['value']}")
                for kind, name, key in (("journal", "sys_journal_field", "element_id"),
                                        ("audits", "sys_audit", "documentkey"), ("slas", "task_sla", "task"))}
        items.append(Item(record, {kind: answer["result"] for kind, answer in rows.items()}))
    known = {i.raw["caller_id"]["value"] for i in items}
    known |= {row["sys_created_by"]["value"] for i in items for row in i.extras["journal"]}
    users = get(table + "sys_user", sysparm_limit=1000)["result"]
    return items, [u for u in users if {u["sys_id"], u["user_name"]} & known]


def _jira_live(base: str, count: int) -> list[Item]:
    get = _client("DESKBRIDGE_JIRA_EMAIL", "DESKBRIDGE_JIRA_TOKEN")
    issues = get(f"{base}/rest/api/2/search/jql", jql="project = SUP ORDER BY key ASC", fields="*all",
                 expand="changelog", maxResults=100)["issues"]
    closed = [i for i in issues if i["fields"]["status"]["name"] == "Closed"][:count]
    return [Item(i, {"comments": get(f"{base}/rest/api/2/issue/{i['key']}/comment", expand="properties"),
                     "slas": get(f"{base}/rest/servicedeskapi/request/{i['key']}/sla")}) for i in closed]


def _salesforce_live(count: int) -> list[dict]:
    env = os.environ
    session_id, instance = SalesforceLogin(
        username=env["DESKBRIDGE_SALESFORCE_USERNAME"], password=env["DESKBRIDGE_SALESFORCE_PASSWORD"],
        security_token=env["DESKBRIDGE_SALESFORCE_SECURITY_TOKEN"], scratch_url=env["DESKBRIDGE_SALESFORCE_LOGIN_URL"])
    soql = f"SELECT {', '.join(MAPPINGS.salesforce.soql_fields())} FROM Account ORDER BY Id LIMIT {count}"
    return Salesforce(session_id=session_id, instance=instance).query(soql)["records"]


def _portless(value: Any, urls: list[str]) -> Any:
    """Captured payloads with the sandbox's per-run base URLs replaced, so the corpus never changes."""
    text = json.dumps(value, default=lambda item: item.__dict__)
    for url in urls:
        text = text.replace(url.rstrip("/"), "https://sandbox.invalid")
    return json.loads(text)


@pytest.fixture(scope="module")
def corpora(sandbox) -> dict[str, Any]:
    """Reference payloads plus closed sandbox tickets (no test may edit those: the same corpus every run)."""
    if not PAYLOADS.is_dir():
        pytest.fail(f"reference payloads not found at {PAYLOADS}")
    out: dict[str, Any] = Quiet(reference_corpora())
    env, urls = os.environ, [url for name, url in sandbox.urls.items() if name != "admin"]
    zd_items, zd_side = _zendesk_live(sandbox.urls["zendesk"], 3)
    sn_items, sn_users = _servicenow_live(env["DESKBRIDGE_SERVICENOW_INSTANCE"], 3)
    live = _portless({"zendesk": zd_items, "servicenow": sn_items, "jira": _jira_live(env["DESKBRIDGE_JIRA_URL"], 3),
                      "side": zd_side, "users": sn_users, "accounts": _salesforce_live(3)}, urls)  # fmt: skip
    for name in ("zendesk", "servicenow", "jira"):
        out[name].items += [Item(**item) for item in live[name]]
    out["servicenow"].shared["users"] = live["users"]
    side = out["zendesk"].shared
    side["users"] += live["side"]["users"]
    side["groups"] += [g for g in live["side"]["groups"] if g["id"] not in {x["id"] for x in side["groups"]}]
    out["salesforce"] = live["accounts"] + _read("salesforce/query_account_first_page_next_records_url.json")["records"]
    return out


@pytest.fixture(scope="module")
def baselines(corpora) -> dict[str, list[Ticket]]:
    """Each ticket of each corpus normalized alone and unmutated: every one must normalize."""
    out = Quiet()
    for name in CORPORA:
        out[name] = []
        for item in corpora[name].items:
            done, quarantined = run(corpora[name], [item])
            assert quarantined == [], quarantined
            out[name] += done
    return out


# -- what must hold --------------------------------------------------------------------------------


def assert_storable(model: Ticket | Account) -> None:
    """What the store does with it: JSON in UTF-8 without NUL (PostgreSQL JSONB), read back unchanged."""
    dumped = model.model_dump_json()  # raises on an unpaired surrogate
    assert "\\u0000" not in dumped, f"NUL in {model!r:.200}"
    assert type(model).model_validate_json(dumped) == model  # sized fields included (core.model.Ref, ...)


def assert_names_the_problem(system: str, entry: Quarantined, raw: Any, edits: list) -> None:
    """The reason names the system, the ticket id when the payload has one, and the field."""
    why = f"{entry.reason!r:.300} after {[str(e) for e in edits]}"
    assert entry.system.value == system and entry.reason.startswith(f"{system} ticket "), why
    record = raw.get("ticket", raw) if isinstance(raw, dict) and system == "zendesk" else raw
    if isinstance(record, dict):
        assert entry.field and f"field {entry.field!r}" in entry.reason, why
    else:  # the whole record is the bad value
        assert entry.field is None and "expected" in entry.reason and "object" in entry.reason, why
    shown = raw_id(record, *SHOWN_ID[system])
    if shown is not None:
        assert entry.ticket_id == shown and entry.reason.startswith(f"{system} ticket {shown} "), why
    assert len(entry.ticket_id) <= 128 and len(entry.field or "") <= 255, why  # the quarantine table's columns
    assert "\x00" not in entry.reason + entry.ticket_id, why
    entry.model_dump_json()  # no unpaired surrogate


def _steal_id(system: str, raw: Any, other: Any) -> None:
    """Give ``raw`` a neighbour's id: pages do repeat tickets, and bugs repeat ids."""
    def unwrap(r: Any) -> Any:
        return r["ticket"] if system == "zendesk" and isinstance(r, dict) and isinstance(r.get("ticket"), dict) else r

    key, source, target = EXTRA_KEY[system][0], unwrap(other), unwrap(raw)
    if isinstance(source, dict) and key in source and isinstance(target, dict):
        target[key] = copy.deepcopy(source[key])


# -- the properties --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CORPORA)
@FUZZ
@given(data=st.data())
def test_a_mutated_ticket_is_normalized_or_quarantined_by_name_and_never_stops_its_batch(
    name, corpora, baselines, data
):
    corpus = corpora[name]
    index = data.draw(st.integers(0, len(corpus.items) - 1), label="mutated ticket")
    original = corpus.items[index]
    bundle, edits = data.draw(mutated({"raw": original.raw, **original.extras}), label="edits")
    raw = bundle.pop("raw", None)  # a page entry that is missing altogether arrives as null
    neighbours = [item for i, item in enumerate(corpus.items) if i != index]
    if neighbours and data.draw(st.integers(0, 5), label="steal an id") == 0:
        _steal_id(corpus.system, raw, neighbours[0].raw)
    batch = neighbours[:index] + [Item(raw, bundle)] + neighbours[index:]

    tickets, quarantined = run(corpus, batch, target=index)

    assert len(tickets) + len(quarantined) == len(batch)
    left = list(tickets)
    for expected in (t for i, t in enumerate(baselines[name]) if i != index):
        assert expected in left, f"neighbour {expected.ref} changed after {[str(e) for e in edits]}"
        left.remove(expected)
    if quarantined:
        assert_names_the_problem(corpus.system, quarantined[0], raw, edits)
        event("quarantined: " + ("the record is not an object" if quarantined[0].field is None else "field named"))
    else:
        assert_storable(left[0])
        event("normalized")


@pytest.mark.parametrize("system", ["zendesk", "servicenow"])
@FUZZ
@given(data=st.data())
def test_mutated_side_loads_never_stop_a_page(system, corpora, data):
    """Users, groups and organizations serve every ticket of a page: junk in them may quarantine
    tickets (by name) or cost them a name or a role, never the page."""
    corpus = corpora[system]
    wrapped, edits = data.draw(mutated({"side": corpus.shared}), label="edits")
    side = wrapped.get("side") if isinstance(wrapped.get("side"), dict) else {}
    tickets, quarantined = run(corpus, corpus.items, shared={key: side.get(key) for key in corpus.shared})
    assert len(tickets) + len(quarantined) == len(corpus.items)
    for entry in quarantined:
        assert entry.field and f"field {entry.field!r}" in entry.reason, (entry.reason, [str(e) for e in edits])
    for ticket in tickets:
        assert_storable(ticket)


@FUZZ
@given(data=st.data())
def test_a_mutated_account_record_is_reported_by_name_and_never_hides_the_others(corpora, data):
    records, mapping = corpora["salesforce"], MAPPINGS.salesforce
    index = data.draw(st.integers(0, len(records) - 1), label="mutated record")
    wrapped, edits = data.draw(mutated({"record": records[index]}), label="edits")
    record, others = wrapped.get("record"), records[:index] + records[index + 1:]
    found, errors = to_accounts(records[:index] + [record] + records[index + 1:], mapping)
    expected, _ = to_accounts(others, mapping)
    assert all(found[key] == account for key, account in expected.items()), [str(e) for e in edits]
    if errors:
        [error], shown = errors, raw_id(record, "Id")
        why = f"{error} after {[str(e) for e in edits]}"
        assert str(error).startswith("salesforce account ") and (error.field or not isinstance(record, dict)), why
        assert shown is None or str(error).startswith(f"salesforce account {shown} "), why
    else:
        for account in found.values():
            assert_storable(account)


HOSTILE = {  # one Zendesk ticket each, edited the way a hostile page would; True: it still normalizes
    "nul_and_surrogate_in_subject": (lambda t, c: t.update(subject="Refund\x00 \ud83d please"), True),
    "nul_in_tag_and_comment": (lambda t, c: (t.update(tags=["vip\x00"]), c[0].update(body="hi\x00\udfff")), True),
    "rtl_and_combining_marks": (lambda t, c: t.update(subject="\u202eevil\u202c e\u0301\u0301"), True),
    "group_name_too_long": (lambda t, c: t.update(group_id=777), False),  # side-loaded group 777: 300 chars
    "account_id_too_long": (lambda t, c: t.update(custom_fields=[{"id": 360010004, "value": "0" * 100}]), False),
    "id_too_long": (lambda t, c: t.update(id="9" * 200), False),
    "time_out_of_range": (lambda t, c: t.update(created_at="9999-12-31T23:59:59-01:00"), False),
}


def test_hostile_values_land_in_a_real_postgresql_store_or_its_quarantine(corpora, postgres_url):
    """The end of the line: whatever normalize_many returns, the store on PostgreSQL accepts."""
    corpus = corpora["zendesk"]
    template = next(item for item in corpus.items if item.extras.get("audits") and item.raw.get("group_id"))
    raws, comments = [], {}
    for number, (edit, _) in enumerate(HOSTILE.values()):
        raw, rows = dict(copy.deepcopy(template.raw), id=9000 + number), copy.deepcopy(template.extras["comments"])
        edit(raw, rows)
        raws.append(raw)
        comments[str(raw["id"])] = rows
    side = dict(corpus.shared, groups=corpus.shared["groups"] + [{"id": 777, "name": "G" * 300}])
    tickets, quarantined = zendesk.normalize_many(raws, MAPPINGS.zendesk, comments_by_ticket=comments, **side)
    normalized = [raw_id(raw, "id") for raw, (_, ok) in zip(raws, HOSTILE.values()) if ok]
    assert [t.id for t in tickets] == normalized
    assert {q.field for q in quarantined} == {"group_name", "account_id", "id", "created_at"}

    store = Store.open(postgres_url)
    try:
        with store.transaction() as tx:
            for ticket in tickets:
                tx.upsert_ticket(ticket, None, None, None)
            for entry in quarantined:
                tx.quarantine(entry)
        with store.transaction() as tx:
            stored, entries = tx.get_tickets(System.zendesk, normalized), tx.quarantined(System.zendesk)
    finally:
        store.close()
    assert stored == {t.id: t for t in tickets}  # read back exactly as normalized
    assert sorted(e.ticket_id for e in entries) == sorted(q.ticket_id for q in quarantined)
    assert stored["9000"].subject == "Refund \ufffd please"


def test_the_corpus_is_real_and_clean(corpora, baselines):
    """Reference and sandbox tickets of every helpdesk are in it, and each normalizes unmutated."""
    sizes = {name: len(corpora[name].items) for name in CORPORA}
    assert sizes["zendesk"] >= 7 and sizes["servicenow"] >= 4 and sizes["jira"] >= 3, sizes
    assert {t.system.value for name in CORPORA for t in baselines[name]} == {"zendesk", "servicenow", "jira"}
    assert any(t.comments for t in baselines["servicenow"]) and any(t.native_slas for t in baselines["jira"])
    assert len(corpora["salesforce"]) >= 6 and corpora["servicenow"].shared["users"]
