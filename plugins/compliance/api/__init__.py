"""Compliance's REST API under ``/api/v1/compliance``, one module per area on one blueprint; it only
translates HTTP to ``services``. Errors are core's ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint(
    "compliance_api",
    __name__,
    url_prefix="/api/v1/compliance",
    description="Compliance: audit log, policies, risks, controls, segregation of duties, GDPR",
)

from . import audit, controls, gdpr, policies, risks, sod  # noqa: E402,F401 - routes on ``blueprint``
