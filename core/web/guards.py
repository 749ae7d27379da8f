"""Who may open a page: deny by default.

A view must say who may use it: ``@require_permission(code)``, ``@any_user``
(every logged-in user, e.g. the dashboard) or ``@public`` (login page). A view
that says nothing is for administrators only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request

from core.errors import PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    view.officium_access = "public"  # type: ignore[attr-defined]
    return view


def any_user(view: F) -> F:
    view.officium_access = "any_user"  # type: ignore[attr-defined]
    return view


def access_of(view: Any) -> str:
    """``public``, ``any_user``, ``permission`` or ``admin`` (nothing declared)."""
    view = getattr(view, "view_class", view)
    if getattr(view, "officium_permission", None):
        return "permission"
    return getattr(view, "officium_access", "admin")


def check_declared_access() -> str:
    """Enforce deny-by-default for the current request's view; returns its access kind."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return "public"
    access = access_of(view)
    if access == "admin":
        user = g.get("officium_actor")
        if user is None or not getattr(user, "is_admin", False):
            raise PermissionDenied("admin", "needs the admin role")
    return access
