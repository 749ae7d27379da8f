"""Alembic, driven from code: core's branch plus one branch per plugin.

Each call runs inside a connection the caller owns, in one transaction, so a
failing migration leaves the database at the revision it had before (both
SQLite and PostgreSQL have transactional DDL).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

import migrations
from core.errors import OfficiumError

if TYPE_CHECKING:
    from core.db import Database
    from core.plugins import PluginManager

MIGRATIONS_DIR = Path(migrations.__file__).parent
CORE_BRANCH = "core"


class MigrationError(OfficiumError):
    code = "migration_error"
    status = 409


def alembic_config(
    manager: PluginManager, connection: Connection | None = None, url: str | None = None
) -> Config:
    """An Alembic config whose version locations are core's and every installed plugin's."""
    config = Config(stdout=io.StringIO())
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    locations = [str(MIGRATIONS_DIR / "versions")]
    locations += [str(p.migrations_path) for p in manager.plugins.values() if p.migrations_path]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    config.attributes["include_table"] = managed_tables_filter(manager)
    return config


def managed_tables_filter(manager: PluginManager) -> Any:
    """Autogenerate compares only core's tables and those of enabled plugins."""
    from core.plugins import core_tables

    core = core_tables()
    enabled_prefixes = tuple(f"{name}_" for name in manager.enabled)

    def include(table_name: str) -> bool:
        if table_name in core:
            return True
        return bool(enabled_prefixes) and table_name.startswith(enabled_prefixes)

    return include


def autogenerate_filters(include_table: Any) -> dict[str, Any]:
    """Alembic ``include_name``/``include_object`` that keep autogenerate to managed tables."""

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table" and include_table is not None:
            return name == "alembic_version" or include_table(name)
        return True

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if include_table is None:
            return True
        if type_ == "table":
            return include_table(name)
        table = getattr(obj, "table", None)
        return include_table(table.name) if table is not None else True

    return {"include_name": include_name, "include_object": include_object}


def check_drift(db: Database, manager: PluginManager) -> list[Any]:
    """Differences between the models (core + enabled plugins) and the migrated database."""
    from alembic.autogenerate import compare_metadata

    from core.db import Base

    if not is_at_head(db, manager):
        raise MigrationError("the database is not at head: run 'officium db upgrade' first")
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "target_metadata": Base.metadata,
                **autogenerate_filters(managed_tables_filter(manager)),
            },
        )
        return compare_metadata(context, Base.metadata)


@contextmanager
def migration_connection(db: Database) -> Iterator[Connection]:
    """A connection in one transaction, committed on success, for migrations plus seed data.

    On SQLite, foreign keys are switched off around it (batch mode copies tables,
    which would trip them) and checked with ``PRAGMA foreign_key_check`` by the
    caller before commit.
    """
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Outside a transaction: PRAGMA foreign_keys is a no-op inside one.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def check_foreign_keys(connection: Connection) -> None:
    """Refuse to commit a SQLite migration that left dangling references."""
    if connection.dialect.name != "sqlite":
        return
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise MigrationError(f"foreign key check failed after migration: {problems[:5]}")


def upgrade(connection: Connection, manager: PluginManager, target: str) -> None:
    command.upgrade(alembic_config(manager, connection), target)


def downgrade(connection: Connection, manager: PluginManager, target: str) -> None:
    command.downgrade(alembic_config(manager, connection), target)


def upgrade_all(db: Database, manager: PluginManager) -> list[str]:
    """Bring core and every enabled plugin to head, in one transaction. Returns the targets."""
    targets = [f"{CORE_BRANCH}@head"]
    targets += [f"{p.name}@head" for p in manager.enabled_plugins() if p.migrations_path]
    with migration_connection(db) as connection:
        for target in targets:
            upgrade(connection, manager, target)
        check_foreign_keys(connection)
    return targets


def current_heads(db: Database) -> set[str]:
    """The revisions the database is at (one per branch)."""
    with db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def script_directory(manager: PluginManager) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(manager))


def describe_current(db: Database, manager: PluginManager) -> list[tuple[str, str, bool]]:
    """``(branch, revision, at_head)`` for each branch the database has."""
    scripts = script_directory(manager)
    current = current_heads(db)
    applied = applied_revisions(scripts, current)
    rows = [("?", rev_id, False) for rev_id in current if _known_revision(scripts, rev_id) is None]
    for rev_id in applied:
        revision = scripts.get_revision(rev_id)
        # The newest applied revision of its branch (applied dependents elsewhere do not count).
        if not (revision.nextrev & applied):
            rows.append((_branch_of(scripts, revision), rev_id, revision.is_head))
    return sorted(rows)


def applied_revisions(scripts: ScriptDirectory, current: set[str]) -> set[str]:
    """Every known revision the database has: its heads and all they stand on.

    Alembic keeps only the dependent's row in ``alembic_version`` when a branch
    ``depends_on`` another (a plugin on core), so the table alone does not list
    every branch.
    """
    known = [rev_id for rev_id in current if _known_revision(scripts, rev_id) is not None]
    return {rev.revision for rev in scripts.iterate_revisions(known, "base")} if known else set()


def _known_revision(scripts: ScriptDirectory, rev_id: str) -> Any:
    try:
        return scripts.get_revision(rev_id)
    except Exception:  # a revision of a plugin that is no longer installed
        return None


def _branch_of(scripts: ScriptDirectory, revision: Any) -> str:
    for rev in scripts.iterate_revisions(revision.revision, "base"):
        if rev.branch_labels:
            return sorted(rev.branch_labels)[0]
    return "?"


def is_at_head(db: Database, manager: PluginManager) -> bool:
    """True when core and every enabled plugin are at their head revision."""
    scripts = script_directory(manager)
    current = applied_revisions(scripts, current_heads(db))
    wanted = {scripts.get_revision(f"{CORE_BRANCH}@head").revision}
    for plugin in manager.enabled_plugins():
        if plugin.migrations_path:
            wanted.add(scripts.get_revision(f"{plugin.name}@head").revision)
    return wanted <= current


def database_initialised(connection: Connection) -> bool:
    try:
        connection.execute(text("SELECT 1 FROM alembic_version"))
    except Exception:
        return False
    return True
