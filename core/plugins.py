"""The plugin manager: discovery, metadata, isolation, and live enable/disable.

Plugins are found through the ``officium.plugins`` entry-point group (built-ins
are declared there too). Installed = importable; enabled = a row in
``plugin_state``. Every process caches the enabled set and re-reads it when the
``plugins`` counter in ``state_version`` moves, so enabling in one worker is
seen by all of them without a restart.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit, hookspecs
from core.db import Base, Database, utcnow
from core.errors import OfficiumError, PluginError
from core.models import PluginState, StateVersion

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "officium.plugins"
CATEGORIES = ("front office", "back office", "platform", "other")


@dataclass(frozen=True)
class PluginInfo:
    """What a plugin says about itself (``PLUGIN = PluginInfo(...)`` in its package)."""

    name: str
    title: str
    version: str
    description: str = ""
    depends: tuple[str, ...] = ()
    category: str = "other"

    def __post_init__(self) -> None:
        object.__setattr__(self, "depends", tuple(self.depends))


@dataclass
class Plugin:
    """An installed plugin as this process sees it."""

    name: str
    info: PluginInfo | None = None
    module: ModuleType | None = None
    hooks_module: ModuleType | None = None
    migrations_path: Path | None = None
    load_error: str | None = None
    hook_errors: list[str] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        return self.load_error is not None

    @property
    def table_prefix(self) -> str:
        return f"{self.name}_"

    def as_dict(self, enabled: bool, recorded_error: str | None = None) -> dict[str, Any]:
        info = self.info
        return {
            "name": self.name,
            "title": info.title if info else self.name,
            "version": info.version if info else "",
            "description": info.description if info else "",
            "depends": list(info.depends) if info else [],
            "category": info.category if info else "other",
            "enabled": enabled,
            "status": "broken" if self.broken else ("enabled" if enabled else "disabled"),
            "error": self.load_error or (self.hook_errors[-1] if self.hook_errors else recorded_error),
        }


class PluginManager:
    """Loads plugins, calls their hooks (enabled ones only) and enables/disables them."""

    def __init__(self, *, strict: bool | None = None) -> None:
        self.strict = os.environ.get("OFFICIUM_STRICT_PLUGINS") == "1" if strict is None else strict
        self.pm = pluggy.PluginManager("officium")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, Plugin] = {}
        self._enabled: frozenset[str] = frozenset()
        self._state_version: int | None = None
        self._callers: dict[tuple[str, frozenset[str]], Any] = {}
        # Errors other processes recorded in plugin_state (failed enables), by plugin name.
        self.recorded_errors: dict[str, str] = {}
        self.hook = _HookRelay(self)

    # --- discovery --------------------------------------------------------------------

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP, only: Iterable[str] | None = None) -> None:
        """Import the plugins declared in the entry-point group (all, or those named in ``only``).

        A plugin that fails to import is marked broken; the others load.
        """
        wanted = set(only) if only is not None else None
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            if ep.name not in self.plugins and (wanted is None or ep.name in wanted):
                self.load_entry_point(ep)

    def load_entry_point(self, ep: EntryPoint) -> Plugin:
        try:
            module = ep.load()
        except Exception as exc:
            return self._broken(ep.name, exc, "import failed")
        return self.load_module(module, expected_name=ep.name)

    def load_module(self, module: ModuleType, expected_name: str | None = None) -> Plugin:
        """Register a plugin package: its ``PLUGIN`` metadata, ``models`` and ``hooks`` submodules."""
        info = getattr(module, "PLUGIN", None)
        name = expected_name or getattr(info, "name", None) or module.__name__
        if not isinstance(info, PluginInfo):
            return self._broken(name, None, "has no PLUGIN = PluginInfo(...)")
        if expected_name and info.name != expected_name:
            return self._broken(name, None, f"entry point {expected_name!r} names plugin {info.name!r}")
        plugin = Plugin(name=name, info=info, module=module)
        try:
            for sub in ("models", "hooks"):
                loaded = _import_submodule(module, sub)
                if sub == "hooks":
                    plugin.hooks_module = loaded or module
            self.pm.register(plugin.hooks_module, name=name)
            self._check_hook_names(plugin)
        except Exception as exc:
            if plugin.hooks_module is not None and self.pm.is_registered(plugin.hooks_module):
                self.pm.unregister(plugin.hooks_module)
            return self._broken(name, exc, "could not be registered")
        self._guard_hookimpls(plugin)
        if module.__file__:
            versions = Path(module.__file__).parent / "migrations" / "versions"
            plugin.migrations_path = versions if versions.is_dir() else None
        self.plugins[name] = plugin
        self._callers.clear()
        return plugin

    def unload(self, name: str) -> None:
        """Forget a plugin (used by tests that register plugins temporarily)."""
        plugin = self.plugins.pop(name, None)
        if plugin and plugin.hooks_module is not None and self.pm.is_registered(plugin.hooks_module):
            self.pm.unregister(plugin.hooks_module)
        self._enabled = self._enabled - {name}
        self._callers.clear()

    def _broken(self, name: str, exc: BaseException | None, what: str) -> Plugin:
        if self.strict and exc is not None:
            raise exc
        message = f"{name}: {what}" + (f": {describe_exception(exc)}" if exc else "")
        log.error("plugin %s", message)
        log.debug("plugin %s failed to load", name, exc_info=exc)
        plugin = Plugin(name=name, load_error=message)
        self.plugins[name] = plugin
        return plugin

    def _check_hook_names(self, plugin: Plugin) -> None:
        # A misspelled hook would otherwise never be called (pluggy's check_pending).
        for caller in self.pm.get_hookcallers(plugin.hooks_module) or []:
            if caller.spec is None and not any(
                impl.optionalhook for impl in caller.get_hookimpls() if impl.plugin is plugin.hooks_module
            ):
                raise PluginError(f"unknown hook {caller.name!r} (hooks start with officium_)")

    def _guard_hookimpls(self, plugin: Plugin) -> None:
        """Wrap each implementation so one plugin's exception cannot break the others."""
        for caller in self.pm.get_hookcallers(plugin.hooks_module) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin.hooks_module or impl.wrapper or impl.hookwrapper:
                    continue
                impl.function = self._guarded(plugin, caller.name, impl.function)

    def _guarded(self, plugin: Plugin, hook_name: str, function: Callable) -> Callable:
        @functools.wraps(function)
        def guarded(*args: Any) -> Any:
            try:
                return function(*args)
            except OfficiumError:
                raise  # a deliberate refusal (e.g. a ValidationError) is the plugin's answer
            except Exception as exc:
                if self.strict:
                    raise
                message = f"{hook_name} raised {describe_exception(exc)}"
                log.error("plugin %s: %s", plugin.name, message, exc_info=log.isEnabledFor(logging.DEBUG))
                plugin.hook_errors.append(message)
                del plugin.hook_errors[:-10]
                return None

        guarded.officium_unguarded = function  # type: ignore[attr-defined]
        return guarded

    # --- queries --------------------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        """The plugin as the API, the Apps page and ``plugins list`` show it."""
        return self.get(name).as_dict(self.is_enabled(name), self.recorded_errors.get(name))

    def describe_all(self) -> list[dict[str, Any]]:
        return [self.describe(name) for name in sorted(self.plugins)]

    def get(self, name: str) -> Plugin:
        try:
            return self.plugins[name]
        except KeyError:
            raise PluginError(f"no plugin named {name!r} is installed") from None

    @property
    def enabled(self) -> frozenset[str]:
        """Names of the enabled plugins, as of the last :meth:`refresh`."""
        return self._enabled

    def is_enabled(self, name: str) -> bool:
        return name in self._enabled

    def enabled_plugins(self) -> list[Plugin]:
        return [p for name, p in sorted(self.plugins.items()) if name in self._enabled]

    def plugin_for_table(self, table_name: str) -> str | None:
        for name in self.plugins:
            if table_name.startswith(f"{name}_"):
                return name
        return None

    def refresh(self, session: Session) -> bool:
        """Re-read the enabled set if another process changed it. Returns True when it changed.

        One primary-key lookup per call; a database not initialised yet has no plugins enabled.
        """
        try:
            version = session.scalar(select(StateVersion.version).where(StateVersion.key == "plugins"))
        except DBAPIError:
            session.rollback()
            self._set_enabled(frozenset(), None)
            return False
        version = version or 0
        if version == self._state_version:
            return False
        rows = session.execute(select(PluginState.name, PluginState.enabled, PluginState.last_error)).all()
        self.recorded_errors = {name: error for name, _enabled, error in rows if error}
        self._set_enabled(frozenset(name for name, enabled, _error in rows if enabled), version)
        return True

    def _set_enabled(self, names: frozenset[str], version: int | None) -> None:
        # A plugin enabled in the database but not importable here stays off in this process.
        self._enabled = frozenset(n for n in names if n in self.plugins and not self.plugins[n].broken)
        self._state_version = version

    # --- hook calls -----------------------------------------------------------------------

    def caller(self, hook_name: str) -> Any:
        key = (hook_name, self._enabled)
        caller = self._callers.get(key)
        if caller is None:
            disabled = [
                p.hooks_module
                for p in self.plugins.values()
                if p.hooks_module is not None and p.name not in self._enabled
            ]
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=disabled)
            self._callers[key] = caller
        return caller

    def call_plugin(self, name: str, hook_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of a hook directly, letting exceptions through."""
        plugin = self.get(name)
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            if impl.plugin is plugin.hooks_module:
                function = getattr(impl.function, "officium_unguarded", impl.function)
                return function(**{arg: kwargs[arg] for arg in impl.argnames})
        return None

    def results_by_plugin(self, hook_name: str, *, unguarded: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Call a hook on core and every enabled plugin; each answer keyed by who gave it.

        With ``unguarded``, an implementation's unexpected exception stops the call as a
        :class:`PluginError` naming the plugin, instead of being logged and skipped: for hooks
        where a silent gap would be wrong (erasing a person's data must not report success
        while one plugin failed).
        """
        owners = {id(p.hooks_module): name for name, p in self.plugins.items() if p.hooks_module is not None}
        results: dict[str, Any] = {}
        for impl in reversed(self.caller(hook_name).get_hookimpls()):  # registration order
            name = owners.get(id(impl.plugin)) or self.pm.get_name(impl.plugin) or "?"
            function = (
                getattr(impl.function, "officium_unguarded", impl.function) if unguarded else impl.function
            )
            try:
                result = function(*[kwargs[arg] for arg in impl.argnames])  # as pluggy calls them
            except OfficiumError:
                raise
            except Exception as exc:
                if not unguarded or self.strict:
                    raise
                log.exception("plugin %s: %s failed", name, hook_name)
                raise PluginError(f"{name} could not answer {hook_name}: {describe_exception(exc)}") from exc
            if result is not None:
                results[name] = result
        return results

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on enabled plugins and flatten the lists they return."""
        items: list[Any] = []
        for result in self.caller(hook_name)(**kwargs):
            if result is None:
                continue
            if isinstance(result, list | tuple):
                items.extend(result)
            else:
                items.append(result)
        return items

    # --- dependency resolution --------------------------------------------------------------

    def resolve_enable_order(self, names: Iterable[str]) -> list[str]:
        """The plugins to enable for ``names``, dependencies first; raises on missing/cyclic."""
        order: list[str] = []
        visiting: list[str] = []

        def visit(name: str, needed_by: str | None) -> None:
            if name in order:
                return
            if name in visiting:
                cycle = " -> ".join([*visiting[visiting.index(name) :], name])
                raise PluginError(f"circular plugin dependency: {cycle}")
            plugin = self.plugins.get(name)
            if plugin is None:
                if needed_by:
                    raise PluginError(f"{needed_by} needs {name}, which is not installed")
                raise PluginError(f"no plugin named {name!r} is installed")
            if plugin.broken:
                raise PluginError(f"cannot enable {name}: {plugin.load_error}")
            visiting.append(name)
            for dep in plugin.info.depends:
                visit(dep, name)
            visiting.pop()
            order.append(name)

        for name in names:
            visit(name, None)
        return order

    def dependents(self, name: str, among: Iterable[str]) -> list[str]:
        """Plugins in ``among`` that depend on ``name``, directly or not."""
        result = []
        for other in among:
            if other != name and name in self._all_dependencies(other):
                result.append(other)
        return sorted(result)

    def _all_dependencies(self, name: str, seen: set[str] | None = None) -> set[str]:
        seen = set() if seen is None else seen
        plugin = self.plugins.get(name)
        for dep in plugin.info.depends if plugin and plugin.info else ():
            if dep not in seen:
                seen.add(dep)
                self._all_dependencies(dep, seen)
        return seen

    # --- enable / disable -----------------------------------------------------------------------

    def enable(self, db: Database, names: Iterable[str]) -> list[str]:
        """Enable plugins and their dependencies: migrate, record, seed — all or nothing.

        Returns the names that were newly enabled, in order.
        """
        from core import migrate  # migrate needs the manager; imported late to avoid a cycle

        names = list(names)
        with db.session() as session:
            self.refresh(session)
            order = [n for n in self.resolve_enable_order(names) if n not in self._enabled]
            session.rollback()
            if not order:
                return []
            current = None
            try:
                with (
                    migrate.migration_connection(db) as connection,
                    db.session_factory(bind=connection) as tx,
                ):
                    for current in order:
                        plugin = self.plugins[current]
                        if plugin.migrations_path is not None:
                            migrate.upgrade(connection, self, f"{current}@head")
                        state = tx.get(PluginState, current) or PluginState(name=current)
                        state.enabled = True
                        state.version = plugin.info.version
                        state.enabled_at = utcnow()
                        state.last_error = None
                        tx.add(state)
                        tx.flush()
                        self.call_plugin(current, "officium_plugin_enabled", session=tx)
                        tx.flush()
                    bump_state_version(tx, "plugins")
                    tx.flush()
                    migrate.check_foreign_keys(connection)
                    # The connection commits, not this session: its audit rows are written now.
                    audit.write_pending(tx)
            except PluginError:
                raise
            except Exception as exc:
                self._record_error(db, current, exc)
                if self.strict:
                    raise
                raise PluginError(
                    f"enabling {current} failed, nothing was changed: {describe_exception(exc)}"
                ) from exc
        with db.session() as session:
            self.refresh(session)
        return order

    def disable(self, db: Database, names: Iterable[str]) -> list[str]:
        """Disable plugins; refused while another enabled plugin depends on one. Data stays."""
        names = list(dict.fromkeys(names))
        for name in names:
            self.get(name)
        with db.session() as session, session.begin():
            self.refresh(session)
            to_disable = [n for n in names if n in self._enabled]
            remaining = self._enabled - set(to_disable)
            for name in to_disable:
                blockers = self.dependents(name, remaining)
                if blockers:
                    raise PluginError(
                        f"cannot disable {name}: {', '.join(blockers)} depends on it "
                        f"(disable {', '.join(blockers)} first)"
                    )
            # Dependents before their dependencies.
            ordered = [n for n in reversed(self.resolve_enable_order(to_disable)) if n in to_disable]
            for name in ordered:
                try:
                    self.call_plugin(name, "officium_plugin_disabled", session=session)
                except OfficiumError:
                    raise
                except Exception as exc:
                    if self.strict:
                        raise
                    raise PluginError(
                        f"disabling {name} failed, nothing was changed: {describe_exception(exc)}"
                    ) from exc
                state = session.get(PluginState, name)
                state.enabled = False
                state.disabled_at = utcnow()
            if ordered:
                bump_state_version(session, "plugins")
        with db.session() as session:
            self.refresh(session)
        return ordered

    def uninstall(self, db: Database, name: str) -> None:
        """Disable a plugin and remove its tables (downgrade its branch to base)."""
        from core import migrate

        plugin = self.get(name)
        self.disable(db, [name])
        if plugin.migrations_path is not None:
            with migrate.migration_connection(db) as connection:
                migrate.downgrade(connection, self, f"{name}@base")
        with db.session() as session, session.begin():
            state = session.get(PluginState, name)
            if state is not None:
                session.delete(state)
            bump_state_version(session, "plugins")

    def _record_error(self, db: Database, name: str | None, exc: BaseException) -> None:
        if name is None:
            return
        message = describe_exception(exc)
        log.error("plugin %s failed: %s", name, message)
        log.debug("plugin %s failed", name, exc_info=exc)
        self.plugins[name].hook_errors.append(message)
        try:
            with db.session() as session, session.begin():
                state = session.get(PluginState, name)
                if state is None:
                    session.add(PluginState(name=name, enabled=False, last_error=message))
                else:
                    state.last_error = message
                bump_state_version(session, "plugins")
        except DBAPIError:
            log.exception("could not record the error of plugin %s", name)


def describe_exception(exc: BaseException) -> str:
    """``Type: first line of the message``: enough for a status line, no SQL or traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def bump_state_version(session: Session, key: str) -> None:
    """Move a shared counter so that every process refreshes its cache of ``key``."""
    updated = session.execute(
        update(StateVersion).where(StateVersion.key == key).values(version=StateVersion.version + 1)
    ).rowcount
    if not updated:
        session.add(StateVersion(key=key, version=1))


def core_tables() -> set[str]:
    """Names of core's own tables (plugins' tables carry their plugin's prefix)."""
    import core.models  # noqa: F401 - make sure core's tables are in the metadata

    return set(_CORE_TABLES)


_CORE_TABLES = frozenset(Base.metadata.tables)


def _import_submodule(package: ModuleType, name: str) -> ModuleType | None:
    if not hasattr(package, "__path__"):
        return None
    full = f"{package.__name__}.{name}"
    if importlib.util.find_spec(full) is None:
        return None
    return importlib.import_module(full)


class _HookRelay:
    """``manager.hook.officium_x(...)`` calls the hook on enabled plugins only."""

    def __init__(self, manager: PluginManager) -> None:
        self._manager = manager

    def __getattr__(self, name: str) -> Any:
        return self._manager.caller(name)
