"""Pytest fixtures for Officium and its plugins: real databases, real apps, no mocks.

The backend comes from ``OFFICIUM_TEST_DATABASE``: ``sqlite`` (default, a file
per test) or ``postgresql`` (a throwaway database per test, cloned from a
migrated template on the server named by ``OFFICIUM_TEST_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``).

Fixtures: ``database_url`` (a fresh migrated database), ``app``, ``ext``,
``session`` (acting as the system), ``runner`` (the ``officium`` CLI),
``pg_database_url`` (always PostgreSQL, for tests of concurrency). Mark a test
``@pytest.mark.plugins("name", ...)`` to start with those plugins enabled.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.app import Officium, create_app, officium
from core.context import set_company
from core.db import Database
from core.plugins import PluginManager
from core.services import companies
from core.services import users as user_service

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "plugins(*names): the database starts with these plugins enabled")


def test_backend() -> str:
    return os.environ.get("OFFICIUM_TEST_DATABASE", "sqlite").lower()


def pg_admin_url() -> str:
    return os.environ.get("OFFICIUM_TEST_PG_URL", DEFAULT_PG_URL)


def _pg_admin_engine() -> Any:
    url = make_url(pg_admin_url()).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)


def _worker_tag() -> str:
    return f"{os.getpid()}"


def _migrate_and_seed(url: str, plugins: tuple[str, ...] = ()) -> None:
    """Migrate core to head, create the first company and the admin role, enable ``plugins``."""
    from core import migrate

    db = Database(url)
    try:
        migrate.upgrade_all(db, PluginManager())
        with db.transaction() as session:
            if companies.first_company(session) is None:
                companies.create_company(session, name="Test Company", base_currency="USD")
            user_service.ensure_admin_role(session)
        if plugins:
            manager = PluginManager(strict=True)
            manager.load_entry_points(only=list(plugins))
            manager.enable(db, plugins)
    finally:
        db.dispose()


def _plugins_of(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """``@pytest.mark.plugins("accounting", ...)``: the test's database starts with them enabled."""
    marker = request.node.get_closest_marker("plugins")
    return tuple(sorted(marker.args)) if marker else ()


class _PgDatabases:
    """Throwaway PostgreSQL databases cloned from one migrated template per worker."""

    def __init__(self) -> None:
        self.admin = _pg_admin_engine()
        self.prefix = f"officium_t{_worker_tag()}"
        self.template = f"{self.prefix}_tmpl"
        self.templates: dict[tuple[str, ...], str] = {(): self.template}
        self.created: list[str] = []
        self._make_template(self.template, ())

    def _make_template(self, name: str, plugins: tuple[str, ...]) -> None:
        self._drop(name)
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        _migrate_and_seed(self.url_for(name), plugins)

    def template_for(self, plugins: tuple[str, ...]) -> str:
        if plugins not in self.templates:
            name = f"{self.prefix}_tmpl_{len(self.templates)}"
            self._make_template(name, plugins)
            self.templates[plugins] = name
        return self.templates[plugins]

    def url_for(self, name: str) -> str:
        return (
            make_url(pg_admin_url())
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )

    def new(self, template: bool = True, plugins: tuple[str, ...] = ()) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        with self.admin.connect() as conn:
            source = f' TEMPLATE "{self.template_for(plugins)}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
        self.created.append(name)
        return self.url_for(name)

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop(self, url: str) -> None:
        _dispose_apps_on(url)
        self._drop(make_url(url).database)

    def close(self) -> None:
        for name in self.created:
            self._drop(name)
        for name in self.templates.values():
            self._drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def _pg_databases() -> Iterator[_PgDatabases]:
    databases = _PgDatabases()
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def _sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[[tuple[str, ...]], Path]:
    """One migrated SQLite file per set of enabled plugins, copied for each test."""
    made: dict[tuple[str, ...], Path] = {}

    def template_for(plugins: tuple[str, ...]) -> Path:
        if plugins not in made:
            path = tmp_path_factory.mktemp("template") / "template.db"
            _migrate_and_seed(f"sqlite:///{path}", plugins)
            made[plugins] = path
        return made[plugins]

    return template_for


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database with one company, on the backend under test.

    Mark a test ``@pytest.mark.plugins("accounting")`` to start with those
    plugins enabled and seeded (cloned from a template, so it costs no migration).
    """
    plugins = _plugins_of(request)
    if test_backend() == "postgresql":
        databases = request.getfixturevalue("_pg_databases")
        url = databases.new(plugins=plugins)
        yield url
        databases.drop(url)
    else:
        template = request.getfixturevalue("_sqlite_templates")(plugins)
        path = tmp_path / "officium.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def pg_database_url(request: pytest.FixtureRequest, _pg_databases: _PgDatabases) -> Iterator[str]:
    """A freshly migrated PostgreSQL database whatever the backend under test (concurrency tests)."""
    url = _pg_databases.new(plugins=_plugins_of(request))
    yield url
    _pg_databases.drop(url)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, for tests of ``init`` and migrations."""
    if test_backend() == "postgresql":
        databases = request.getfixturevalue("_pg_databases")
        url = databases.new(template=False)
        yield url
        databases.drop(url)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


# Apps built by ``make_app``, by database URL. A PostgreSQL database is dropped
# WITH (FORCE) at teardown; its apps' pools are closed first so that no pooled
# connection is killed under them and later fails (and logs) when collected.
_apps_on: dict[str, list[Flask]] = {}


def _dispose_apps_on(url: str) -> None:
    for app in _apps_on.pop(url, []):
        officium(app).db.dispose()


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps (several may share one database, like worker processes); disposed after the test."""
    apps: list[Flask] = []

    def factory(database_url: str, **config: Any) -> Flask:
        settings = {
            "TESTING": True,
            "OFFICIUM_DATABASE_URL": database_url,
            "OFFICIUM_INSTANCE_PATH": str(tmp_path / "instance"),
            "OFFICIUM_SECRET_KEY": "test-secret-key-not-for-production",
            **config,
        }
        app = create_app(settings)
        apps.append(app)
        _apps_on.setdefault(database_url, []).append(app)
        return app

    yield factory
    for app in apps:
        officium(app).db.dispose()
        for url_apps in _apps_on.values():
            if app in url_apps:
                url_apps.remove(app)


@pytest.fixture
def app(make_app: Callable[..., Flask], database_url: str) -> Flask:
    return make_app(database_url)


@pytest.fixture
def ext(app: Flask) -> Officium:
    return officium(app)


@pytest.fixture
def session(ext: Officium) -> Iterator[Session]:
    """A session acting as the system (every permission) in the first company."""
    with ext.db.session() as session:
        ext.plugins.refresh(session)
        set_company(session, companies.first_company(session).id)
        yield session


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def run_cli(runner: FlaskCliRunner, *args: str, input: str | None = None) -> Any:
    """Invoke ``officium ARGS`` against the runner's app."""
    from core.cli import cli

    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


# --- users, logged-in clients, API tokens -----------------------------------------------------------

ADMIN_EMAIL = "admin@test.example"
ADMIN_PASSWORD = "correct-horse-battery"  # noqa: S105 - test fixture
_CSRF_RE = __import__("re").compile(r'name="csrf_token" value="([^"]+)"')


def make_user(
    ext: Officium,
    email: str,
    password: str = ADMIN_PASSWORD,
    *,
    roles: tuple[str, ...] = (),
    permissions: tuple[str, ...] | None = None,
) -> int:
    """Create a user (and, with ``permissions``, a role holding exactly those codes); returns its id."""
    from core.context import company_id_of

    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        role_names = list(roles)
        if permissions is not None:
            role = user_service.create_role(session, name=f"role-for-{email}", permissions=permissions)
            role_names.append(role.name)
        user = user_service.create_user(
            session, email=email, password=password, roles=role_names, company_ids=[company_id_of(session)]
        )
        return user.id


def csrf_token(client: Any, path: str) -> str:
    """The CSRF token of the form on ``path`` (as a browser would read it)."""
    match = _CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def login(client: Any, email: str, password: str = ADMIN_PASSWORD) -> Any:
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def api_token(client: Any, email: str, password: str = ADMIN_PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["token"]


@pytest.fixture
def admin_user(ext: Officium) -> int:
    return make_user(ext, ADMIN_EMAIL, roles=("admin",))


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def admin_client(app: Flask, admin_user: int) -> Any:
    """A browser-like client logged in as an administrator."""
    client = app.test_client()
    response = login(client, ADMIN_EMAIL)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


class ApiClient:
    """The test client with a bearer token on every request."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str) -> Callable[..., Any]:
        call = getattr(self.client, method)

        def send(path: str, **kwargs: Any) -> Any:
            kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
            return call(path, **kwargs)

        return send


@pytest.fixture
def admin_api(app: Flask, admin_user: int) -> ApiClient:
    """An API client holding an administrator's token."""
    client = app.test_client()
    return ApiClient(client, api_token(client, ADMIN_EMAIL))


@pytest.fixture
def make_api_client(app: Flask, ext: Officium) -> Callable[..., ApiClient]:
    """``make_api_client("x@y.example", permissions=("contacts.view",))`` -> an API client."""

    def factory(email: str, *, permissions: tuple[str, ...] = (), roles: tuple[str, ...] = ()) -> ApiClient:
        make_user(ext, email, permissions=permissions, roles=roles)
        client = app.test_client()
        return ApiClient(client, api_token(client, email))

    return factory


@pytest.fixture
def make_client(app: Flask, ext: Officium) -> Callable[..., Any]:
    """``make_client("x@y.example", permissions=("contacts.view",))`` -> a logged-in browser client."""

    def factory(email: str, *, permissions: tuple[str, ...] = (), roles: tuple[str, ...] = ()) -> Any:
        make_user(ext, email, permissions=permissions, roles=roles)
        client = app.test_client()
        assert login(client, email).status_code == 302
        return client

    return factory
