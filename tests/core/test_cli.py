"""The ``officium`` command line, as an operator uses it: set-up, users, roles, plugins, migrations."""

from __future__ import annotations

import json
import re
import types

import click
import pytest
from sqlalchemy import delete, func, inspect, select

from core import cli as cli_module
from core.app import officium
from core.errors import AuthenticationFailed, ValidationError
from core.hookref import hook_functions
from core.hookspecs import hookimpl
from core.models import Company, Contact, JournalEntry, Role, User, UserCompany
from core.plugins import PluginInfo, core_tables
from core.services import users as user_service
from core.services.companies import first_company
from core.testing import run_cli

PASSWORD = "violet-harbour-lantern"
TEST_PLUGINS = {
    "badmigration",
    "brokenimport",
    "cyclea",
    "cycleb",
    "hookfail",
    "notes",
    "orphan",
    "seedfail",
    "tasks",
}


def one_error_line(result) -> str:
    """A user mistake: exit 1, a single ``Error:`` line, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


def count(ext, model, *where) -> int:
    with ext.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def plugin_statuses(runner) -> dict[str, str]:
    result = run_cli(runner, "plugins", "list", "--json")
    assert result.exit_code == 0
    return {row["name"]: row["status"] for row in json.loads(result.output)}


@pytest.fixture
def empty_app(make_app, empty_database_url):
    return make_app(empty_database_url)


@pytest.fixture
def fresh_command_line(monkeypatch):
    """The ``officium`` group as a new process sees it: plugin commands not loaded yet."""

    def reset() -> None:
        monkeypatch.setattr(cli_module.cli, "_plugin_commands_loaded", False)
        monkeypatch.setattr(cli_module.cli, "commands", dict(cli_module.cli.commands))

    reset()
    return reset


# --- init ---------------------------------------------------------------------------------------


def test_init_creates_the_tables_the_company_and_the_first_administrator(empty_app):
    ext = officium(empty_app)
    result = run_cli(
        empty_app.test_cli_runner(),
        "init",
        "--admin-email",
        "Boss@Acme.example",
        "--admin-password",
        PASSWORD,
        "--company",
        "Acme",
        "--currency",
        "EUR",
    )
    assert result.exit_code == 0, result.output
    assert "created company Acme (EUR)" in result.output
    assert "created administrator boss@acme.example" in result.output
    assert core_tables() <= set(inspect(ext.db.engine).get_table_names())
    with ext.db.session() as session:
        company = session.scalars(select(Company)).one()
        assert (company.name, company.base_currency) == ("Acme", "EUR")
        assert session.scalar(select(Role).where(Role.name == "admin")) is not None
        admin = user_service.authenticate(session, "boss@acme.example", PASSWORD)
        assert admin.is_admin
        assert session.get(UserCompany, (admin.id, company.id)) is not None


def test_init_twice_changes_nothing(empty_app):
    runner = empty_app.test_cli_runner()
    args = ("init", "--admin-email", "boss@acme.example", "--admin-password", PASSWORD)
    assert run_cli(runner, *args).exit_code == 0
    again = run_cli(runner, *args)
    assert again.exit_code == 0, again.output
    assert "administrator boss@acme.example exists" in again.output
    assert "created" not in again.output
    ext = officium(empty_app)
    assert count(ext, Company) == 1
    assert count(ext, User) == 1
    assert count(ext, Role, Role.name == "admin") == 1


def test_init_without_an_administrator_creates_only_the_company(empty_app):
    result = run_cli(empty_app.test_cli_runner(), "init")
    assert result.exit_code == 0
    assert "created company My Company (USD)" in result.output
    assert count(officium(empty_app), User) == 0


def test_init_needs_a_password_with_an_admin_email(empty_app):
    result = run_cli(empty_app.test_cli_runner(), "init", "--admin-email", "boss@acme.example")
    assert "--admin-password is required" in one_error_line(result)


def test_a_refused_admin_password_leaves_no_half_made_company(empty_app):
    runner = empty_app.test_cli_runner()
    result = run_cli(runner, "init", "--admin-email", "boss@acme.example", "--admin-password", "short")
    assert "at least 12 characters" in one_error_line(result)
    ext = officium(empty_app)
    assert count(ext, Company) == 0
    retry = run_cli(runner, "init", "--admin-email", "boss@acme.example", "--admin-password", PASSWORD)
    assert retry.exit_code == 0, retry.output
    assert count(ext, Company) == 1


def test_init_demo_adds_contacts_and_balanced_posted_entries(empty_app):
    runner = empty_app.test_cli_runner()
    result = run_cli(runner, "init", "--demo")
    assert result.exit_code == 0, result.output
    assert "added demo contacts, accounts and journal entries" in result.output
    ext = officium(empty_app)
    with ext.db.session() as session:
        names = set(session.scalars(select(Contact.name)))
        assert {"Acme Corporation", "Ada Lovelace"} <= names
        entries = session.scalars(select(JournalEntry)).all()
        assert len(entries) >= 5
        for entry in entries:
            assert entry.state == "posted"
            assert entry.number
            assert entry.total_debit == entry.total_credit > 0
    # Demo data is added once.
    assert run_cli(runner, "init", "--demo").exit_code == 0
    assert count(ext, Contact) == len(names)


# --- users and roles ------------------------------------------------------------------------------


def test_a_created_user_is_listed_with_their_roles(runner):
    result = run_cli(runner, "users", "create", "Clerk@X.example", "--password", PASSWORD, "--role", "admin")
    assert result.exit_code == 0, result.output
    assert "created user clerk@x.example" in result.output
    listing = run_cli(runner, "users", "list").output
    assert re.search(r"^clerk@x\.example\s+active\s+admin$", listing, re.MULTILINE), listing


def test_the_password_can_be_typed_at_a_hidden_prompt(runner, ext):
    result = run_cli(runner, "users", "create", "clerk@x.example", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with ext.db.session() as session:
        assert user_service.authenticate(session, "clerk@x.example", PASSWORD)


def test_creating_a_user_twice_is_one_line_of_error(runner, ext):
    run_cli(runner, "users", "create", "clerk@x.example", "--password", PASSWORD)
    result = run_cli(runner, "users", "create", "CLERK@x.example", "--password", PASSWORD)
    assert "a user with email clerk@x.example exists" in one_error_line(result)
    assert count(ext, User) == 1


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short", "must be at least 12 characters"),
        ("x1" * 65, "must be at most 128 characters"),
        ("password1234", "is too common"),
    ],
    ids=["too short", "too long", "too common"],
)
def test_a_weak_password_is_refused_naming_the_rule(runner, ext, password, rule):
    result = run_cli(runner, "users", "create", "clerk@x.example", "--password", password)
    assert rule in one_error_line(result)
    assert count(ext, User) == 0


def test_granting_a_role(runner, ext):
    run_cli(runner, "users", "create", "clerk@x.example", "--password", PASSWORD)
    assert run_cli(runner, "roles", "create", "sales", "--permission", "contacts.view").exit_code == 0
    result = run_cli(runner, "users", "grant", "CLERK@x.example", "sales")
    assert result.exit_code == 0, result.output
    assert "granted sales to clerk@x.example" in result.output
    assert re.search(r"^clerk@x\.example\s+active\s+sales$", run_cli(runner, "users", "list").output, re.M)


def test_granting_an_unknown_role_or_to_an_unknown_user_fails(runner):
    run_cli(runner, "users", "create", "clerk@x.example", "--password", PASSWORD)
    assert "no role named 'ghost'" in one_error_line(
        run_cli(runner, "users", "grant", "clerk@x.example", "ghost")
    )
    assert "no user with email nobody@x.example" in one_error_line(
        run_cli(runner, "users", "grant", "nobody@x.example", "admin")
    )


def test_set_password_replaces_the_old_one(runner, ext):
    run_cli(runner, "users", "create", "clerk@x.example", "--password", PASSWORD)
    result = run_cli(runner, "users", "set-password", "Clerk@x.example", "--password", "amber-window-cricket")
    assert result.exit_code == 0, result.output
    assert "password set for clerk@x.example" in result.output
    with ext.db.session() as session:
        assert user_service.authenticate(session, "clerk@x.example", "amber-window-cricket")
        with pytest.raises(AuthenticationFailed, match="invalid email or password"):
            user_service.authenticate(session, "clerk@x.example", PASSWORD)


def test_set_password_follows_the_policy_and_needs_a_known_user(runner):
    run_cli(runner, "users", "create", "clerk@x.example", "--password", PASSWORD)
    weak = run_cli(runner, "users", "set-password", "clerk@x.example", "--password", "short")
    assert "at least 12 characters" in one_error_line(weak)
    unknown = run_cli(runner, "users", "set-password", "nobody@x.example", "--password", PASSWORD)
    assert "no user with email nobody@x.example" in one_error_line(unknown)


def test_roles_create_records_its_permissions(runner, ext):
    result = run_cli(
        runner, "roles", "create", "viewer", "--permission", "contacts.view", "--permission", "ledger.view"
    )
    assert result.exit_code == 0, result.output
    assert "created role viewer with 2 permissions" in result.output
    with ext.db.session() as session:
        role = session.scalars(select(Role).where(Role.name == "viewer")).one()
        assert role.permission_codes == {"contacts.view", "ledger.view"}


def test_roles_create_refuses_an_unknown_permission(runner, ext):
    result = run_cli(runner, "roles", "create", "pilot", "--permission", "contacts.fly")
    assert "unknown permission 'contacts.fly'" in one_error_line(result)
    assert count(ext, Role, Role.name == "pilot") == 0


def test_roles_permissions_lists_core_and_enabled_plugins_codes(runner):
    before = run_cli(runner, "roles", "permissions").output
    assert "users.manage" in before
    assert "notes.note.view" not in before
    run_cli(runner, "plugins", "enable", "notes")
    after = run_cli(runner, "roles", "permissions").output
    assert re.search(r"^notes\.note\.view\s+See notes$", after, re.M)
    assert run_cli(runner, "roles", "create", "reader", "--permission", "notes.note.view").exit_code == 0


# --- plugins --------------------------------------------------------------------------------------


def test_plugins_list_shows_every_installed_plugin_and_its_status(runner):
    result = run_cli(runner, "plugins", "list")
    assert result.exit_code == 0
    assert re.search(r"^notes\s+1\.2\.0\s+disabled\s+Notes$", result.output, re.M)
    assert re.search(r"^brokenimport\s+broken\s+.*!! .*needs a library", result.output, re.M)


def test_plugins_list_json_is_machine_readable(runner):
    rows = {row["name"]: row for row in json.loads(run_cli(runner, "plugins", "list", "--json").output)}
    assert set(rows) >= TEST_PLUGINS
    assert rows["brokenimport"]["status"] == "broken"
    assert "this plugin needs a library that is not installed" in rows["brokenimport"]["error"]
    assert rows["tasks"]["depends"] == ["notes"]
    assert (rows["notes"]["status"], rows["notes"]["version"], rows["notes"]["enabled"]) == (
        "disabled",
        "1.2.0",
        False,
    )


def test_plugins_info_describes_one_plugin(runner):
    result = run_cli(runner, "plugins", "info", "tasks")
    assert result.exit_code == 0
    assert re.search(r"^title\s+Tasks$", result.output, re.M)
    assert re.search(r"^depends\s+notes$", result.output, re.M)
    assert re.search(r"^status\s+disabled$", result.output, re.M)
    assert "no plugin named 'nope' is installed" in one_error_line(run_cli(runner, "plugins", "info", "nope"))


def test_enabling_a_plugin_enables_what_it_depends_on(runner, ext):
    result = run_cli(runner, "plugins", "enable", "tasks")
    assert result.exit_code == 0, result.output
    assert "enabled: notes, tasks" in result.output
    assert plugin_statuses(runner)["notes"] == "enabled"
    assert {"notes_note", "tasks_task"} <= set(inspect(ext.db.engine).get_table_names())
    assert "already enabled" in run_cli(runner, "plugins", "enable", "tasks").output


def test_disabling_a_plugin_others_depend_on_is_refused(runner):
    run_cli(runner, "plugins", "enable", "tasks")
    result = run_cli(runner, "plugins", "disable", "notes")
    assert "cannot disable notes: tasks depends on it (disable tasks first)" in one_error_line(result)
    assert plugin_statuses(runner)["notes"] == "enabled"
    both = run_cli(runner, "plugins", "disable", "notes", "tasks")
    assert "disabled: tasks, notes" in both.output
    statuses = plugin_statuses(runner)
    assert statuses["notes"] == statuses["tasks"] == "disabled"


def test_enabling_a_plugin_with_a_missing_dependency_fails(runner):
    result = run_cli(runner, "plugins", "enable", "orphan")
    assert "orphan needs ghost, which is not installed" in one_error_line(result)
    assert plugin_statuses(runner)["orphan"] == "disabled"


def test_enabling_a_broken_plugin_fails_with_its_error(runner):
    result = run_cli(runner, "plugins", "enable", "brokenimport")
    assert "cannot enable brokenimport" in one_error_line(result)


def test_uninstall_needs_yes_and_then_drops_the_tables(runner, ext):
    run_cli(runner, "plugins", "enable", "notes")
    refused = run_cli(runner, "plugins", "uninstall", "notes")
    assert "repeat with --yes to confirm" in one_error_line(refused)
    assert "notes_note" in inspect(ext.db.engine).get_table_names()
    result = run_cli(runner, "plugins", "uninstall", "notes", "--yes")
    assert result.exit_code == 0, result.output
    assert "notes_note" not in inspect(ext.db.engine).get_table_names()
    assert plugin_statuses(runner)["notes"] == "disabled"


def greeter_plugin() -> types.ModuleType:
    """A plugin adding a command and a role of its own, removed again when it is disabled."""
    module = types.ModuleType("greeter_plugin")
    module.__file__ = None
    module.PLUGIN = PluginInfo(name="greeter", title="Greeter", version="1.0.0")

    @hookimpl
    def officium_cli(cli):
        @cli.command("greet")
        @click.argument("name")
        def greet(name):
            """Say hello."""
            click.echo(f"hello, {name}")

    @hookimpl
    def officium_plugin_enabled(session):
        if session.scalar(select(Role).where(Role.name == "greeter")) is None:
            session.add(Role(name="greeter"))

    @hookimpl
    def officium_plugin_disabled(session):
        if session.scalar(select(func.count()).select_from(Contact).where(Contact.name == "Keep greeter")):
            raise ValidationError("greeter is still needed by Keep greeter")
        session.execute(delete(Role).where(Role.name == "greeter"))

    module.officium_cli = officium_cli
    module.officium_plugin_enabled = officium_plugin_enabled
    module.officium_plugin_disabled = officium_plugin_disabled
    return module


def test_a_plugins_commands_join_the_command_line_and_run_once_it_is_enabled(
    make_app, database_url, fresh_command_line
):
    runner = make_app(database_url, OFFICIUM_EXTRA_PLUGINS=[greeter_plugin()]).test_cli_runner()
    refused = run_cli(runner, "greet", "Ada")
    assert refused.exit_code == 1
    assert "the greeter plugin is not enabled: run 'officium plugins enable greeter'" in refused.output
    assert run_cli(runner, "plugins", "enable", "greeter").exit_code == 0
    result = run_cli(runner, "greet", "Ada")
    assert result.exit_code == 0, result.output
    assert result.output == "hello, Ada\n"
    assert "greet" in run_cli(runner, "--help").output


def test_a_plugin_tidies_up_when_disabled_and_may_refuse(make_app, database_url):
    app = make_app(database_url, OFFICIUM_EXTRA_PLUGINS=[greeter_plugin()])
    runner, ext = app.test_cli_runner(), officium(app)
    run_cli(runner, "plugins", "enable", "greeter")
    # officium_plugin_enabled seeded a role that can be granted.
    assert (
        run_cli(
            runner, "users", "create", "a@x.example", "--password", PASSWORD, "--role", "greeter"
        ).exit_code
        == 0
    )
    with ext.db.transaction() as session:
        session.add(Contact(company_id=first_company(session).id, name="Keep greeter"))
    refused = run_cli(runner, "plugins", "disable", "greeter")
    assert "greeter is still needed by Keep greeter" in one_error_line(refused)
    assert plugin_statuses(runner)["greeter"] == "enabled"
    assert count(ext, Role, Role.name == "greeter") == 1
    with ext.db.transaction() as session:
        session.execute(delete(Contact).where(Contact.name == "Keep greeter"))
    assert run_cli(runner, "plugins", "disable", "greeter").exit_code == 0
    # officium_plugin_disabled removed the role inside the disabling transaction.
    assert count(ext, Role, Role.name == "greeter") == 0
    assert "no role named 'greeter'" in one_error_line(
        run_cli(runner, "users", "grant", "a@x.example", "greeter")
    )


def test_demo_postings_reach_plugins_which_may_refuse_them(make_app, empty_database_url):
    """officium_entry_posted sees the demo entries; a refusal leaves no demo data behind."""
    module = types.ModuleType("freezer_plugin")
    module.__file__ = None
    module.PLUGIN = PluginInfo(name="freezer", title="Freezer", version="1.0.0")

    @hookimpl
    def officium_entry_posted(entry, session):
        raise ValidationError(f"the books are frozen: {entry.memo} refused")

    module.officium_entry_posted = officium_entry_posted
    app = make_app(empty_database_url, OFFICIUM_EXTRA_PLUGINS=[module])
    runner, ext = app.test_cli_runner(), officium(app)
    assert run_cli(runner, "init").exit_code == 0
    assert run_cli(runner, "plugins", "enable", "freezer").exit_code == 0
    result = run_cli(runner, "init", "--demo")
    assert re.search(r"the books are frozen: .+ refused$", one_error_line(result))
    assert count(ext, Contact) == 0
    assert count(ext, JournalEntry) == 0
    run_cli(runner, "plugins", "disable", "freezer")
    assert run_cli(runner, "init", "--demo").exit_code == 0
    assert count(ext, JournalEntry) > 0


# --- migrations -------------------------------------------------------------------------------------


def test_db_commands_on_a_fresh_database(runner):
    current = run_cli(runner, "db", "current")
    assert current.exit_code == 0
    assert re.fullmatch(r"core\s+core_\d{4}\w*\s+\(head\)\n", current.output)
    history = run_cli(runner, "db", "history")
    assert history.exit_code == 0
    assert "base -> core_0001 [core]: core tables" in history.output
    assert "base -> notes_0001 [notes]: notes tables" in history.output
    check = run_cli(runner, "db", "check")
    assert check.exit_code == 0, check.output
    assert "no differences between models and migrations" in check.output


def test_db_current_and_check_cover_every_enabled_plugin(runner):
    run_cli(runner, "plugins", "enable", "tasks")
    current = run_cli(runner, "db", "current").output
    assert re.search(r"^core\s+core_\d{4}\w*\s+\(head\)$", current, re.M), current
    assert re.search(r"^notes\s+notes_0001\s+\(head\)$", current, re.M), current
    assert re.search(r"^tasks\s+tasks_0001\s+\(head\)$", current, re.M), current
    check = run_cli(runner, "db", "check")
    assert check.exit_code == 0, check.output
    assert run_cli(runner, "db", "upgrade").output == "upgraded: core@head, notes@head, tasks@head\n"


def test_db_downgrade_to_an_unknown_revision_fails(runner):
    result = run_cli(runner, "db", "downgrade", "nowhere@base")
    assert "cannot downgrade to nowhere@base" in one_error_line(result)


# --- hook reference -----------------------------------------------------------------------------------


def test_hooks_prints_every_hook_and_who_implements_it(runner):
    result = run_cli(runner, "hooks")
    assert result.exit_code == 0
    for function in hook_functions():
        assert re.search(rf"^{function.__name__}\(", result.output, re.M), function.__name__
    section = result.output.split("officium_permissions()\n", 1)[1].split("\nofficium_blueprints()", 1)[0]
    implementers = re.search(r"^    implemented by: (.*)$", section, re.M).group(1)
    assert {"notes", "tasks", "hookfail"} <= set(implementers.split(", "))


def test_hooks_markdown_is_the_reference_document(runner):
    result = run_cli(runner, "hooks", "--markdown")
    assert result.exit_code == 0
    assert result.output.startswith("# Hook reference\n")
    assert "## `officium_event(event, session)`" in result.output


# --- quickstart ----------------------------------------------------------------------------------------


def test_quickstart_sets_up_everything_it_can_and_prints_the_login(empty_app):
    runner = empty_app.test_cli_runner()
    result = run_cli(runner, "quickstart", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "Log in as admin@example.com" in result.output
    password = re.search(r"Password: (\S+)\s+\(shown once", result.output).group(1)
    warned = set(re.findall(r"^warning: plugin (\w+) not enabled: ", result.stderr, re.M))
    assert {"badmigration", "seedfail", "cyclea", "cycleb", "orphan"} <= warned
    rows = json.loads(run_cli(runner, "plugins", "list", "--json").output)
    enabled = {row["name"] for row in rows if row["status"] == "enabled"}
    assert {"hookfail", "notes", "tasks"} <= enabled
    # Every plugin that is not broken was either enabled or named in a warning; broken ones are skipped.
    for row in rows:
        if row["status"] == "broken":
            assert row["name"] not in result.output
        else:
            assert (row["name"] in enabled) != (row["name"] in warned), row["name"]
    ext = officium(empty_app)
    with ext.db.session() as session:
        admin = user_service.authenticate(session, "admin@example.com", password)
        assert admin.is_admin
        assert session.scalar(select(func.count()).select_from(Contact)) > 0

    again = run_cli(runner, "quickstart", "--no-serve")
    assert again.exit_code == 0, again.output
    assert "Password: the one printed by the first quickstart" in again.output
    assert "shown once" not in again.output
    assert "enabled plugins" not in again.output
    assert count(ext, User) == 1
    assert count(ext, Company) == 1


# --- an uninitialised database -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("users", "list"),
        ("users", "create", "a@x.example", "--password", PASSWORD),
        ("users", "grant", "a@x.example", "admin"),
        ("users", "set-password", "a@x.example", "--password", PASSWORD),
        ("roles", "create", "viewer"),
        ("roles", "permissions"),
        ("plugins", "enable", "notes"),
        ("plugins", "disable", "notes"),
        ("plugins", "uninstall", "notes", "--yes"),
        ("db", "current"),
        ("db", "check"),
        ("db", "downgrade", "core@base"),
    ],
    ids=" ".join,
)
def test_commands_on_an_uninitialised_database_say_to_run_init(empty_app, args):
    result = run_cli(empty_app.test_cli_runner(), *args)
    assert "run 'officium init'" in one_error_line(result)
    assert inspect(officium(empty_app).db.engine).get_table_names() == []


def test_plugins_can_be_listed_before_init(empty_app):
    assert plugin_statuses(empty_app.test_cli_runner())["notes"] == "disabled"
