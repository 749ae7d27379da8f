"""Training's REST API: skills, courses, sessions, attendees, completion, the skills matrix and an
employee's levels; field errors, refusals, and who may read or write."""

from __future__ import annotations

from typing import Any

import pytest

from core.testing import ApiClient, api_token
from plugins.hr.models import Attendance, Course, EmployeeSkill
from tests.core.web_helpers import count

pytestmark = pytest.mark.plugins("hr")


@pytest.fixture
def api(make_api_client):
    return make_api_client("hr@example.com", permissions=("hr.view", "hr.employee.manage"))


def error_fields(response: Any) -> dict[str, list[str]]:
    return response.json["error"]["fields"]


def test_a_course_completed_raises_the_level_on_the_matrix(ext, api, people, engineering):
    skill = api.post("/api/v1/hr/skills", json={"name": "Python"})
    assert skill.status_code == 201, skill.json
    assert api.post("/api/v1/hr/skills", json={"name": "PYTHON"}).status_code == 422
    skill_id = skill.json["id"]

    response = api.post(
        "/api/v1/hr/courses",
        json={"name": "Python for analysts", "duration_hours": "-1", "skill_id": skill_id, "skill_level": 9},
    )
    assert response.status_code == 422
    assert error_fields(response) == {
        "duration_hours": ["must be at least 0"],
        "skill_level": ["must be a level from 1 to 5"],
    }
    response = api.post(
        "/api/v1/hr/courses",
        json={
            "name": "Python for analysts",
            "duration_hours": "14.5",
            "skill_id": skill_id,
            "skill_level": 3,
        },
    )
    assert response.status_code == 201, response.json
    course = response.json
    assert (course["duration_hours"], course["skill"], course["skill_level"]) == ("14.5", "Python", 3)
    assert (
        api.patch(f"/api/v1/hr/courses/{course['id']}", json={"description": "Pandas"}).json["description"]
        == "Pandas"
    )

    response = api.post(
        f"/api/v1/hr/courses/{course['id']}/sessions", json={"date": "2026-04-13", "location": "Room 2"}
    )
    assert response.status_code == 201, response.json
    slot = response.json["id"]
    attendees = f"/api/v1/hr/training-sessions/{slot}/attendees"
    registered = api.post(attendees, json={"employee_id": people["eve"]})
    assert registered.status_code == 201, registered.json
    duplicate = api.post(attendees, json={"employee_id": people["eve"]})
    assert duplicate.status_code == 422
    assert error_fields(duplicate) == {"employee_id": ["Eve Employee is already registered on this session"]}
    assert api.post(attendees, json={"employee_id": 2**31}).status_code == 422
    assert count(ext, Attendance) == 1

    attendance = registered.json["id"]
    assert (
        api.post(f"/api/v1/hr/attendances/{attendance}/complete", json={"on": "2026-04-01"}).status_code
        == 422
    )
    done = api.post(f"/api/v1/hr/attendances/{attendance}/complete", json={})
    assert done.status_code == 200, done.json
    assert (done.json["status"], done.json["completed_on"]) == ("attended", "2026-04-13")
    assert api.post(f"/api/v1/hr/attendances/{attendance}/complete", json={}).status_code == 409
    assert api.patch(f"/api/v1/hr/attendances/{attendance}", json={"status": "absent"}).status_code == 409

    matrix = api.get(f"/api/v1/hr/skills-matrix?department_id={engineering.id}").json
    assert matrix["skills"] == [{"id": skill_id, "name": "Python"}]
    assert {row["name"]: row["levels"] for row in matrix["rows"]} == {
        "Eve Employee": {str(skill_id): 3},
        "Mary Manager": {},
    }
    assert api.get("/api/v1/hr/skills-matrix?department_id=999999").status_code == 404
    listed = api.get(f"/api/v1/hr/courses/{course['id']}/sessions").json["items"]
    assert [(s["registered"], s["attended"], s["completed"]) for s in listed] == [(1, 1, 1)]
    assert api.get("/api/v1/hr/courses").json["items"][0]["completed"] == 1


def test_an_employees_levels_are_set_and_read(app, ext, api, people):
    skill_id = api.post("/api/v1/hr/skills", json={"name": "SQL"}).json["id"]
    path = f"/api/v1/hr/employees/{people['mary']}/skills"
    response = api.put(path, json={"skill_id": skill_id, "level": 4})
    assert response.status_code == 200, response.json
    assert response.json["items"] == [{"skill_id": skill_id, "skill": "SQL", "level": 4}]
    for bad, field in (
        ({"skill_id": skill_id, "level": 0}, "level"),
        ({"skill_id": 2**31, "level": 2}, "skill_id"),
    ):
        response = api.put(path, json=bad)
        assert response.status_code == 422
        assert list(error_fields(response)) == [field]
    assert api.put(path, json={"skill_id": skill_id, "level": None}).json["items"] == []
    assert count(ext, EmployeeSkill) == 0
    api.put(path, json={"skill_id": skill_id, "level": 2})

    # An employee reads their own levels and trainings; someone else's file is not found.
    client = app.test_client()
    mary = ApiClient(client, api_token(client, "mary@example.com"))
    assert mary.get(path).json["items"] == [{"skill_id": skill_id, "skill": "SQL", "level": 2}]
    assert mary.get(f"/api/v1/hr/employees/{people['mary']}/trainings").json["items"] == []
    assert mary.get(f"/api/v1/hr/employees/{people['eve']}/skills").status_code == 404
    assert mary.get(f"/api/v1/hr/employees/{people['eve']}/trainings").status_code == 404
    assert mary.put(path, json={"skill_id": skill_id, "level": 5}).status_code == 403
    assert mary.get("/api/v1/hr/skills-matrix").status_code == 403


def test_writes_need_the_employee_permission(ext, make_api_client, api, people):
    course = api.post("/api/v1/hr/courses", json={"name": "First aid"}).json
    slot = api.post(f"/api/v1/hr/courses/{course['id']}/sessions", json={"date": "2026-05-04"}).json
    reader = make_api_client("reader@example.com", permissions=("hr.view",))
    assert reader.get("/api/v1/hr/courses").status_code == 200
    assert reader.get(f"/api/v1/hr/training-sessions/{slot['id']}/attendees").status_code == 200
    for method, path, body in (
        ("post", "/api/v1/hr/skills", {"name": "Go"}),
        ("post", "/api/v1/hr/courses", {"name": "X"}),
        ("patch", f"/api/v1/hr/courses/{course['id']}", {"name": "X"}),
        ("post", f"/api/v1/hr/courses/{course['id']}/sessions", {"date": "2026-05-05"}),
        ("post", f"/api/v1/hr/training-sessions/{slot['id']}/attendees", {"employee_id": people["eve"]}),
        ("put", f"/api/v1/hr/employees/{people['eve']}/skills", {"skill_id": 1, "level": 1}),
    ):
        assert getattr(reader, method)(path, json=body).status_code == 403, path
    assert count(ext, Course) == 1
    assert (
        api.post(f"/api/v1/hr/courses/{course['id']}/sessions", json={"date": "31/12/2026"}).status_code
        == 422
    )
    assert api.get("/api/v1/hr/courses/99999999999999999999").status_code == 404
