"""Accounting's pages (placeholder until the UI lands)."""

from flask import Blueprint

blueprint = Blueprint("accounting", __name__, url_prefix="/accounting", template_folder="templates")


def dashboard_widgets() -> list:
    return []


def contact_panel(contact):  # noqa: ANN001
    from core.plugin_api import Panel

    return Panel("Invoices", "")
