"""Accounting's pages: invoices, bills, credit notes, payments, the dashboard and contact panel.

Reports, the chart of accounts, taxes, fiscal years and bank statements are in
``report_views``, on the same blueprint. Views only translate between HTTP and
``services``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from core.plugin_api import Panel, Widget

blueprint = Blueprint("accounting", __name__, url_prefix="/accounting", template_folder="templates")


def dashboard_widgets() -> list[Widget]:
    """P&L and revenue trend charts for the home dashboard."""
    return []


def contact_panel(contact: Any) -> Panel:
    """The contact's invoices, bills and balance due."""
    return Panel("Invoices and bills", "")


from . import report_views  # noqa: E402,F401 - registers its routes on ``blueprint``
