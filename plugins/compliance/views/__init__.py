"""Compliance's pages, one module per area on one blueprint: ``audit`` (the audit log browser and a
record's history), ``locks`` (period locks), ``policies``, ``risks``, ``controls``, ``sod``
(segregation-of-duties rules) and ``gdpr``.

Views only translate between HTTP and ``services``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from core.plugin_api import SearchResult, Widget, pages

blueprint = Blueprint(
    "compliance",
    __name__,
    url_prefix="/compliance",
    template_folder=str(Path(__file__).parent.parent / "templates"),
)

# Plugin assets are served by a declared view (a blueprint static folder would be admin-only).
ASSET_DIR = Path(__file__).parent.parent / "static" / "compliance"
pages.serve_assets(
    blueprint, ASSET_DIR, frozenset({"compliance.css", "audit.css", "policies.css", "risks.css"})
)


def dashboard_widgets(user: Any) -> list[Widget]:
    """Policies waiting for this user's acknowledgement, the risk heat map, overdue reviews and tests."""
    return policies.widgets(user) + risks.widgets(user) + controls.widgets(user) + audit.widgets(user)


def search_results(query: str, user: Any) -> list[SearchResult]:
    return (
        risks.search_results(query, user)
        + controls.search_results(query, user)
        + policies.search_results(query, user)
    )


from . import audit, controls, gdpr, locks, policies, risks, sod  # noqa: E402,F401 - routes on ``blueprint``
