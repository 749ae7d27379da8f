"""The public API for plugins: the one module a plugin imports from Officium.

Everything a plugin needs is re-exported here; nothing else in ``core`` is a
promise. See docs/plugins.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.app import get_session
from core.context import actor_of, company_id_of
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
from core.errors import Conflict, NotFound, OfficiumError, PermissionDenied, ValidationError
from core.events import Event, emit
from core.hookspecs import hookimpl
from core.models import Account, Company, Contact, Journal, JournalEntry, JournalLine, User
from core.permissions import check_permission, has_permission, require_permission
from core.plugins import PluginInfo
from core.services import contacts, ledger
from core.services.ledger import EntryInput, LineInput, post_entries, post_entry, reverse_entry


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
    """A section on the contact page."""

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


__all__ = [
    "Account",
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
