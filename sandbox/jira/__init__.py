"""Jira Cloud / Jira Service Management emulator for the deskbridge sandbox, driven by the real jira client.

``build(ctx, world)`` returns the emulator; native ids are predictable:
issue id ``str(10000 + n)``, key ``f"SUP-{n}"``, accountId ``account_id(user_key)``.
"""

from sandbox.jira.emulator import SANDBOX_TOKEN, JiraEmulator, build
from sandbox.jira.records import account_id, issue_id, issue_key

__all__ = ["SANDBOX_TOKEN", "JiraEmulator", "account_id", "build", "issue_id", "issue_key"]
