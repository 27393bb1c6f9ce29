"""Alembic environment: runs on the async engine of whichever database is configured."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import agentkeep.store  # noqa: F401  (every table module registers its tables on ``metadata``)
from agentkeep.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `agentkeep migrate`, which supplies a connection")
_run(connection)
