"""A stateful Zendesk Support emulator that the real zenpy client drives over HTTPS.

``build(ctx, world)`` returns the emulator (app, credentials, env, create,
human, view, ticket_ids). Native ids are predictable: tickets are numbered
``SeedTicket.n``, users and organizations come from :func:`user_id` and
:func:`organization_id`. See docs/sandbox-zendesk.md.
"""

from sandbox.zendesk.emulator import ZendeskEmulator, build
from sandbox.zendesk.ids import INTEGRATION_EMAIL, organization_id, user_id

__all__ = ["INTEGRATION_EMAIL", "ZendeskEmulator", "build", "organization_id", "user_id"]
