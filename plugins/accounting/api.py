"""Accounting's REST API (placeholder)."""

from flask_smorest import Blueprint

blueprint = Blueprint("accounting_api", __name__, url_prefix="/api/v1/accounting", description="Accounting")
