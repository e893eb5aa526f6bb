"""Prefect Blocks holding each system's credentials, for ops who keep secrets in Prefect.

A Block is a pydantic model stored (encrypted for SecretStr fields) by the
Prefect server; a deployment names one in its parameters
(``credentials_block: zendesk-prod``). Without a block, credentials come from
``DESKBRIDGE_<SYSTEM>_*`` environment variables. Both paths produce the same
:mod:`connectors.credentials` model, so connectors never know the difference.

Register the types once with ``prefect block register -m flows.blocks``.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import SecretStr

from connectors.credentials import CREDENTIALS, credentials_from_env


class ZendeskCredentialsBlock(Block):
    _block_type_name = "deskbridge Zendesk credentials"
    subdomain: str
    email: str
    token: SecretStr


class ServiceNowCredentialsBlock(Block):
    _block_type_name = "deskbridge ServiceNow credentials"
    instance: str
    username: str
    password: SecretStr


class JiraCredentialsBlock(Block):
    _block_type_name = "deskbridge Jira credentials"
    url: str
    email: str
    token: SecretStr


class SalesforceCredentialsBlock(Block):
    _block_type_name = "deskbridge Salesforce credentials"
    username: str
    password: SecretStr
    security_token: SecretStr = SecretStr("")
    login_url: str | None = None
    domain: str | None = None


BLOCKS: dict[str, type[Block]] = {
    "zendesk": ZendeskCredentialsBlock,
    "servicenow": ServiceNowCredentialsBlock,
    "jira": JiraCredentialsBlock,
    "salesforce": SalesforceCredentialsBlock,
}


def load_credentials(system: str, block_name: str | None = None):
    """The system's credentials from the named Block, or from the environment when no block is named."""
    if not block_name:
        return credentials_from_env(system)
    block = BLOCKS[system].load(block_name)
    values = {name: getattr(block, name) for name in CREDENTIALS[system].model_fields if name != "source"}
    return CREDENTIALS[system](**values, source=f"Prefect block '{block_name}'")
