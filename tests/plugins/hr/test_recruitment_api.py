"""Recruitment's REST API: openings, applicants and their stages, the CV file, hiring (201 with the
employee), the error shapes, and 403 for every call without ``hr.recruitment.manage``."""

from __future__ import annotations

import io
from typing import Any

import pytest

from core.hookspecs import hookimpl
from plugins.hr.models import Applicant, Employee, JobOpening
from plugins.hr.services import recruitment
from tests.core.web_helpers import count, fetch, system_session

pytestmark = pytest.mark.plugins("hr")

PDF = b"%PDF-1.5\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class HireRecorder:
    def __init__(self) -> None:
        self.numbers: list[str] = []

    @hookimpl
    def officium_employee_hired(self, employee: Any, session: Any) -> None:
        self.numbers.append(employee.number)


@pytest.fixture
def hired_hook(ext):
    recorder = HireRecorder()
    ext.plugins.pm.register(recorder, name="test-hire-recorder")
    yield recorder
    ext.plugins.pm.unregister(recorder)


@pytest.fixture
def api(make_api_client):
    return make_api_client("recruiter@example.com", permissions=("hr.recruitment.manage",))


def error_fields(response: Any) -> dict[str, list[str]]:
    return response.json["error"]["fields"]


def test_openings_are_created_listed_changed_and_closed(ext, api, engineering):
    response = api.post("/api/v1/hr/openings", json={"title": "", "department_id": 999999})
    assert response.status_code == 422
    assert error_fields(response) == {"title": ["is required"], "department_id": ["no such department"]}
    for too_big in (2**31, 2**62, 10**30):
        response = api.post("/api/v1/hr/openings", json={"title": "X", "department_id": too_big})
        assert response.status_code == 422
        assert list(error_fields(response)) == ["department_id"]
    response = api.post(
        "/api/v1/hr/openings", json={"title": "Backend developer", "department_id": engineering.id}
    )
    assert response.status_code == 201, response.json
    opening = response.json
    assert (opening["title"], opening["department"], opening["state"]) == (
        "Backend developer",
        "Engineering",
        "open",
    )
    assert opening["applicants"]["applied"] == 0

    response = api.patch(f"/api/v1/hr/openings/{opening['id']}", json={"description": "Go and SQL"})
    assert response.json["description"] == "Go and SQL"
    assert api.post(f"/api/v1/hr/openings/{opening['id']}/close").json["state"] == "closed"
    assert api.post(f"/api/v1/hr/openings/{opening['id']}/close").status_code == 409
    listed = api.get("/api/v1/hr/openings?state=closed").json
    assert [o["title"] for o in listed["items"]] == ["Backend developer"]
    assert api.get("/api/v1/hr/openings?state=lost").status_code == 422
    assert api.get("/api/v1/hr/openings/999999").status_code == 404


def test_applicants_move_through_stages_and_are_filtered(ext, api):
    with system_session(ext) as session:
        opening = recruitment.create_opening(session, {"title": "Analyst"}).id
    response = api.post(
        "/api/v1/hr/applicants",
        json={"name": "Ada", "email": "ada@example.com", "opening_id": opening, "cv_text": "Mathematician"},
    )
    assert response.status_code == 201, response.json
    ada = response.json
    assert (ada["stage"], ada["opening"], ada["cv_text"], ada["cv_url"]) == (
        "applied",
        "Analyst",
        "Mathematician",
        None,
    )
    bob = api.post("/api/v1/hr/applicants", json={"name": "Bob", "stage": "interview"}).json

    response = api.post(f"/api/v1/hr/applicants/{ada['id']}/stage", json={"stage": "offer"})
    assert response.json["stage"] == "offer"
    response = api.post(f"/api/v1/hr/applicants/{ada['id']}/stage", json={"stage": "hired"})
    assert response.status_code == 422
    assert error_fields(response) == {"stage": ["hire the applicant to make them an employee"]}
    response = api.post(f"/api/v1/hr/applicants/{bob['id']}/reject", json={"reason": ""})
    assert error_fields(response) == {"reason": ["is required"]}
    response = api.post(f"/api/v1/hr/applicants/{bob['id']}/reject", json={"reason": "No SQL"})
    assert (response.json["stage"], response.json["rejection_reason"]) == ("rejected", "No SQL")

    assert [a["name"] for a in api.get(f"/api/v1/hr/applicants?opening_id={opening}").json["items"]] == [
        "Ada"
    ]
    assert [a["name"] for a in api.get("/api/v1/hr/applicants?stage=rejected").json["items"]] == ["Bob"]
    assert [a["name"] for a in api.get("/api/v1/hr/applicants?q=ADA@").json["items"]] == ["Ada"]
    page = api.get("/api/v1/hr/applicants?limit=1&sort=name").json
    assert [a["name"] for a in page["items"]] == ["Ada"]
    assert [
        a["name"]
        for a in api.get(f"/api/v1/hr/applicants?limit=1&sort=name&cursor={page['next_cursor']}").json[
            "items"
        ]
    ] == ["Bob"]

    response = api.patch(f"/api/v1/hr/applicants/{ada['id']}", json={"email": "not an email", "phone": "1"})
    assert response.status_code == 422
    assert error_fields(response) == {"email": ["is not a valid email address"]}
    for bad in (
        {"name": "X", "stage": "hired"},
        {"name": "X", "opening_id": "1"},
        {"name": "X", "salary": 1},
    ):
        assert api.post("/api/v1/hr/applicants", json=bad).status_code == 422, bad
    assert count(ext, Applicant) == 2


def test_the_cv_file_is_uploaded_checked_and_downloaded_identical(ext, api):
    applicant = api.post("/api/v1/hr/applicants", json={"name": "Ada"}).json
    path = f"/api/v1/hr/applicants/{applicant['id']}/cv"
    assert api.get(path).status_code == 404
    response = api.put(
        path, data={"file": (io.BytesIO(PDF), "Ada CV.pdf", "text/html")}, content_type="multipart/form-data"
    )
    assert response.status_code == 200, response.json
    assert (response.json["cv_filename"], response.json["cv_content_type"], response.json["cv_size"]) == (
        "Ada_CV.pdf",
        "application/pdf",
        len(PDF),
    )
    assert response.json["cv_url"] == path
    download = api.get(path)
    assert download.data == PDF
    assert download.headers["Content-Disposition"] == 'attachment; filename="Ada_CV.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/pdf"

    for filename, content, message in (
        ("virus.exe", b"MZ", "must be one of these kinds of file: .pdf, .doc, .docx, .odt, .rtf, .txt"),
        (
            "page.pdf",
            b"<html><body>hi</body></html>",
            "is not a .pdf file: its content does not match its name",
        ),
        ("big.pdf", b"%PDF" + b"0" * (6 * 1024 * 1024), "is larger than 5 MB"),
    ):
        response = api.put(
            path, data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data"
        )
        assert response.status_code == 422, filename
        assert error_fields(response) == {"file": [message]}
    assert api.put(path, json={"file": "x"}).status_code == 422
    assert api.get(path).data == PDF  # the stored file is untouched
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


def test_hiring_answers_201_with_the_employee_once(ext, api, engineering, hired_hook):
    with system_session(ext) as session:
        opening = recruitment.create_opening(
            session, {"title": "Backend developer", "department_id": engineering.id}
        ).id
    applicant = api.post(
        "/api/v1/hr/applicants",
        json={"name": "Ada Lovelace", "email": "ada@example.com", "opening_id": opening},
    ).json
    path = f"/api/v1/hr/applicants/{applicant['id']}/hire"
    response = api.post(path, json={"hire_date": "2026-02-30"})
    assert response.status_code == 422
    assert "hire_date" in error_fields(response)
    assert api.post(path, json={}).status_code == 422
    response = api.post(path, json={"hire_date": "2026-03-02"})
    assert response.status_code == 201, response.json
    assert (response.json["number"], response.json["name"]) == ("EMP-00001", "Ada Lovelace")
    employee = fetch(ext, Employee, Employee.id == response.json["employee_id"])
    assert (employee.department_id, employee.job_title) == (engineering.id, "Backend developer")
    assert api.get(f"/api/v1/hr/applicants/{applicant['id']}").json["employee_id"] == employee.id
    assert hired_hook.numbers == ["EMP-00001"]

    again = api.post(path, json={"hire_date": "2026-03-02"})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "conflict"
    assert hired_hook.numbers == ["EMP-00001"]
    assert api.patch(f"/api/v1/hr/applicants/{applicant['id']}", json={"name": "Ada"}).status_code == 409

    rejected = api.post("/api/v1/hr/applicants", json={"name": "Bob"}).json
    api.post(f"/api/v1/hr/applicants/{rejected['id']}/reject", json={"reason": "No"})
    assert (
        api.post(f"/api/v1/hr/applicants/{rejected['id']}/hire", json={"hire_date": "2026-03-02"}).status_code
        == 409
    )
    assert count(ext, Employee) == 1


def test_every_recruitment_call_is_forbidden_without_the_permission(ext, make_api_client, engineering):
    with system_session(ext) as session:
        opening = recruitment.create_opening(session, {"title": "Analyst"}).id
        applicant = recruitment.create_applicant(
            session, {"name": "Ada", "cv_file": recruitment.CvUpload("cv.pdf", PDF)}
        ).id
    staff = make_api_client(
        "staff@example.com", permissions=("hr.view", "hr.employee.manage", "hr.payroll.view")
    )
    calls = [
        ("get", "/api/v1/hr/openings", None),
        ("post", "/api/v1/hr/openings", {"title": "X"}),
        ("get", f"/api/v1/hr/openings/{opening}", None),
        ("patch", f"/api/v1/hr/openings/{opening}", {"title": "X"}),
        ("post", f"/api/v1/hr/openings/{opening}/close", None),
        ("post", f"/api/v1/hr/openings/{opening}/reopen", None),
        ("get", "/api/v1/hr/applicants", None),
        ("post", "/api/v1/hr/applicants", {"name": "X"}),
        ("get", f"/api/v1/hr/applicants/{applicant}", None),
        ("patch", f"/api/v1/hr/applicants/{applicant}", {"name": "X"}),
        ("post", f"/api/v1/hr/applicants/{applicant}/stage", {"stage": "offer"}),
        ("post", f"/api/v1/hr/applicants/{applicant}/reject", {"reason": "x"}),
        ("post", f"/api/v1/hr/applicants/{applicant}/hire", {"hire_date": "2026-01-01"}),
        ("get", f"/api/v1/hr/applicants/{applicant}/cv", None),
        ("put", f"/api/v1/hr/applicants/{applicant}/cv", None),
        ("delete", f"/api/v1/hr/applicants/{applicant}/cv", None),
        # Bad input does not get past the permission either.
        ("post", "/api/v1/hr/applicants", {"bogus": True}),
    ]
    for method, path, body in calls:
        response = (
            getattr(staff, method)(path, json=body) if body is not None else getattr(staff, method)(path)
        )
        assert response.status_code == 403, (method, path, response.json)
        assert PDF not in response.data
    assert fetch(ext, Applicant, Applicant.id == applicant).cv_size == len(PDF)
    assert count(ext, JobOpening) == 1
    assert count(ext, Employee) == 0


def test_odd_ids_are_not_found_never_a_500(api):
    for path in (
        "/api/v1/hr/applicants/99999999999999999999999",
        "/api/v1/hr/applicants/0",
        "/api/v1/hr/openings/9223372036854775807",
    ):
        assert api.get(path).status_code == 404, path
    assert api.get("/api/v1/hr/applicants?opening_id=abc").status_code == 422
    assert api.get("/api/v1/hr/applicants?cursor=garbage").status_code == 422


def test_the_openapi_document_describes_the_recruitment_routes(admin_api):
    paths = admin_api.get("/api/v1/openapi.json").json["paths"]
    hire = paths["/api/v1/hr/applicants/{applicant_id}/hire"]["post"]
    assert "201" in hire["responses"] and "requestBody" in hire
    upload = paths["/api/v1/hr/applicants/{applicant_id}/cv"]["put"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "/api/v1/hr/skills-matrix" in paths
