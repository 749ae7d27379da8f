"""Recruitment through the browser, with CSRF on: openings, the applicant board and list, the
applicant form with its CV upload and download, stages, rejection, hiring, and who may see it."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import select

from core.hookspecs import hookimpl
from core.models import Contact
from core.services import contacts
from core.testing import csrf_token
from plugins.hr.models import Applicant, Department, Employee, JobOpening
from plugins.hr.services import recruitment
from tests.core.web_helpers import (
    count,
    csv_rows,
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

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
RECRUITER = ("hr.recruitment.manage",)


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
def recruiter(make_client):
    """A browser logged in as someone holding only hr.recruitment.manage."""
    return make_client("recruiter@example.com", permissions=RECRUITER)


@pytest.fixture
def opening(ext, engineering) -> int:
    with system_session(ext) as session:
        return recruitment.create_opening(
            session, {"title": "Backend developer", "department_id": engineering.id}
        ).id


def add_applicant(ext, **data: Any) -> int:
    with system_session(ext) as session:
        return recruitment.create_applicant(session, {"name": "Ada Lovelace", **data}).id


def upload_form(client, path: str, data: dict[str, Any], *, form_page: str | None = None) -> Any:
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token}, content_type="multipart/form-data")


def stored_applicants(ext) -> int:
    return count(ext, Applicant)


# --- openings ----------------------------------------------------------------------------------------


def test_an_opening_is_created_from_the_form_and_listed_with_its_applicants(ext, recruiter, engineering):
    response = submit(recruiter, "/hr/openings/new", {"title": "", "department_id": "99999999999999999999"})
    assert response.status_code == 422
    assert field_error(response, "title") == "is required"
    assert field_error(response, "department_id") == "no such department"
    assert count(ext, JobOpening) == 0

    response = submit(
        recruiter, "/hr/openings/new", {"title": "Data engineer", "department_id": engineering.id}
    )
    opening_id = fetch(ext, JobOpening, JobOpening.title == "Data engineer").id
    assert redirect_path(response) == f"/hr/applicants?opening_id={opening_id}"
    add_applicant(ext, name="Ada", opening_id=opening_id)
    listing = recruiter.get("/hr/openings")
    assert table_column(listing, 0) == ["Data engineer"]
    assert table_column(listing, 1) == ["Engineering"]
    assert table_column(listing, 4) == ["1"]

    assert ">Data engineer</option>" in page(recruiter.get("/hr/applicants/new"))
    response = submit(recruiter, f"/hr/openings/{opening_id}/close", form_page="/hr/openings")
    assert redirect_path(response) == "/hr/openings"
    assert fetch(ext, JobOpening, JobOpening.id == opening_id).state == "closed"
    # A closed opening is not offered to new applicants.
    assert ">Data engineer</option>" not in page(recruiter.get("/hr/applicants/new"))


# --- applicants: form, board, list, CSV -----------------------------------------------------------------


def test_a_pdf_cv_is_stored_and_downloaded_back_identical_as_an_attachment(ext, recruiter, opening):
    response = upload_form(
        recruiter,
        "/hr/applicants/new",
        {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "opening_id": str(opening),
            "stage": "screening",
            "cv_text": "Notes on the Analytical Engine",
            "cv_file": (io.BytesIO(PDF), "Ada's CV <final>.pdf", "text/html"),
        },
    )
    applicant = fetch(ext, Applicant, Applicant.name == "Ada Lovelace")
    assert redirect_path(response) == f"/hr/applicants/{applicant.id}"
    assert (applicant.stage, applicant.cv_filename, applicant.cv_content_type, applicant.cv_size) == (
        "screening",
        "Adas_CV_final.pdf",
        "application/pdf",
        len(PDF),
    )
    detail = recruiter.get(f"/hr/applicants/{applicant.id}")
    assert "Adas_CV_final.pdf" in visible(detail)
    assert "Notes on the Analytical Engine" in visible(detail)

    download = recruiter.get(f"/hr/applicants/{applicant.id}/cv")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.headers["Content-Disposition"] == 'attachment; filename="Adas_CV_final.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == "application/pdf"


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        (
            "setup.exe",
            b"MZ\x90\x00\x03",
            "must be one of these kinds of file: .pdf, .doc, .docx, .odt, .rtf, .txt",
        ),
        (
            "cv.pdf",
            b"<!doctype html><script>alert(document.cookie)</script>",
            "is not a .pdf file: its content",
        ),
        ("cv.pdf", b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024), "is larger than 5 MB"),
    ],
)
def test_a_bad_cv_file_gets_a_form_message_and_nothing_is_stored(ext, recruiter, filename, content, message):
    response = upload_form(
        recruiter,
        "/hr/applicants/new",
        {"name": "Mallory", "email": "mallory@example.com", "cv_file": (io.BytesIO(content), filename)},
    )
    assert response.status_code == 422
    assert field_error(response, "cv_file").startswith(message)
    assert 'value="Mallory"' in page(response)  # what was typed is kept
    assert stored_applicants(ext) == 0


def test_an_upload_far_beyond_the_limit_is_refused_on_the_form_without_being_read(ext, recruiter):
    response = upload_form(
        recruiter,
        "/hr/applicants/new",
        {"name": "Mallory", "cv_file": (io.BytesIO(b"%PDF" + b"0" * (11 * 1024 * 1024)), "huge.pdf")},
    )
    assert response.status_code == 413
    assert field_error(response, "cv_file") == "is larger than 5 MB"
    assert stored_applicants(ext) == 0


def test_editing_replaces_or_removes_the_cv_file(ext, recruiter):
    applicant_id = add_applicant(ext, cv_file=recruitment.CvUpload("cv.pdf", PDF))
    path = f"/hr/applicants/{applicant_id}/edit"
    response = upload_form(
        recruiter,
        path,
        {"name": "Ada King", "email": "", "cv_file": (io.BytesIO(b"Ada King\nMathematician\n"), "cv.txt")},
    )
    assert redirect_path(response) == f"/hr/applicants/{applicant_id}"
    stored = fetch(ext, Applicant, Applicant.id == applicant_id)
    assert (stored.name, stored.cv_filename, stored.cv_content_type) == ("Ada King", "cv.txt", "text/plain")
    download = recruiter.get(f"/hr/applicants/{applicant_id}/cv")
    assert (download.data, download.mimetype) == (b"Ada King\nMathematician\n", "text/plain")

    response = upload_form(recruiter, path, {"name": "Ada King", "remove_cv_file": "1"})
    assert redirect_path(response) == f"/hr/applicants/{applicant_id}"
    assert recruiter.get(f"/hr/applicants/{applicant_id}/cv").status_code == 404


def test_bad_applicant_input_gets_field_messages(ext, recruiter):
    response = upload_form(
        recruiter,
        "/hr/applicants/new",
        {"name": " ", "email": "ada@", "opening_id": "abc", "stage": "hired"},
    )
    assert response.status_code == 422
    assert field_error(response, "name") == "is required"
    assert field_error(response, "email") == "is not a valid email address"
    assert field_error(response, "opening_id") == "no such opening"
    assert field_error(response, "stage") == "must be one of applied, screening, interview, offer"
    assert stored_applicants(ext) == 0


def test_the_board_shows_each_stage_and_the_list_one_stage_with_csv(ext, recruiter, opening):
    add_applicant(ext, name="Ada", email="ada@example.com", opening_id=opening)
    add_applicant(ext, name="Bob", opening_id=opening, stage="interview")
    add_applicant(ext, name="Carol", stage="interview")
    board = recruiter.get("/hr/applicants")
    assert board.status_code == 200
    assert 'href="/hr/assets/recruitment.css"' in page(board)
    assert b".hr-board" in recruiter.get("/hr/assets/recruitment.css").data
    columns = dict(
        re.findall(r'<h2 id="stage-(\w+)">.*?<span class="badge column-count">(\d+)</span>', page(board))
    )
    assert columns == {
        "applied": "1",
        "screening": "0",
        "interview": "2",
        "offer": "0",
        "hired": "0",
        "rejected": "0",
    }

    filtered = recruiter.get(f"/hr/applicants?opening_id={opening}")
    assert "Carol" not in visible(filtered) and "Bob" in visible(filtered)

    listing = recruiter.get("/hr/applicants?stage=interview&sort=name&dir=asc")
    assert table_column(listing, 0) == ["Bob", "Carol"]
    assert table_column(listing, 3) == ["Backend developer", ""]

    rows = csv_rows(recruiter.get("/hr/applicants?stage=interview&sort=name&dir=asc&format=csv"))
    assert rows[0][:6] == ["id", "name", "email", "phone", "opening", "stage"]
    assert [(r[1], r[4], r[5]) for r in rows[1:]] == [
        ("Bob", "Backend developer", "interview"),
        ("Carol", "", "interview"),
    ]

    searched = recruiter.get("/hr/applicants?q=ADA%40EXAMPLE&stage=applied")
    assert table_column(searched, 0) == ["Ada"]
    # Odd filters never break the page.
    for query in (
        "opening_id=abc",
        "opening_id=99999999999999999999999",
        "stage=lunch",
        "cursor=garbage&stage=applied",
    ):
        assert recruiter.get(f"/hr/applicants?{query}").status_code == 200


def test_moving_and_rejecting_from_the_applicant_page(ext, recruiter, opening):
    applicant_id = add_applicant(ext, opening_id=opening)
    path = f"/hr/applicants/{applicant_id}"
    response = submit(recruiter, f"{path}/stage", {"stage": "interview"}, form_page=path)
    assert redirect_path(response) == path
    assert fetch(ext, Applicant, Applicant.id == applicant_id).stage == "interview"

    response = submit(recruiter, f"{path}/stage", {"stage": "hired"}, form_page=path)
    assert response.status_code == 422
    assert field_error(response, "stage") == "hire the applicant to make them an employee"

    response = submit(recruiter, f"{path}/reject", {"reason": ""}, form_page=path)
    assert response.status_code == 422
    assert field_error(response, "reason") == "is required"
    assert fetch(ext, Applicant, Applicant.id == applicant_id).stage == "interview"

    response = submit(
        recruiter, f"{path}/reject", {"reason": "Chose a candidate with Go experience"}, form_page=path
    )
    assert redirect_path(response) == path
    detail = recruiter.get(path)
    assert "Rejected because Chose a candidate with Go experience" in visible(detail)
    # A rejected applicant is not hired: the hiring page sends back with a message.
    response = recruiter.get(f"{path}/hire")
    assert redirect_path(response) == path
    assert "A rejected applicant cannot be hired" in flashes(recruiter.get(path))[0]
    assert count(ext, Employee) == 0


# --- hiring ----------------------------------------------------------------------------------------------


def test_hiring_from_the_page_makes_the_employee_once(ext, recruiter, opening, hired_hook, engineering):
    applicant_id = add_applicant(
        ext, name="Ada Lovelace", email="ada@example.com", phone="+44 1", opening_id=opening
    )
    path = f"/hr/applicants/{applicant_id}/hire"
    form = recruiter.get(path)
    assert form.status_code == 200
    assert "Link to existing contact" not in visible(form)
    assert f'<option value="{engineering.id}" selected>' in page(form)

    response = submit(recruiter, path, {"hire_date": "2026-02-30", "department_id": str(engineering.id)})
    assert response.status_code == 422
    assert field_error(response, "hire_date") == "must be a date (YYYY-MM-DD)"
    assert count(ext, Employee) == 0

    response = submit(
        recruiter,
        path,
        {"contact": "new", "hire_date": "2026-03-02", "department_id": str(engineering.id), "job_title": ""},
    )
    assert redirect_path(response) == f"/hr/applicants/{applicant_id}"
    employee = fetch(ext, Employee, Employee.number == "EMP-00001")
    contact = fetch(ext, Contact, Contact.id == employee.contact_id)
    assert (contact.name, contact.email, contact.phone, contact.kind) == (
        "Ada Lovelace",
        "ada@example.com",
        "+44 1",
        "person",
    )
    assert (employee.department_id, employee.job_title, str(employee.hire_date)) == (
        engineering.id,
        "Backend developer",
        "2026-03-02",
    )
    stored = fetch(ext, Applicant, Applicant.id == applicant_id)
    assert (stored.stage, stored.employee_id) == ("hired", employee.id)
    assert hired_hook.numbers == ["EMP-00001"]
    detail = recruiter.get(f"/hr/applicants/{applicant_id}")
    assert "Ada Lovelace is hired as employee EMP-00001." in flashes(detail)
    assert "Hired as employee EMP-00001 Ada Lovelace" in visible(detail)

    # Hiring again is refused: nobody new, the hook is not called again.
    token = csrf_token(recruiter, f"/hr/applicants/{applicant_id}")
    again = recruiter.post(path, data={"hire_date": "2026-03-02", "csrf_token": token})
    assert redirect_path(again) == f"/hr/applicants/{applicant_id}"
    assert count(ext, Employee) == 1
    assert hired_hook.numbers == ["EMP-00001"]


def test_hiring_offers_to_link_the_contact_with_the_same_email(ext, recruiter):
    with system_session(ext) as session:
        existing = contacts.create_contact(session, kind="person", name="Ada K.", email="ada@example.com").id
    applicant_id = add_applicant(ext, name="Ada Lovelace", email="ADA@example.com")
    path = f"/hr/applicants/{applicant_id}/hire"
    assert "Link to existing contact Ada K. (ada@example.com)" in visible(recruiter.get(path))
    response = submit(recruiter, path, {"contact": "link", "hire_date": "2026-03-02"})
    assert redirect_path(response) == f"/hr/applicants/{applicant_id}"
    assert fetch(ext, Employee, Employee.number == "EMP-00001").contact_id == existing
    with ext.db.session(read_only=True) as session:
        assert session.scalars(select(Contact.name).where(Contact.email.ilike("ada@example.com"))).all() == [
            "Ada K."
        ]


# --- access ----------------------------------------------------------------------------------------------


def test_without_the_recruitment_permission_every_page_is_forbidden(ext, make_client, opening):
    applicant_id = add_applicant(ext, opening_id=opening, cv_file=recruitment.CvUpload("cv.pdf", PDF))
    hr_staff = make_client(
        "staff@example.com", permissions=("hr.view", "hr.employee.manage", "hr.payroll.view")
    )
    # Their own form token (the refusal page has the layout's log-out form): the refusal is not CSRF's.
    token = csrf_token(hr_staff, "/hr/openings")
    gets = [
        "/hr/openings",
        "/hr/openings/new",
        f"/hr/openings/{opening}/edit",
        "/hr/applicants",
        "/hr/applicants?format=csv",
        "/hr/applicants/new",
        f"/hr/applicants/{applicant_id}",
        f"/hr/applicants/{applicant_id}/edit",
        f"/hr/applicants/{applicant_id}/hire",
        f"/hr/applicants/{applicant_id}/cv",
    ]
    posts = [
        "/hr/openings/new",
        f"/hr/openings/{opening}/edit",
        f"/hr/openings/{opening}/close",
        "/hr/applicants/new",
        f"/hr/applicants/{applicant_id}/edit",
        f"/hr/applicants/{applicant_id}/stage",
        f"/hr/applicants/{applicant_id}/reject",
        f"/hr/applicants/{applicant_id}/hire",
    ]
    for path in gets:
        response = hr_staff.get(path)
        assert response.status_code == 403, path
        assert "needs hr.recruitment.manage" in visible(response), path
        assert PDF not in response.data
    data = {
        "name": "X",
        "title": "X",
        "stage": "offer",
        "reason": "x",
        "hire_date": "2026-01-01",
        "csrf_token": token,
    }
    for path in posts:
        response = hr_staff.post(path, data=data)
        assert response.status_code == 403, path
    assert fetch(ext, Applicant, Applicant.id == applicant_id).stage == "applied"
    assert count(ext, Employee) == 0
    assert count(ext, Department) == 1


def test_unknown_or_odd_ids_are_not_found(recruiter):
    for path in (
        "/hr/applicants/999999",
        "/hr/applicants/99999999999999999999999999",
        "/hr/applicants/abc",
        "/hr/applicants/999999/cv",
        "/hr/applicants/999999/hire",
        "/hr/openings/99999999999999999999999999/edit",
    ):
        assert recruiter.get(path).status_code == 404, path
