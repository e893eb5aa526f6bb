"""``deskbridge check`` for Salesforce: log in, and query one Account with every field the mapping names.

Two calls: the SOAP login and one SOQL query (``LIMIT 1``). Salesforce checks
each selected field, so a misspelt tier field in mapping/salesforce.yaml comes
back as INVALID_FIELD here instead of giving every account the default tier
during a sync.
"""

from __future__ import annotations

from connectors.base import SetupCheck, SetupProblem
from connectors.salesforce.client import SalesforceClient
from core.errors import FatalAPIError
from core.mapping import SalesforceMapping

FILE = "salesforce.yaml"


def check_setup(client: SalesforceClient, mapping: SalesforceMapping) -> SetupCheck:
    client.login()  # a refused login raises: the credentials are the problem, not the mapping
    fields = mapping.soql_fields()
    problems = []
    records: list[dict] = []
    try:
        records = client.query_records(f"SELECT {', '.join(fields)} FROM {mapping.object} LIMIT 1")
    except FatalAPIError as exc:
        if exc.status != 400:
            raise
        problems.append(SetupProblem(f"Salesforce refused a query of {', '.join(fields)}: {exc}", FILE, ("fields",)))
    note = "" if records or problems else f"; the org has no {mapping.object} yet"
    return SetupCheck(identity=f"{client.credentials.username}{note}", problems=tuple(problems))
