"""Recruitment's rules through its services: openings, applicants and their stages, the CV file's
checks, and hiring an applicant as an employee (with the ``officium_employee_hired`` hook)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import set_actor
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.hookspecs import hookimpl
from core.models import Contact, User
from core.plugin_api import company_id_of
from core.services import contacts
from core.testing import make_user
from plugins.hr.models import Applicant, Department, Employee, JobOpening, Position
from plugins.hr.services import recruitment

pytestmark = pytest.mark.plugins("hr")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class HireRecorder:
    """A test plugin answering ``officium_employee_hired``: what it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    @hookimpl
    def officium_employee_hired(self, employee: Any, session: Any) -> None:
        self.calls.append((employee.number, employee.name, employee.department_id or 0))


@pytest.fixture
def hired_hook(ext):
    recorder = HireRecorder()
    ext.plugins.pm.register(recorder, name="test-hire-recorder")
    yield recorder
    ext.plugins.pm.unregister(recorder)


@pytest.fixture
def backend_opening(session, engineering) -> JobOpening:
    position = Position(
        company_id=company_id_of(session), name="Software engineer", department_id=engineering.id
    )
    session.add(position)
    session.flush()
    opening = recruitment.create_opening(
        session, {"title": "Backend developer", "department_id": engineering.id, "position_id": position.id}
    )
    session.commit()
    return opening


def add_applicant(session, **data: Any) -> Applicant:
    applicant = recruitment.create_applicant(session, {"name": "Ada Lovelace", **data})
    session.commit()
    return applicant


def fields_of(excinfo: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return excinfo.value.fields


# --- openings ----------------------------------------------------------------------------------------


def test_an_opening_needs_a_title_and_the_companys_department(session):
    with pytest.raises(ValidationError) as excinfo:
        recruitment.create_opening(session, {"title": "  ", "department_id": "99999", "position_id": "x"})
    assert fields_of(excinfo) == {
        "title": ["is required"],
        "department_id": ["no such department"],
        "position_id": ["no such position"],
    }
    assert session.scalar(select(func.count()).select_from(JobOpening)) == 0


def test_a_closed_opening_takes_no_new_applicant_until_reopened(session, backend_opening):
    recruitment.close_opening(session, backend_opening)
    with pytest.raises(Conflict):
        recruitment.close_opening(session, backend_opening)
    with pytest.raises(ValidationError) as excinfo:
        recruitment.create_applicant(session, {"name": "Bob", "opening_id": backend_opening.id})
    assert fields_of(excinfo) == {"opening_id": ["the opening is closed"]}
    recruitment.reopen_opening(session, backend_opening)
    assert recruitment.create_applicant(session, {"name": "Bob", "opening_id": backend_opening.id}).stage == (
        "applied"
    )
    recruitment.update_opening(session, backend_opening, {"title": "Backend engineer", "department_id": ""})
    assert (backend_opening.title, backend_opening.department_id) == ("Backend engineer", None)


# --- applicants ----------------------------------------------------------------------------------------


def test_an_applicant_needs_a_name_and_a_valid_email(session):
    with pytest.raises(ValidationError) as excinfo:
        recruitment.create_applicant(
            session, {"name": "", "email": "not-an-email", "stage": "hired", "cv_text": "x" * 100_001}
        )
    assert fields_of(excinfo) == {
        "name": ["is required"],
        "email": ["is not a valid email address"],
        "cv_text": ["must be at most 100000 characters"],
        "stage": ["must be one of applied, screening, interview, offer"],
    }
    assert session.scalar(select(func.count()).select_from(Applicant)) == 0


def test_stages_move_but_never_to_hired_and_rejecting_needs_a_reason(session, backend_opening):
    applicant = add_applicant(session, opening_id=backend_opening.id)
    recruitment.move_stage(session, applicant, "interview")
    assert applicant.stage == "interview"
    for stage, message in (
        ("hired", "hire the applicant to make them an employee"),
        ("rejected", "reject the applicant with a reason"),
        ("lunch", "must be one of applied, screening, interview, offer"),
    ):
        with pytest.raises(ValidationError) as excinfo:
            recruitment.move_stage(session, applicant, stage)
        assert fields_of(excinfo) == {"stage": [message]}
    with pytest.raises(ValidationError) as excinfo:
        recruitment.reject(session, applicant, "  ")
    assert fields_of(excinfo) == {"reason": ["is required"]}
    recruitment.reject(session, applicant, "Looking for a senior profile")
    assert (applicant.stage, applicant.rejection_reason) == ("rejected", "Looking for a senior profile")
    with pytest.raises(Conflict):
        recruitment.reject(session, applicant, "again")
    # Reconsidered: back into the process, the reason is cleared.
    recruitment.move_stage(session, applicant, "screening")
    assert (applicant.stage, applicant.rejection_reason) == ("screening", "")


def test_the_board_counts_each_stage_and_filters_by_opening_and_text(session, backend_opening):
    add_applicant(session, name="Ada", email="ada@example.com", opening_id=backend_opening.id)
    add_applicant(session, name="Bob", opening_id=backend_opening.id, stage="interview")
    add_applicant(session, name="Carol", stage="interview")
    counts = {c.stage: c.count for c in recruitment.board(session)}
    assert counts == {"applied": 1, "screening": 0, "interview": 2, "offer": 0, "hired": 0, "rejected": 0}
    columns = recruitment.board(session, opening_id=backend_opening.id)
    assert [[a.name for a in c.applicants] for c in columns if c.count] == [["Ada"], ["Bob"]]
    assert [a.name for c in recruitment.board(session, q="ADA@") for a in c.applicants] == ["Ada"]
    page = recruitment.list_applicants(session, stage="interview", sort="name", descending=False)
    assert [a.name for a in page.items] == ["Bob", "Carol"]


# --- the CV file -----------------------------------------------------------------------------------------


def test_a_pdf_cv_is_stored_with_a_safe_name_and_the_type_its_extension_says(session):
    upload = recruitment.CvUpload("../../etc/Ada Lovelace CV.PDF", PDF)
    applicant = add_applicant(session, cv_file=upload, cv_text="Mathematician")
    assert (applicant.cv_filename, applicant.cv_content_type, applicant.cv_size) == (
        "Ada_Lovelace_CV.PDF",
        "application/pdf",
        len(PDF),
    )
    assert recruitment.cv_download(session, applicant) == (PDF, "Ada_Lovelace_CV.PDF", "application/pdf")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("резюме.pdf", "cv.pdf"),
        ("..docx", "cv.docx"),
        (".pdf", "cv.pdf"),
        ("a/b\\c.txt", "c.txt"),
        ("x" * 300 + ".odt", "x" * 196 + ".odt"),
    ],
)
def test_a_cv_name_is_sanitised_and_keeps_its_extension(filename, expected):
    assert recruitment.cv_filename(filename) == expected


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        (
            "setup.exe",
            b"MZ\x90\x00",
            "must be one of these kinds of file: .pdf, .doc, .docx, .odt, .rtf, .txt",
        ),
        ("cv", PDF, "must be one of these kinds of file: .pdf, .doc, .docx, .odt, .rtf, .txt"),
        (
            "cv.pdf",
            b"<html><script>alert(1)</script></html>",
            "is not a .pdf file: its content does not match its name",
        ),
        ("cv.docx", b"<html></html>", "is not a .docx file: its content does not match its name"),
        ("cv.pdf", PDF + b"0" * (5 * 1024 * 1024), "is larger than 5 MB"),
        ("cv.pdf", b"", "is empty"),
        ("cv.txt", b"text\x00binary", "is not a text file"),
    ],
)
def test_a_bad_cv_file_is_refused_and_nothing_is_stored(session, filename, content, message):
    with pytest.raises(ValidationError) as excinfo:
        recruitment.create_applicant(
            session, {"name": "Ada", "cv_file": recruitment.CvUpload(filename, content)}
        )
    assert fields_of(excinfo) == {"cv_file": [message]}
    assert session.scalar(select(func.count()).select_from(Applicant)) == 0


def test_replacing_and_removing_the_cv_file(session):
    applicant = add_applicant(session, cv_file=recruitment.CvUpload("cv.pdf", PDF))
    recruitment.update_applicant(
        session, applicant, {"cv_file": recruitment.CvUpload("cv.rtf", b"{\\rtf1 Ada}")}
    )
    assert (applicant.cv_filename, applicant.cv_content_type) == ("cv.rtf", "application/rtf")
    recruitment.update_applicant(session, applicant, {"remove_cv_file": True})
    assert (applicant.cv_file, applicant.cv_filename, applicant.cv_size) == (None, "", 0)
    with pytest.raises(NotFound):
        recruitment.cv_download(session, applicant)


# --- hiring ----------------------------------------------------------------------------------------------


def test_hiring_makes_an_employee_from_the_applicant_and_the_opening(session, backend_opening, hired_hook):
    applicant = add_applicant(
        session, name="Ada Lovelace", email="ada@example.com", phone="+44 1", opening_id=backend_opening.id
    )
    employee = recruitment.hire(session, applicant, {"hire_date": "2026-03-02"})
    session.commit()
    assert employee.number == "EMP-00001"
    assert (employee.name, employee.contact.email, employee.contact.phone, employee.contact.kind) == (
        "Ada Lovelace",
        "ada@example.com",
        "+44 1",
        "person",
    )
    assert (employee.department_id, employee.position_id) == (
        backend_opening.department_id,
        backend_opening.position_id,
    )
    assert (employee.job_title, employee.hire_date, employee.status) == (
        "Backend developer",
        dt.date(2026, 3, 2),
        "active",
    )
    assert (applicant.stage, applicant.employee_id) == ("hired", employee.id)
    assert hired_hook.calls == [("EMP-00001", "Ada Lovelace", backend_opening.department_id)]

    with pytest.raises(Conflict):
        recruitment.hire(session, applicant, {"hire_date": "2026-03-02"})
    with pytest.raises(Conflict):
        recruitment.move_stage(session, applicant, "offer")
    with pytest.raises(Conflict):
        recruitment.update_applicant(session, applicant, {"name": "Ada King"})
    assert len(hired_hook.calls) == 1
    assert session.scalar(select(func.count()).select_from(Employee)) == 1


def test_hiring_links_the_contact_with_the_same_email_unless_already_an_employee(session, make_employee):
    existing = contacts.create_contact(session, kind="person", name="Ada K.", email="ADA@example.com")
    make_employee(name="Grace", email="grace@example.com")
    session.commit()
    ada = add_applicant(session, name="Ada Lovelace", email="ada@example.com")
    assert recruitment.matching_contact(session, ada).id == existing.id
    employee = recruitment.hire(session, ada, {"hire_date": "2026-03-02"})
    assert employee.contact_id == existing.id
    # Grace's contact already has an employee file: her namesake gets a contact of their own.
    grace = add_applicant(session, name="Grace Hopper", email="grace@example.com")
    assert recruitment.matching_contact(session, grace) is None
    other = recruitment.hire(session, grace, {"hire_date": "2026-03-02"})
    assert other.contact.name == "Grace Hopper"
    assert (
        session.scalar(select(func.count()).select_from(Contact).where(Contact.email == "grace@example.com"))
        == 2
    )
    # Asked for a new contact although one matches.
    contacts.create_contact(session, kind="person", name="Bob B.", email="bob@example.com")
    bob = add_applicant(session, name="Bob", email="bob@example.com")
    assert (
        recruitment.hire(session, bob, {"hire_date": "2026-03-02", "new_contact": True}).contact.name == "Bob"
    )


def test_a_rejected_applicant_cannot_be_hired_and_bad_hire_input_hires_nobody(session, backend_opening):
    applicant = add_applicant(session, opening_id=backend_opening.id)
    with pytest.raises(ValidationError) as excinfo:
        recruitment.hire(session, applicant, {})
    assert fields_of(excinfo) == {"hire_date": ["is required"]}
    with pytest.raises(ValidationError) as excinfo:
        recruitment.hire(
            session, applicant, {"hire_date": "2026-02-30", "manager_id": "123456789012345678901"}
        )
    assert fields_of(excinfo) == {
        "hire_date": ["must be a date (YYYY-MM-DD)"],
        "manager_id": ["no such employee"],
    }
    session.rollback()
    assert session.get(Applicant, applicant.id).stage == "applied"
    assert session.scalar(select(func.count()).select_from(Employee)) == 0
    recruitment.reject(session, applicant, "No")
    with pytest.raises(Conflict):
        recruitment.hire(session, applicant, {"hire_date": "2026-03-02"})


def test_given_department_and_title_win_over_the_openings(session, backend_opening):
    sales = Department(company_id=company_id_of(session), name="Sales")
    session.add(sales)
    session.flush()
    applicant = add_applicant(session, opening_id=backend_opening.id)
    employee = recruitment.hire(
        session,
        applicant,
        {"hire_date": "2026-03-02", "department_id": sales.id, "position_id": None, "job_title": "Lead"},
    )
    assert (employee.department_id, employee.position_id, employee.job_title) == (sales.id, None, "Lead")


def test_recruitment_needs_its_permission_even_to_read(ext, session, backend_opening):
    session.commit()
    user_id = make_user(ext, "viewer@example.com", permissions=("hr.view", "hr.employee.manage"))
    set_actor(session, session.get(User, user_id))
    for call in (
        lambda: recruitment.list_openings(session),
        lambda: recruitment.get_opening(session, backend_opening.id),
        lambda: recruitment.create_applicant(session, {"name": "Eve"}),
        lambda: recruitment.board(session),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_a_recruiter_without_the_employee_permission_can_hire(ext, session, backend_opening):
    applicant = add_applicant(session, opening_id=backend_opening.id)
    user_id = make_user(ext, "recruiter@example.com", permissions=("hr.recruitment.manage",))
    set_actor(session, session.get(User, user_id))
    employee = recruitment.hire(session, applicant, {"hire_date": "2026-03-02"})
    assert employee.number == "EMP-00001"
    assert applicant.stage == "hired"
