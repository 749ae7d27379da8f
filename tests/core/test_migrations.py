"""Migrations: core's Alembic branch and one branch per plugin, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, inspect, select, text

from core import migrate
from core.app import officium
from core.models import Company
from core.plugins import core_tables


def table_names(ext) -> set[str]:
    return set(inspect(ext.db.engine).get_table_names())


def core_head(ext) -> str:
    return migrate.script_directory(ext.plugins).get_revision("core@head").revision


def downgrade(ext, target: str) -> None:
    with migrate.migration_connection(ext.db) as connection:
        migrate.downgrade(connection, ext.plugins, target)


@pytest.fixture
def empty_ext(make_app, empty_database_url):
    return officium(make_app(empty_database_url))


def test_upgrading_an_empty_database_creates_every_core_table(empty_ext):
    assert table_names(empty_ext) == set()
    assert migrate.upgrade_all(empty_ext.db, empty_ext.plugins) == ["core@head"]
    assert core_tables() <= table_names(empty_ext)
    assert migrate.current_heads(empty_ext.db) == {core_head(empty_ext)}
    assert migrate.is_at_head(empty_ext.db, empty_ext.plugins)


def test_the_migrated_schema_matches_the_models(empty_ext):
    migrate.upgrade_all(empty_ext.db, empty_ext.plugins)
    assert migrate.check_drift(empty_ext.db, empty_ext.plugins) == []


def test_core_downgrades_to_base_and_upgrades_again(empty_ext):
    migrate.upgrade_all(empty_ext.db, empty_ext.plugins)
    downgrade(empty_ext, "core@base")
    assert table_names(empty_ext) & core_tables() == set()
    assert migrate.current_heads(empty_ext.db) == set()
    migrate.upgrade_all(empty_ext.db, empty_ext.plugins)
    assert core_tables() <= table_names(empty_ext)
    assert migrate.check_drift(empty_ext.db, empty_ext.plugins) == []


def test_every_branch_has_exactly_one_head(ext):
    scripts = migrate.script_directory(ext.plugins)
    revisions = list(scripts.walk_revisions())
    # Every revision belongs to exactly one named branch (labels carry down a branch).
    assert [rev.revision for rev in revisions if len(rev.branch_labels) != 1] == []
    labels = {label for rev in revisions for label in rev.branch_labels}
    assert {"core", "notes", "tasks", "badmigration", "seedfail"} <= labels
    # Alembic's own "heads" leaves out branches others depend on (core, notes), so count per branch.
    heads = Counter(label for rev in revisions if rev.is_head for label in rev.branch_labels)
    assert heads == Counter(dict.fromkeys(labels, 1))
    assert {label: len(scripts.get_revisions(f"{label}@head")) for label in labels} == dict.fromkeys(
        labels, 1
    )
    assert {rev.revision for rev in scripts.get_revisions("heads")} <= {
        rev.revision for rev in revisions if rev.is_head
    }


def test_a_plugins_branch_downgrades_to_base_and_leaves_core_intact(ext):
    ext.plugins.enable(ext.db, ["notes"])
    assert {"notes_note", "notes_seen_event"} <= table_names(ext)
    downgrade(ext, "notes@base")
    assert table_names(ext) & {"notes_note", "notes_seen_event"} == set()
    assert core_tables() <= table_names(ext)
    assert migrate.current_heads(ext.db) == {core_head(ext)}
    with ext.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Company)) == 1
    with migrate.migration_connection(ext.db) as connection:
        migrate.upgrade(connection, ext.plugins, "notes@head")
    assert {"notes_note", "notes_seen_event"} <= table_names(ext)
    assert migrate.check_drift(ext.db, ext.plugins) == []


def test_a_dependent_plugin_keeps_every_branch_at_head(ext):
    ext.plugins.enable(ext.db, ["tasks"])
    assert migrate.is_at_head(ext.db, ext.plugins)
    assert migrate.check_drift(ext.db, ext.plugins) == []
    rows = migrate.describe_current(ext.db, ext.plugins)
    assert [(branch, at_head) for branch, _revision, at_head in rows] == [
        ("core", True),
        ("notes", True),
        ("tasks", True),
    ]


def test_a_missing_table_is_reported_as_drift(ext):
    ext.plugins.enable(ext.db, ["notes"])
    assert migrate.check_drift(ext.db, ext.plugins) == []
    with ext.db.engine.begin() as connection:
        connection.execute(text("DROP TABLE notes_seen_event"))
    differences = migrate.check_drift(ext.db, ext.plugins)
    assert [(kind, table.name) for kind, table in differences] == [("add_table", "notes_seen_event")]


def test_a_column_added_by_hand_is_reported_as_drift(ext):
    with ext.db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE contact ADD COLUMN shoe_size INTEGER"))
    differences = migrate.check_drift(ext.db, ext.plugins)
    assert [(diff[0], diff[2], diff[3].name) for diff in differences] == [
        ("remove_column", "contact", "shoe_size")
    ]


def test_tables_of_disabled_plugins_are_not_drift(ext):
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.disable(ext.db, ["notes"])
    assert "notes_note" in table_names(ext)
    # notes' tables stay without being managed; tasks' models are loaded but its tables absent.
    assert migrate.check_drift(ext.db, ext.plugins) == []


def test_drift_is_not_checked_on_a_database_behind_head(ext):
    ext.plugins.enable(ext.db, ["notes"])
    downgrade(ext, "notes@base")
    assert not migrate.is_at_head(ext.db, ext.plugins)
    with pytest.raises(migrate.MigrationError, match="not at head: run 'officium db upgrade' first"):
        migrate.check_drift(ext.db, ext.plugins)
