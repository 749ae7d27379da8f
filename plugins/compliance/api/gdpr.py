"""Compliance API: GDPR — export a person's data, anonymize or delete it, list the requests.

Every route needs ``compliance.gdpr``. A deletion that something must retain is a 422 whose
``fields.mode`` lists the reasons; the refused request is recorded all the same.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from core.plugin_api import (
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
)

from ..schemas.gdpr import (
    EraseRequest,
    ExportQuery,
    GdprRequestPage,
    GdprRequestQuery,
    GdprRequestSchema,
    PersonalDataExport,
)
from ..services import gdpr as service
from . import blueprint

PERMISSION = "compliance.gdpr"


def _request(session: Any, request: Any) -> dict[str, Any]:
    contact_names, user_names = service.names(session, [request])
    return service.as_dict(request, contact_names, user_names)


@blueprint.route("/gdpr/contacts/<int:contact_id>/export", methods=["GET"])
@require_permission(PERMISSION)
@blueprint.arguments(ExportQuery, location="query")
@blueprint.response(200, PersonalDataExport)
def gdpr_export(args: dict[str, Any], contact_id: int) -> dict[str, Any]:
    """Everything held about the contact: ``sections`` has one entry per part of the product
    (``core``, ``crm``, ``accounting``, ``hr``, ``compliance``...). The export is recorded."""
    session = get_session()
    document = service.export_contact(session, contact_id, reason=args["reason"])
    session.commit()
    return document


@blueprint.route("/gdpr/contacts/<int:contact_id>/erase", methods=["POST"])
@require_permission(PERMISSION)
@blueprint.arguments(EraseRequest)
@blueprint.response(200, GdprRequestSchema)
@blueprint.alt_response(422, description="invalid input, or records that must be retained")
def gdpr_erase(data: dict[str, Any], contact_id: int) -> Any:
    """``mode`` anonymize (always possible) or delete (refused while records must be retained),
    with the ``reason``; returns the recorded request and its outcome lines."""
    session = get_session()
    answered = service.erase_contact(session, contact_id, mode=data["mode"], reason=data["reason"])
    session.commit()
    if answered.status == "refused":
        reasons = [line for line in answered.outcome if line != service.RETAIN_MESSAGE]
        body = {
            "error": {
                "code": "retained",
                "message": service.refusal_message(answered),
                "fields": {"mode": reasons},
            }
        }
        return jsonify(body), 422
    session.expire_all()
    return _request(session, answered)


@blueprint.route("/gdpr/requests", methods=["GET"])
@require_permission(PERMISSION)
@blueprint.arguments(GdprRequestQuery, location="query")
@blueprint.response(200, GdprRequestPage)
def gdpr_requests(args: dict[str, Any]) -> dict[str, Any]:
    """The company's GDPR requests by keyset, newest first (``sort``: requested_at, id; ``-`` for
    descending); ``contact_id``, ``kind`` and ``status`` filter."""
    session = get_session()
    sort, descending = api_sort(args["sort"], service.SORTS, "requested_at", newest_first=True)
    page = service.list_requests(
        session,
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=service.SORTS[sort]),
        limit=args["limit"],
        contact_id=args["contact_id"],
        kind=args["kind"],
        status=args["status"],
    )
    contact_names, user_names = service.names(session, page.items)
    return api_page(page, lambda item: service.as_dict(item, contact_names, user_names))
