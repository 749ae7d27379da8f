"""The ``officium`` command line: a click group running inside the app context.

A user mistake prints one line on stderr and exits 1; no traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, ScriptInfo
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from core import __version__, migrate
from core.app import create_app, officium
from core.errors import OfficiumError, ValidationError

EXIT_USER_ERROR = 1
log = logging.getLogger(__name__)


class OfficiumGroup(FlaskGroup):
    """Flask's group with plugins' commands and one-line errors."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            create_app=create_app,
            add_default_commands=False,
            add_version_option=False,
            load_dotenv=False,
            set_debug_flag=False,
            **kwargs,
        )
        self._plugin_commands_loaded = False

    def _load_plugin_commands(self, ctx: click.Context) -> None:
        """Add every installed plugin's commands; one of a disabled plugin refuses to run.

        Commands are gathered from installed plugins, not only enabled ones, so
        that the command set does not depend on the database a process saw
        first; whether the plugin is enabled is checked when a command runs.
        """
        if self._plugin_commands_loaded:
            return
        self._plugin_commands_loaded = True
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
            with app.app_context():
                ext = officium(app)
                for plugin in list(ext.plugins.plugins.values()):
                    if plugin.broken:
                        continue
                    before = set(self.commands)
                    try:
                        ext.plugins.call_plugin(plugin.name, "officium_cli", cli=self)
                    except Exception:
                        log.exception("plugin %s: officium_cli raised", plugin.name)
                        continue
                    for name in set(self.commands) - before:
                        _only_when_enabled(self.commands[name], plugin.name)
        except Exception:  # the built-in commands must work on a broken install
            return

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = click.Group.get_command(self, ctx, name)
        if command is None:
            self._load_plugin_commands(ctx)
            command = click.Group.get_command(self, ctx, name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands(ctx)
        return sorted(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OfficiumError as exc:
            raise click.ClickException(error_line(exc)) from exc
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise click.ClickException(f"database error: {reason}") from exc
        except SQLAlchemyError as exc:
            raise click.ClickException(f"database error: {exc}") from exc


def _only_when_enabled(command: click.Command, plugin_name: str) -> None:
    """Run ``command`` in the app context, and make it fail with one line while its plugin is disabled."""
    run = command.invoke

    def invoke(ctx: click.Context) -> Any:
        if not current_app:
            ctx.with_resource(ctx.ensure_object(ScriptInfo).load_app().app_context())
        ext = officium(current_app)
        ext.refresh_plugins()
        if not ext.plugins.is_enabled(plugin_name):
            raise click.ClickException(
                f"the {plugin_name} plugin is not enabled: run 'officium plugins enable {plugin_name}'"
            )
        return run(ctx)

    command.invoke = invoke  # type: ignore[method-assign]


def error_line(exc: OfficiumError) -> str:
    """The error's message plus the field messages it does not already say (the rule broken)."""
    message = exc.message
    if isinstance(exc, ValidationError):
        details = [
            f"{field} {text}" for field, texts in exc.fields.items() for text in texts if text not in message
        ]
        if details:
            message = f"{message}: {'; '.join(details)}"
    return message


cli = OfficiumGroup(help="Officium: an extensible ERP. Configuration comes from OFFICIUM_* variables.")
cli = click.version_option(__version__, prog_name="officium")(cli)


def main() -> None:
    level = os.environ.get("OFFICIUM_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    cli.main(prog_name="officium")


def _ext() -> Any:
    return officium(current_app)


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _require_initialised() -> None:
    with _ext().db.engine.connect() as connection:
        if not migrate.database_initialised(connection):
            _fail("the database is not initialised: run 'officium init' first")


# --- set-up -------------------------------------------------------------------------------------


@cli.command()
@click.option("--admin-email", help="Create this administrator (idempotent).")
@click.option("--admin-password", help="Password for the new administrator.")
@click.option(
    "--company", "company_name", default="My Company", show_default=True, help="Name of the first company."
)
@click.option("--currency", default="USD", show_default=True, help="Base currency of the first company.")
@click.option("--demo", is_flag=True, help="Add demo contacts, accounts and entries.")
def init(
    admin_email: str | None, admin_password: str | None, company_name: str, currency: str, demo: bool
) -> None:
    """Create or migrate the database named by OFFICIUM_DATABASE_URL; idempotent."""
    from core import setup

    if admin_email and not admin_password:
        _fail("--admin-password is required with --admin-email")
    report = setup.initialise(
        _ext(),
        company_name=company_name,
        currency=currency,
        admin_email=admin_email,
        admin_password=admin_password,
        demo=demo,
    )
    for line in report:
        click.echo(line)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Set everything up but do not start the server.")
def quickstart(host: str, port: int, no_serve: bool) -> None:
    """Create the SQLite database with demo data, enable every plugin, serve on HOST:PORT."""
    from core import setup

    ext = _ext()
    password = None
    lines = setup.initialise(ext, company_name="Demo Company", currency="USD", demo=True)
    for line in lines:
        click.echo(line)
    password = setup.ensure_quickstart_admin(ext)
    for name in sorted(p.name for p in ext.plugins.plugins.values() if not p.broken):
        try:
            enabled = ext.plugins.enable(ext.db, [name])
        except OfficiumError as exc:
            click.echo(f"warning: plugin {name} not enabled: {exc.message}", err=True)
            continue
        if enabled:
            click.echo(f"enabled plugins: {', '.join(enabled)}")
    click.echo("")
    click.echo(f"  Officium is ready at http://{host}:{port}/")
    click.echo(f"  Log in as {setup.QUICKSTART_ADMIN}")
    if password:
        click.echo(f"  Password: {password}   (shown once; change it after logging in)")
    else:
        click.echo(
            "  Password: the one printed by the first quickstart "
            f"(reset: officium users set-password {setup.QUICKSTART_ADMIN})"
        )
    click.echo("")
    if not no_serve:
        _serve(host, port)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the development server (production: gunicorn on core.app:create_app())."""
    _require_initialised()
    _serve(host, port)


def _serve(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    click.echo(f"serving on http://{host}:{port}/ (Ctrl+C to stop)")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


# --- database -----------------------------------------------------------------------------------


@cli.group(cls=AppGroup)
def db() -> None:
    """Migrations: core's branch and one branch per plugin."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring core and every enabled plugin to their head revision."""
    ext = _ext()
    ext.refresh_plugins()
    targets = migrate.upgrade_all(ext.db, ext.plugins)
    click.echo(f"upgraded: {', '.join(targets)}")


@db.command("downgrade")
@click.argument("target")
def db_downgrade(target: str) -> None:
    """Downgrade to TARGET, e.g. 'core@-1' or 'crm@base'."""
    _require_initialised()
    ext = _ext()
    try:
        with migrate.migration_connection(ext.db) as connection:
            migrate.downgrade(connection, ext.plugins, target)
    except Exception as exc:  # Alembic's errors for unknown revisions are user mistakes
        if isinstance(exc, DBAPIError):
            raise
        _fail(f"cannot downgrade to {target}: {exc}")
    click.echo(f"downgraded to {target}")


@db.command("current")
def db_current() -> None:
    """Show the revision of each branch in the database."""
    ext = _ext()
    rows = migrate.describe_current(ext.db, ext.plugins)
    if not rows:
        _fail("the database has no migrations applied: run 'officium init'")
    for branch, revision, at_head in rows:
        click.echo(f"{branch:<16} {revision:<28} {'(head)' if at_head else '(behind head)'}")


@db.command("history")
def db_history() -> None:
    """List every known revision, newest first."""
    scripts = migrate.script_directory(_ext().plugins)
    for rev in scripts.walk_revisions():
        labels = f" [{', '.join(sorted(rev.branch_labels))}]" if rev.branch_labels else ""
        click.echo(f"{rev.down_revision or 'base'} -> {rev.revision}{labels}: {rev.doc}")


@db.command("check")
def db_check() -> None:
    """Fail (exit 1) when the models of core and enabled plugins differ from the migrations."""
    _require_initialised()
    ext = _ext()
    ext.refresh_plugins()
    differences = migrate.check_drift(ext.db, ext.plugins)
    if differences:
        _fail(f"models and migrations differ: {differences}")
    click.echo("no differences between models and migrations")


# --- plugins -----------------------------------------------------------------------------------


@cli.group(cls=AppGroup)
def plugins() -> None:
    """List, enable and disable plugins."""


def _plugin_rows() -> list[dict[str, Any]]:
    ext = _ext()
    ext.refresh_plugins()
    return ext.plugins.describe_all()


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_list(as_json: bool) -> None:
    """Every installed plugin with its status (enabled, disabled, broken)."""
    rows = _plugin_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins installed")
    for row in rows:
        line = f"{row['name']:<16} {row['version']:<10} {row['status']:<9} {row['title']}"
        if row["error"]:
            line += f"  !! {row['error']}"
        click.echo(line)


@plugins.command("info")
@click.argument("name")
def plugins_info(name: str) -> None:
    """Details of one plugin."""
    ext = _ext()
    ext.refresh_plugins()
    row = ext.plugins.describe(name)
    for key, value in row.items():
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        click.echo(f"{key:<12} {value if value not in (None, '') else '-'}")


@plugins.command("enable")
@click.argument("names", nargs=-1, required=True)
def plugins_enable(names: tuple[str, ...]) -> None:
    """Enable plugins (and what they depend on): migrate, seed, switch on everywhere."""
    _require_initialised()
    ext = _ext()
    enabled = ext.plugins.enable(ext.db, names)
    click.echo(f"enabled: {', '.join(enabled)}" if enabled else "already enabled")


@plugins.command("disable")
@click.argument("names", nargs=-1, required=True)
def plugins_disable(names: tuple[str, ...]) -> None:
    """Disable plugins; their data stays."""
    _require_initialised()
    ext = _ext()
    disabled = ext.plugins.disable(ext.db, names)
    click.echo(f"disabled: {', '.join(disabled)}" if disabled else "already disabled")


@plugins.command("uninstall")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Confirm that the plugin's tables and data are dropped.")
def plugins_uninstall(name: str, yes: bool) -> None:
    """Disable a plugin and drop its tables (its migrations downgraded to base)."""
    if not yes:
        _fail(f"this drops every table and record of {name}; repeat with --yes to confirm")
    _require_initialised()
    ext = _ext()
    ext.plugins.uninstall(ext.db, name)
    click.echo(f"uninstalled {name}: its tables were dropped")


# --- users and roles ---------------------------------------------------------------------------


def _in_transaction(action: Callable[[Any], Any]) -> Any:
    _require_initialised()
    with _ext().db.transaction() as session:
        return action(session)


@cli.group(cls=AppGroup)
def users() -> None:
    """Create users, set passwords, grant roles."""


@users.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
@click.option("--role", "roles", multiple=True, help="Role name (repeatable).")
def users_create(email: str, password: str, name: str, roles: tuple[str, ...]) -> None:
    """Create a user with access to the first company."""
    from core.context import company_id_of
    from core.services import users as user_service

    def action(session: Any) -> Any:
        return user_service.create_user(
            session,
            email=email,
            password=password,
            name=name,
            roles=roles,
            company_ids=[company_id_of(session)],
        )

    user = _in_transaction(action)
    click.echo(f"created user {user.email}")


@users.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_set_password(email: str, password: str) -> None:
    """Set a user's password; their sessions end and their API tokens are revoked."""
    from core.services import users as user_service

    def action(session: Any) -> None:
        user = user_service.get_user_by_email(session, email)
        if user is None:
            _fail(f"no user with email {email}")
        user_service.set_password(session, user, password)

    _in_transaction(action)
    click.echo(f"password set for {email.lower()}")


@users.command("grant")
@click.argument("email")
@click.argument("role")
def users_grant(email: str, role: str) -> None:
    """Give ROLE to the user with EMAIL."""
    from core.services import users as user_service

    def action(session: Any) -> None:
        user = user_service.get_user_by_email(session, email)
        if user is None:
            _fail(f"no user with email {email}")
        user_service.grant_role(session, user, role)

    _in_transaction(action)
    click.echo(f"granted {role} to {email.lower()}")


@users.command("list")
def users_list() -> None:
    """Every user with their roles."""
    from sqlalchemy import select

    from core.models import User

    def action(session: Any) -> None:
        for user in session.scalars(select(User).order_by(User.email)):
            roles = ", ".join(sorted(r.name for r in user.roles)) or "-"
            click.echo(f"{user.email:<40} {'active' if user.active else 'inactive':<9} {roles}")

    _in_transaction(action)


@cli.group(cls=AppGroup)
def roles() -> None:
    """Create roles and list permissions."""


@roles.command("create")
@click.argument("name")
@click.option("--permission", "permissions", multiple=True, help="Permission code (repeatable).")
def roles_create(name: str, permissions: tuple[str, ...]) -> None:
    """Create a role holding the given permission codes."""
    from core.services import users as user_service

    _ext().refresh_plugins()
    _in_transaction(lambda s: user_service.create_role(s, name=name, permissions=permissions))
    click.echo(f"created role {name} with {len(permissions)} permissions")


@roles.command("permissions")
def roles_permissions() -> None:
    """Every permission code of core and the enabled plugins."""
    from core.services import users as user_service

    _ext().refresh_plugins()
    codes = _in_transaction(user_service.all_permissions)
    for code, description in codes.items():
        click.echo(f"{code:<32} {description}")


# --- ledger ---------------------------------------------------------------------------------------


@cli.group(cls=AppGroup)
def ledger() -> None:
    """The shared ledger: trial balance and period lock."""


def _parse_date(value: str | None, name: str) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{name} must be a date (YYYY-MM-DD), not {value!r}")


@ledger.command("trial-balance")
@click.option("--date-to", help="As of this date (YYYY-MM-DD).")
@click.option("--date-from", help="From this date (YYYY-MM-DD).")
def ledger_trial_balance(date_to: str | None, date_from: str | None) -> None:
    """Debit and credit totals per account over posted entries."""
    from core.services import ledger as ledger_service

    report = _in_transaction(
        lambda s: ledger_service.trial_balance(
            s, date_to=_parse_date(date_to, "--date-to"), date_from=_parse_date(date_from, "--date-from")
        )
    )
    for row in report.rows:
        click.echo(f"{row.code:<10} {row.name[:32]:<32} {row.debit:>16} {row.credit:>16} {row.balance:>16}")
    click.echo(f"{'total':<43} {report.total_debit:>16} {report.total_credit:>16}")


@ledger.command("lock")
@click.argument("lock_date", required=False)
@click.option("--clear", is_flag=True, help="Remove the lock date.")
def ledger_lock(lock_date: str | None, clear: bool) -> None:
    """Refuse postings on or before LOCK_DATE (YYYY-MM-DD)."""
    from core.services import companies

    if not clear and lock_date is None:
        _fail("give a date (YYYY-MM-DD) or --clear")
    day = None if clear else _parse_date(lock_date, "LOCK_DATE")
    _in_transaction(lambda s: companies.set_lock_date(s, day))
    click.echo("lock date cleared" if day is None else f"books locked through {day.isoformat()}")


# --- reference -----------------------------------------------------------------------------------


@cli.command()
@click.option("--markdown", is_flag=True, help="Write the reference as Markdown (docs/hooks.md).")
def hooks(markdown: bool) -> None:
    """Print the hook reference from core/hookspecs.py, with who implements each hook."""
    from core.hookref import render_hooks

    click.echo(render_hooks(_ext().plugins, markdown=markdown), nl=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# --- audit trail ----------------------------------------------------------------------------------


@cli.group(cls=AppGroup)
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def audit_verify(quiet: bool) -> None:
    """Walk the hash chain; exit 1 naming the first altered, deleted or moved row."""
    import sys

    from core import audit as audit_trail

    _require_initialised()
    # A reader: on SQLite it does not take the write lock, so the instance keeps working meanwhile.
    with _ext().db.read_engine.connect() as connection:
        total = audit_trail.chain_length(connection)
        if quiet or not total:
            verdict = audit_trail.verify(connection)
        else:
            with click.progressbar(length=total, label="Verifying the audit trail", file=sys.stderr) as bar:
                verdict = audit_trail.verify(connection, progress=bar.update)
    if not verdict.ok:
        _fail(f"audit trail broken: {verdict.problem}; {verdict.rows} rows before it are intact")
    click.echo(f"audit trail intact: {verdict.rows} rows, head {verdict.head_hash}")
