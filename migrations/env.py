"""Alembic environment shared by core and every plugin branch.

Officium runs Alembic from code (``core.migrate``), handing it an open
connection inside the caller's transaction; offline mode prints SQL.
"""

from __future__ import annotations

from alembic import context

import core.models  # noqa: F401 - core tables in the metadata
from core.db import Base, make_engine
from core.migrate import autogenerate_filters

config = context.config
include_table = config.attributes.get("include_table")


def configure(**kwargs) -> None:  # noqa: ANN003
    context.configure(
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        **autogenerate_filters(include_table),
        **kwargs,
    )


def run_offline() -> None:
    configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
