"""The application factory: ``create_app()`` builds one Officium instance.

Configuration comes from defaults, then ``instance/officium.cfg`` (a Python
file) if present, then ``OFFICIUM_*`` environment variables, then the mapping
passed in. The plugin manager is built here, per app; nothing is registered
at import time and nothing after the first request.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, request
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from core import audit, events
from core.context import MANAGER, set_actor
from core.db import Database
from core.plugins import PluginManager

log = logging.getLogger(__name__)

DEV_SECRET_KEY = "officium-development-key-change-me"  # noqa: S105 - refused in production


def default_instance_path() -> Path:
    return Path(os.environ.get("OFFICIUM_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def default_database_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'officium.db'}"


class Officium:
    """What one app holds: its database and its plugin manager (``app.extensions["officium"]``)."""

    def __init__(self, app: Flask, db: Database, plugins: PluginManager) -> None:
        self.app = app
        self.db = db
        self.plugins = plugins
        self.blueprint_owner: dict[str, str] = {}

    def session(self) -> Session:
        """The session of the current request or CLI command, created on first use."""
        session = g.get("officium_session")
        if session is None:
            read_only = _is_read_only_request()
            session = self.db.session(read_only=read_only)
            actor = g.get("officium_actor")
            if actor is not None:
                set_actor(session, actor)
            g.officium_session = session
        return session

    def refresh_plugins(self) -> None:
        """Pick up plugins enabled or disabled by another process (one tiny query)."""
        with self.db.session(read_only=True) as session:
            self.plugins.refresh(session)


def _is_read_only_request() -> bool:
    from flask import has_request_context

    return has_request_context() and request.method in ("GET", "HEAD", "OPTIONS")


def officium(app: Flask | None = None) -> Officium:
    return (app or current_app).extensions["officium"]


def get_session() -> Session:
    """The current request's (or CLI command's) database session."""
    return officium().session()


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route matches only numbers up to :data:`core.validation.MAX_ID`.

    So ``/contacts/3000000000`` is a 404 like any unknown id, for every method, instead of an
    out-of-range error from PostgreSQL. It is done in the pattern, not in ``to_python``: a value
    refused there makes werkzeug answer 405 when another method's rule has the same path.
    """

    # 0 .. 2147483647, digit by digit.
    regex = (
        r"(?:\d{1,9}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
        r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])"
    )

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        from core.validation import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build an Officium application (used by ``officium``, gunicorn and tests)."""
    instance_path = Path((config or {}).get("OFFICIUM_INSTANCE_PATH") or default_instance_path())
    app = Flask("core", instance_path=str(instance_path), instance_relative_config=True)
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_mapping(
        OFFICIUM_DATABASE_URL=default_database_url(instance_path),
        OFFICIUM_SECRET_KEY=DEV_SECRET_KEY,
        OFFICIUM_STRICT_PLUGINS=False,
        OFFICIUM_LOAD_PLUGINS=True,
    )
    app.config.from_pyfile("officium.cfg", silent=True)
    for key, value in os.environ.items():
        if key.startswith("OFFICIUM_"):
            app.config[key] = value
    app.config.update(config or {})
    app.config["SECRET_KEY"] = app.config["OFFICIUM_SECRET_KEY"]
    strict = str(app.config["OFFICIUM_STRICT_PLUGINS"]).lower() in ("1", "true", "yes")

    db = Database(app.config["OFFICIUM_DATABASE_URL"])
    manager = PluginManager(strict=strict)
    if app.config["OFFICIUM_LOAD_PLUGINS"]:
        only = app.config.get("OFFICIUM_PLUGINS")
        if isinstance(only, str):
            only = [name.strip() for name in only.split(",") if name.strip()]
        manager.load_entry_points(only=only)
    for module in app.config.get("OFFICIUM_EXTRA_PLUGINS", ()):
        manager.load_module(module)
    from core.web import core_hooks

    manager.pm.register(core_hooks, name="core")  # core's own menu, widgets, panel, search
    db.session_factory.configure(info={MANAGER: manager})
    events.install(db.session_factory)
    audit.install(db.session_factory)
    ext = Officium(app, db, manager)
    app.extensions["officium"] = ext

    _install_request_hooks(app, ext)
    from core import web

    web.init_app(app)
    _register_plugin_blueprints(app, ext)
    return app


def _register_plugin_blueprints(app: Flask, ext: Officium) -> None:
    """Mount every installed plugin's blueprints now; a guard hides disabled plugins' routes.

    A flask-smorest blueprint is an API blueprint: it joins the OpenAPI document.
    """
    from flask_smorest import Blueprint as SmorestBlueprint

    from core.api import register_plugin_api

    for plugin in list(ext.plugins.plugins.values()):
        if plugin.broken:
            continue
        try:
            blueprints = ext.plugins.call_plugin(plugin.name, "officium_blueprints") or []
            for blueprint in blueprints:
                if isinstance(blueprint, SmorestBlueprint):
                    register_plugin_api(app, blueprint, plugin.name)
                else:
                    app.register_blueprint(blueprint)
                ext.blueprint_owner[blueprint.name] = plugin.name
        except Exception as exc:
            if ext.plugins.strict:
                raise
            log.exception("plugin %s: blueprints could not be mounted", plugin.name)
            plugin.hook_errors.append(f"officium_blueprints raised {type(exc).__name__}: {exc}")


def _install_request_hooks(app: Flask, ext: Officium) -> None:
    @app.before_request
    def _plugins_guard() -> None:
        ext.refresh_plugins()
        blueprint = request.blueprint
        owner = ext.blueprint_owner.get(blueprint.split(".")[0]) if blueprint else None
        if owner is not None and not ext.plugins.is_enabled(owner):
            abort(404)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("officium_session", None)
        if session is not None:
            session.close()
