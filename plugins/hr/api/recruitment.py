"""HR API: recruitment — job openings, applicants, their stages and CV file, hiring.

Every route needs ``hr.recruitment.manage``. The CV file travels apart from the JSON:
``PUT /applicants/<id>/cv`` takes it as multipart form data (field ``file``), ``GET`` gives it
back as a download.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from core.plugin_api import (
    ValidationError,
    api_commit,
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
)

from ..models import Applicant, JobOpening
from ..schemas.recruitment import (
    ApplicantCreateSchema,
    ApplicantPage,
    ApplicantPatchSchema,
    ApplicantQuery,
    ApplicantSchema,
    HireRequest,
    HireSchema,
    OpeningCreateSchema,
    OpeningPage,
    OpeningPatchSchema,
    OpeningQuery,
    OpeningSchema,
    RejectRequest,
    StageRequest,
)
from ..services import recruitment as service
from ..views.recruitment import cv_response
from . import blueprint

MANAGE = "hr.recruitment.manage"
CV_REQUEST_LIMIT = 2 * service.MAX_CV_BYTES
CV_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        }
    },
}


def _opening(opening: JobOpening, counts: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": opening.id,
        "title": opening.title,
        "department_id": opening.department_id,
        "department": opening.department.name if opening.department else None,
        "position_id": opening.position_id,
        "position": opening.position.name if opening.position else None,
        "description": opening.description,
        "state": opening.state,
        "applicants": {stage: (counts or {}).get(stage, 0) for stage in service.APPLICANT_STAGES},
        "created_at": opening.created_at,
        "updated_at": opening.updated_at,
    }


def _opening_with_counts(session: Any, opening: JobOpening) -> dict[str, Any]:
    return _opening(opening, service.applicant_counts(session, [opening.id]).get(opening.id))


def _applicant(applicant: Applicant) -> dict[str, Any]:
    return {
        "id": applicant.id,
        "name": applicant.name,
        "email": applicant.email,
        "phone": applicant.phone,
        "opening_id": applicant.opening_id,
        "opening": applicant.opening.title if applicant.opening else None,
        "stage": applicant.stage,
        "cv_text": applicant.cv_text,
        "cv_filename": applicant.cv_filename,
        "cv_content_type": applicant.cv_content_type,
        "cv_size": applicant.cv_size,
        "cv_url": url_for("hr_api.recruitment_cv_get", applicant_id=applicant.id)
        if applicant.cv_size
        else None,
        "notes": applicant.notes,
        "rejection_reason": applicant.rejection_reason,
        "employee_id": applicant.employee_id,
        "created_at": applicant.created_at,
        "updated_at": applicant.updated_at,
    }


# --- openings ----------------------------------------------------------------------------------------


@blueprint.route("/openings", methods=["GET"])
@require_permission(MANAGE)
@blueprint.arguments(OpeningQuery, location="query")
@blueprint.response(200, OpeningPage)
def recruitment_openings_list(args: dict[str, Any]) -> dict[str, Any]:
    """Job openings, open ones first then by title, with their applicants per stage; ``state`` and
    ``q`` (title) filter."""
    session = get_session()
    found = service.list_openings(session, state=args["state"], q=args["q"])
    counts = service.applicant_counts(session, [o.id for o in found])
    return {"items": [_opening(o, counts.get(o.id)) for o in found], "next_cursor": None}


@blueprint.route("/openings", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(OpeningCreateSchema)
@blueprint.response(201, OpeningSchema)
def recruitment_openings_create(data: dict[str, Any]) -> dict[str, Any]:
    """Open a job: ``title`` (required), ``department_id``, ``position_id``, ``description``."""
    session = get_session()
    opening = service.create_opening(session, data)
    api_commit()
    return _opening_with_counts(session, opening)


@blueprint.route("/openings/<int:opening_id>", methods=["GET"])
@require_permission(MANAGE)
@blueprint.response(200, OpeningSchema)
def recruitment_openings_get(opening_id: int) -> dict[str, Any]:
    session = get_session()
    return _opening_with_counts(session, service.get_opening(session, opening_id))


@blueprint.route("/openings/<int:opening_id>", methods=["PATCH"])
@require_permission(MANAGE)
@blueprint.arguments(OpeningPatchSchema)
@blueprint.response(200, OpeningSchema)
def recruitment_openings_update(data: dict[str, Any], opening_id: int) -> dict[str, Any]:
    session = get_session()
    opening = service.update_opening(session, service.get_opening(session, opening_id), data)
    api_commit()
    return _opening_with_counts(session, opening)


@blueprint.route("/openings/<int:opening_id>/close", methods=["POST"])
@require_permission(MANAGE)
@blueprint.response(200, OpeningSchema)
def recruitment_openings_close(opening_id: int) -> dict[str, Any]:
    """Stop taking applicants for the opening; an opening already closed is 409."""
    session = get_session()
    opening = service.close_opening(session, service.get_opening(session, opening_id))
    api_commit()
    return _opening_with_counts(session, opening)


@blueprint.route("/openings/<int:opening_id>/reopen", methods=["POST"])
@require_permission(MANAGE)
@blueprint.response(200, OpeningSchema)
def recruitment_openings_reopen(opening_id: int) -> dict[str, Any]:
    """Take applicants again; an open opening is 409."""
    session = get_session()
    opening = service.reopen_opening(session, service.get_opening(session, opening_id))
    api_commit()
    return _opening_with_counts(session, opening)


# --- applicants ----------------------------------------------------------------------------------------


@blueprint.route("/applicants", methods=["GET"])
@require_permission(MANAGE)
@blueprint.arguments(ApplicantQuery, location="query")
@blueprint.response(200, ApplicantPage)
def recruitment_applicants_list(args: dict[str, Any]) -> dict[str, Any]:
    """Applicants by keyset, newest first (``sort``: id, name, created_at, stage; ``-`` for
    descending); ``q`` matches the name and email; ``opening_id`` and ``stage`` filter."""
    sort, descending = api_sort(args["sort"], service.APPLICANT_SORTS, "id", newest_first=True)
    page = service.list_applicants(
        get_session(),
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=service.APPLICANT_SORTS[sort]),
        limit=args["limit"],
        q=args["q"],
        opening_id=args["opening_id"],
        stage=args["stage"],
    )
    return api_page(page, _applicant)


@blueprint.route("/applicants", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(ApplicantCreateSchema)
@blueprint.response(201, ApplicantSchema)
def recruitment_applicants_create(data: dict[str, Any]) -> dict[str, Any]:
    """Record an applicant (``cv_text`` holds the CV as text; upload a file with ``PUT .../cv``)."""
    applicant = service.create_applicant(get_session(), data)
    api_commit()
    return _applicant(applicant)


@blueprint.route("/applicants/<int:applicant_id>", methods=["GET"])
@require_permission(MANAGE)
@blueprint.response(200, ApplicantSchema)
def recruitment_applicants_get(applicant_id: int) -> dict[str, Any]:
    return _applicant(service.get_applicant(get_session(), applicant_id))


@blueprint.route("/applicants/<int:applicant_id>", methods=["PATCH"])
@require_permission(MANAGE)
@blueprint.arguments(ApplicantPatchSchema)
@blueprint.response(200, ApplicantSchema)
def recruitment_applicants_update(data: dict[str, Any], applicant_id: int) -> dict[str, Any]:
    """Change an applicant; a hired one is 409."""
    session = get_session()
    applicant = service.update_applicant(session, service.get_applicant(session, applicant_id), data)
    api_commit()
    return _applicant(applicant)


@blueprint.route("/applicants/<int:applicant_id>/stage", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(StageRequest)
@blueprint.response(200, ApplicantSchema)
def recruitment_applicants_stage(data: dict[str, Any], applicant_id: int) -> dict[str, Any]:
    """Move to applied, screening, interview or offer (a rejected applicant comes back this way);
    ``hired`` and ``rejected`` are 422 (hire or reject instead); a hired applicant is 409."""
    session = get_session()
    applicant = service.move_stage(session, service.get_applicant(session, applicant_id), data["stage"])
    api_commit()
    return _applicant(applicant)


@blueprint.route("/applicants/<int:applicant_id>/reject", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(RejectRequest)
@blueprint.response(200, ApplicantSchema)
def recruitment_applicants_reject(data: dict[str, Any], applicant_id: int) -> dict[str, Any]:
    """Turn the applicant down; ``reason`` is required; hired or already rejected is 409."""
    session = get_session()
    applicant = service.reject(session, service.get_applicant(session, applicant_id), data["reason"])
    api_commit()
    return _applicant(applicant)


@blueprint.route("/applicants/<int:applicant_id>/hire", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(HireRequest)
@blueprint.response(201, HireSchema)
def recruitment_applicants_hire(data: dict[str, Any], applicant_id: int) -> dict[str, Any]:
    """Make the applicant an employee (201 with the employee's id and number); hired or rejected
    applicants are 409."""
    session = get_session()
    applicant = service.get_applicant(session, applicant_id)
    employee = service.hire(session, applicant, data)
    result = {
        "applicant_id": applicant.id,
        "employee_id": employee.id,
        "number": employee.number,
        "contact_id": employee.contact_id,
        "name": employee.name,
    }
    api_commit()
    return result


# --- the CV file ----------------------------------------------------------------------------------------


@blueprint.route("/applicants/<int:applicant_id>/cv", methods=["GET"])
@require_permission(MANAGE)
@blueprint.response(200, description="the CV file, as an attachment")
def recruitment_cv_get(applicant_id: int) -> Any:
    """The CV file as a download; 404 when the applicant has none."""
    session = get_session()
    content, filename, content_type = service.cv_download(
        session, service.get_applicant(session, applicant_id)
    )
    return cv_response(content, filename, content_type)


@blueprint.route("/applicants/<int:applicant_id>/cv", methods=["PUT"])
@require_permission(MANAGE)
@blueprint.doc(requestBody=CV_UPLOAD_BODY)
@blueprint.response(200, ApplicantSchema)
def recruitment_cv_put(applicant_id: int) -> dict[str, Any]:
    """Upload the CV file as ``multipart/form-data`` (field ``file``): .pdf, .doc, .docx, .odt, .rtf
    or .txt, at most 5 MB, its content matching its extension; replaces the one stored."""
    request.max_content_length = max(CV_REQUEST_LIMIT, request.max_content_length or 0)
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationError(
            "no file", fields={"file": ["send the CV as multipart/form-data in a field named 'file'"]}
        )
    upload = service.CvUpload(file.filename, file.read(service.MAX_CV_BYTES + 1))
    session = get_session()
    applicant = service.get_applicant(session, applicant_id)
    try:
        service.update_applicant(session, applicant, {"cv_file": upload})
    except ValidationError as exc:
        fields = {("file" if key == "cv_file" else key): messages for key, messages in exc.fields.items()}
        raise ValidationError(exc.message, fields=fields) from None
    api_commit()
    return _applicant(applicant)


@blueprint.route("/applicants/<int:applicant_id>/cv", methods=["DELETE"])
@require_permission(MANAGE)
@blueprint.response(204)
def recruitment_cv_delete(applicant_id: int) -> None:
    """Remove the stored CV file (the CV text stays)."""
    session = get_session()
    service.update_applicant(session, service.get_applicant(session, applicant_id), {"remove_cv_file": True})
    api_commit()
