"""``deskbridge check`` for Jira Service Management: who the API token is, and whether the mapped fields exist.

Calls after connecting: ``GET /myself``, ``GET /field``, then per select field
its contexts and their options. The token's
user must be the mapping's ``integration_user`` (its accountId or e-mail is
how deskbridge recognises its own comments and changes), and every custom
field the mapping names (the team field that routes issues, the flags, the
account id, the SLA fields, the extras) must exist on the site. The options
of the team field (the mapped ``groups``) and of the product-area field (its
``values``) come from the field-context API, which needs the Administer Jira
permission: without it they are reported as not checked, not as a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import SetupCheck, SetupProblem, integration_user_problems
from connectors.jira.client import JiraClient
from core.errors import FatalAPIError
from core.mapping import JiraMapping

FILE = "jira.yaml"
Key = tuple[str | int, ...]


def mapped_fields(mapping: JiraMapping) -> Iterator[tuple[Key, str]]:
    """(mapping key, field id) for every field the mapping names."""
    fields = mapping.fields
    yield ("fields", "team", "field"), str(fields.team.field)
    if fields.request_type is not None:
        yield ("fields", "request_type", "field"), str(fields.request_type.field)
    for name, ref in fields.named().items():
        yield ("fields", name, "field"), str(ref.field)
    for name, field_id in fields.extra.items():
        yield ("fields", "extra", name), str(field_id)
    for i, sla in enumerate(fields.slas):
        yield ("fields", "slas", i, "field"), str(sla.field)


def check_setup(client: JiraClient, mapping: JiraMapping) -> SetupCheck:
    me = client.myself()
    email = str(me.get("emailAddress") or "")
    account_id = me.get("accountId")
    problems = integration_user_problems(FILE, mapping.integration_user, email=email, id_name="accountId",
                                         user_id=None if account_id is None else str(account_id))
    site_fields = {str(f.get("id")) for f in client.fields()}
    for key, field_id in mapped_fields(mapping):
        if field_id not in site_fields:
            problems.append(SetupProblem(f"the site has no field {field_id}", FILE, key))
    not_checked = []
    for field_key, field_id, wanted_values in _mapped_options(mapping):
        if field_id not in site_fields:
            continue  # reported above
        try:
            options = client.field_options(field_id)
        except FatalAPIError as exc:
            if exc.status != 403:
                raise
            not_checked.append(f"the options of {field_id} ({'.'.join(field_key)}): listing them needs the "
                               f"Administer Jira permission, which the API user does not have")
            continue
        enabled = {str(o.get("value")) for o in options if not o.get("disabled")}
        for key, value in wanted_values:
            if value not in enabled:
                problems.append(SetupProblem(f"{value!r} is not an enabled option of {field_id}; its options: "
                                             f"{', '.join(sorted(enabled)) or 'none'}", FILE, key))
    identity = f"{me.get('displayName')} <{email or 'e-mail hidden'}>, accountId {me.get('accountId')}"
    return SetupCheck(identity=identity, problems=tuple(problems), not_checked=tuple(not_checked))


def _mapped_options(mapping: JiraMapping) -> Iterator[tuple[Key, str, list[tuple[Key, str]]]]:
    """(field key, field id, [(mapping key, option value)]) for the select fields whose options the mapping names:
    the team field (the values of ``groups``) and the product area (the keys of its ``values``)."""
    team = [(("groups", logical), str(value)) for logical, value in mapping.groups.items()]
    yield ("fields", "team", "field"), str(mapping.fields.team.field), team
    area = mapping.fields.product_area
    if area is not None and area.values:
        yield (("fields", "product_area", "field"), str(area.field),
               [(("fields", "product_area", "values", native), native) for native in area.values])
