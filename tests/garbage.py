"""What the garbage sweeps of every department share: how to tell a failure from an answer, and
how to read a request body's fields from the OpenAPI document."""

from __future__ import annotations

from typing import Any

# The message core answers when the database refuses a value (too long, out of range).
REFUSED_BY_DATABASE = "A value is out of range or too long."


def failure(response: Any) -> str | None:
    """Why ``response`` counts as a failure (a 5xx, or a value the database had to refuse), or None."""
    if response.status_code >= 500:
        return str(response.status_code)
    if REFUSED_BY_DATABASE in response.get_data(as_text=True):
        return "refused by the database"
    return None


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed into the document's components."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def properties(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A request body's fields, each resolved."""
    return {name: resolve(spec, prop) for name, prop in resolve(spec, schema).get("properties", {}).items()}
