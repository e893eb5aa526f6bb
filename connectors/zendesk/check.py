"""``deskbridge check`` for Zendesk: who the API token is, and whether the groups the mapping names exist.

Three calls for most accounts: ``users/me``, ``groups`` and ``ticket_fields``
(100 a page). The token's user must be an agent or admin (end users cannot
write internal notes or reassign), and it must be the mapping's
``integration_user``: otherwise deskbridge's own writes would come back
looking like a person's, and the engine would respect its own reassignments
as human ones. Every mapped group and ticket field must exist (the fields
active), and every value the mapping gives a drop-down must be one of its
options.
"""

from __future__ import annotations

from connectors.base import SetupCheck, SetupProblem, integration_user_problems
from connectors.zendesk.client import ZendeskClient
from core.mapping import ZendeskMapping

FILE = "zendesk.yaml"
WRITING_ROLES = ("agent", "admin")


def check_setup(client: ZendeskClient, mapping: ZendeskMapping) -> SetupCheck:
    me = client.get("users/me.json").get("user") or {}
    problems = _identity_problems(me, mapping)
    groups = {str(g.get("id")) for g in client.get_pages("groups.json", "groups")}
    for logical, native in mapping.groups.items():
        if str(native) not in groups:
            problems.append(SetupProblem(f"Zendesk has no group {native} ({len(groups)} groups exist; Admin "
                                         f"Center > People > Groups)", FILE, ("groups", logical)))
    problems += _field_problems(mapping, client.get_pages("ticket_fields.json", "ticket_fields"))
    identity = f"{me.get('name')} <{me.get('email')}>, user {me.get('id')}, role {me.get('role')}"
    return SetupCheck(identity=identity, problems=tuple(problems))


def _field_problems(mapping: ZendeskMapping, ticket_fields: list[dict]) -> list[SetupProblem]:
    """Every mapped ticket field exists and is active; every mapped drop-down value is one of its options."""
    by_id = {str(f.get("id")): f for f in ticket_fields}
    fields = mapping.fields
    wanted = [(("fields", name, "field"), str(f.field), getattr(f, "values", None))
              for name, f in fields.named().items()]
    wanted += [(("fields", "extra", name), str(field_id), None) for name, field_id in fields.extra.items()]
    problems = []
    for key, field_id, values in wanted:
        field = by_id.get(field_id)
        if field is None:
            problems.append(SetupProblem(f"Zendesk has no ticket field {field_id} (Admin Center > Objects and "
                                         f"rules > Ticket fields)", FILE, key))
            continue
        if not field.get("active", True):
            problems.append(SetupProblem(f"ticket field {field_id} ({field.get('title')!r}) is inactive", FILE, key))
        options = {str(o.get("value")) for o in field.get("custom_field_options") or ()}
        for native in values or ():
            if options and native not in options:
                problems.append(SetupProblem(f"{native!r} is not an option of ticket field {field_id} "
                                             f"({field.get('title')!r}); its options: {', '.join(sorted(options))}",
                                             FILE, (*key[:-1], "values", native)))
    return problems


def _identity_problems(me: dict, mapping: ZendeskMapping) -> list[SetupProblem]:
    problems = []
    if me.get("id") is None:
        problems.append(SetupProblem("users/me answered an anonymous user: the credentials were not accepted"))
    elif me.get("role") not in WRITING_ROLES:
        problems.append(SetupProblem(f"the API user's role is {me.get('role')!r}: deskbridge writes internal "
                                     f"notes and reassigns tickets, which needs an agent or admin"))
    user_id = me.get("id")
    return problems + integration_user_problems(FILE, mapping.integration_user, email=str(me.get("email") or ""),
                                                user_id=None if user_id is None else str(user_id))
