"""Training and skills: the skills the company tracks, employees' levels (1-5), courses, dated
sessions, registration and attendance, completion, and the skills matrix.

Completing a course that teaches a skill raises the employee's level in it to at least the
course's level (never lowers it). HR staff (``hr.view``) read everything, ``hr.employee.manage``
writes; an employee reads their own trainings and skills (:func:`employee_trainings`,
:func:`employee_skills`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Conflict,
    Contact,
    NotFound,
    company_id_of,
    emit,
    require_permission,
    validation,
)

from ..models import (
    ATTENDANCE_STATES,
    Attendance,
    Course,
    Department,
    Employee,
    EmployeeSkill,
    Skill,
    TrainingSession,
)
from .common import can, can_see_employee, find_record, get_record, visible_employee

VIEW = "hr.view"
MANAGE = "hr.employee.manage"
LEVELS = range(1, 6)
MAX_HOURS = Decimal("10000")


def parse_level(
    value: Any, field_name: str, errors: dict[str, list[str]], *, required: bool = True
) -> int | None:
    """A skill level 1-5 from an int or its text; a field message otherwise."""
    if value in (None, "") and not required:
        return None
    level = validation.parse_id(value)
    if level is None or level not in LEVELS:
        errors[field_name] = ["must be a level from 1 to 5"]
        return None
    return level


# --- skills ----------------------------------------------------------------------------------------


def _name_taken(session: Session, model: Any, name: str, exclude_id: int | None = None) -> bool:
    # Compared here, not with SQL lower(): SQLite's leaves non-ASCII letters ("É") as they are.
    stmt = select(model.name).where(model.company_id == company_id_of(session))
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return any(other.casefold() == name.casefold() for other in session.scalars(stmt))


@require_permission(MANAGE)
def create_skill(session: Session, name: Any) -> Skill:
    """Add a skill to track; names are unique in the company (whatever their case)."""
    errors: dict[str, list[str]] = {}
    text = validation.parse_text(name, "name", errors, limit=100, required=True)
    if text and "name" not in errors and _name_taken(session, Skill, text):
        errors["name"] = ["another skill has this name"]
    validation.raise_if(errors, "invalid skill")
    skill = Skill(company_id=company_id_of(session), name=text)
    session.add(skill)
    session.flush()
    emit(session, "hr.skill.created", {"id": skill.id, "name": skill.name})
    return skill


def _skills(session: Session) -> list[Skill]:
    return list(
        session.scalars(
            select(Skill).where(Skill.company_id == company_id_of(session)).order_by(Skill.name, Skill.id)
        )
    )


@require_permission(VIEW)
def list_skills(session: Session) -> list[Skill]:
    """The company's skills by name."""
    return _skills(session)


@require_permission(VIEW)
def get_skill(session: Session, skill_id: Any) -> Skill:
    return get_record(session, Skill, skill_id, "skill")


@require_permission(VIEW)
def matrix_departments(session: Session) -> list[Department]:
    """The departments the skills matrix can be filtered by, by name."""
    return list(
        session.scalars(
            select(Department)
            .where(Department.company_id == company_id_of(session))
            .order_by(Department.name)
        )
    )


def _current(employee: Employee, errors: dict[str, list[str]], field_name: str = "employee_id") -> None:
    if employee.status == "terminated":
        errors[field_name] = ["is no longer employed"]


@require_permission(MANAGE)
def set_skill_level(session: Session, employee: Employee, skill: Skill, level: Any) -> EmployeeSkill:
    """Set an employee's level (1-5) in a skill."""
    errors: dict[str, list[str]] = {}
    found = parse_level(level, "level", errors)
    validation.raise_if(errors, "invalid level")
    row = session.scalar(
        select(EmployeeSkill).where(
            EmployeeSkill.employee_id == employee.id, EmployeeSkill.skill_id == skill.id
        )
    )
    if row is None:
        row = EmployeeSkill(company_id=employee.company_id, employee_id=employee.id, skill_id=skill.id)
        session.add(row)
    previous = row.level
    row.level = found
    session.flush()
    emit(
        session,
        "hr.skill.level_set",
        {"employee_id": employee.id, "skill_id": skill.id, "from": previous, "to": found},
    )
    return row


@require_permission(MANAGE)
def clear_skill_level(session: Session, employee: Employee, skill: Skill) -> None:
    """Forget an employee's level in a skill (no level is not level 1)."""
    row = session.scalar(
        select(EmployeeSkill).where(
            EmployeeSkill.employee_id == employee.id, EmployeeSkill.skill_id == skill.id
        )
    )
    if row is not None:
        session.delete(row)
        session.flush()
        emit(session, "hr.skill.level_cleared", {"employee_id": employee.id, "skill_id": skill.id})


@require_permission(MANAGE)
def set_employee_skill(session: Session, employee_id: Any, skill_id: Any, level: Any) -> Employee:
    """For forms and the API: set the level (1-5) of the employee (by id) in the skill (by id), or
    forget it when ``level`` is empty. An unknown skill or a bad level is a field message."""
    employee = get_record(session, Employee, employee_id, "employee")
    errors: dict[str, list[str]] = {}
    if skill_id in (None, ""):
        errors["skill_id"] = ["is required"]
    skill = find_record(session, Skill, skill_id, "skill_id", errors, "skill")
    found = parse_level(level, "level", errors, required=False)
    validation.raise_if(errors, "invalid level")
    assert skill is not None
    if found is None:
        clear_skill_level(session, employee, skill)
    else:
        set_skill_level(session, employee, skill, found)
    return employee


def _levels_of(session: Session, employee_ids: list[int]) -> dict[int, dict[int, int]]:
    levels: dict[int, dict[int, int]] = {}
    for chunk_start in range(0, len(employee_ids), 500):
        chunk = employee_ids[chunk_start : chunk_start + 500]
        rows = session.execute(
            select(EmployeeSkill.employee_id, EmployeeSkill.skill_id, EmployeeSkill.level).where(
                EmployeeSkill.employee_id.in_(chunk)
            )
        )
        for employee_id, skill_id, level in rows:
            levels.setdefault(employee_id, {})[skill_id] = level
    return levels


def _visible(session: Session, employee: Employee | Any) -> Employee:
    """The employee (given or by id) if the actor may see their training: HR staff (``hr.view``, or
    ``hr.employee.manage`` who records it), or the employee themselves."""
    if not isinstance(employee, Employee):
        if can(session, MANAGE):
            return get_record(session, Employee, employee, "employee")
        return visible_employee(session, employee)
    if employee.company_id != company_id_of(session) or not (
        can(session, MANAGE) or can_see_employee(session, employee)
    ):
        raise NotFound(f"employee {employee.id} not found")
    return employee


def employee_skills(session: Session, employee: Employee | Any) -> list[EmployeeSkill]:
    """An employee's (or an employee id's) skill levels by skill name: for HR staff, or the employee
    themselves."""
    employee = _visible(session, employee)
    return list(
        session.scalars(
            select(EmployeeSkill)
            .join(Skill, Skill.id == EmployeeSkill.skill_id)
            .where(EmployeeSkill.employee_id == employee.id)
            .order_by(Skill.name)
        )
    )


@dataclass
class MatrixRow:
    employee: Employee
    levels: dict[int, int] = field(default_factory=dict)  # skill id -> level


@dataclass
class SkillsMatrix:
    """Current employees (rows) by skills (columns); a missing level is no known level."""

    skills: list[Skill]
    rows: list[MatrixRow]


@require_permission(VIEW)
def skills_matrix(session: Session, department_id: Any = None) -> SkillsMatrix:
    """Every current employee (of ``department_id`` when given) with their level in each skill."""
    company_id = company_id_of(session)
    stmt = (
        select(Employee)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(Employee.company_id == company_id, Employee.status != "terminated")
        .order_by(Contact.name, Employee.id)
    )
    if department_id not in (None, ""):
        department = get_record(session, Department, department_id, "department")
        stmt = stmt.where(Employee.department_id == department.id)
    people = list(session.scalars(stmt))
    levels = _levels_of(session, [e.id for e in people])
    rows = [MatrixRow(e, levels.get(e.id, {})) for e in people]
    return SkillsMatrix(_skills(session), rows)


# --- courses -----------------------------------------------------------------------------------------


def _clean_course(
    session: Session, data: Mapping[str, Any], course: Course | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    partial = course is not None
    values: dict[str, Any] = {}
    if not partial or "name" in data:
        name = validation.parse_text(data.get("name"), "name", errors, limit=200, required=True)
        if (
            name
            and "name" not in errors
            and _name_taken(session, Course, name, course.id if course else None)
        ):
            errors["name"] = ["another course has this name"]
        values["name"] = name
    if not partial or "description" in data:
        values["description"] = validation.parse_text(
            data.get("description"), "description", errors, limit=10_000
        )
    if not partial or "duration_hours" in data:
        hours = validation.parse_decimal(
            data.get("duration_hours"),
            "duration_hours",
            errors,
            places=1,
            minimum=Decimal("0"),
            default=Decimal("0"),
        )
        if "duration_hours" not in errors and hours > MAX_HOURS:
            errors["duration_hours"] = [f"must be at most {MAX_HOURS} hours"]
        values["duration_hours"] = hours
    if not partial or "skill_id" in data or "skill_level" in data:
        skill_value = data.get("skill_id") if "skill_id" in data else (course.skill_id if course else None)
        level_value = (
            data.get("skill_level") if "skill_level" in data else (course.skill_level if course else None)
        )
        skill = find_record(session, Skill, skill_value, "skill_id", errors, "skill")
        level = parse_level(level_value, "skill_level", errors, required=False)
        if skill is not None and level is None and "skill_level" not in errors:
            errors["skill_level"] = ["give the level (1 to 5) the course brings the skill to"]
        if skill is None and level is not None and "skill_id" not in errors:
            errors["skill_id"] = ["choose the skill the level is for"]
        values["skill_id"] = skill.id if skill else None
        values["skill_level"] = level if skill else None
    return values


@require_permission(MANAGE)
def create_course(session: Session, data: Mapping[str, Any]) -> Course:
    """Add a course: ``name`` (unique), ``description``, ``duration_hours`` (0 or more), and optionally
    the ``skill_id`` it teaches with the ``skill_level`` (1-5) completing it brings."""
    errors: dict[str, list[str]] = {}
    values = _clean_course(session, data, None, errors)
    validation.raise_if(errors, "invalid course")
    course = Course(company_id=company_id_of(session), **values)
    session.add(course)
    session.flush()
    emit(session, "hr.course.created", {"id": course.id, "name": course.name})
    return course


@require_permission(MANAGE)
def update_course(session: Session, course: Course, data: Mapping[str, Any]) -> Course:
    """Change the fields given in ``data`` (completions already recorded keep the levels they gave)."""
    errors: dict[str, list[str]] = {}
    values = _clean_course(session, data, course, errors)
    validation.raise_if(errors, "invalid course")
    for key, value in values.items():
        setattr(course, key, value)
    session.flush()
    emit(session, "hr.course.updated", {"id": course.id, "fields": sorted(values)})
    return course


@require_permission(VIEW)
def get_course(session: Session, course_id: Any) -> Course:
    return get_record(session, Course, course_id, "course")


@dataclass
class CourseSummary:
    course: Course
    sessions: int
    registered: int
    completed: int


@require_permission(VIEW)
def list_courses(session: Session, q: str | None = None) -> list[CourseSummary]:
    """Courses by name with their number of sessions, registrations and completions."""
    company_id = company_id_of(session)
    stmt = select(Course).where(Course.company_id == company_id).order_by(Course.name, Course.id)
    if q:
        stmt = stmt.where(Course.name.icontains(q.strip(), autoescape=True))
    courses = list(session.scalars(stmt))
    sessions = dict(
        session.execute(
            select(TrainingSession.course_id, func.count(TrainingSession.id))
            .where(TrainingSession.company_id == company_id)
            .group_by(TrainingSession.course_id)
        ).all()
    )
    registered: dict[int, int] = {}
    completed: dict[int, int] = {}
    rows = session.execute(
        select(TrainingSession.course_id, func.count(Attendance.id), func.count(Attendance.completed_on))
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(TrainingSession.company_id == company_id)
        .group_by(TrainingSession.course_id)
    )
    for course_id, n, done in rows:
        registered[course_id], completed[course_id] = n, done
    return [
        CourseSummary(c, sessions.get(c.id, 0), registered.get(c.id, 0), completed.get(c.id, 0))
        for c in courses
    ]


# --- sessions -----------------------------------------------------------------------------------------


@require_permission(MANAGE)
def create_session(session: Session, course: Course, data: Mapping[str, Any]) -> TrainingSession:
    """Schedule a session of ``course`` on ``date`` (required) with ``location`` and ``trainer``."""
    errors: dict[str, list[str]] = {}
    day = validation.parse_date(data.get("date"), "date", errors)
    location = validation.parse_text(data.get("location"), "location", errors, limit=200)
    trainer = validation.parse_text(data.get("trainer"), "trainer", errors, limit=200)
    validation.raise_if(errors, "invalid session")
    training = TrainingSession(
        company_id=company_id_of(session), course_id=course.id, date=day, location=location, trainer=trainer
    )
    training.course = course
    session.add(training)
    session.flush()
    emit(session, "hr.training_session.created", {"id": training.id, "course_id": course.id})
    return training


@require_permission(VIEW)
def get_session_record(session: Session, session_id: Any) -> TrainingSession:
    """A training session of the company, else NotFound."""
    return get_record(session, TrainingSession, session_id, "training session")


@require_permission(VIEW)
def sessions_of(session: Session, course: Course) -> list[TrainingSession]:
    """The course's sessions, latest first."""
    return list(
        session.scalars(
            select(TrainingSession)
            .where(TrainingSession.course_id == course.id)
            .order_by(TrainingSession.date.desc(), TrainingSession.id.desc())
        )
    )


@require_permission(VIEW)
def attendance_counts(session: Session, session_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per session: registered, attended, absent and completed counts."""
    counts: dict[int, dict[str, int]] = {
        sid: {"registered": 0, "attended": 0, "absent": 0, "completed": 0} for sid in session_ids
    }
    if not session_ids:
        return counts
    rows = session.execute(
        select(Attendance.session_id, Attendance.status, func.count(), func.count(Attendance.completed_on))
        .where(Attendance.session_id.in_(session_ids))
        .group_by(Attendance.session_id, Attendance.status)
    )
    for session_id, status, n, done in rows:
        counts[session_id][status] = n
        counts[session_id]["completed"] += done
    return counts


@require_permission(MANAGE)
def register(session: Session, training: TrainingSession, employee_id: Any) -> Attendance:
    """Register a current employee on a session; once per session."""
    errors: dict[str, list[str]] = {}
    if employee_id in (None, ""):
        errors["employee_id"] = ["is required"]
    employee = find_record(session, Employee, employee_id, "employee_id", errors, "employee")
    if employee is not None:
        _current(employee, errors)
        taken = session.scalar(
            select(Attendance.id).where(
                Attendance.session_id == training.id, Attendance.employee_id == employee.id
            )
        )
        if taken is not None:
            errors["employee_id"] = [f"{employee.name} is already registered on this session"]
    validation.raise_if(errors, "cannot register")
    assert employee is not None
    attendance = Attendance(
        company_id=training.company_id, session_id=training.id, employee_id=employee.id, status="registered"
    )
    attendance.employee = employee
    session.add(attendance)
    session.flush()
    emit(
        session,
        "hr.training.registered",
        {"id": attendance.id, "session_id": training.id, "employee_id": employee.id},
    )
    return attendance


@require_permission(VIEW)
def get_attendance(session: Session, attendance_id: Any) -> Attendance:
    return get_record(session, Attendance, attendance_id, "attendance")


@require_permission(MANAGE)
def mark(session: Session, attendance: Attendance, status: Any) -> Attendance:
    """Record whether the employee came: ``attended`` or ``absent`` (``registered`` undoes it).
    A completed course stays attended."""
    validation.lock_row(session, attendance)
    if status not in ATTENDANCE_STATES:
        validation.raise_if({"status": [f"must be one of {', '.join(ATTENDANCE_STATES)}"]}, "invalid status")
    if attendance.completed_on is not None and status != "attended":
        raise Conflict("the course is completed", fields={"status": ["the course is completed"]})
    attendance.status = status
    session.flush()
    emit(session, "hr.training.marked", {"id": attendance.id, "status": status})
    return attendance


@require_permission(MANAGE)
def complete(session: Session, attendance: Attendance, on: Any = None) -> Attendance:
    """Record the course as completed ``on`` a date (the session's date by default, not before it):
    the employee attended, and their level in the course's skill rises to at least the course's."""
    validation.lock_row(session, attendance)
    training = attendance.session
    if attendance.completed_on is not None:
        raise Conflict("the course is already completed", fields={"on": ["already completed"]})
    if attendance.status == "absent":
        raise Conflict("the employee was absent; mark them attended first", fields={"status": ["is absent"]})
    errors: dict[str, list[str]] = {}
    day = validation.parse_date(on, "on", errors) if on not in (None, "") else training.date
    if day is not None and "on" not in errors and day < training.date:
        errors["on"] = ["is before the session"]
    validation.raise_if(errors, "cannot complete")
    attendance.status = "attended"
    attendance.completed_on = day
    course = training.course
    raised = None
    if course.skill_id is not None and course.skill_level:
        row = session.scalar(
            select(EmployeeSkill).where(
                EmployeeSkill.employee_id == attendance.employee_id, EmployeeSkill.skill_id == course.skill_id
            )
        )
        if row is None:
            row = EmployeeSkill(
                company_id=attendance.company_id, employee_id=attendance.employee_id, skill_id=course.skill_id
            )
            session.add(row)
        if row.level is None or row.level < course.skill_level:
            raised = {"skill_id": course.skill_id, "from": row.level, "to": course.skill_level}
            row.level = course.skill_level
    session.flush()
    emit(
        session,
        "hr.training.completed",
        {
            "id": attendance.id,
            "course_id": course.id,
            "employee_id": attendance.employee_id,
            "on": day.isoformat() if day else None,
            "skill": raised,
        },
    )
    return attendance


def employee_trainings(session: Session, employee: Employee | Any) -> list[Attendance]:
    """Every session the employee (or employee id) is registered on, latest first: for HR staff or
    the employee themselves."""
    employee = _visible(session, employee)
    return list(
        session.scalars(
            select(Attendance)
            .join(TrainingSession, TrainingSession.id == Attendance.session_id)
            .where(Attendance.employee_id == employee.id)
            .order_by(TrainingSession.date.desc(), Attendance.id.desc())
        )
    )


def completions_for(session: Session, employee: Employee | Any) -> list[Attendance]:
    """The courses the employee (or employee id) completed, latest first: for HR staff or themselves."""
    return [a for a in employee_trainings(session, employee) if a.completed_on is not None]


@require_permission(VIEW)
def current_employees(session: Session) -> list[Employee]:
    """Employees who can be registered on a session, by name (for the registration form)."""
    return list(
        session.scalars(
            select(Employee)
            .join(Contact, Contact.id == Employee.contact_id)
            .where(Employee.company_id == company_id_of(session), Employee.status != "terminated")
            .order_by(Contact.name, Employee.id)
        )
    )


__all__ = [
    "LEVELS",
    "CourseSummary",
    "MatrixRow",
    "SkillsMatrix",
    "attendance_counts",
    "clear_skill_level",
    "complete",
    "completions_for",
    "create_course",
    "create_session",
    "create_skill",
    "current_employees",
    "employee_skills",
    "employee_trainings",
    "get_attendance",
    "get_course",
    "get_session_record",
    "get_skill",
    "list_courses",
    "list_skills",
    "mark",
    "matrix_departments",
    "register",
    "sessions_of",
    "set_employee_skill",
    "set_skill_level",
    "skills_matrix",
    "update_course",
]
