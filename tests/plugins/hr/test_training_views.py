"""Training through the browser, with CSRF on: courses, sessions, registering and marking
attendees, completing a course, skills and the skills matrix, and who may change them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.plugin_api import company_id_of
from core.testing import csrf_token
from plugins.hr.models import Attendance, Course, Department, EmployeeSkill, Skill, TrainingSession
from plugins.hr.services import training
from tests.core.web_helpers import (
    count,
    fetch,
    field_error,
    flashes,
    page,
    redirect_path,
    submit,
    system_session,
    table_column,
    visible,
)

pytestmark = pytest.mark.plugins("hr")

MANAGER = ("hr.view", "hr.employee.manage")


@pytest.fixture
def hr(make_client):
    return make_client("hr@example.com", permissions=MANAGER)


@pytest.fixture
def catalogue(ext) -> dict[str, int]:
    """Skill Python; course "Python for analysts" (level 3) with a session on 2026-04-13."""
    with system_session(ext) as session:
        python = training.create_skill(session, "Python")
        course = training.create_course(
            session,
            {"name": "Python for analysts", "duration_hours": "14", "skill_id": python.id, "skill_level": 3},
        )
        slot = training.create_session(session, course, {"date": "2026-04-13", "location": "Room 2"})
        return {"python": python.id, "course": course.id, "session": slot.id}


def matrix_levels(response: Any) -> dict[str, str]:
    """Employee name -> the level numbers shown in their row of the matrix."""
    rows = re.findall(r'<tr id="employee-\d+">\s*<th scope="row">(.*?) <span.*?</tr>', page(response), re.S)
    found = {}
    for name, row in zip(
        rows, re.findall(r'<tr id="employee-\d+">(.*?)</tr>', page(response), re.S), strict=True
    ):
        found[name] = ",".join(re.findall(r'data-level="(\d*)"', row))
    return found


def test_a_course_is_created_from_the_form_with_field_messages_for_bad_input(ext, hr, catalogue):
    response = submit(
        hr,
        "/hr/courses/new",
        {"name": "python for ANALYSTS", "duration_hours": "-2", "skill_id": "abc", "skill_level": "9"},
    )
    assert response.status_code == 422
    assert field_error(response, "name") == "another course has this name"
    assert field_error(response, "duration_hours") == "must be at least 0"
    assert field_error(response, "skill_id") == "no such skill"
    assert field_error(response, "skill_level") == "must be a level from 1 to 5"
    assert count(ext, Course) == 1

    response = submit(hr, "/hr/courses/new", {"name": "SQL basics", "duration_hours": "7.5"})
    course = fetch(ext, Course, Course.name == "SQL basics")
    assert redirect_path(response) == f"/hr/courses/{course.id}"
    listing = hr.get("/hr/courses")
    assert table_column(listing, 0) == ["Python for analysts", "SQL basics"]
    assert table_column(listing, 1) == ["14.0", "7.5"]
    assert table_column(listing, 2) == ["Python → 3", ""]

    response = submit(hr, f"/hr/courses/{course.id}/edit", {"name": "SQL basics", "duration_hours": "8"})
    assert redirect_path(response) == f"/hr/courses/{course.id}"
    assert str(fetch(ext, Course, Course.id == course.id).duration_hours) == "8.0"


def test_a_session_is_scheduled_and_bad_dates_get_a_message(ext, hr, catalogue):
    path = f"/hr/courses/{catalogue['course']}/sessions/new"
    response = submit(hr, path, {"date": "2026-13-01", "location": "Lab"})
    assert response.status_code == 422
    assert field_error(response, "date") == "must be a date (YYYY-MM-DD)"
    assert count(ext, TrainingSession) == 1
    response = submit(hr, path, {"date": "2026-05-04", "location": "Lab", "trainer": "Grace"})
    created = fetch(ext, TrainingSession, TrainingSession.location == "Lab")
    assert redirect_path(response) == f"/hr/training-sessions/{created.id}"
    detail = hr.get(f"/hr/courses/{catalogue['course']}")
    assert table_column(detail, 1) == ["Lab", "Room 2"]


def test_registering_marking_and_completing_raise_the_skill_on_the_matrix(ext, hr, catalogue, people):
    path = f"/hr/training-sessions/{catalogue['session']}"
    response = submit(hr, f"{path}/register", {"employee_id": str(people["eve"])}, form_page=path)
    assert redirect_path(response) == path
    # The same employee twice: a message under the field, no second registration.
    token = csrf_token(hr, path)
    again = hr.post(f"{path}/register", data={"employee_id": str(people["eve"]), "csrf_token": token})
    assert again.status_code == 422
    assert field_error(again, "employee_id") == "Eve Employee is already registered on this session"
    bad = hr.post(f"{path}/register", data={"employee_id": "99999999999999999999999", "csrf_token": token})
    assert field_error(bad, "employee_id") == "no such employee"
    assert count(ext, Attendance) == 1

    response = submit(hr, f"{path}/register", {"employee_id": str(people["mary"])}, form_page=path)
    attendances = {
        a.employee_id: a.id for a in [fetch(ext, Attendance, Attendance.employee_id == people["mary"])]
    }
    eve_attendance = fetch(ext, Attendance, Attendance.employee_id == people["eve"]).id
    response = submit(hr, f"/hr/attendances/{attendances[people['mary']]}/absent", form_page=path)
    assert redirect_path(response) == path
    response = submit(hr, f"/hr/attendances/{eve_attendance}/complete", {"on": "2026-04-14"}, form_page=path)
    assert redirect_path(response) == path
    detail = hr.get(path)
    assert "Eve Employee completed the course." in flashes(detail)
    assert table_column(detail, 1) == ["Attended", "Absent"]
    assert table_column(detail, 2)[0] == "Apr 14, 2026"
    # Completing the absent one is refused with the reason.
    response = submit(
        hr, f"/hr/attendances/{attendances[people['mary']]}/complete", {"on": ""}, form_page=path
    )
    assert "the employee was absent; mark them attended first" in flashes(hr.get(path))
    assert fetch(ext, Attendance, Attendance.employee_id == people["mary"]).completed_on is None

    matrix = hr.get("/hr/skills-matrix")
    assert matrix_levels(matrix) == {"Eve Employee": "3", "Mary Manager": ""}
    assert "level 3 of 5" in page(matrix)
    course = hr.get(f"/hr/courses/{catalogue['course']}")
    assert table_column(course, 3) == ["2"]  # registered
    assert table_column(course, 6) == ["1"]  # completed


def test_skills_are_added_and_levels_set_from_the_matrix(ext, hr, catalogue, people, engineering):
    response = submit(hr, "/hr/skills", {"name": "PYTHON"})
    assert response.status_code == 422
    assert field_error(response, "name") == "another skill has this name"
    response = submit(hr, "/hr/skills", {"name": "SQL"})
    assert redirect_path(response) == "/hr/skills"
    sql = fetch(ext, Skill, Skill.name == "SQL").id
    with system_session(ext) as session:
        sales = Department(company_id=company_id_of(session), name="Sales")
        session.add(sales)
    matrix_path = f"/hr/skills-matrix?department_id={engineering.id}"
    response = submit(
        hr,
        "/hr/skills-matrix/level",
        {"employee_id": people["mary"], "skill_id": sql, "level": "4", "department_id": engineering.id},
        form_page=matrix_path,
    )
    assert redirect_path(response) == matrix_path
    assert matrix_levels(hr.get(matrix_path)) == {"Eve Employee": ",", "Mary Manager": ",4"}
    response = submit(
        hr,
        "/hr/skills-matrix/level",
        {"employee_id": people["mary"], "skill_id": sql, "level": "7"},
        form_page=matrix_path,
    )
    assert flashes(hr.get(redirect_path(response))) == ["invalid level: level must be a level from 1 to 5"]
    response = submit(
        hr,
        "/hr/skills-matrix/level",
        {"employee_id": people["mary"], "skill_id": sql, "level": ""},
        form_page=matrix_path,
    )
    assert count(ext, EmployeeSkill) == 0
    # The department filter: nobody in Sales; an unknown department shows everyone with a message.
    sales_id = fetch(ext, Department, Department.name == "Sales").id
    assert "Nobody to show." in visible(hr.get(f"/hr/skills-matrix?department_id={sales_id}"))
    odd = hr.get("/hr/skills-matrix?department_id=abc")
    assert "No such department: showing everyone." in flashes(odd)
    assert set(matrix_levels(odd)) == {"Eve Employee", "Mary Manager"}


def test_readers_see_training_pages_without_forms_and_cannot_change_anything(
    ext, make_client, catalogue, people
):
    reader = make_client("reader@example.com", permissions=("hr.view",))
    for path in (
        "/hr/courses",
        f"/hr/courses/{catalogue['course']}",
        f"/hr/training-sessions/{catalogue['session']}",
        "/hr/skills",
        "/hr/skills-matrix",
    ):
        response = reader.get(path)
        assert response.status_code == 200, path
        assert 'name="level"' not in page(response) and "Register an employee" not in page(response)
    token = csrf_token(reader, "/hr/courses")
    posts = {
        "/hr/courses/new": {"name": "X"},
        f"/hr/courses/{catalogue['course']}/edit": {"name": "X"},
        f"/hr/courses/{catalogue['course']}/sessions/new": {"date": "2026-01-01"},
        f"/hr/training-sessions/{catalogue['session']}/register": {"employee_id": people["eve"]},
        "/hr/skills": {"name": "Go"},
        "/hr/skills-matrix/level": {
            "employee_id": people["eve"],
            "skill_id": catalogue["python"],
            "level": "5",
        },
    }
    for path, data in posts.items():
        assert reader.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert (count(ext, Course), count(ext, TrainingSession), count(ext, Attendance), count(ext, Skill)) == (
        1,
        1,
        0,
        1,
    )
    assert count(ext, EmployeeSkill) == 0

    # Without hr.view, no training page at all.
    outsider = make_client("outsider@example.com", permissions=())
    for path in ("/hr/courses", "/hr/skills-matrix", f"/hr/training-sessions/{catalogue['session']}"):
        assert outsider.get(path).status_code == 403, path


def test_unknown_ids_are_not_found(hr):
    for path in (
        "/hr/courses/999999",
        "/hr/courses/99999999999999999999999/edit",
        "/hr/training-sessions/999999",
        "/hr/courses/abc",
    ):
        assert hr.get(path).status_code == 404, path
