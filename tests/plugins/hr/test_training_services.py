"""Training's rules through its services: skills and levels, courses, sessions, registration,
attendance, completion raising a skill, the skills matrix, and who reads what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.context import set_actor
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.models import User
from core.plugin_api import company_id_of
from plugins.hr.models import Attendance, Course, Department, EmployeeSkill
from plugins.hr.services import employees, training

pytestmark = pytest.mark.plugins("hr")


@pytest.fixture
def python(session):
    skill = training.create_skill(session, "Python")
    session.commit()
    return skill


@pytest.fixture
def course(session, python):
    found = training.create_course(
        session,
        {"name": "Python for analysts", "duration_hours": "14.5", "skill_id": python.id, "skill_level": 3},
    )
    session.commit()
    return found


@pytest.fixture
def first_session(session, course):
    found = training.create_session(
        session, course, {"date": "2026-04-13", "location": "Room 2", "trainer": "Guido"}
    )
    session.commit()
    return found


def test_skill_names_are_unique_whatever_their_case(session, python):
    with pytest.raises(ValidationError) as excinfo:
        training.create_skill(session, " python ")
    assert excinfo.value.fields == {"name": ["another skill has this name"]}
    with pytest.raises(ValidationError) as excinfo:
        training.create_skill(session, "")
    assert excinfo.value.fields == {"name": ["is required"]}
    assert [s.name for s in training.list_skills(session)] == ["Python"]


def test_a_course_needs_a_unique_name_hours_not_negative_and_a_level_with_its_skill(session, course, python):
    with pytest.raises(ValidationError) as excinfo:
        training.create_course(
            session,
            {"name": "PYTHON FOR ANALYSTS", "duration_hours": "-1", "skill_id": python.id, "skill_level": 6},
        )
    assert excinfo.value.fields == {
        "name": ["another course has this name"],
        "duration_hours": ["must be at least 0"],
        "skill_level": ["must be a level from 1 to 5"],
    }
    with pytest.raises(ValidationError) as excinfo:
        training.create_course(session, {"name": "SQL", "duration_hours": "abc", "skill_id": python.id})
    assert excinfo.value.fields == {
        "duration_hours": ["must be a decimal number"],
        "skill_level": ["give the level (1 to 5) the course brings the skill to"],
    }
    with pytest.raises(ValidationError) as excinfo:
        training.create_course(
            session, {"name": "SQL", "skill_level": "2", "skill_id": "999999999999999999999"}
        )
    assert excinfo.value.fields == {"skill_id": ["no such skill"]}
    assert session.scalar(select(func.count()).select_from(Course)) == 1
    assert course.duration_hours == Decimal("14.5")
    # Editing may keep its own name, and drop the skill.
    training.update_course(
        session, course, {"name": "Python for analysts", "skill_id": "", "skill_level": ""}
    )
    assert (course.skill_id, course.skill_level) == (None, None)


def test_registration_is_for_current_employees_once_per_session(session, first_session, make_employee):
    ada = make_employee(name="Ada")
    gone = make_employee(name="Gone")
    employees.terminate_employee(session, gone, date="2025-06-30")
    session.commit()
    training.register(session, first_session, ada.id)
    with pytest.raises(ValidationError) as excinfo:
        training.register(session, first_session, ada.id)
    assert excinfo.value.fields == {"employee_id": ["Ada is already registered on this session"]}
    with pytest.raises(ValidationError) as excinfo:
        training.register(session, first_session, gone.id)
    assert excinfo.value.fields == {"employee_id": ["is no longer employed"]}
    for bad in ("", "abc", 10**30):
        with pytest.raises(ValidationError):
            training.register(session, first_session, bad)
    assert session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_completing_raises_the_skill_to_the_courses_level_never_lowers_it(
    session, first_session, make_employee, python
):
    ada = make_employee(name="Ada")
    bob = make_employee(name="Bob")
    training.set_skill_level(session, bob, python, 5)
    ada_attendance = training.register(session, first_session, ada.id)
    bob_attendance = training.register(session, first_session, bob.id)
    training.complete(session, ada_attendance)
    training.complete(session, bob_attendance, on="2026-04-20")
    assert (ada_attendance.status, ada_attendance.completed_on) == ("attended", dt.date(2026, 4, 13))
    assert bob_attendance.completed_on == dt.date(2026, 4, 20)
    levels = dict(session.execute(select(EmployeeSkill.employee_id, EmployeeSkill.level)).all())
    assert levels == {ada.id: 3, bob.id: 5}
    with pytest.raises(Conflict):
        training.complete(session, ada_attendance)
    with pytest.raises(Conflict):
        training.mark(session, ada_attendance, "absent")
    assert [a.session.course.name for a in training.completions_for(session, ada)] == ["Python for analysts"]


def test_an_absent_attendee_does_not_complete_and_bad_dates_are_refused(
    session, first_session, make_employee
):
    ada = make_employee(name="Ada")
    attendance = training.register(session, first_session, ada.id)
    with pytest.raises(ValidationError) as excinfo:
        training.complete(session, attendance, on="2026-04-12")
    assert excinfo.value.fields == {"on": ["is before the session"]}
    with pytest.raises(ValidationError) as excinfo:
        training.complete(session, attendance, on="13/04/2026")
    assert excinfo.value.fields == {"on": ["must be a date (YYYY-MM-DD)"]}
    with pytest.raises(ValidationError) as excinfo:
        training.mark(session, attendance, "asleep")
    assert excinfo.value.fields == {"status": ["must be one of registered, attended, absent"]}
    training.mark(session, attendance, "absent")
    with pytest.raises(Conflict):
        training.complete(session, attendance)
    assert attendance.completed_on is None
    with pytest.raises(ValidationError) as excinfo:
        training.create_session(session, first_session.course, {"date": "", "location": "x" * 201})
    assert excinfo.value.fields == {
        "date": ["must be a date (YYYY-MM-DD)"],
        "location": ["must be at most 200 characters"],
    }


def test_the_skills_matrix_lists_current_employees_by_department(session, python, make_employee, engineering):
    sql = training.create_skill(session, "SQL")
    sales = Department(company_id=company_id_of(session), name="Sales")
    session.add(sales)
    session.flush()
    ada = make_employee(name="Ada", department_id=engineering.id)
    bob = make_employee(name="Bob", department_id=sales.id)
    gone = make_employee(name="Gone", department_id=engineering.id)
    employees.terminate_employee(session, gone, date="2025-06-30")
    training.set_skill_level(session, ada, python, 4)
    training.set_skill_level(session, ada, sql, 2)
    training.set_skill_level(session, bob, sql, 1)
    training.clear_skill_level(session, ada, sql)
    matrix = training.skills_matrix(session)
    assert [s.name for s in matrix.skills] == ["Python", "SQL"]
    assert [(r.employee.name, r.levels) for r in matrix.rows] == [
        ("Ada", {python.id: 4}),
        ("Bob", {sql.id: 1}),
    ]
    assert [r.employee.name for r in training.skills_matrix(session, engineering.id).rows] == ["Ada"]
    with pytest.raises(NotFound):
        training.skills_matrix(session, 10**25)
    with pytest.raises(ValidationError) as excinfo:
        training.set_skill_level(session, ada, python, "6")
    assert excinfo.value.fields == {"level": ["must be a level from 1 to 5"]}


def test_an_employee_reads_only_their_own_training_and_writes_need_the_permission(
    ext, session, people, first_session
):
    eve_attendance = training.register(session, first_session, people["eve"])
    session.commit()
    set_actor(session, session.get(User, people["eve_user"]))
    assert [a.id for a in training.employee_trainings(session, people["eve"])] == [eve_attendance.id]
    assert training.employee_skills(session, people["eve"]) == []
    with pytest.raises(NotFound):
        training.employee_trainings(session, people["mary"])
    with pytest.raises(NotFound):
        training.completions_for(session, people["mary"])
    with pytest.raises(PermissionDenied):
        training.list_courses(session)
    with pytest.raises(PermissionDenied):
        training.create_skill(session, "Go")
    set_actor(session, session.get(User, people["hr_user"]))
    assert [a.employee_id for a in training.employee_trainings(session, people["eve"])] == [people["eve"]]
