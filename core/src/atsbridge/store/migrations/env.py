"""Alembic environment: always driven programmatically by ``atsbridge.store.migrate``.

The caller puts an open SQLAlchemy connection in ``config.attributes["connection"]``; there is
no alembic.ini and no offline (SQL script) mode.
"""

from __future__ import annotations

import atsbridge.store.tables  # noqa: F401  (registers the tables on the metadata)
from alembic import context
from sqlmodel import SQLModel

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
