"""HR pages: recruitment — job openings, applicants on a board by stage, their CV, hiring.

Every page needs ``hr.recruitment.manage``. A CV file is only ever sent back as a download
(``attachment``, ``nosniff``, the type its extension says), never shown inline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BuildError

from core.plugin_api import (
    Conflict,
    NotFound,
    ValidationError,
    csv_response,
    get_session,
    pages,
    require_permission,
)

from ..models import APPLICANT_STAGES, Applicant, JobOpening
from ..services import recruitment as service
from . import blueprint

MANAGE = "hr.recruitment.manage"
PAGE_SIZE = 50
STAGE_LABELS = {
    "applied": _l("Applied"),
    "screening": _l("Screening"),
    "interview": _l("Interview"),
    "offer": _l("Offer"),
    "hired": _l("Hired"),
    "rejected": _l("Rejected"),
}
STAGE_BADGES = {"hired": "state-posted", "rejected": "state-reversed", "offer": "state-draft"}
OPENING_LABELS = {"open": _l("Open"), "closed": _l("Closed")}
# A CV form carries the file (5 MB at most) and its text fields: the request may be larger
# than the site-wide limit, up to this, so that a file over 5 MB gets a form message.
CV_FORM_ENDPOINTS = frozenset({"hr.applicant_new", "hr.applicant_edit"})
CV_REQUEST_LIMIT = 2 * service.MAX_CV_BYTES


@blueprint.app_template_global("hr_recruitment_labels")
def hr_recruitment_labels() -> dict[str, Any]:
    return {"stages": STAGE_LABELS, "stage_badges": STAGE_BADGES, "openings": OPENING_LABELS}


class CvRequestTooLarge(RequestEntityTooLarge):
    """An applicant form whose upload is far beyond the CV size limit (refused before it is read)."""


@blueprint.url_value_preprocessor
def _cv_upload_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before any before_request hook (the CSRF check reads the form with the request's limit).
    if endpoint not in CV_FORM_ENDPOINTS or request.method != "POST":
        return
    request.max_content_length = max(CV_REQUEST_LIMIT, request.max_content_length or 0)
    if request.content_length is not None and request.content_length > request.max_content_length:
        raise CvRequestTooLarge()


@blueprint.errorhandler(CvRequestTooLarge)
def _cv_too_large(_exc: CvRequestTooLarge) -> Any:
    """The form again with the file's message (what was typed is lost: the request was not read)."""
    # Refused before the request hooks ran: load the logged-in user (if any) to know who asks.
    if not current_user.is_authenticated or not pages.actor_can(MANAGE):
        return render_template("core/error.html", status=413, message=_("The request is too large.")), 413
    session = get_session()
    errors = {"cv_file": [_("is larger than %(mb)d MB", mb=service.MAX_CV_BYTES // (1024 * 1024))]}
    applicant_id = (request.view_args or {}).get("applicant_id")
    if applicant_id is not None:
        try:
            applicant = service.get_applicant(session, applicant_id)
        except NotFound as exc:
            return render_template("core/error.html", status=404, message=exc.message), 404
        response, _status = _render_applicant_form(applicant, _applicant_data(applicant), errors)
    else:
        response, _status = _render_applicant_form(None, _blank_applicant(), errors)
    return response, 413


def _url_or_none(endpoint: str, **values: Any) -> str | None:
    """A link to another HR page that may not be there (another area of HR)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _errors_of(exc: ValidationError | Conflict, default_field: str = "form") -> dict[str, list[str]]:
    return exc.fields or {default_field: [exc.message]}


def _general_errors(errors: dict[str, list[str]], shown: Iterable[str]) -> list[str]:
    shown = set(shown)
    return [f"{key}: {'; '.join(messages)}" for key, messages in errors.items() if key not in shown]


def _refuse(exc: Conflict | ValidationError, applicant_id: int) -> Any:
    flash(exc.message, "error")
    return redirect(url_for("hr.applicant_detail", applicant_id=applicant_id))


# --- openings ----------------------------------------------------------------------------------------

OPENING_FIELDS = ("title", "department_id", "position_id", "description")


@blueprint.get("/openings")
@require_permission(MANAGE)
def openings() -> Any:
    """Job openings (open first) with their applicants in process and hired; ``state`` filters."""
    session = get_session()
    state = request.args.get("state", "")
    state = state if state in OPENING_LABELS else ""
    found = service.list_openings(session, state=state or None)
    counts = service.applicant_counts(session, [o.id for o in found])
    summary = {
        o.id: {
            "in_process": sum(n for s, n in counts.get(o.id, {}).items() if s in service.OPEN_STAGES),
            "hired": counts.get(o.id, {}).get("hired", 0),
            "total": sum(counts.get(o.id, {}).values()),
        }
        for o in found
    }
    return render_template("hr/recruitment_openings.html", openings=found, summary=summary, state=state)


def _render_opening_form(
    opening: JobOpening | None, data: dict[str, str], errors: dict[str, list[str]]
) -> Any:
    session = get_session()
    choices = service.hire_choices(session)
    departments = list(choices.departments)
    if opening is not None and opening.department is not None and opening.department not in departments:
        departments.insert(0, opening.department)
    return render_template(
        "hr/recruitment_opening_form.html",
        opening=opening,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, OPENING_FIELDS),
        departments=departments,
        positions=choices.positions,
    ), 422 if errors else 200


def _posted(keys: Iterable[str]) -> dict[str, str]:
    return {key: request.form.get(key, "").strip() for key in keys}


@blueprint.route("/openings/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def opening_new() -> Any:
    session = get_session()
    if request.method == "POST":
        data = _posted(OPENING_FIELDS)
        try:
            opening = service.create_opening(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_opening_form(None, data, _errors_of(exc))
        flash(_("Opening “%(title)s” created.", title=opening.title), "success")
        return redirect(url_for("hr.applicants", opening_id=opening.id))
    return _render_opening_form(None, {key: "" for key in OPENING_FIELDS}, {})


@blueprint.route("/openings/<int:opening_id>/edit", methods=["GET", "POST"])
@require_permission(MANAGE)
def opening_edit(opening_id: int) -> Any:
    session = get_session()
    opening = service.get_opening(session, opening_id)
    if request.method == "POST":
        data = _posted(OPENING_FIELDS)
        try:
            service.update_opening(session, opening, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_opening_form(service.get_opening(session, opening_id), data, _errors_of(exc))
        flash(_("Opening “%(title)s” saved.", title=opening.title), "success")
        return redirect(url_for("hr.openings"))
    data = {
        "title": opening.title,
        "department_id": str(opening.department_id or ""),
        "position_id": str(opening.position_id or ""),
        "description": opening.description,
    }
    return _render_opening_form(opening, data, {})


@blueprint.post("/openings/<int:opening_id>/<any(close, reopen):action>")
@require_permission(MANAGE)
def opening_state(opening_id: int, action: str) -> Any:
    """Close an opening (no new applicants) or reopen it."""
    session = get_session()
    opening = service.get_opening(session, opening_id)
    change = service.close_opening if action == "close" else service.reopen_opening
    try:
        change(session, opening)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        if action == "close":
            flash(_("Opening “%(title)s” is closed.", title=opening.title), "success")
        else:
            flash(_("Opening “%(title)s” is open again.", title=opening.title), "success")
    return redirect(url_for("hr.openings"))


# --- applicants: the board and the list ---------------------------------------------------------------


def _filters(session: Any) -> dict[str, Any]:
    stage = request.args.get("stage", "")
    opening_id = pages.int_arg(request.args.get("opening_id"))
    openings_found = service.list_openings(session)
    known = {o.id for o in openings_found}
    return {
        "q": request.args.get("q", "").strip()[:200],
        "stage": stage if stage in APPLICANT_STAGES else "",
        # An unknown opening matches nobody rather than everybody.
        "opening_id": opening_id if opening_id in known else (-1 if request.args.get("opening_id") else None),
        "openings": openings_found,
    }


@blueprint.get("/applicants")
@require_permission(MANAGE)
def applicants() -> Any:
    """Recruitment home: applicants on a board by stage, or a list of one stage (``stage``);
    ``opening_id`` and ``q`` (name, email) filter both; ``format=csv`` exports every match."""
    session = get_session()
    filters = _filters(session)
    query = {
        "q": filters["q"] or None,
        "opening_id": filters["opening_id"],
        "stage": filters["stage"] or None,
    }
    sort, descending = pages.sort_args(service.APPLICANT_SORTS, "id")
    if request.args.get("format") == "csv":
        return csv_response(
            "applicants.csv",
            [
                "id",
                "name",
                "email",
                "phone",
                "opening",
                "stage",
                "rejection_reason",
                "employee_id",
                "applied_on",
            ],
            _csv_applicants(session, sort, descending, query),
        )
    context: dict[str, Any] = {"filters": filters, "sort": sort, "descending": descending}
    if filters["stage"]:
        context["page"] = service.list_applicants(
            session,
            sort=sort,
            descending=descending,
            after=pages.cursor_arg(service.APPLICANT_SORTS[sort]),
            limit=PAGE_SIZE,
            **query,
        )
    else:
        context["columns"] = service.board(session, q=query["q"], opening_id=query["opening_id"])
    return render_template("hr/recruitment_applicants.html", **context)


def _csv_applicants(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = service.list_applicants(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        for a in page.items:
            yield [
                a.id,
                a.name,
                a.email,
                a.phone,
                a.opening.title if a.opening else "",
                a.stage,
                a.rejection_reason,
                a.employee_id or "",
                a.created_at.date().isoformat() if a.created_at else "",
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- applicants: forms --------------------------------------------------------------------------------

APPLICANT_FIELDS = ("name", "email", "phone", "opening_id", "stage", "cv_text", "notes")


def _blank_applicant() -> dict[str, str]:
    data = {key: "" for key in APPLICANT_FIELDS}
    data["stage"] = "applied"
    data["opening_id"] = request.args.get("opening_id", "")
    return data


def _applicant_data(applicant: Applicant) -> dict[str, str]:
    return {
        "name": applicant.name,
        "email": applicant.email,
        "phone": applicant.phone,
        "opening_id": str(applicant.opening_id or ""),
        "stage": applicant.stage,
        "cv_text": applicant.cv_text,
        "notes": applicant.notes,
    }


def _render_applicant_form(
    applicant: Applicant | None, data: dict[str, str], errors: dict[str, list[str]]
) -> tuple[str, int]:
    session = get_session()
    choices = [o for o in service.list_openings(session) if o.state == "open"]
    if applicant is not None and applicant.opening is not None and applicant.opening not in choices:
        choices.insert(0, applicant.opening)
    return render_template(
        "hr/recruitment_applicant_form.html",
        applicant=applicant,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, (*APPLICANT_FIELDS, "cv_file")),
        openings=choices,
        stages=service.OPEN_STAGES,
        max_mb=service.MAX_CV_BYTES // (1024 * 1024),
        accept=",".join(service.CV_TYPES),
    ), 422 if errors else 200


def _posted_applicant(editing: bool) -> dict[str, Any]:
    keys = [k for k in APPLICANT_FIELDS if not (editing and k == "stage")]
    data: dict[str, Any] = _posted(keys)
    data["cv_text"] = request.form.get("cv_text", "").strip()
    return data


def _upload() -> service.CvUpload | None:
    """The CV file of the form, read up to one byte past the limit (enough to refuse it)."""
    file = request.files.get("cv_file")
    if file is None or not file.filename:
        return None
    return service.CvUpload(file.filename, file.read(service.MAX_CV_BYTES + 1))


@blueprint.route("/applicants/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def applicant_new() -> Any:
    """Record an applicant, with a CV file (PDF, Word, OpenDocument, RTF, text) and/or CV text."""
    session = get_session()
    if request.method == "POST":
        data = _posted_applicant(editing=False)
        try:
            applicant = service.create_applicant(session, {**data, "cv_file": _upload()})
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_applicant_form(None, data, _errors_of(exc))
        flash(_("Applicant %(name)s recorded.", name=applicant.name), "success")
        return redirect(url_for("hr.applicant_detail", applicant_id=applicant.id))
    return _render_applicant_form(None, _blank_applicant(), {})


@blueprint.route("/applicants/<int:applicant_id>/edit", methods=["GET", "POST"])
@require_permission(MANAGE)
def applicant_edit(applicant_id: int) -> Any:
    session = get_session()
    applicant = service.get_applicant(session, applicant_id)
    if applicant.stage == "hired":
        flash(_("This applicant is hired: their file is closed."), "error")
        return redirect(url_for("hr.applicant_detail", applicant_id=applicant_id))
    if request.method == "POST":
        data = _posted_applicant(editing=True)
        payload = {**data, "cv_file": _upload(), "remove_cv_file": request.form.get("remove_cv_file") == "1"}
        try:
            service.update_applicant(session, applicant, payload)
            session.commit()
        except Conflict as exc:
            session.rollback()
            return _refuse(exc, applicant_id)
        except ValidationError as exc:
            session.rollback()
            return _render_applicant_form(service.get_applicant(session, applicant_id), data, _errors_of(exc))
        flash(_("Applicant saved."), "success")
        return redirect(url_for("hr.applicant_detail", applicant_id=applicant_id))
    return _render_applicant_form(applicant, _applicant_data(applicant), {})


# --- applicant page, stage, rejection, CV ----------------------------------------------------------------


def _render_detail(applicant: Applicant, errors: dict[str, list[str]] | None = None, reason: str = "") -> Any:
    employee = applicant.employee
    return render_template(
        "hr/recruitment_applicant_detail.html",
        applicant=applicant,
        errors=errors or {},
        reason=reason,
        stages=service.OPEN_STAGES,
        employee_url=_url_or_none("hr.employee_detail", employee_id=employee.id) if employee else None,
        contract_url=_url_or_none("hr.contract_new", employee_id=employee.id) if employee else None,
    ), 422 if errors else 200


@blueprint.get("/applicants/<int:applicant_id>")
@require_permission(MANAGE)
def applicant_detail(applicant_id: int) -> Any:
    return _render_detail(service.get_applicant(get_session(), applicant_id))


@blueprint.post("/applicants/<int:applicant_id>/stage")
@require_permission(MANAGE)
def applicant_stage(applicant_id: int) -> Any:
    """Move the applicant to another stage of the process."""
    session = get_session()
    applicant = service.get_applicant(session, applicant_id)
    stage = request.form.get("stage", "").strip()
    try:
        service.move_stage(session, applicant, stage)
        session.commit()
    except Conflict as exc:
        session.rollback()
        return _refuse(exc, applicant_id)
    except ValidationError as exc:
        session.rollback()
        return _render_detail(service.get_applicant(session, applicant_id), _errors_of(exc, "stage"))
    flash(_("%(name)s moved to %(stage)s.", name=applicant.name, stage=STAGE_LABELS[stage]), "success")
    if request.form.get("next") == "board":
        return redirect(url_for("hr.applicants", opening_id=applicant.opening_id or None))
    return redirect(url_for("hr.applicant_detail", applicant_id=applicant_id))


@blueprint.post("/applicants/<int:applicant_id>/reject")
@require_permission(MANAGE)
def applicant_reject(applicant_id: int) -> Any:
    """Turn the applicant down; the reason is required."""
    session = get_session()
    applicant = service.get_applicant(session, applicant_id)
    reason = request.form.get("reason", "").strip()
    try:
        service.reject(session, applicant, reason)
        session.commit()
    except Conflict as exc:
        session.rollback()
        return _refuse(exc, applicant_id)
    except ValidationError as exc:
        session.rollback()
        return _render_detail(service.get_applicant(session, applicant_id), _errors_of(exc, "reason"), reason)
    flash(_("%(name)s is rejected.", name=applicant.name), "success")
    return redirect(url_for("hr.applicant_detail", applicant_id=applicant_id))


@blueprint.get("/applicants/<int:applicant_id>/cv")
@require_permission(MANAGE)
def applicant_cv(applicant_id: int) -> Any:
    """The CV file as a download, with the type its extension says (never shown inline)."""
    session = get_session()
    content, filename, content_type = service.cv_download(
        session, service.get_applicant(session, applicant_id)
    )
    return cv_response(content, filename, content_type)


def cv_response(content: bytes, filename: str, content_type: str) -> Response:
    """A download of a stored CV: ``attachment`` so no browser renders it, ``nosniff`` so none
    guesses another type, and no caching of a private document."""
    response = Response(content, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- hiring --------------------------------------------------------------------------------------------

HIRE_FIELDS = ("hire_date", "department_id", "position_id", "manager_id", "job_title", "number", "contact")


def _render_hire(applicant: Applicant, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    choices = service.hire_choices(session)
    return render_template(
        "hr/recruitment_hire.html",
        applicant=applicant,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, (*HIRE_FIELDS, "contact_id")),
        match=service.matching_contact(session, applicant),
        choices=choices,
    ), 422 if errors else 200


@blueprint.route("/applicants/<int:applicant_id>/hire", methods=["GET", "POST"])
@require_permission(MANAGE)
def applicant_hire(applicant_id: int) -> Any:
    """Make the applicant an employee: a new person contact, or the contact with their email."""
    session = get_session()
    applicant = service.get_applicant(session, applicant_id)
    if applicant.stage in ("hired", "rejected"):
        if applicant.stage == "hired":
            flash(_("%(name)s is already hired.", name=applicant.name), "error")
        else:
            flash(_("A rejected applicant cannot be hired; move them back into the process first."), "error")
        return redirect(url_for("hr.applicant_detail", applicant_id=applicant_id))
    if request.method == "POST":
        data = _posted(HIRE_FIELDS)
        payload: dict[str, Any] = {key: value for key, value in data.items() if key != "contact"}
        match = service.matching_contact(session, applicant)
        if data["contact"] == "link" and match is not None:
            payload["contact_id"] = match.id
        else:
            payload["new_contact"] = True
        try:
            employee = service.hire(session, applicant, payload)
            session.commit()
        except Conflict as exc:
            session.rollback()
            return _refuse(exc, applicant_id)
        except ValidationError as exc:
            session.rollback()
            return _render_hire(service.get_applicant(session, applicant_id), data, _errors_of(exc))
        flash(
            _("%(name)s is hired as employee %(number)s.", name=employee.name, number=employee.number),
            "success",
        )
        return redirect(url_for("hr.applicant_detail", applicant_id=applicant_id))
    opening = applicant.opening
    data = {
        "hire_date": dt.date.today().isoformat(),
        "department_id": str(opening.department_id or "") if opening else "",
        "position_id": str(opening.position_id or "") if opening else "",
        "manager_id": "",
        "job_title": (opening.title if opening else "")[:100],
        "number": "",
        "contact": "link" if service.matching_contact(session, applicant) is not None else "new",
    }
    return _render_hire(applicant, data, {})
