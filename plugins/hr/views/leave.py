"""HR pages: leave (being written)."""

from __future__ import annotations

from typing import Any

from . import blueprint  # noqa: F401


def widgets(user: Any) -> list[Any]:
    return []
