"""The public API for plugins: the one module a plugin imports from Officium.

Everything a plugin needs is re-exported here; nothing else in ``core`` is a
promise. See docs/plugins.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import audit, validation
from core.api.schemas import Amount, ListQuery, Strict
from core.app import get_session
from core.context import actor_of, company_id_of, granting
from core.db import (
    Base,
    CompanyMixin,
    CustomFieldsMixin,
    IdMixin,
    Money,
    TimestampMixin,
    UTCDateTime,
    to_decimal,
    utcnow,
)
from core.errors import (
    Conflict,
    DutyViolation,
    NotFound,
    OfficiumError,
    PermissionDenied,
    ValidationError,
)
from core.events import Event, emit
from core.hookspecs import hookimpl
from core.models import Account, AuditLog, Company, Contact, Journal, JournalEntry, JournalLine, Role, User
from core.pagination import Page, decode_cursor, keyset_page
from core.permissions import check_permission, has_permission, require_permission
from core.plugins import PluginInfo
from core.services import companies, contacts, ledger, notifications, users
from core.services.duties import DutyCheck, check_duty, declared_actions
from core.services.ledger import EntryInput, LineInput, post_entries, post_entry, reverse_entry
from core.web import charts, pages
from core.web.downloads import csv_response
from core.web.guards import any_user, public


@dataclass(frozen=True)
class MenuItem:
    """A navigation entry; ``permission`` hides it from users without that code."""

    label: str
    endpoint: str
    permission: str | None = None
    order: int = 100
    icon: str = ""
    section: str = ""


@dataclass(frozen=True)
class Widget:
    """A dashboard card: ``html`` is trusted markup rendered by the plugin (escape user data)."""

    title: str
    html: str
    order: int = 100
    width: int = 1


@dataclass(frozen=True)
class Panel:
    """A section on the contact page or on a record's detail page (``html`` is trusted markup)."""

    title: str
    html: str
    order: int = 100


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    kind: str = ""
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def call_hook(session: Any, name: str, /, **kwargs: Any) -> list[Any]:
    """Call hook ``name`` on every enabled plugin, with keyword arguments, inside ``session``'s work.

    For a plugin's named cross-plugin moments (CRM calls ``officium_deal_won``):
    plugins that are disabled, or not installed, are simply not called.
    """
    from core.context import manager_of

    manager = manager_of(session)
    if manager is None:
        return []
    return getattr(manager.hook, name)(**kwargs)


def call_hook_by_plugin(
    session: Any, name: str, /, *, unguarded: bool = False, **kwargs: Any
) -> dict[str, Any]:
    """Call hook ``name`` on core and every enabled plugin; returns ``{plugin name: answer}``
    (``"core"`` for core's own), leaving out those that answered None.

    With ``unguarded``, a failing implementation raises instead of being logged and skipped.
    """
    from core.context import manager_of

    manager = manager_of(session)
    if manager is None:
        return {}
    return manager.results_by_plugin(name, unguarded=unguarded, **kwargs)


def api_sort(
    value: str | None, allowed: dict[str, Any], default: str, *, newest_first: bool = False
) -> tuple[str, bool]:
    """Parse an API ``sort`` argument (``name``, ``-name`` for descending); unknown keys are a 422.

    Without one, the list is ``default`` ascending, or descending with ``newest_first``.
    """
    from core.api.resources import _sort

    if not value:
        return default, newest_first
    return _sort(value, allowed, default)


def api_commit() -> None:
    """Commit the request's work, then read back what was stored, so an API response shows the
    values as a later GET will (amounts with their cents, defaults filled in)."""
    session = get_session()
    session.commit()
    session.expire_all()


def api_page(page: Page, dump: Any = None) -> dict[str, Any]:
    """The API's collection shape: ``{"items": [...], "next_cursor": ...}``."""
    items = [dump(item) for item in page.items] if dump else page.items
    return {"items": items, "next_cursor": page.next_cursor}


__all__ = [
    "Account",
    "AuditLog",
    "DutyCheck",
    "DutyViolation",
    "audit",
    "check_duty",
    "declared_actions",
    "Amount",
    "ListQuery",
    "Page",
    "Role",
    "Strict",
    "any_user",
    "api_commit",
    "api_page",
    "api_sort",
    "call_hook",
    "call_hook_by_plugin",
    "charts",
    "companies",
    "csv_response",
    "decode_cursor",
    "granting",
    "keyset_page",
    "notifications",
    "pages",
    "public",
    "users",
    "validation",
    "Base",
    "Company",
    "CompanyMixin",
    "Conflict",
    "Contact",
    "CustomFieldsMixin",
    "EntryInput",
    "Event",
    "IdMixin",
    "Journal",
    "JournalEntry",
    "JournalLine",
    "LineInput",
    "MenuItem",
    "Money",
    "NotFound",
    "OfficiumError",
    "Panel",
    "PermissionDenied",
    "PluginInfo",
    "SearchResult",
    "TimestampMixin",
    "UTCDateTime",
    "User",
    "ValidationError",
    "Widget",
    "actor_of",
    "check_permission",
    "company_id_of",
    "contacts",
    "emit",
    "get_session",
    "has_permission",
    "hookimpl",
    "ledger",
    "post_entries",
    "post_entry",
    "require_permission",
    "reverse_entry",
    "to_decimal",
    "utcnow",
]
