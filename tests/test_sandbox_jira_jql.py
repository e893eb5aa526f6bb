"""The JQL subset of the Jira emulator: tokenizer, parser and evaluator (pure, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.jira import search
from sandbox.jira.jql import EMPTY, BoolOp, Clause, JqlError, Not, parse, tokenize
from sandbox.jira.records import IssueRecord

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def issue(n: int, *, status="Waiting for support", labels=(), updated=T0, priority="Medium", assignee=None,
          resolved=None) -> IssueRecord:
    return IssueRecord(
        n=n, id=str(10000 + n), key=f"SUP-{n}", summary=f"s{n}", description="", status=status, priority=priority,
        reporter="cust", assignee=assignee, team=None, product_area=None, escalation_flag=False,
        customer_request=False, sf_account=None, request_type="Technical support", created=T0 - timedelta(days=1),
        updated=updated, resolutiondate=resolved, labels=list(labels),
    )


ISSUES = [
    issue(1, labels=["vip"], updated=T0 + timedelta(minutes=5, seconds=10)),
    issue(2, status="Resolved", updated=T0 + timedelta(minutes=5, seconds=40), resolved=T0),
    issue(3, status="Open", labels=["billing", "VIP"], updated=T0 + timedelta(minutes=6, seconds=20), priority="High"),
    issue(4, status="Waiting for customer", updated=T0 + timedelta(minutes=4, seconds=59), assignee="acc-1"),
    issue(5, status="Closed", labels=["other"], updated=T0 + timedelta(minutes=7)),
]


def keys_to_n(key: str) -> int | None:
    n = int(key.split("-")[1])
    return n if 1 <= n <= len(ISSUES) else None


def matching(jql_text: str) -> list[str]:
    query = parse(jql_text)
    predicate = search.compile_where(query, T0 + timedelta(hours=1), keys_to_n)
    _, rows = search.run(ISSUES, predicate, search.sort_key_function(query))
    return [r.key for r in rows]


def test_tokenizer_reads_quoted_strings_keywords_and_operators():
    kinds = [(t.kind, t.text) for t in tokenize('updated >= "2026/03/02 09:05" AND labels != \'a b\' || x in (1)')]
    assert kinds == [
        ("word", "updated"), ("op", ">="), ("string", "2026/03/02 09:05"), ("keyword", "and"), ("word", "labels"),
        ("op", "!="), ("string", "a b"), ("keyword", "or"), ("word", "x"), ("keyword", "in"), ("punct", "("),
        ("word", "1"), ("punct", ")"), ("end", ""),
    ]


def test_parser_builds_precedence_and_order():
    query = parse('project = SUP AND (status in (Open, "Waiting for support") OR labels = vip) '
                  "AND NOT key in (SUP-1) ORDER BY updated DESC, key")
    assert query.order == (("updated", True), ("key", False))
    assert isinstance(query.where, BoolOp) and query.where.op == "and"
    project, either, negated = query.where.parts
    assert project == Clause("project", "=", ("SUP",))
    assert either.op == "or" and either.parts[0] == Clause("status", "in", ("Open", "Waiting for support"))
    assert negated == Not(Clause("key", "in", ("SUP-1",)))


def test_parser_reads_is_empty_and_not_in():
    query = parse("labels is EMPTY or status not in (Closed, Resolved) or assignee is not null")
    assert [p.op for p in query.where.parts] == ["is", "not in", "is not"]
    assert query.where.parts[0].values == (EMPTY,)


@pytest.mark.parametrize("bad, fragment", [
    ("project = ", "Expecting either a value, list or function but got the end of the query"),
    ("project SUP", "Expecting operator but got 'SUP'. (line 1, character 9)"),
    ("status in Open", "Expecting '(' but got 'Open'"),
    ("(status = Open", "Expecting ')'"),
    ("status = Open ORDER updated", "Expecting 'by'"),
    ("status = Open Closed", "Expecting either 'OR', 'AND' or 'ORDER BY' but got 'Closed'"),
    ("status = (Open, Closed)", "Expecting a single value"),
])
def test_syntax_errors_read_like_jira(bad, fragment):
    with pytest.raises(JqlError) as err:
        parse(bad)
    assert str(err.value).startswith("Error in the JQL Query: ")
    assert fragment in str(err.value)


def test_status_equality_lists_and_negation():
    assert matching("status = 'waiting for support' ORDER BY key ASC") == ["SUP-1"]
    assert matching("status in (Open, Resolved) ORDER BY key ASC") == ["SUP-2", "SUP-3"]
    assert matching("status != Closed AND status not in (Open) ORDER BY key ASC") == ["SUP-1", "SUP-2", "SUP-4"]
    assert matching("status = 10002") == ["SUP-4"]  # by status id


def test_labels_match_case_insensitively_and_ne_skips_unlabelled():
    assert matching("labels = vip ORDER BY key ASC") == ["SUP-1", "SUP-3"]
    assert matching("labels in (billing, other) ORDER BY key ASC") == ["SUP-3", "SUP-5"]
    assert matching("labels != vip ORDER BY key ASC") == ["SUP-5"]
    assert matching("labels is EMPTY ORDER BY key ASC") == ["SUP-2", "SUP-4"]


def test_key_id_and_issuekey_select_issues():
    assert matching("key in (SUP-3, sup-1) ORDER BY key ASC") == ["SUP-1", "SUP-3"]
    assert matching("issuekey = SUP-2") == ["SUP-2"]
    assert matching("id in (10004, 10005) ORDER BY key ASC") == ["SUP-4", "SUP-5"]


def test_updated_compares_at_minute_granularity():
    # 09:05 means 09:05:00.000: both 09:05:10 and 09:05:40 are >= and even >
    assert matching('updated >= "2026/03/02 09:05" ORDER BY updated ASC') == ["SUP-1", "SUP-2", "SUP-3", "SUP-5"]
    assert matching('updated > "2026-03-02 09:05" ORDER BY updated ASC') == ["SUP-1", "SUP-2", "SUP-3", "SUP-5"]
    assert matching('updated < "2026/03/02 09:05"') == ["SUP-4"]
    assert matching('updated <= "2026/03/02 09:06" ORDER BY key ASC') == ["SUP-1", "SUP-2", "SUP-4"]
    assert matching('updated >= "2026/03/02" AND updated < "2026/03/03" ORDER BY key ASC') == [
        "SUP-1", "SUP-2", "SUP-3", "SUP-4", "SUP-5"]


def test_relative_dates_count_back_from_now():
    # now is 10:00; -55m is 09:05
    assert matching("updated >= -55m ORDER BY key ASC") == ["SUP-1", "SUP-2", "SUP-3", "SUP-5"]
    assert matching("updated >= '-1h' ORDER BY key ASC") == ["SUP-1", "SUP-2", "SUP-3", "SUP-4", "SUP-5"]


def test_resolved_priority_and_assignee():
    assert matching("resolved is not EMPTY") == ["SUP-2"]
    assert matching("priority = High") == ["SUP-3"]
    assert matching("assignee = acc-1") == ["SUP-4"]
    assert matching("assignee is EMPTY ORDER BY key ASC") == ["SUP-1", "SUP-2", "SUP-3", "SUP-5"]


def test_order_by_and_the_default_order():
    assert matching("project = SUP ORDER BY updated DESC") == ["SUP-5", "SUP-3", "SUP-2", "SUP-1", "SUP-4"]
    assert matching("project = SUP") == ["SUP-5", "SUP-4", "SUP-3", "SUP-2", "SUP-1"]  # key DESC by default
    assert matching("project = SUP ORDER BY priority DESC, key ASC")[0] == "SUP-3"


@pytest.mark.parametrize("jql_text, message", [
    ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
    ("status = Frozen", "The value 'Frozen' does not exist for the field 'status'."),
    ("colour = red", "Field 'colour' does not exist or you do not have permission to view it."),
    ("key = SUP-99", "An issue with key 'SUP-99' does not exist for field 'key'."),
    ("key = banana", "The issue key 'banana' for field 'key' is invalid."),
    ("updated > yesterday", "Date value 'yesterday' for field 'updated' is invalid."),
    ("ORDER BY updated", search.UNBOUNDED),
    ("project = SUP ORDER BY colour", "Field 'colour' does not exist"),
])
def test_semantic_errors(jql_text, message):
    with pytest.raises(JqlError) as err:
        matching(jql_text)
    assert message in str(err.value)


def test_keyset_pages_cover_everything_once_and_tokens_are_bound_to_their_query():
    query = parse("project = SUP ORDER BY updated ASC")
    keys, rows = search.run(ISSUES, search.compile_where(query, T0, keys_to_n), search.sort_key_function(query))
    seen, after = [], None
    while True:
        chunk, last = search.page(keys, rows, after, 2)
        seen += [r.key for r in chunk]
        if last is None:
            break
        token = search.encode_token("project = SUP ORDER BY updated ASC", last)
        after = search.decode_token("project = SUP ORDER BY updated ASC", token)
    assert seen == ["SUP-4", "SUP-1", "SUP-2", "SUP-3", "SUP-5"]
    with pytest.raises(ValueError):
        search.decode_token("project = SUP", token)
    with pytest.raises(ValueError):
        search.decode_token("project = SUP", "not-a-token")
