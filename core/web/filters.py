"""Jinja filters: amounts and dates per locale, and the menu."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Flask, g, url_for
from flask_babel import format_date, format_decimal
from markupsafe import Markup
from werkzeug.routing import BuildError


def money(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.00")


def quantity(value: Decimal | None) -> str:
    """A quantity or percentage without trailing zeros: ``2``, ``1.5``, ``12.25``."""
    return "" if value is None else format_decimal(value, format="#,##0.####")


def price(value: Decimal | None) -> str:
    """A unit price with at least cents: ``500.00``, ``0.3333``."""
    return "" if value is None else format_decimal(value, format="#,##0.00##")


def date(value: dt.date | None) -> str:
    return format_date(value, format="medium") if value else ""


def menu() -> list[dict[str, Any]]:
    """Navigation from core's and enabled plugins' ``officium_menu_items``, filtered by permission."""
    from core.app import officium
    from core.permissions import has_permission

    user = g.get("officium_actor")
    if user is None:
        return []
    items = []
    for item in officium().plugins.collect("officium_menu_items", user=user):
        if item.permission and not has_permission(user, item.permission):
            continue
        try:
            url = url_for(item.endpoint)
        except BuildError:
            continue
        items.append(
            {
                "label": item.label,
                "url": url,
                "section": item.section,
                "order": item.order,
                "endpoint": item.endpoint,
            }
        )
    # A section's entries stay together, sections in the order of their first entry.
    first = {}
    for item in items:
        first[item["section"]] = min(first.get(item["section"], item["order"]), item["order"])
    return sorted(items, key=lambda i: (first[i["section"]], i["section"], i["order"], i["label"]))


def unread_messages() -> int:
    """The signed-in user's unread notifications, for the header."""
    from core.app import get_session
    from core.services import notifications

    if g.get("officium_actor") is None:
        return 0
    return notifications.unread_count(get_session())


def record_panels(record: Any) -> Markup:
    """The sections plugins add to ``record``'s detail page (``officium_record_panels``)."""
    from flask import render_template

    from core.app import officium

    user = g.get("officium_actor")
    if user is None or record is None:
        return Markup("")
    panels = officium().plugins.collect("officium_record_panels", record=record, user=user)
    if not panels:
        return Markup("")
    html = render_template("core/record_panels.html", panels=sorted(panels, key=lambda p: p.order))
    return Markup(html)  # noqa: S704 - a template render: autoescaped, panels are trusted markup


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["quantity"] = quantity
    app.jinja_env.filters["price"] = price
    app.jinja_env.globals["menu"] = menu
    app.jinja_env.globals["unread_messages"] = unread_messages
    app.jinja_env.globals["record_panels"] = record_panels
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")
