"""HR's REST API under ``/api/v1/hr``, one module per area on one blueprint; it only translates
HTTP to ``services``. Errors are core's ``{"error": {"code", "message", "fields"}}`` (422 bad input,
409 wrong state, 404 unknown or not yours). Amounts travel as decimal strings."""

from __future__ import annotations

from flask_smorest import Blueprint

blueprint = Blueprint(
    "hr_api",
    __name__,
    url_prefix="/api/v1/hr",
    description="HR: people, leave, payroll, recruitment, training",
)

from . import leave, org, payroll, recruitment, training  # noqa: E402,F401 - routes on ``blueprint``
