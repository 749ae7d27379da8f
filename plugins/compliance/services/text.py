"""Text as compliance stores and searches it.

NUL characters are never meaningful in a title, a note or a search, and PostgreSQL refuses them:
a form sending one gets a field message, a search simply drops them.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import validation

SEARCH_LIMIT = 200


def parse_text(
    value: Any, field: str, errors: dict[str, list[str]], *, limit: int, required: bool = False
) -> str:
    """:func:`validation.parse_text`, refusing NUL characters with a message on ``field``."""
    text = validation.parse_text(value, field, errors, limit=limit, required=required)
    if field not in errors and "\x00" in text:
        errors[field] = ["must not contain NUL characters"]
    return text


def search_text(value: Any) -> str:
    """A search as typed, without NUL characters, blanks at the ends or more than 200 characters."""
    return value.replace("\x00", "").strip()[:SEARCH_LIMIT] if isinstance(value, str) else ""
