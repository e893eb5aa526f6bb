"""``deskbridge check`` for ServiceNow: who the credentials are, and whether the mapped groups exist.

Three Table API reads: the API user's ``sys_user`` record, the mapping's
groups in ``sys_user_group`` by sys_id, and one incident with every mapped
column (the Table API leaves out columns it does not have). The API user must be the mapping's
``integration_user``: its ``user_name`` is what journal entries and audits
carry, and deskbridge recognises its own writes (echoes) by it.
"""

from __future__ import annotations

from connectors.base import SetupCheck, SetupProblem, integration_user_problems
from connectors.servicenow.client import ServiceNowApi
from core.mapping import ServiceNowMapping

FILE = "servicenow.yaml"


def check_setup(api: ServiceNowApi, mapping: ServiceNowMapping) -> SetupCheck:
    username = api.creds.username
    users, _ = api.list_rows("sys_user", f"user_name={username}", columns=["sys_id", "user_name", "name"], limit=1)
    me = users[0] if users else {}
    problems = []
    if not users:
        problems.append(SetupProblem(f"no sys_user has user_name {username!r}: the API user needs read access to "
                                     f"its own sys_user record"))
    problems += integration_user_problems(FILE, mapping.integration_user, login=username,
                                          user_id=me.get("sys_id"), id_name="sys_user")
    wanted_groups = {str(native): logical for logical, native in mapping.groups.items()}
    found, _ = api.list_rows("sys_user_group", "sys_idIN" + ",".join(wanted_groups), columns=["sys_id", "name"],
                             limit=max(1, len(wanted_groups)))  # fmt: skip
    present = {row.get("sys_id") for row in found}
    for native, logical in wanted_groups.items():
        if native not in present:
            problems.append(SetupProblem(f"ServiceNow has no sys_user_group {native}", FILE, ("groups", logical)))
    column_problems, not_checked = _column_problems(api, mapping)
    identity = f"{me.get('name') or '?'} (user_name {username}, sys_id {me.get('sys_id') or '?'})"
    return SetupCheck(identity=identity, problems=tuple(problems + column_problems), not_checked=not_checked)


def _mapped_columns(mapping: ServiceNowMapping) -> list[tuple[tuple[str, ...], str]]:
    fields = mapping.fields
    columns = [(("fields", name, "field"), str(f.field)) for name, f in fields.named().items()]
    return columns + [(("fields", "extra", name), str(column)) for name, column in fields.extra.items()]


def _column_problems(api: ServiceNowApi, mapping: ServiceNowMapping) -> tuple[list[SetupProblem], tuple[str, ...]]:
    """Read one incident asking for every mapped column: the Table API leaves out the ones it does not have
    (or that the API user may not read), so what is missing from the answer is the problem."""
    columns = _mapped_columns(mapping)
    rows, _ = api.list_rows("incident", "ORDERBYDESCsys_updated_on", columns=["sys_id", *(c for _, c in columns)],
                            limit=1)  # fmt: skip
    if not rows:
        return [], ("the mapped incident columns: no incident is readable yet",)
    present = set(rows[0])
    return [SetupProblem(f"incident has no column {column}, or the API user may not read it", FILE, key)
            for key, column in columns if column not in present], ()
