"""CRM's pages: the pipeline board, leads, deals, activities, quotes, forecast, web-to-lead."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from core.plugin_api import Panel, Widget

blueprint = Blueprint("crm", __name__, url_prefix="/crm", template_folder="templates")


def dashboard_widgets() -> list[Widget]:
    """A funnel chart and a revenue forecast chart for the home dashboard."""
    return []


def contact_panel(contact: Any) -> Panel:
    """The contact's deals, open activities and last interaction."""
    return Panel("Sales", "")
