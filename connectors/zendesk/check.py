"""``deskbridge check`` for Zendesk: who the API token is, and whether the groups the mapping names exist.

Two calls for most accounts: ``users/me`` and ``groups`` (100 a page). The
token's user must be an agent or admin (end users cannot write internal notes
or reassign), and it must be the mapping's ``integration_user``: otherwise
deskbridge's own writes would come back looking like a person's, and the
engine would respect its own reassignments as human ones.
"""

from __future__ import annotations

from connectors.base import SetupCheck, SetupProblem
from connectors.zendesk.client import ZendeskClient
from core.mapping import ZendeskMapping

FILE = "zendesk.yaml"
WRITING_ROLES = ("agent", "admin")
NOT_ECHOES = "deskbridge's own writes would not be recognised as echoes"


def check_setup(client: ZendeskClient, mapping: ZendeskMapping) -> SetupCheck:
    me = client.get("users/me.json").get("user") or {}
    problems = _identity_problems(me, mapping)
    groups = {str(g.get("id")) for g in client.get_pages("groups.json", "groups")}
    for logical, native in mapping.groups.items():
        if str(native) not in groups:
            problems.append(SetupProblem(f"Zendesk has no group {native} ({len(groups)} groups exist; Admin "
                                         f"Center > People > Groups)", FILE, ("groups", logical)))
    identity = f"{me.get('name')} <{me.get('email')}>, user {me.get('id')}, role {me.get('role')}"
    return SetupCheck(identity=identity, problems=tuple(problems))


def _identity_problems(me: dict, mapping: ZendeskMapping) -> list[SetupProblem]:
    problems = []
    if me.get("id") is None:
        problems.append(SetupProblem("users/me answered an anonymous user: the credentials were not accepted"))
    elif me.get("role") not in WRITING_ROLES:
        problems.append(SetupProblem(f"the API user's role is {me.get('role')!r}: deskbridge writes internal "
                                     f"notes and reassigns tickets, which needs an agent or admin"))
    wanted = mapping.integration_user
    email = str(me.get("email") or "")
    if wanted.email and wanted.email.casefold() != email.casefold():
        problems.append(SetupProblem(f"is {wanted.email!r}, but the credentials are {email!r}: {NOT_ECHOES}",
                                     FILE, ("integration_user", "email")))
    if wanted.id and str(wanted.id) != str(me.get("id")):
        problems.append(SetupProblem(f"is {wanted.id!r}, but the credentials are user {me.get('id')!r}: {NOT_ECHOES}",
                                     FILE, ("integration_user", "id")))
    return problems
