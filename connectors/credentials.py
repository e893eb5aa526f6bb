"""Credentials per system, from ``DESKBRIDGE_<SYSTEM>_*`` environment variables or a Prefect Block.

Secrets are ``SecretStr``: their repr is masked, so a credentials object can be
logged, put in an exception or an artifact without leaking. Each model knows
where it came from (``source``) so a 401 can say "check DESKBRIDGE_ZENDESK_TOKEN"
or "check the Prefect block 'zendesk-prod'" — never the value.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError, ConfigProblem


class _Credentials(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    source: str = Field(default="environment", exclude=True)

    def where(self, field: str) -> str:
        """Where an admin fixes ``field``: the env var or the block."""
        if self.source == "environment":
            return f"{self.model_config.get('env_prefix', '')}{field.upper()}"
        return f"{self.source} (field {field})"


class ZendeskCredentials(_Credentials):
    """API-token auth: ``{email}/token:{token}``."""

    model_config = SettingsConfigDict(env_prefix="DESKBRIDGE_ZENDESK_", extra="ignore", frozen=True)
    subdomain: str
    email: str
    token: SecretStr


class ServiceNowCredentials(_Credentials):
    """Basic auth against an instance URL (``https://acme.service-now.com``)."""

    model_config = SettingsConfigDict(env_prefix="DESKBRIDGE_SERVICENOW_", extra="ignore", frozen=True)
    instance: str
    username: str
    password: SecretStr


class JiraCredentials(_Credentials):
    """Jira Cloud: site URL, account e-mail and API token."""

    model_config = SettingsConfigDict(env_prefix="DESKBRIDGE_JIRA_", extra="ignore", frozen=True)
    url: str
    email: str
    token: SecretStr


class SalesforceCredentials(_Credentials):
    """Username + password + security token, logged in over SOAP at ``login_url``.

    ``login_url`` is the org's My Domain (or scratch org) URL; leave it empty for
    ``https://login.salesforce.com``.
    """

    model_config = SettingsConfigDict(env_prefix="DESKBRIDGE_SALESFORCE_", extra="ignore", frozen=True)
    username: str
    password: SecretStr
    security_token: SecretStr = SecretStr("")
    login_url: str | None = None
    domain: str | None = None  # "test" for a Salesforce sandbox org when login_url is empty


CREDENTIALS = {
    "zendesk": ZendeskCredentials,
    "servicenow": ServiceNowCredentials,
    "jira": JiraCredentials,
    "salesforce": SalesforceCredentials,
}


def credentials_from_env(system: str) -> _Credentials:
    """Read one system's credentials from the environment; missing ones name the variables to set."""
    model = CREDENTIALS[system]
    try:
        return model()
    except ValidationError as exc:
        prefix = model.model_config["env_prefix"]
        problems = [
            ConfigProblem("environment", None, f"{prefix}{str(e['loc'][0]).upper()}", _reason(e))
            for e in exc.errors(include_url=False)
        ]
        raise ConfigError(problems) from None


def _reason(err: dict) -> str:
    return "is not set" if err["type"] == "missing" else err["msg"]
