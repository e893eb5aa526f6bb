"""Alembic environment: runs on the connection that core.store.schema hands over.

There is no alembic.ini: the caller builds the Config in code and puts the open
connection in ``config.attributes["connection"]``.
"""

from alembic import context

from core.store.tables import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=config.attributes["version_table"],
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
)
with context.begin_transaction():
    context.run_migrations()
