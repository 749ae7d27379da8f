"""Permission codes and the one check used by views, API, reports, exports and services."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from core.context import actor_of
from core.errors import PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])

ADMIN_ROLE = "admin"

# Core's own permissions; plugins add theirs through officium_permissions().
CORE_PERMISSIONS: list[tuple[str, str]] = [
    ("contacts.view", "See contacts"),
    ("contacts.create", "Create contacts"),
    ("contacts.edit", "Edit contacts"),
    ("contacts.delete", "Delete contacts"),
    ("contacts.merge", "Merge duplicate contacts"),
    ("ledger.view", "See accounts, journals, entries and the trial balance"),
    ("ledger.account.manage", "Create and edit accounts and journals"),
    ("ledger.entry.create", "Create draft journal entries"),
    ("ledger.entry.post", "Post journal entries"),
    ("ledger.entry.reverse", "Reverse posted journal entries"),
    ("ledger.period.lock", "Set the lock date"),
    ("users.manage", "Create users and grant roles"),
    ("roles.manage", "Create roles and set their permissions"),
    ("plugins.manage", "Enable and disable plugins"),
]


def has_permission(actor: Any, code: str) -> bool:
    checker = getattr(actor, "has_permission", None)
    return bool(checker and checker(code))


def check_permission(actor: Any, code: str) -> None:
    """Raise :class:`PermissionDenied` naming ``code`` unless ``actor`` holds it."""
    if not has_permission(actor, code):
        raise PermissionDenied(code)


def require_permission(code: str) -> Callable[[F], F]:
    """Decorator for services and views: the actor must hold ``code``.

    For a service (first argument a Session) the actor is the session's; for a
    view it is the logged-in user of the request.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = actor_of(args[0]) if args and isinstance(args[0], Session) else _request_actor()
            check_permission(actor, code)
            return function(*args, **kwargs)

        wrapper.officium_permission = code  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _request_actor() -> Any:
    from flask import g, has_request_context

    if not has_request_context():
        from core.context import SYSTEM

        return SYSTEM
    return getattr(g, "officium_actor", None)
