"""HR pages: training — courses and their sessions, registration, attendance and completion,
the skills and the skills matrix.

Reading needs ``hr.view``; every change needs ``hr.employee.manage`` (checked here and again
by the services).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.plugin_api import (
    Conflict,
    PermissionDenied,
    ValidationError,
    get_session,
    pages,
    require_permission,
)

from ..models import Course, TrainingSession
from ..services import training as service
from . import blueprint

VIEW = "hr.view"
MANAGE = "hr.employee.manage"
ATTENDANCE_LABELS = {"registered": _l("Registered"), "attended": _l("Attended"), "absent": _l("Absent")}
LEVEL_LABELS = {
    1: _l("1 · Beginner"),
    2: _l("2 · Basic"),
    3: _l("3 · Competent"),
    4: _l("4 · Advanced"),
    5: _l("5 · Expert"),
}


@blueprint.app_template_global("hr_training_labels")
def hr_training_labels() -> dict[str, Any]:
    return {"attendance": ATTENDANCE_LABELS, "levels": LEVEL_LABELS}


def _errors_of(exc: ValidationError | Conflict, default_field: str = "form") -> dict[str, list[str]]:
    return exc.fields or {default_field: [exc.message]}


def _general_errors(errors: dict[str, list[str]], shown: Iterable[str]) -> list[str]:
    shown = set(shown)
    return [f"{key}: {'; '.join(messages)}" for key, messages in errors.items() if key not in shown]


def _posted(keys: Iterable[str]) -> dict[str, str]:
    return {key: request.form.get(key, "").strip() for key in keys}


def _flash_error(exc: ValidationError | Conflict) -> None:
    flash(exc.message, "error")


# --- courses -----------------------------------------------------------------------------------------

COURSE_FIELDS = ("name", "description", "duration_hours", "skill_id", "skill_level")


@blueprint.get("/courses")
@require_permission(VIEW)
def courses() -> Any:
    """Training home: courses with their sessions, registrations and completions."""
    session = get_session()
    q = request.args.get("q", "").strip()[:200]
    return render_template(
        "hr/training_courses.html",
        summaries=service.list_courses(session, q=q or None),
        q=q,
        can_manage=pages.actor_can(MANAGE),
    )


def _render_course_form(course: Course | None, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    return render_template(
        "hr/training_course_form.html",
        course=course,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, COURSE_FIELDS),
        skills=service.list_skills(get_session()),
    ), 422 if errors else 200


@blueprint.route("/courses/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def course_new() -> Any:
    session = get_session()
    if request.method == "POST":
        data = _posted(COURSE_FIELDS)
        try:
            course = service.create_course(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_course_form(None, data, _errors_of(exc))
        flash(_("Course “%(name)s” created.", name=course.name), "success")
        return redirect(url_for("hr.course_detail", course_id=course.id))
    data = {key: "" for key in COURSE_FIELDS}
    data["duration_hours"] = "0"
    return _render_course_form(None, data, {})


@blueprint.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@require_permission(MANAGE)
def course_edit(course_id: int) -> Any:
    session = get_session()
    course = service.get_course(session, course_id)
    if request.method == "POST":
        data = _posted(COURSE_FIELDS)
        try:
            service.update_course(session, course, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_course_form(service.get_course(session, course_id), data, _errors_of(exc))
        flash(_("Course “%(name)s” saved.", name=course.name), "success")
        return redirect(url_for("hr.course_detail", course_id=course_id))
    data = {
        "name": course.name,
        "description": course.description,
        "duration_hours": pages.form_decimal(course.duration_hours, 1),
        "skill_id": str(course.skill_id or ""),
        "skill_level": str(course.skill_level or ""),
    }
    return _render_course_form(course, data, {})


@blueprint.get("/courses/<int:course_id>")
@require_permission(VIEW)
def course_detail(course_id: int) -> Any:
    """A course, its sessions (latest first) and each session's attendance."""
    session = get_session()
    course = service.get_course(session, course_id)
    sessions = service.sessions_of(session, course)
    return render_template(
        "hr/training_course_detail.html",
        course=course,
        sessions=sessions,
        counts=service.attendance_counts(session, [s.id for s in sessions]),
        can_manage=pages.actor_can(MANAGE),
    )


# --- sessions ----------------------------------------------------------------------------------------

SESSION_FIELDS = ("date", "location", "trainer")


def _render_session_form(course: Course, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    return render_template(
        "hr/training_session_form.html",
        course=course,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, SESSION_FIELDS),
    ), 422 if errors else 200


@blueprint.route("/courses/<int:course_id>/sessions/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def session_new(course_id: int) -> Any:
    """Schedule a session of the course."""
    session = get_session()
    course = service.get_course(session, course_id)
    if request.method == "POST":
        data = _posted(SESSION_FIELDS)
        try:
            training = service.create_session(session, course, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_session_form(service.get_course(session, course_id), data, _errors_of(exc))
        flash(_("Session scheduled."), "success")
        return redirect(url_for("hr.session_detail", session_id=training.id))
    return _render_session_form(course, {key: "" for key in SESSION_FIELDS}, {})


def _render_session(
    training: TrainingSession, errors: dict[str, list[str]] | None = None, data: dict[str, str] | None = None
) -> Any:
    session = get_session()
    can_manage = pages.actor_can(MANAGE)
    registered = {a.employee_id for a in training.attendances}
    candidates = (
        [e for e in service.current_employees(session) if e.id not in registered] if can_manage else []
    )
    return render_template(
        "hr/training_session_detail.html",
        training=training,
        course=training.course,
        candidates=candidates,
        errors=errors or {},
        data=data or {"employee_id": "", "on": ""},
        can_manage=can_manage,
    ), 422 if errors else 200


@blueprint.get("/training-sessions/<int:session_id>")
@require_permission(VIEW)
def session_detail(session_id: int) -> Any:
    """A session: who is registered, who came, who completed the course."""
    return _render_session(service.get_session_record(get_session(), session_id))


@blueprint.post("/training-sessions/<int:session_id>/register")
@require_permission(MANAGE)
def session_register(session_id: int) -> Any:
    """Register a current employee on the session (once)."""
    session = get_session()
    training = service.get_session_record(session, session_id)
    data = _posted(("employee_id",))
    try:
        attendance = service.register(session, training, data["employee_id"])
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_session(
            service.get_session_record(session, session_id), _errors_of(exc, "employee_id"), data
        )
    flash(_("%(name)s is registered.", name=attendance.employee.name), "success")
    return redirect(url_for("hr.session_detail", session_id=session_id))


@blueprint.post("/attendances/<int:attendance_id>/<any(attended, absent, registered):status>")
@require_permission(MANAGE)
def attendance_mark(attendance_id: int, status: str) -> Any:
    """Mark whether the employee came."""
    session = get_session()
    attendance = service.get_attendance(session, attendance_id)
    session_id = attendance.session_id
    try:
        service.mark(session, attendance, status)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    return redirect(url_for("hr.session_detail", session_id=session_id))


@blueprint.post("/attendances/<int:attendance_id>/complete")
@require_permission(MANAGE)
def attendance_complete(attendance_id: int) -> Any:
    """Record the course as completed (on the session's date unless another is given)."""
    session = get_session()
    attendance = service.get_attendance(session, attendance_id)
    session_id = attendance.session_id
    on = request.form.get("on", "").strip()
    try:
        service.complete(session, attendance, on or None)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        flash(_("%(name)s completed the course.", name=attendance.employee.name), "success")
    return redirect(url_for("hr.session_detail", session_id=session_id))


# --- skills and the matrix -------------------------------------------------------------------------------


@blueprint.route("/skills", methods=["GET", "POST"])
@require_permission(VIEW)
def skills() -> Any:
    """The skills the matrix tracks; HR managers add them here."""
    session = get_session()
    errors: dict[str, list[str]] = {}
    name = ""
    if request.method == "POST":
        if not pages.actor_can(MANAGE):
            raise PermissionDenied(MANAGE)
        name = request.form.get("name", "").strip()
        try:
            skill = service.create_skill(session, name)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = _errors_of(exc, "name")
        else:
            flash(_("Skill “%(name)s” added.", name=skill.name), "success")
            return redirect(url_for("hr.skills"))
    return render_template(
        "hr/training_skills.html",
        skills=service.list_skills(session),
        errors=errors,
        name=name,
        can_manage=pages.actor_can(MANAGE),
    ), 422 if errors else 200


@blueprint.get("/skills-matrix")
@require_permission(VIEW)
def skills_matrix() -> Any:
    """Current employees by skills, levels 1-5 as dots; ``department_id`` filters; HR managers set a
    level from the table."""
    session = get_session()
    departments = service.matrix_departments(session)
    department_id = pages.int_arg(request.args.get("department_id"))
    department = next((d for d in departments if d.id == department_id), None)
    if department is None and request.args.get("department_id"):
        flash(_("No such department: showing everyone."), "error")
    matrix = service.skills_matrix(session, department.id if department else None)
    return render_template(
        "hr/training_skills_matrix.html",
        matrix=matrix,
        departments=departments,
        department=department,
        levels=list(service.LEVELS),
        can_manage=pages.actor_can(MANAGE),
    )


@blueprint.post("/skills-matrix/level")
@require_permission(MANAGE)
def skill_level() -> Any:
    """Set (1-5) or clear (empty) an employee's level in a skill from the matrix."""
    session = get_session()
    data = _posted(("employee_id", "skill_id", "level", "department_id"))
    back = url_for("hr.skills_matrix", department_id=pages.int_arg(data["department_id"]))
    try:
        employee = service.set_employee_skill(session, data["employee_id"], data["skill_id"], data["level"])
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
        return redirect(back)
    if data["level"]:
        flash(_("%(name)s's level is saved.", name=employee.name), "success")
    else:
        flash(_("%(name)s's level is cleared.", name=employee.name), "success")
    return redirect(back)
