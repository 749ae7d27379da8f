"""CRM's REST API under /api/v1/crm."""

from flask_smorest import Blueprint

blueprint = Blueprint("crm_api", __name__, url_prefix="/api/v1/crm", description="CRM")
