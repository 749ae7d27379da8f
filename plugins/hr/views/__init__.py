"""HR's pages, one module per area on one blueprint: ``org`` (employees, contracts, departments,
the org chart), ``leave``, ``payroll``, ``recruitment``, ``training`` and ``me`` (self-service).

Views only translate between HTTP and ``services``; record-level rules (an employee sees only their
own file and payslips) live in the services.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from core.plugin_api import Panel, SearchResult, Widget, pages

blueprint = Blueprint(
    "hr", __name__, url_prefix="/hr", template_folder=str(Path(__file__).parent.parent / "templates")
)

# Plugin assets are served by a declared view (a blueprint static folder would be admin-only).
ASSET_DIR = Path(__file__).parent.parent / "static" / "hr"
# One stylesheet per area (hr.css is shared by every page), print.css for payslips.
pages.serve_assets(
    blueprint, ASSET_DIR, frozenset({"hr.css", "leave.css", "payroll.css", "print.css", "recruitment.css"})
)


def dashboard_widgets(user: Any) -> list[Widget]:
    """Headcount by department, people on leave today, leave waiting for this user's decision."""

    return org.widgets(user) + leave.widgets(user)


def contact_panel(contact: Any) -> Panel | None:

    return org.contact_panel(contact)


def search_results(query: str) -> list[SearchResult]:

    return org.search_results(query)


from . import leave, me, org, payroll, recruitment, training  # noqa: E402,F401 - routes on ``blueprint``
