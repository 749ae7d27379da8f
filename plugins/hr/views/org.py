"""HR pages: org (being written)."""

from __future__ import annotations

from typing import Any

from . import blueprint  # noqa: F401


def widgets(user: Any) -> list[Any]:
    return []


def contact_panel(contact: Any) -> Any:
    return None


def search_results(query: str) -> list[Any]:
    return []
