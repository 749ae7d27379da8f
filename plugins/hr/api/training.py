"""HR API: training — skills, courses and their sessions, attendees, completion, the skills matrix
and employees' skill levels.

Reading needs ``hr.view`` (an employee may read their own skills); changes need
``hr.employee.manage``.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import (
    any_user,
    api_commit,
    get_session,
    require_permission,
)

from ..models import Attendance, Course, EmployeeSkill, TrainingSession
from ..schemas.training import (
    AttendancePage,
    AttendancePatchSchema,
    AttendanceSchema,
    CompleteRequest,
    CourseCreateSchema,
    CoursePage,
    CoursePatchSchema,
    CourseSchema,
    EmployeeSkillPage,
    MatrixQuery,
    MatrixSchema,
    RegisterRequest,
    SessionCreateSchema,
    SessionPage,
    SessionSchema,
    SkillLevelRequest,
    SkillPage,
    SkillSchema,
)
from ..services import training as service
from . import blueprint

VIEW = "hr.view"
MANAGE = "hr.employee.manage"


def _course(summary: service.CourseSummary) -> dict[str, Any]:
    course = summary.course
    return {
        "id": course.id,
        "name": course.name,
        "description": course.description,
        "duration_hours": course.duration_hours,
        "skill_id": course.skill_id,
        "skill": course.skill.name if course.skill else None,
        "skill_level": course.skill_level,
        "sessions": summary.sessions,
        "registered": summary.registered,
        "completed": summary.completed,
    }


def _course_summary(session: Any, course: Course) -> dict[str, Any]:
    found = next((s for s in service.list_courses(session) if s.course.id == course.id), None)
    return _course(found or service.CourseSummary(course, 0, 0, 0))


def _session(training: TrainingSession, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": training.id,
        "course_id": training.course_id,
        "course": training.course.name,
        "date": training.date,
        "location": training.location,
        "trainer": training.trainer,
        "registered": counts.get("registered", 0) + counts.get("attended", 0) + counts.get("absent", 0),
        "attended": counts.get("attended", 0),
        "absent": counts.get("absent", 0),
        "completed": counts.get("completed", 0),
    }


def _attendance(attendance: Attendance) -> dict[str, Any]:
    training = attendance.session
    return {
        "id": attendance.id,
        "session_id": attendance.session_id,
        "course_id": training.course_id,
        "course": training.course.name,
        "date": training.date,
        "employee_id": attendance.employee_id,
        "employee": attendance.employee.name,
        "status": attendance.status,
        "completed_on": attendance.completed_on,
    }


def _levels(rows: list[EmployeeSkill]) -> dict[str, Any]:
    return {
        "items": [{"skill_id": r.skill_id, "skill": r.skill.name, "level": r.level} for r in rows],
        "next_cursor": None,
    }


# --- skills ----------------------------------------------------------------------------------------


@blueprint.route("/skills", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, SkillPage)
def training_skills_list() -> dict[str, Any]:
    """The skills the matrix tracks, by name."""
    return {
        "items": [{"id": s.id, "name": s.name} for s in service.list_skills(get_session())],
        "next_cursor": None,
    }


@blueprint.route("/skills", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(SkillSchema)
@blueprint.response(201, SkillSchema)
def training_skills_create(data: dict[str, Any]) -> dict[str, Any]:
    """Add a skill; the name is unique in the company whatever its case."""
    skill = service.create_skill(get_session(), data["name"])
    api_commit()
    return {"id": skill.id, "name": skill.name}


# --- courses -----------------------------------------------------------------------------------------


@blueprint.route("/courses", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, CoursePage)
def training_courses_list() -> dict[str, Any]:
    """Courses by name with their number of sessions, registrations and completions."""
    return {"items": [_course(s) for s in service.list_courses(get_session())], "next_cursor": None}


@blueprint.route("/courses", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(CourseCreateSchema)
@blueprint.response(201, CourseSchema)
def training_courses_create(data: dict[str, Any]) -> dict[str, Any]:
    """Add a course: ``name`` (unique), ``duration_hours`` (a decimal string, 0 or more), and the
    ``skill_id`` it teaches with the ``skill_level`` completing it brings."""
    session = get_session()
    course = service.create_course(session, data)
    api_commit()
    return _course_summary(session, course)


@blueprint.route("/courses/<int:course_id>", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, CourseSchema)
def training_courses_get(course_id: int) -> dict[str, Any]:
    session = get_session()
    return _course_summary(session, service.get_course(session, course_id))


@blueprint.route("/courses/<int:course_id>", methods=["PATCH"])
@require_permission(MANAGE)
@blueprint.arguments(CoursePatchSchema)
@blueprint.response(200, CourseSchema)
def training_courses_update(data: dict[str, Any], course_id: int) -> dict[str, Any]:
    session = get_session()
    course = service.update_course(session, service.get_course(session, course_id), data)
    api_commit()
    return _course_summary(session, course)


# --- sessions and attendees ---------------------------------------------------------------------------


@blueprint.route("/courses/<int:course_id>/sessions", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, SessionPage)
def training_sessions_list(course_id: int) -> dict[str, Any]:
    """The course's sessions, latest first, with their attendance counts."""
    session = get_session()
    sessions = service.sessions_of(session, service.get_course(session, course_id))
    counts = service.attendance_counts(session, [s.id for s in sessions])
    return {"items": [_session(s, counts[s.id]) for s in sessions], "next_cursor": None}


@blueprint.route("/courses/<int:course_id>/sessions", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(SessionCreateSchema)
@blueprint.response(201, SessionSchema)
def training_sessions_create(data: dict[str, Any], course_id: int) -> dict[str, Any]:
    """Schedule a session of the course on ``date`` with ``location`` and ``trainer``."""
    session = get_session()
    training = service.create_session(session, service.get_course(session, course_id), data)
    api_commit()
    return _session(training, {})


@blueprint.route("/training-sessions/<int:session_id>/attendees", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, AttendancePage)
def training_attendees_list(session_id: int) -> dict[str, Any]:
    """Who is registered on the session, whether they came, and their completion."""
    training = service.get_session_record(get_session(), session_id)
    return {"items": [_attendance(a) for a in training.attendances], "next_cursor": None}


@blueprint.route("/training-sessions/<int:session_id>/attendees", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(RegisterRequest)
@blueprint.response(201, AttendanceSchema)
def training_attendees_register(data: dict[str, Any], session_id: int) -> dict[str, Any]:
    """Register a current employee (``employee_id``); registering them twice is 422."""
    session = get_session()
    attendance = service.register(
        session, service.get_session_record(session, session_id), data["employee_id"]
    )
    api_commit()
    return _attendance(attendance)


@blueprint.route("/attendances/<int:attendance_id>", methods=["PATCH"])
@require_permission(MANAGE)
@blueprint.arguments(AttendancePatchSchema)
@blueprint.response(200, AttendanceSchema)
def training_attendances_mark(data: dict[str, Any], attendance_id: int) -> dict[str, Any]:
    """Mark the attendee ``attended`` or ``absent`` (``registered`` undoes it); a completed course is 409
    unless ``attended``."""
    session = get_session()
    attendance = service.mark(session, service.get_attendance(session, attendance_id), data["status"])
    api_commit()
    return _attendance(attendance)


@blueprint.route("/attendances/<int:attendance_id>/complete", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(CompleteRequest)
@blueprint.response(200, AttendanceSchema)
def training_attendances_complete(data: dict[str, Any], attendance_id: int) -> dict[str, Any]:
    """Record the course as completed ``on`` a date (the session's by default): the employee's level in
    the course's skill rises to at least the course's. Completed already, or absent, is 409."""
    session = get_session()
    attendance = service.complete(session, service.get_attendance(session, attendance_id), data["on"])
    api_commit()
    return _attendance(attendance)


# --- the matrix and employees' levels -------------------------------------------------------------------


@blueprint.route("/skills-matrix", methods=["GET"])
@require_permission(VIEW)
@blueprint.arguments(MatrixQuery, location="query")
@blueprint.response(200, MatrixSchema)
def training_skills_matrix(args: dict[str, Any]) -> dict[str, Any]:
    """Current employees (of ``department_id``) with their known level in each skill."""
    matrix = service.skills_matrix(get_session(), args["department_id"])
    return {
        "skills": [{"id": s.id, "name": s.name} for s in matrix.skills],
        "rows": [
            {
                "employee_id": row.employee.id,
                "number": row.employee.number,
                "name": row.employee.name,
                "department_id": row.employee.department_id,
                "levels": {str(skill_id): level for skill_id, level in row.levels.items()},
            }
            for row in matrix.rows
        ],
    }


@blueprint.route("/employees/<int:employee_id>/skills", methods=["GET"])
@any_user
@blueprint.response(200, EmployeeSkillPage)
def training_employee_skills(employee_id: int) -> dict[str, Any]:
    """An employee's skill levels by skill name: HR staff (``hr.view``) or the employee themselves;
    anyone else's is 404."""
    return _levels(service.employee_skills(get_session(), employee_id))


@blueprint.route("/employees/<int:employee_id>/skills", methods=["PUT"])
@require_permission(MANAGE)
@blueprint.arguments(SkillLevelRequest)
@blueprint.response(200, EmployeeSkillPage)
def training_employee_skill_set(data: dict[str, Any], employee_id: int) -> dict[str, Any]:
    """Set an employee's ``level`` (1-5) in ``skill_id``; ``null`` forgets it. Returns their levels."""
    session = get_session()
    employee = service.set_employee_skill(session, employee_id, data["skill_id"], data["level"])
    api_commit()
    return _levels(service.employee_skills(session, employee))


@blueprint.route("/employees/<int:employee_id>/trainings", methods=["GET"])
@any_user
@blueprint.response(200, AttendancePage)
def training_employee_trainings(employee_id: int) -> dict[str, Any]:
    """The sessions an employee is registered on, latest first, with their completion: HR staff
    (``hr.view``) or the employee themselves; anyone else's is 404."""
    return {
        "items": [_attendance(a) for a in service.employee_trainings(get_session(), employee_id)],
        "next_cursor": None,
    }
