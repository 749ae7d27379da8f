"""Helpers for plugins' pages: list arguments, form values and serving a plugin's own assets.

Exported as ``core.plugin_api.pages`` so that every department reads a cursor,
a sort or an id from the query string the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, g, request, send_from_directory
from flask_babel import gettext as _

from core.errors import ValidationError
from core.pagination import decode_cursor
from core.web.guards import any_user


def actor_can(code: str) -> bool:
    """Whether the user of the current request holds ``code`` (to show or hide a button)."""
    actor = g.get("officium_actor")
    return bool(actor is not None and actor.has_permission(code))


def int_arg(value: str | None) -> int | None:
    """An id from a query or form value: ASCII digits only (``int("²")`` would raise), else None."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 18 else None


def form_decimal(value: Decimal | None, places: int = 2) -> str:
    """A Decimal as a form value: ``2`` for a quantity of 2.0000, ``500.00`` for a price of 500.0000."""
    if value is None:
        return ""
    if places == 0 or value != value.quantize(Decimal(1).scaleb(-places)):
        text = f"{value.normalize():f}"
        return text if places == 0 or "." in text else f"{text}.00"
    return f"{value.quantize(Decimal(1).scaleb(-places)):f}"


def cursor_arg(column: Any) -> tuple[Any, int] | None:
    """The ``cursor`` query argument for a list sorted by ``column``; a stale one shows the first page."""
    try:
        return decode_cursor(request.args.get("cursor"), column=column)
    except ValidationError:
        flash(_("That page link is no longer valid; showing the first page."), "error")
        return None


def sort_args(allowed: Iterable[str], default: str) -> tuple[str, bool]:
    """``sort`` and ``dir`` query arguments; newest first unless the user clicked a header."""
    sort = request.args.get("sort", default)
    if sort not in allowed:
        sort = default
    return sort, request.args.get("dir", "desc") == "desc"


def contact_choices(session: Any, keep: Any = None, limit: int = 2000) -> list[Any]:
    """Active contacts of the company for a select, by name, plus the one already chosen (``keep``)."""
    from sqlalchemy import select

    from core.context import company_id_of
    from core.models import Contact

    company_id = company_id_of(session)
    contacts = list(
        session.scalars(
            select(Contact)
            .where(Contact.company_id == company_id, Contact.active.is_(True))
            .order_by(Contact.name, Contact.id)
            .limit(limit)
        )
    )
    chosen_id = int_arg(str(keep)) if keep not in (None, "") else None
    chosen = session.get(Contact, chosen_id) if chosen_id is not None else None
    if chosen is not None and chosen.company_id == company_id and chosen not in contacts:
        contacts.insert(0, chosen)
    return contacts


def serve_assets(blueprint: Blueprint, folder: Path, names: Iterable[str]) -> None:
    """Serve a plugin's JS and CSS files at ``<prefix>/assets/<name>`` (endpoint ``<bp>.asset``).

    A declared view rather than a blueprint ``static_folder``: that would add an
    endpoint declaring no access, which deny-by-default makes admin-only. Only
    the listed file names are served.
    """
    allowed = frozenset(names)

    @blueprint.get("/assets/<name>", endpoint="asset")
    @any_user
    def asset(name: str) -> Any:
        if name not in allowed:
            abort(404)
        return send_from_directory(folder, name, max_age=3600)
