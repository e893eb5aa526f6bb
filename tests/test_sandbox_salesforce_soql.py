"""The Salesforce emulator's SOQL subset: parser, binder errors and query semantics (pure, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.salesforce import query
from sandbox.salesforce.ids import is_valid_id, to_18
from sandbox.salesforce.records import Row
from sandbox.salesforce.schema import ACCOUNT, USER
from sandbox.salesforce.soql import Compare, InList, Junction, Not, SoqlError, parse

OWNER_A = to_18("005Dm0000000001")
OWNER_B = to_18("005Dm0000000002")


def _account(seq: int, name: str | None, *, tier: str | None = "Standard Support", owner: str | None = OWNER_A,
             modified: datetime | None = None, deleted: bool = False) -> Row:
    stamp = modified or datetime(2025, 1, seq + 1, tzinfo=UTC)
    return Row(ACCOUNT, seq, {
        "Id": to_18(f"001Dm00000{seq:05d}"), "IsDeleted": deleted, "Name": name, "Industry": None,
        "OwnerId": owner, "Support_Tier__c": tier, "SystemModstamp": stamp, "LastModifiedDate": stamp,
    })


USERS = {
    OWNER_A[:15]: Row(USER, 100, {"Id": OWNER_A, "Name": "Ada Owner", "Email": "ada@acme.test", "IsActive": True}),
    OWNER_B[:15]: Row(USER, 101, {"Id": OWNER_B, "Name": "Bob Owner", "Email": "bob@acme.test", "IsActive": False}),
}
ROWS = [
    _account(0, "Burlington Textiles", tier="Premier Support"),
    _account(1, "GenePoint", owner=OWNER_B),
    _account(2, "sForce", tier=None),
    _account(3, None, tier="Business Support", owner=None),
    _account(4, "burlington annex", tier="Business Support"),
]


def resolve(record_id: str) -> Row | None:
    return USERS.get(record_id[:15])


def names(text: str, rows: list[Row] = ROWS) -> list[str | None]:
    return [r.get("Name") for r in query.run(query.plan(text), rows, resolve)]


def error_of(text: str) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        query.plan(text)
    return caught.value


# -- parser -----------------------------------------------------------------------


def test_parse_select_list_with_relationship_fields_and_all_clauses():
    q = parse("select Id, Name, Owner.Email from Account where Id in ('a', 'b') and Name like 'B%' "
              "order by Name desc nulls last, Id limit 10 offset 5")
    assert [p.text for p in q.fields] == ["Id", "Name", "Owner.Email"]
    assert q.sobject.text == "Account" and q.limit == 10 and q.offset == 5
    assert isinstance(q.where, Junction) and q.where.op == "AND"
    first, second = q.where.operands
    assert isinstance(first, InList) and [v.value for v in first.values] == ["a", "b"] and not first.negated
    assert isinstance(second, Compare) and second.op == "LIKE" and second.value.value == "B%"
    assert [(o.path.text, o.descending, o.nulls_last) for o in q.order_by] == [("Name", True, True), ("Id", False, False)]


def test_parse_literals_datetime_date_boolean_null_number_and_escapes():
    q = parse("SELECT Id FROM Account WHERE (SystemModstamp > 2024-01-01T00:00:00Z OR CreatedDate >= "
              "2024-06-01T10:00:00.000+02:00) AND NOT Name = 'O\\'Brien \\\\ Co' AND IsDeleted != true "
              "AND Industry = null AND Name NOT IN ('x')")
    parts = q.where.operands
    window = parts[0]
    assert isinstance(window, Junction) and window.op == "OR"
    assert window.operands[0].value.value == datetime(2024, 1, 1, tzinfo=UTC)
    assert window.operands[1].value.value == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    assert isinstance(parts[1], Not) and parts[1].operand.value.value == "O'Brien \\ Co"
    assert parts[2].op == "!=" and parts[2].value.value is True
    assert parts[3].value.kind == "null"
    assert isinstance(parts[4], InList) and parts[4].negated


def test_parse_count_and_not_equal_spelled_both_ways():
    assert parse("SELECT COUNT() FROM Account").count_only
    assert parse("SELECT Id FROM Account WHERE Name <> 'x'").where.op == "!="


@pytest.mark.parametrize("text, token", [
    ("SELEC Id FROM Account", "SELEC"),
    ("SELECT Id FROM Account WHERE", "<EOF>"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Id = 'b' OR Name = 'c'", "OR"),
    ("SELECT Id FROM Account LIMIT ten", "ten"),
    ("SELECT Id FROM Account WHERE Name = 'unterminated", "'"),
    ("SELECT Id, FROM Account", "FROM"),
    ("SELECT Id FROM Account GROUP BY Name", "GROUP"),
    ("SELECT FIELDS(ALL) FROM Account", "("),
])
def test_unsupported_or_broken_syntax_is_malformed_query_pointing_at_the_token(text, token):
    err = error_of(text)
    assert err.code == "MALFORMED_QUERY"
    assert err.message.endswith(f"unexpected token: '{token}'")
    assert "ERROR at Row:1:Column:" in err.message


def test_error_message_caret_sits_under_the_offending_token():
    err = error_of("SELECT Id FROM Account WHERE Nmae = 'x'")
    lines = err.message.split("\n")
    assert lines[1] == "SELECT Id FROM Account WHERE Nmae = 'x'"
    assert lines[2].index("^") == lines[1].index("Nmae")
    assert lines[3] == f"ERROR at Row:1:Column:{lines[1].index('Nmae') + 1}"


# -- binding: names and literal types -------------------------------------------------


def test_unknown_object_field_and_relationship_use_the_real_error_codes():
    assert error_of("SELECT Id FROM Case__x").code == "INVALID_TYPE"
    unknown = error_of("SELECT Id, Tier__c FROM Account")
    assert unknown.code == "INVALID_FIELD" and "No such column 'Tier__c' on entity 'Account'" in unknown.message
    rel = error_of("SELECT Manager.Name FROM Account")
    assert rel.code == "INVALID_FIELD" and "Didn't understand relationship 'Manager'" in rel.message
    deep = error_of("SELECT Owner.Manager.Name FROM Account")
    assert "relationship 'Manager'" in deep.message
    on_user = error_of("SELECT Owner.Tier__c FROM Account")
    assert "No such column 'Tier__c' on entity 'User'" in on_user.message


def test_field_and_object_names_are_case_insensitive_but_results_use_canonical_names():
    plan = query.plan("select id, support_tier__c, owner.email from account")
    assert [(p.relationship.name if p.relationship else None, p.field.name) for p in plan.select] == [
        (None, "Id"), (None, "Support_Tier__c"), ("Owner", "Email")]
    record = query.project(plan, ROWS[0], resolve, "59.0")
    assert list(record) == ["attributes", "Id", "Support_Tier__c", "Owner"]
    assert record["Owner"] == {"attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{OWNER_A}"},
                               "Email": "ada@acme.test"}


def test_a_malformed_id_anywhere_in_an_in_list_fails_the_whole_query():
    ids = ", ".join(f"'{r.id}'" for r in ROWS) + ", 'not-an-id'"
    err = error_of(f"SELECT Id FROM Account WHERE Id IN ({ids})")
    assert err.code == "INVALID_QUERY_FILTER_OPERATOR" and err.message.endswith("invalid ID field: not-an-id")


@pytest.mark.parametrize("text, kind", [
    ("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01'", "dateTime"),
    ("SELECT Id FROM Account WHERE Name = 5", "string"),
    ("SELECT Id FROM Account WHERE IsDeleted = 'false'", "boolean"),
])
def test_literal_of_the_wrong_type_is_invalid_field(text, kind):
    err = error_of(text)
    assert err.code == "INVALID_FIELD"
    assert f"must be of type {kind}" in err.message


def test_like_on_a_non_text_field_and_a_too_large_offset_are_refused():
    assert error_of("SELECT Id FROM Account WHERE IsDeleted LIKE 'x'").code == "INVALID_QUERY_FILTER_OPERATOR"
    assert error_of("SELECT Id FROM Account OFFSET 2001").code == "NUMBER_OUTSIDE_VALID_RANGE"


# -- semantics ----------------------------------------------------------------------------


def test_equality_and_like_ignore_case():
    assert names("SELECT Id FROM Account WHERE Name = 'GENEPOINT'") == ["GenePoint"]
    assert names("SELECT Id FROM Account WHERE Name LIKE 'burl%'") == ["Burlington Textiles", "burlington annex"]
    assert names("SELECT Id FROM Account WHERE Name LIKE '_Force'") == ["sForce"]
    assert names("SELECT Id FROM Account WHERE Name LIKE 'gene'") == []


def test_not_equal_and_not_in_keep_nulls_while_ranges_drop_them():
    assert names("SELECT Id FROM Account WHERE Support_Tier__c != 'Business Support'") == [
        "Burlington Textiles", "GenePoint", "sForce"]
    assert names("SELECT Id FROM Account WHERE Support_Tier__c NOT IN ('Standard Support', 'Premier Support')") == [
        "sForce", None, "burlington annex"]
    assert names("SELECT Id FROM Account WHERE Support_Tier__c = null") == ["sForce"]
    assert names("SELECT Id FROM Account WHERE Name > 'r'") == ["sForce"]


def test_ids_match_in_15_and_18_character_form_and_the_index_narrows_candidates():
    wanted = [ROWS[1].id, ROWS[4].id[:15]]
    plan = query.plan(f"SELECT Id FROM Account WHERE Id IN ('{wanted[0]}', '{wanted[1]}') AND Name != null")
    assert query.id_candidates(plan.where) == {ROWS[1].id[:15], ROWS[4].id[:15]}
    assert [r.id for r in query.run(plan, ROWS, resolve)] == [ROWS[1].id, ROWS[4].id]
    assert query.id_candidates(query.plan("SELECT Id FROM Account WHERE Name = 'x'").where) is None


def test_datetime_window_boolean_not_and_parentheses():
    text = ("SELECT Id FROM Account WHERE SystemModstamp >= 2025-01-02T00:00:00Z AND "
            "(Name = 'GenePoint' OR NOT Support_Tier__c = 'Business Support') AND IsDeleted = false")
    assert names(text) == ["GenePoint", "sForce"]


def test_relationship_fields_filter_and_project_null_parents():
    assert names("SELECT Id FROM Account WHERE Owner.Email = 'BOB@acme.test'") == ["GenePoint"]
    assert names("SELECT Id FROM Account WHERE Owner.IsActive = true") == [
        "Burlington Textiles", "sForce", "burlington annex"]
    plan = query.plan("SELECT Name, Owner.Name, Owner.Email FROM Account WHERE Name = null")
    (row,) = query.run(plan, ROWS, resolve)
    assert query.project(plan, row, resolve, "62.0")["Owner"] is None


def test_order_by_is_case_insensitive_with_nulls_first_by_default_in_both_directions():
    assert names("SELECT Id FROM Account ORDER BY Name") == [
        None, "burlington annex", "Burlington Textiles", "GenePoint", "sForce"]
    assert names("SELECT Id FROM Account ORDER BY Name DESC") == [
        None, "sForce", "GenePoint", "Burlington Textiles", "burlington annex"]
    assert names("SELECT Id FROM Account ORDER BY Name DESC NULLS LAST LIMIT 2") == ["sForce", "GenePoint"]
    assert names("SELECT Id FROM Account ORDER BY Support_Tier__c NULLS LAST, Name DESC") == [
        None, "burlington annex", "Burlington Textiles", "GenePoint", "sForce"]


def test_limit_offset_and_count():
    assert names("SELECT Id FROM Account LIMIT 2 OFFSET 1") == ["GenePoint", "sForce"]
    plan = query.plan("SELECT COUNT() FROM Account WHERE Support_Tier__c LIKE '%Support'")
    assert plan.count_only and len(query.run(plan, ROWS, resolve)) == 4


def test_projection_renders_datetimes_in_salesforce_form_and_keeps_select_order():
    plan = query.plan("SELECT SystemModstamp, Name, Id FROM Account WHERE Name = 'sForce'")
    record = query.project(plan, query.run(plan, ROWS, resolve)[0], resolve, "59.0")
    assert list(record) == ["attributes", "SystemModstamp", "Name", "Id"]
    assert record["SystemModstamp"] == "2025-01-03T00:00:00.000+0000"


def test_id_helpers_agree_with_the_checksums_in_the_reference_payloads(payloads_dir):
    import json

    ids = [r["Id"] for f in ("query_account_first_page_next_records_url.json", "query_case_page.json")
           for r in json.loads((payloads_dir / "salesforce" / f).read_text())["records"]]
    assert ids and all(to_18(i[:15]) == i and is_valid_id(i) for i in ids)
    assert not is_valid_id("001dM00003jU9G") and not is_valid_id("001dM00003jU9Gy-AK")
