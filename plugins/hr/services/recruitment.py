"""Recruitment: job openings, applicants moving through stages with their CV, and hiring one.

Hiring makes the applicant an employee through :func:`employees.create_employee`, so the
employee number, the ``hr.employee.hired`` event and the ``officium_employee_hired`` hook
are the same as for anyone hired from the employee form.

A CV is text, an uploaded file, or both. The file is kept in the database and only ever
sent back as a download: its name is sanitised, its type is derived from the extension
(never taken from the browser), and its content must look like what the extension says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.utils import secure_filename

from core.plugin_api import (
    Conflict,
    Contact,
    NotFound,
    Page,
    company_id_of,
    contacts,
    emit,
    granting,
    keyset_page,
    require_permission,
    validation,
)

from ..models import APPLICANT_STAGES, OPENING_STATES, Applicant, Department, Employee, JobOpening, Position
from . import employees
from .common import find_record, get_record

MANAGE = "hr.recruitment.manage"
MAX_CV_BYTES = 5 * 1024 * 1024
MAX_CV_TEXT = 100_000
# Extension -> the content type the file is served with (whatever the browser said).
CV_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".rtf": "application/rtf",
    ".txt": "text/plain",
}
# What the first bytes of each kind of file are; .txt only has to be free of NUL bytes.
CV_SIGNATURES = {
    ".pdf": (b"%PDF",),
    ".doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),  # OLE2 compound file
    ".docx": (b"PK\x03\x04",),  # a zip
    ".odt": (b"PK\x03\x04",),
    ".rtf": (b"{\\rtf",),
}
OPEN_STAGES = ("applied", "screening", "interview", "offer")
APPLICANT_SORTS = {
    "id": Applicant.id,
    "name": Applicant.name,
    "created_at": Applicant.created_at,
    "stage": Applicant.stage,
}
OPENING_LIMITS = {"title": 200, "description": 10_000}
APPLICANT_LIMITS = {"name": 200, "phone": 50, "notes": 10_000}


@dataclass(frozen=True)
class CvUpload:
    """A CV file as received: the name the sender gave it and its bytes."""

    filename: str
    content: bytes


# --- openings ---------------------------------------------------------------------------------------


def _clean_opening(
    session: Session, data: Mapping[str, Any], *, partial: bool, errors: dict[str, list[str]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if not partial or "title" in data:
        values["title"] = validation.parse_text(data.get("title"), "title", errors, limit=200, required=True)
    if not partial or "description" in data:
        values["description"] = validation.parse_text(
            data.get("description"), "description", errors, limit=OPENING_LIMITS["description"]
        )
    if not partial or "department_id" in data:
        department = find_record(session, Department, data.get("department_id"), "department_id", errors)
        values["department_id"] = department.id if department else None
    if not partial or "position_id" in data:
        position = find_record(session, Position, data.get("position_id"), "position_id", errors)
        values["position_id"] = position.id if position else None
    return values


@require_permission(MANAGE)
def create_opening(session: Session, data: Mapping[str, Any]) -> JobOpening:
    """Open a job: ``title`` (required), ``department_id``, ``position_id``, ``description``."""
    errors: dict[str, list[str]] = {}
    values = _clean_opening(session, data, partial=False, errors=errors)
    validation.raise_if(errors, "invalid opening")
    opening = JobOpening(company_id=company_id_of(session), state="open", **values)
    session.add(opening)
    session.flush()
    emit(session, "hr.opening.created", {"id": opening.id, "title": opening.title})
    return opening


@require_permission(MANAGE)
def update_opening(session: Session, opening: JobOpening, data: Mapping[str, Any]) -> JobOpening:
    """Change the fields given in ``data`` (a closed opening can be edited too)."""
    errors: dict[str, list[str]] = {}
    values = _clean_opening(session, data, partial=True, errors=errors)
    validation.raise_if(errors, "invalid opening")
    for key, value in values.items():
        setattr(opening, key, value)
    session.flush()
    emit(session, "hr.opening.updated", {"id": opening.id, "fields": sorted(values)})
    return opening


@require_permission(MANAGE)
def close_opening(session: Session, opening: JobOpening) -> JobOpening:
    """Stop recruiting for the opening: no new applicant can apply to it (those there stay)."""
    validation.lock_row(session, opening)
    if opening.state == "closed":
        raise Conflict("the opening is already closed", fields={"state": ["is closed"]})
    opening.state = "closed"
    session.flush()
    emit(session, "hr.opening.closed", {"id": opening.id})
    return opening


@require_permission(MANAGE)
def reopen_opening(session: Session, opening: JobOpening) -> JobOpening:
    """Recruit again for a closed opening."""
    validation.lock_row(session, opening)
    if opening.state == "open":
        raise Conflict("the opening is open", fields={"state": ["is open"]})
    opening.state = "open"
    session.flush()
    emit(session, "hr.opening.reopened", {"id": opening.id})
    return opening


@require_permission(MANAGE)
def get_opening(session: Session, opening_id: Any) -> JobOpening:
    """An opening of the company, else NotFound."""
    return get_record(session, JobOpening, opening_id, "opening")


@require_permission(MANAGE)
def list_openings(session: Session, *, state: str | None = None, q: str | None = None) -> list[JobOpening]:
    """Openings, open ones first then by title; ``state`` (open, closed) and ``q`` (title) filter."""
    stmt = select(JobOpening).where(JobOpening.company_id == company_id_of(session))
    if state:
        if state not in OPENING_STATES:
            validation.raise_if({"state": [f"must be one of {', '.join(OPENING_STATES)}"]}, "invalid filter")
        stmt = stmt.where(JobOpening.state == state)
    if q:
        stmt = stmt.where(JobOpening.title.icontains(q.strip(), autoescape=True))
    return list(session.scalars(stmt.order_by(JobOpening.state.desc(), JobOpening.title, JobOpening.id)))


@require_permission(MANAGE)
def applicant_counts(session: Session, opening_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Applicants per opening and stage: ``{opening_id: {stage: n}}``."""
    stmt = (
        select(Applicant.opening_id, Applicant.stage, func.count(Applicant.id))
        .where(Applicant.company_id == company_id_of(session), Applicant.opening_id.is_not(None))
        .group_by(Applicant.opening_id, Applicant.stage)
    )
    if opening_ids is not None:
        stmt = stmt.where(Applicant.opening_id.in_(opening_ids))
    counts: dict[int, dict[str, int]] = {}
    for opening_id, stage, n in session.execute(stmt):
        counts.setdefault(opening_id, {})[stage] = n
    return counts


# --- CV -----------------------------------------------------------------------------------------------


def cv_extension(filename: str) -> str:
    """The lower-case extension of ``filename`` (``.pdf``), or "" when it has none."""
    name = filename.strip().replace("\\", "/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[1].lower() if "." in name else ""


def cv_filename(filename: str) -> str:
    """A name safe in a download header and on any disk, keeping the extension: ``cv.pdf`` when
    nothing of the original survives (a name in another script, or only dots and slashes)."""
    extension = cv_extension(filename)
    name = secure_filename(filename.replace("\\", "/").rsplit("/", 1)[-1])
    if not name or name.lower() == extension.lstrip(".") or not name.lower().endswith(extension):
        name = f"cv{extension}"
    if len(name) > 200:
        name = name[: 200 - len(extension)] + extension
    return name


def check_cv_file(upload: CvUpload, errors: dict[str, list[str]]) -> None:
    """Record a ``cv_file`` message unless the file is an accepted kind, not empty, at most 5 MB,
    and its first bytes match its extension (an HTML page renamed .pdf is refused)."""
    extension = cv_extension(upload.filename)
    allowed = ", ".join(CV_TYPES)
    if extension not in CV_TYPES:
        errors["cv_file"] = [f"must be one of these kinds of file: {allowed}"]
    elif not upload.content:
        errors["cv_file"] = ["is empty"]
    elif len(upload.content) > MAX_CV_BYTES:
        errors["cv_file"] = [f"is larger than {MAX_CV_BYTES // (1024 * 1024)} MB"]
    elif extension in CV_SIGNATURES and not upload.content.startswith(CV_SIGNATURES[extension]):
        errors["cv_file"] = [f"is not a {extension} file: its content does not match its name"]
    elif extension == ".txt" and b"\x00" in upload.content:
        errors["cv_file"] = ["is not a text file"]


def _store_cv(applicant: Applicant, upload: CvUpload) -> None:
    extension = cv_extension(upload.filename)
    applicant.cv_file = upload.content
    applicant.cv_filename = cv_filename(upload.filename)
    applicant.cv_content_type = CV_TYPES[extension]
    applicant.cv_size = len(upload.content)


def _drop_cv(applicant: Applicant) -> None:
    applicant.cv_file = None
    applicant.cv_filename = ""
    applicant.cv_content_type = ""
    applicant.cv_size = 0


@require_permission(MANAGE)
def cv_download(session: Session, applicant: Applicant) -> tuple[bytes, str, str]:
    """The stored CV file as ``(content, filename, content_type)``; NotFound when there is none."""
    if not applicant.cv_size or applicant.cv_file is None:
        raise NotFound(f"applicant {applicant.id} has no CV file")
    return (
        applicant.cv_file,
        applicant.cv_filename or "cv",
        applicant.cv_content_type or "application/octet-stream",
    )


# --- applicants ---------------------------------------------------------------------------------------


def _clean_applicant(
    session: Session,
    data: Mapping[str, Any],
    applicant: Applicant | None,
    errors: dict[str, list[str]],
) -> dict[str, Any]:
    partial = applicant is not None
    values: dict[str, Any] = {}
    if not partial or "name" in data:
        values["name"] = validation.parse_text(data.get("name"), "name", errors, limit=200, required=True)
    if not partial or "email" in data:
        email = validation.parse_text(data.get("email"), "email", errors, limit=254)
        if email and not contacts.EMAIL_RE.match(email):
            errors["email"] = ["is not a valid email address"]
        values["email"] = email
    for key in ("phone", "notes"):
        if not partial or key in data:
            values[key] = validation.parse_text(data.get(key), key, errors, limit=APPLICANT_LIMITS[key])
    if not partial or "cv_text" in data:
        values["cv_text"] = validation.parse_text(data.get("cv_text"), "cv_text", errors, limit=MAX_CV_TEXT)
    if not partial or "opening_id" in data:
        opening = find_record(session, JobOpening, data.get("opening_id"), "opening_id", errors, "opening")
        changed = opening is not None and (applicant is None or applicant.opening_id != opening.id)
        if changed and opening.state != "open":
            errors["opening_id"] = ["the opening is closed"]
        values["opening_id"] = opening.id if opening else None
    if not partial and data.get("stage") not in (None, ""):
        if data["stage"] not in OPEN_STAGES:
            errors["stage"] = [f"must be one of {', '.join(OPEN_STAGES)}"]
        else:
            values["stage"] = data["stage"]
    upload = data.get("cv_file")
    if upload is not None:
        if isinstance(upload, CvUpload):
            check_cv_file(upload, errors)
        else:
            errors["cv_file"] = ["must be an uploaded file"]
    return values


@require_permission(MANAGE)
def create_applicant(session: Session, data: Mapping[str, Any]) -> Applicant:
    """Record an applicant: ``name`` (required), ``email``, ``phone``, ``opening_id`` (an open one),
    ``stage`` (applied by default), ``cv_text``, ``cv_file`` (a :class:`CvUpload`), ``notes``."""
    errors: dict[str, list[str]] = {}
    values = _clean_applicant(session, data, None, errors)
    validation.raise_if(errors, "invalid applicant")
    applicant = Applicant(company_id=company_id_of(session), **{"stage": "applied", **values})
    if data.get("cv_file") is not None:
        _store_cv(applicant, data["cv_file"])
    session.add(applicant)
    session.flush()
    emit(session, "hr.applicant.created", {"id": applicant.id, "opening_id": applicant.opening_id})
    return applicant


def _refuse_hired(applicant: Applicant) -> None:
    if applicant.stage == "hired" or applicant.employee_id is not None:
        raise Conflict("the applicant is hired", fields={"stage": ["is hired"]})


@require_permission(MANAGE)
def update_applicant(session: Session, applicant: Applicant, data: Mapping[str, Any]) -> Applicant:
    """Change the fields given in ``data``; ``cv_file`` replaces the CV file, ``remove_cv_file``
    drops it. The stage changes through :func:`move_stage`, :func:`reject` and :func:`hire`;
    a hired applicant's file is closed (409)."""
    validation.lock_row(session, applicant)
    _refuse_hired(applicant)
    errors: dict[str, list[str]] = {}
    values = _clean_applicant(session, data, applicant, errors)
    validation.raise_if(errors, "invalid applicant")
    for key, value in values.items():
        setattr(applicant, key, value)
    if data.get("cv_file") is not None:
        _store_cv(applicant, data["cv_file"])
    elif data.get("remove_cv_file"):
        _drop_cv(applicant)
    session.flush()
    emit(session, "hr.applicant.updated", {"id": applicant.id, "fields": sorted(values)})
    return applicant


@require_permission(MANAGE)
def move_stage(session: Session, applicant: Applicant, stage: Any) -> Applicant:
    """Move the applicant to an open stage (applied, screening, interview, offer).

    Hiring goes through :func:`hire`, rejecting through :func:`reject` (it needs a reason);
    a rejected applicant can be moved back into the process; a hired one cannot move.
    """
    validation.lock_row(session, applicant)
    _refuse_hired(applicant)
    if stage == "hired":
        validation.raise_if({"stage": ["hire the applicant to make them an employee"]}, "cannot move")
    if stage == "rejected":
        validation.raise_if({"stage": ["reject the applicant with a reason"]}, "cannot move")
    if stage not in APPLICANT_STAGES:
        validation.raise_if({"stage": [f"must be one of {', '.join(OPEN_STAGES)}"]}, "cannot move")
    previous = applicant.stage
    applicant.stage = stage
    applicant.rejection_reason = ""
    session.flush()
    emit(session, "hr.applicant.moved", {"id": applicant.id, "from": previous, "to": stage})
    return applicant


@require_permission(MANAGE)
def reject(session: Session, applicant: Applicant, reason: Any) -> Applicant:
    """Turn the applicant down; the reason is required and kept."""
    validation.lock_row(session, applicant)
    _refuse_hired(applicant)
    if applicant.stage == "rejected":
        raise Conflict("the applicant is already rejected", fields={"stage": ["is rejected"]})
    errors: dict[str, list[str]] = {}
    text = validation.parse_text(reason, "reason", errors, limit=500, required=True)
    validation.raise_if(errors, "cannot reject")
    applicant.stage, applicant.rejection_reason = "rejected", text
    session.flush()
    emit(session, "hr.applicant.rejected", {"id": applicant.id})
    return applicant


@require_permission(MANAGE)
def get_applicant(session: Session, applicant_id: Any) -> Applicant:
    """An applicant of the company, else NotFound."""
    return get_record(session, Applicant, applicant_id, "applicant")


def applicants_query(
    session: Session,
    *,
    q: str | None = None,
    opening_id: int | None = None,
    stage: str | None = None,
) -> Select:
    stmt = select(Applicant).where(Applicant.company_id == company_id_of(session))
    if stage:
        if stage not in APPLICANT_STAGES:
            validation.raise_if(
                {"stage": [f"must be one of {', '.join(APPLICANT_STAGES)}"]}, "invalid filter"
            )
        stmt = stmt.where(Applicant.stage == stage)
    if opening_id is not None:
        stmt = stmt.where(Applicant.opening_id == opening_id)
    if q:
        text = q.strip()
        stmt = stmt.where(
            or_(
                Applicant.name.icontains(text, autoescape=True),
                Applicant.email.icontains(text, autoescape=True),
            )
        )
    return stmt


@require_permission(MANAGE)
def list_applicants(
    session: Session,
    *,
    sort: str = "id",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    """One page of applicants by keyset, newest first; ``q`` (name, email), ``opening_id``, ``stage``."""
    if sort not in APPLICANT_SORTS:
        validation.raise_if({"sort": [f"must be one of {', '.join(APPLICANT_SORTS)}"]}, "invalid sort")
    return keyset_page(
        session,
        applicants_query(session, **filters),
        column=APPLICANT_SORTS[sort],
        id_column=Applicant.id,
        descending=descending,
        after=after,
        limit=limit,
    )


@dataclass
class StageColumn:
    """One stage of the board: how many applicants are there, and the first of them."""

    stage: str
    count: int
    applicants: list[Applicant]


@require_permission(MANAGE)
def board(
    session: Session, *, q: str | None = None, opening_id: int | None = None, per_stage: int = 30
) -> list[StageColumn]:
    """Every stage in process order with its count and its newest ``per_stage`` applicants."""
    base = applicants_query(session, q=q, opening_id=opening_id)
    counts = dict(
        session.execute(base.with_only_columns(Applicant.stage, func.count()).group_by(Applicant.stage)).all()
    )
    columns = []
    for stage in APPLICANT_STAGES:
        shown = []
        if counts.get(stage):
            shown = list(
                session.scalars(
                    base.where(Applicant.stage == stage).order_by(Applicant.id.desc()).limit(per_stage)
                )
            )
        columns.append(StageColumn(stage, counts.get(stage, 0), shown))
    return columns


# --- hiring --------------------------------------------------------------------------------------------


@require_permission(MANAGE)
def matching_contact(session: Session, applicant: Applicant) -> Contact | None:
    """The person contact hiring would link: same email (any case) in the company, not an employee."""
    if not applicant.email:
        return None
    company_id = company_id_of(session)
    employed = select(Employee.contact_id).where(Employee.company_id == company_id)
    return session.scalar(
        select(Contact)
        .where(
            Contact.company_id == company_id,
            Contact.kind == "person",
            func.lower(Contact.email) == applicant.email.lower(),
            Contact.id.not_in(employed),
        )
        .order_by(Contact.id)
        .limit(1)
    )


HIRE_FIELDS = ("hire_date", "department_id", "position_id", "manager_id", "job_title", "number")


@require_permission(MANAGE)
def hire(session: Session, applicant: Applicant, data: Mapping[str, Any]) -> Employee:
    """Make the applicant an employee: ``hire_date`` (required); ``department_id`` and ``position_id``
    default to the opening's, ``job_title`` to the opening's title (or the position's name);
    optional ``manager_id`` and ``number``.

    The employee's person contact is the one :func:`matching_contact` finds (same email, not yet an
    employee) unless ``new_contact`` is true; ``contact_id`` names another one. The applicant
    becomes ``hired`` and points at the employee. A hired or rejected applicant is a Conflict.
    """
    validation.lock_row(session, applicant)
    _refuse_hired(applicant)
    if applicant.stage == "rejected":
        raise Conflict(
            "a rejected applicant cannot be hired; move them back into the process first",
            fields={"stage": ["is rejected"]},
        )
    opening = applicant.opening
    values: dict[str, Any] = {key: data[key] for key in HIRE_FIELDS if key in data}
    if "department_id" not in data:
        values["department_id"] = opening.department_id if opening else None
    if "position_id" not in data:
        values["position_id"] = opening.position_id if opening else None
    if values.get("job_title") in (None, ""):
        position = find_record(session, Position, values.get("position_id"), "position_id", {})
        values["job_title"] = (opening.title if opening else "") or (position.name if position else "")
        values["job_title"] = values["job_title"][:100]
    if values.get("hire_date") in (None, ""):
        validation.raise_if({"hire_date": ["is required"]}, "cannot hire")
    if data.get("contact_id") not in (None, ""):
        values["contact_id"] = data["contact_id"]
    elif not data.get("new_contact") and (match := matching_contact(session, applicant)) is not None:
        values["contact_id"] = match.id
    else:
        values.update(name=applicant.name, email=applicant.email or None, phone=applicant.phone)
    # Hiring is the recruiter's action: the employee file it opens needs no permission of its own.
    with granting(session, "hr.employee.manage"):
        employee = employees.create_employee(session, values)
    applicant.stage = "hired"
    applicant.employee_id = employee.id
    applicant.rejection_reason = ""
    session.flush()
    emit(session, "hr.applicant.hired", {"id": applicant.id, "employee_id": employee.id})
    return employee


@dataclass
class HireChoices:
    """What the hiring form offers: active departments, positions, current employees (managers)."""

    departments: list[Department]
    positions: list[Position]
    managers: list[Employee]


@require_permission(MANAGE)
def hire_choices(session: Session) -> HireChoices:
    company_id = company_id_of(session)
    return HireChoices(
        departments=list(
            session.scalars(
                select(Department)
                .where(Department.company_id == company_id, Department.active.is_(True))
                .order_by(Department.name)
            )
        ),
        positions=list(
            session.scalars(select(Position).where(Position.company_id == company_id).order_by(Position.name))
        ),
        managers=list(
            session.scalars(
                select(Employee)
                .join(Contact, Contact.id == Employee.contact_id)
                .where(Employee.company_id == company_id, Employee.status != "terminated")
                .order_by(Contact.name, Employee.id)
            )
        ),
    )


__all__ = [
    "APPLICANT_SORTS",
    "CV_TYPES",
    "MAX_CV_BYTES",
    "MAX_CV_TEXT",
    "OPEN_STAGES",
    "CvUpload",
    "HireChoices",
    "StageColumn",
    "applicant_counts",
    "applicants_query",
    "board",
    "check_cv_file",
    "close_opening",
    "create_applicant",
    "create_opening",
    "cv_download",
    "cv_filename",
    "get_applicant",
    "get_opening",
    "hire",
    "hire_choices",
    "list_applicants",
    "list_openings",
    "matching_contact",
    "move_stage",
    "reject",
    "reopen_opening",
    "update_applicant",
    "update_opening",
]
