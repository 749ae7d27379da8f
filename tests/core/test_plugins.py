"""The plugin manager: discovery, dependencies, live enable/disable, isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from core.app import officium
from core.errors import PluginError
from core.models import PluginState
from core.services.users import all_permissions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "testplugins"


def table_names(ext) -> set[str]:
    return set(inspect(ext.db.engine).get_table_names())


def test_installed_plugins_are_discovered_with_their_metadata(ext):
    notes = ext.plugins.describe("notes")
    assert notes["title"] == "Notes"
    assert notes["version"] == "1.2.0"
    assert notes["category"] == "front office"
    assert notes["status"] == "disabled"
    assert ext.plugins.describe("tasks")["depends"] == ["notes"]


def test_strict_mode_re_raises_import_errors(make_app, database_url):
    with pytest.raises(ImportError, match="needs a library"):
        make_app(database_url, OFFICIUM_STRICT_PLUGINS="1")


def test_only_the_plugins_named_in_officium_plugins_are_loaded(make_app, database_url):
    ext = officium(make_app(database_url, OFFICIUM_PLUGINS="notes, tasks"))
    assert sorted(ext.plugins.plugins) == ["notes", "tasks"]


def test_a_plugin_that_fails_to_import_is_reported_as_broken(ext):
    broken = ext.plugins.describe("brokenimport")
    assert broken["status"] == "broken"
    assert "needs a library that is not installed" in broken["error"]
    with pytest.raises(PluginError, match="cannot enable brokenimport"):
        ext.plugins.enable(ext.db, ["brokenimport"])


def test_enabling_runs_migrations_and_seed_data(ext):
    assert "notes_note" not in table_names(ext)
    assert ext.plugins.enable(ext.db, ["notes"]) == ["notes"]
    assert {"notes_note", "notes_seen_event"} <= table_names(ext)
    with ext.db.session() as s:
        assert s.execute(text("SELECT title FROM notes_note")).scalars().all() == ["Welcome note"]
    assert ext.plugins.is_enabled("notes")


def test_enabling_again_is_a_no_op_and_seed_data_is_idempotent(ext):
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.disable(ext.db, ["notes"])
    assert ext.plugins.enable(ext.db, ["notes"]) == ["notes"]
    assert ext.plugins.enable(ext.db, ["notes"]) == []
    with ext.db.session() as s:
        assert s.execute(text("SELECT count(*) FROM notes_note")).scalar() == 1


def test_dependencies_are_enabled_first(ext):
    assert ext.plugins.enable(ext.db, ["tasks"]) == ["notes", "tasks"]
    assert {"notes_note", "tasks_task"} <= table_names(ext)


def test_a_missing_dependency_is_a_clear_error_and_nothing_changes(ext):
    with pytest.raises(PluginError, match="orphan needs ghost, which is not installed"):
        ext.plugins.enable(ext.db, ["orphan"])
    assert not ext.plugins.enabled


def test_a_circular_dependency_is_a_clear_error(ext):
    with pytest.raises(PluginError, match="circular plugin dependency: cyclea -> cycleb -> cyclea"):
        ext.plugins.enable(ext.db, ["cyclea"])
    assert not ext.plugins.enabled


def test_an_unknown_plugin_is_a_clear_error(ext):
    with pytest.raises(PluginError, match="no plugin named 'nope' is installed"):
        ext.plugins.enable(ext.db, ["nope"])


def test_disabling_is_refused_while_another_enabled_plugin_depends_on_it(ext):
    ext.plugins.enable(ext.db, ["tasks"])
    with pytest.raises(PluginError, match="cannot disable notes: tasks depends on it"):
        ext.plugins.disable(ext.db, ["notes"])
    assert ext.plugins.is_enabled("notes")
    # Disabling both together is fine: dependents go first.
    assert ext.plugins.disable(ext.db, ["notes", "tasks"]) == ["tasks", "notes"]


def test_disabling_keeps_the_data(ext):
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.disable(ext.db, ["notes"])
    assert not ext.plugins.is_enabled("notes")
    with ext.db.session() as s:
        assert s.execute(text("SELECT count(*) FROM notes_note")).scalar() == 1


def test_a_failing_migration_leaves_the_database_at_the_previous_revision(ext):
    from core import migrate

    before = migrate.current_heads(ext.db)
    with pytest.raises(PluginError, match="enabling badmigration failed, nothing was changed"):
        ext.plugins.enable(ext.db, ["badmigration"])
    assert "badmigration_thing" not in table_names(ext)
    assert migrate.current_heads(ext.db) == before
    assert not ext.plugins.is_enabled("badmigration")
    assert (
        "no such table" in ext.plugins.describe("badmigration")["error"]
        or "does not exist" in (ext.plugins.describe("badmigration")["error"])
    )


def test_a_failing_seed_hook_rolls_back_the_migration_too(ext):
    with pytest.raises(PluginError, match="seed data could not be created"):
        ext.plugins.enable(ext.db, ["seedfail"])
    assert "seedfail_row" not in table_names(ext)
    with ext.db.session() as s:
        state = s.get(PluginState, "seedfail")
        assert state is not None and not state.enabled
        assert "seed data could not be created" in state.last_error


def test_hooks_reach_enabled_plugins_only(ext, session):
    assert "notes.note.view" not in all_permissions(session)
    session.rollback()  # SQLite: release the write lock before another connection migrates
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.refresh(session)
    assert "notes.note.view" in all_permissions(session)
    session.rollback()
    ext.plugins.disable(ext.db, ["notes"])
    ext.plugins.refresh(session)
    assert "notes.note.view" not in all_permissions(session)


def test_a_raising_hook_is_recorded_and_the_others_still_answer(ext, session):
    session.rollback()
    ext.plugins.enable(ext.db, ["notes", "hookfail"])
    ext.plugins.refresh(session)
    permissions = all_permissions(session)
    assert "notes.note.view" in permissions
    assert "contacts.view" in permissions
    assert "permissions exploded" in ext.plugins.describe("hookfail")["error"]


def test_strict_mode_re_raises_hook_errors(make_app, database_url):
    app = make_app(database_url, OFFICIUM_STRICT_PLUGINS="1", OFFICIUM_PLUGINS="hookfail,notes")
    ext = officium(app)
    ext.plugins.enable(ext.db, ["hookfail"])
    with ext.db.session() as s:
        ext.plugins.refresh(s)
        with pytest.raises(RuntimeError, match="permissions exploded"):
            all_permissions(s)


def test_a_disabled_plugins_routes_answer_404(admin_client, ext):
    client = admin_client
    assert client.get("/notes/").status_code == 404
    ext.plugins.enable(ext.db, ["notes"])
    response = client.get("/notes/")
    assert response.status_code == 200
    assert response.json == {"notes": 1}
    ext.plugins.disable(ext.db, ["notes"])
    assert client.get("/notes/").status_code == 404


def test_enabling_in_one_app_is_seen_by_another_on_the_same_database(make_app, database_url):
    from core.testing import ADMIN_EMAIL, login, make_user

    first, second = make_app(database_url), make_app(database_url)
    make_user(officium(first), ADMIN_EMAIL, roles=("admin",))
    client = second.test_client()
    login(client, ADMIN_EMAIL)
    assert client.get("/notes/").status_code == 404
    officium(first).plugins.enable(officium(first).db, ["notes"])
    assert client.get("/notes/").status_code == 200
    officium(first).plugins.disable(officium(first).db, ["notes"])
    assert client.get("/notes/").status_code == 404


def test_enabling_from_another_process_takes_effect_without_restart(
    admin_client, ext, database_url, tmp_path
):
    client = admin_client
    assert client.get("/notes/").status_code == 404
    env = {
        **os.environ,
        "OFFICIUM_DATABASE_URL": database_url,
        "PYTHONPATH": str(FIXTURES),
        "OFFICIUM_INSTANCE_PATH": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "plugins", "enable", "notes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "enabled: notes" in done.stdout
    assert client.get("/notes/").status_code == 200
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "plugins", "disable", "notes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert client.get("/notes/").status_code == 404


def test_uninstall_drops_the_plugins_tables(ext):
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.uninstall(ext.db, "notes")
    assert "notes_note" not in table_names(ext)
    with ext.db.session() as s:
        assert s.scalar(select(PluginState).where(PluginState.name == "notes")) is None
    # And it can come back.
    ext.plugins.enable(ext.db, ["notes"])
    assert "notes_note" in table_names(ext)


def test_events_reach_plugins_after_commit_only(ext, session):
    from core.services.contacts import create_contact

    session.rollback()
    ext.plugins.enable(ext.db, ["notes", "hookfail"])
    ext.plugins.refresh(session)
    create_contact(session, name="Rolled back")
    session.rollback()
    create_contact(session, name="Kept")
    session.commit()
    rows = session.execute(text("SELECT name FROM notes_seen_event")).scalars().all()
    # hookfail's handler raised; notes' handler still ran, once, for the committed contact only.
    assert rows == ["contact.created"]
