"""Controls and their tests: a control mitigates risks and is tested on a schedule (monthly,
quarterly, semiannual or annual); each test records pass or fail, who tested and when, with an
evidence note and optionally an evidence file.

Recording a test moves the control's next test date to the latest test date plus its frequency.
A failing latest test of an active control raises the effective residual score of every risk it
is linked to (see :mod:`.risks`).

Evidence files are kept on disk under ``<instance>/uploads/compliance/`` with a random name; the
record keeps the file name as uploaded, its size, SHA-256 and content type.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from core.plugin_api import (
    Conflict,
    NotFound,
    Page,
    ValidationError,
    company_id_of,
    emit,
    keyset_page,
    ledger,
    require_permission,
    validation,
)

from ..models import CONTROL_FREQUENCIES, TEST_RESULTS, Control, ControlTest, Risk
from .risks import actor_id, company_user_id, get_record, latest_result
from .text import parse_text, search_text

NUMBER_KEY = "compliance.control"
MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
CONTROL_SORTS = {
    "reference": Control.reference,
    "name": Control.name,
    "next_test_date": Control.next_test_date,
}
TEXT_LIMITS = {"name": 200, "description": 10_000}
NOTE_LIMIT = 10_000
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_RISKS = 500
CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,40}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,50}$")


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` later, on the last day of the month when it has no such day
    (31 January + 1 month = 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def next_test_after(day: dt.date, frequency: str) -> dt.date:
    """When a control tested on ``day`` is due again."""
    return add_months(day, MONTHS[frequency])


def _next_reference(session: Session) -> str:
    number = ledger.allocate_numbers(session, company_id_of(session), NUMBER_KEY, 0)
    return f"CTRL-{number:04d}"


def _risks(session: Session, value: Any, errors: dict[str, list[str]]) -> list[Risk] | None:
    """The risks a control mitigates: a list of ids of the company's risks."""
    if value in (None, ""):
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        errors["risk_ids"] = ["must be a list of risk ids"]
        return None
    ids = list(value)
    if len(ids) > MAX_RISKS:
        errors["risk_ids"] = [f"at most {MAX_RISKS} risks"]
        return None
    parsed = [validation.parse_id(v) for v in ids]
    wanted = {i for i in parsed if i is not None}
    found = (
        list(
            session.scalars(
                select(Risk)
                .where(Risk.company_id == company_id_of(session), Risk.id.in_(wanted))
                .order_by(Risk.id)
            )
        )
        if wanted
        else []
    )
    if None in parsed or len(found) != len(wanted):
        errors["risk_ids"] = ["no such risk"]
        return None
    return found


def _clean(
    session: Session, data: Mapping[str, Any], control: Control | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    new = control is None
    values: dict[str, Any] = {}
    for key, limit in TEXT_LIMITS.items():
        if new or key in data:
            values[key] = parse_text(data.get(key), key, errors, limit=limit, required=key == "name")
    if new or "frequency" in data:
        frequency = data.get("frequency") if data.get("frequency") not in (None, "") else "quarterly"
        if frequency not in CONTROL_FREQUENCIES:
            errors["frequency"] = [f"must be one of {', '.join(CONTROL_FREQUENCIES)}"]
        values["frequency"] = frequency
    if "owner_id" in data:
        values["owner_id"] = company_user_id(session, data["owner_id"], "owner_id", errors)
    if "next_test_date" in data:
        values["next_test_date"] = validation.parse_date(
            data["next_test_date"], "next_test_date", errors, required=False
        )
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["must be true or false"]
        else:
            values["active"] = data["active"]
    if "risk_ids" in data:
        values["risks"] = _risks(session, data["risk_ids"], errors)
    return values


@require_permission("compliance.control.manage")
def create_control(session: Session, data: Mapping[str, Any]) -> Control:
    """Define a control: ``name``, ``frequency`` (quarterly by default), optional ``description``,
    ``owner_id`` (a user of the company), ``risk_ids`` (the risks it mitigates) and
    ``next_test_date`` (by default one period from today). Numbered CTRL-0001... per company."""
    errors: dict[str, list[str]] = {}
    values = _clean(session, data, None, errors)
    validation.raise_if(errors, "invalid control")
    if values.get("next_test_date") is None:
        values["next_test_date"] = next_test_after(dt.date.today(), values["frequency"])
    risks = values.pop("risks", None) or []
    control = Control(company_id=company_id_of(session), reference=_next_reference(session), **values)
    control.risks = risks
    session.add(control)
    session.flush()
    emit(session, "compliance.control.created", {"id": control.id, "reference": control.reference})
    return control


@require_permission("compliance.control.manage")
def update_control(session: Session, control: Control, data: Mapping[str, Any]) -> Control:
    """Change the fields given in ``data``. A new frequency (without a new ``next_test_date``)
    moves the next test date to the last test plus the new frequency."""
    validation.lock_row(session, control)
    errors: dict[str, list[str]] = {}
    values = _clean(session, data, control, errors)
    validation.raise_if(errors, "invalid control")
    frequency_changed = "frequency" in values and values["frequency"] != control.frequency
    for key, value in values.items():
        setattr(control, key, value)
    if frequency_changed and "next_test_date" not in data:
        last = last_test(session, control)
        if last is not None:
            control.next_test_date = next_test_after(last.tested_on, control.frequency)
    session.flush()
    emit(session, "compliance.control.updated", {"id": control.id, "fields": sorted(values)})
    return control


@require_permission("compliance.control.manage")
def delete_control(session: Session, control: Control) -> None:
    """Delete a control never tested; a tested one is evidence and is deactivated instead (409)."""
    if session.scalar(select(func.count()).where(ControlTest.control_id == control.id)):
        raise Conflict("this control has recorded tests, which are audit evidence: deactivate it instead")
    emit(session, "compliance.control.deleted", {"id": control.id, "reference": control.reference})
    session.delete(control)
    session.flush()


@require_permission("compliance.view")
def get_control(session: Session, control_id: Any) -> Control:
    """A control of the current company, else :class:`NotFound`."""
    return get_record(session, Control, control_id, "control")


def controls_query(
    session: Session,
    *,
    q: str | None = None,
    owner_id: int | None = None,
    frequency: str | None = None,
    active: bool | None = None,
    overdue: bool = False,
    result: str | None = None,
    today: dt.date | None = None,
) -> Select:
    """The company's controls matching the filters; ``overdue``: active, next test date passed;
    ``result``: the latest test's result (``pass``, ``fail``, or ``untested``)."""
    errors: dict[str, list[str]] = {}
    if frequency is not None and frequency not in CONTROL_FREQUENCIES:
        errors["frequency"] = [f"must be one of {', '.join(CONTROL_FREQUENCIES)}"]
    if result is not None and result not in (*TEST_RESULTS, "untested"):
        errors["result"] = ["must be one of pass, fail, untested"]
    validation.raise_if(errors, "invalid filter")
    stmt = select(Control).where(Control.company_id == company_id_of(session))
    text = search_text(q)
    if text:
        stmt = stmt.where(
            Control.reference.icontains(text, autoescape=True) | Control.name.icontains(text, autoescape=True)
        )
    if owner_id is not None:
        stmt = stmt.where(Control.owner_id == owner_id)
    if frequency:
        stmt = stmt.where(Control.frequency == frequency)
    if active is not None:
        stmt = stmt.where(Control.active.is_(active))
    if overdue:
        stmt = stmt.where(Control.active.is_(True), Control.next_test_date < (today or dt.date.today()))
    if result == "untested":
        stmt = stmt.where(latest_result(Control.id).is_(None))
    elif result:
        stmt = stmt.where(latest_result(Control.id) == result)
    return stmt


@require_permission("compliance.view")
def list_controls(
    session: Session,
    *,
    sort: str = "reference",
    descending: bool = False,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    """One page of controls by keyset (``sort``: reference, name or next_test_date)."""
    if sort not in CONTROL_SORTS:
        raise ValidationError("invalid sort", fields={"sort": [f"must be one of {', '.join(CONTROL_SORTS)}"]})
    return keyset_page(
        session,
        # The linked risks of the whole page in one query, not one per control.
        controls_query(session, **filters).options(selectinload(Control.risks)),
        column=CONTROL_SORTS[sort],
        id_column=Control.id,
        descending=descending,
        after=after,
        limit=limit,
    )


def is_test_overdue(control: Control, today: dt.date | None = None) -> bool:
    """An active control whose next test date has passed."""
    return (
        control.active
        and control.next_test_date is not None
        and control.next_test_date < (today or dt.date.today())
    )


def last_test(session: Session, control: Control) -> ControlTest | None:
    return session.scalar(
        select(ControlTest)
        .where(ControlTest.control_id == control.id)
        .order_by(ControlTest.tested_on.desc(), ControlTest.id.desc())
        .limit(1)
    )


def latest_tests(session: Session, control_ids: Iterable[int]) -> dict[int, ControlTest]:
    """The latest test of each of ``control_ids`` that has one (by test date, then as recorded)."""
    ids = list(set(control_ids))
    if not ids:
        return {}
    ranked = (
        select(
            ControlTest.id,
            func.row_number()
            .over(
                partition_by=ControlTest.control_id,
                order_by=(ControlTest.tested_on.desc(), ControlTest.id.desc()),
            )
            .label("rank"),
        )
        .where(ControlTest.control_id.in_(ids))
        .subquery()
    )
    tests = session.scalars(
        select(ControlTest).join(ranked, ranked.c.id == ControlTest.id).where(ranked.c.rank == 1)
    )
    return {t.control_id: t for t in tests}


@require_permission("compliance.view")
def tests_of(session: Session, control: Control) -> list[ControlTest]:
    """A control's test history, the latest first."""
    return list(
        session.scalars(
            select(ControlTest)
            .where(ControlTest.control_id == control.id)
            .order_by(ControlTest.tested_on.desc(), ControlTest.id.desc())
        )
    )


@require_permission("compliance.view")
def overdue_controls(
    session: Session, *, today: dt.date | None = None, limit: int = 10
) -> tuple[int, list[Control]]:
    """Active controls whose next test is overdue: how many, and the ``limit`` most overdue."""
    stmt = controls_query(session, overdue=True, today=today)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return total, list(session.scalars(stmt.order_by(Control.next_test_date, Control.id).limit(limit)))


@require_permission("compliance.view")
def failing_controls(session: Session, *, limit: int = 10) -> tuple[int, list[Control]]:
    """Active controls whose latest test failed: how many, and the first ``limit`` by reference."""
    stmt = controls_query(session, active=True, result="fail")
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return total, list(session.scalars(stmt.order_by(Control.reference, Control.id).limit(limit)))


# --- tests and their evidence -------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceUpload:
    """A file sent with a test: its name as uploaded, the type the browser said, its bytes."""

    filename: str
    content_type: str
    content: bytes


def evidence_filename(filename: str) -> str:
    """The uploaded name without folders or control characters, at most 255 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        return "evidence"
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 254 - len(extension)] + dot + extension) if dot and len(extension) < 20 else name[:255]
    return name


def _check_evidence(upload: EvidenceUpload, errors: dict[str, list[str]]) -> None:
    if not upload.content:
        errors["evidence_file"] = ["is empty"]
    elif len(upload.content) > MAX_EVIDENCE_BYTES:
        errors["evidence_file"] = [f"is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB"]


def evidence_path(folder: Path, test: ControlTest) -> Path:
    """Where the evidence file of ``test`` is kept."""
    return Path(folder) / str(test.evidence_stored_name)


@require_permission("compliance.control.manage")
def record_test(
    session: Session,
    control: Control,
    data: Mapping[str, Any],
    *,
    evidence: EvidenceUpload | None = None,
    folder: Path | None = None,
) -> ControlTest:
    """Record a test of an active control: ``tested_on`` (not in the future), ``result`` (pass or
    fail), ``tester_id`` (a user of the company; the acting user by default), ``evidence_note``,
    and ``evidence`` (at most 10 MB), written to ``folder``.

    The control's next test date becomes the latest test date plus its frequency. The file is
    written last: call :func:`discard_evidence` if the transaction does not commit.
    """
    validation.lock_row(session, control)
    errors: dict[str, list[str]] = {}
    tested_on = validation.parse_date(data.get("tested_on"), "tested_on", errors)
    if tested_on is not None and tested_on > dt.date.today():
        errors["tested_on"] = ["cannot be in the future"]
    result = data.get("result")
    if result not in TEST_RESULTS:
        errors["result"] = ["must be pass or fail"]
    if data.get("tester_id") in (None, ""):
        tester_id = actor_id(session)
    else:
        tester_id = company_user_id(session, data["tester_id"], "tester_id", errors)
    note = parse_text(data.get("evidence_note"), "evidence_note", errors, limit=NOTE_LIMIT)
    if evidence is not None:
        _check_evidence(evidence, errors)
        if folder is None:
            raise ValueError("an evidence file needs the folder to keep it in")
    validation.raise_if(errors, "invalid test")
    if not control.active:
        raise Conflict(f"control {control.reference} is inactive: reactivate it to record a test")
    assert tested_on is not None
    test = ControlTest(
        company_id=control.company_id,
        control_id=control.id,
        tested_on=tested_on,
        tester_id=tester_id,
        result=result,
        evidence_note=note,
    )
    if evidence is not None:
        content_type = (evidence.content_type or "").split(";", 1)[0].strip().lower()
        test.evidence_filename = evidence_filename(evidence.filename)
        test.evidence_stored_name = secrets.token_hex(20)
        test.evidence_content_type = (
            content_type if CONTENT_TYPE.match(content_type) else "application/octet-stream"
        )
        test.evidence_size = len(evidence.content)
        test.evidence_sha256 = hashlib.sha256(evidence.content).hexdigest()
    session.add(test)
    session.flush()
    latest = session.scalar(
        select(func.max(ControlTest.tested_on)).where(ControlTest.control_id == control.id)
    )
    control.next_test_date = next_test_after(latest or tested_on, control.frequency)
    session.flush()
    if evidence is not None:
        assert folder is not None
        path = evidence_path(folder, test)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(evidence.content)
    emit(
        session,
        "compliance.control.tested",
        {"id": test.id, "control_id": control.id, "result": result, "tested_on": tested_on.isoformat()},
    )
    return test


def discard_evidence(folder: Path, test: ControlTest | None) -> None:
    """Remove the file of a test whose transaction rolled back (nothing refers to it any more)."""
    if test is not None and test.evidence_stored_name:
        evidence_path(folder, test).unlink(missing_ok=True)


@require_permission("compliance.view")
def get_test(session: Session, test_id: Any) -> ControlTest:
    """A control test of the current company, else :class:`NotFound`."""
    return get_record(session, ControlTest, test_id, "control test")


@require_permission("compliance.view")
def evidence_file(session: Session, test: ControlTest, folder: Path) -> Path:
    """The path of a test's evidence file; :class:`NotFound` when it has none or it is missing."""
    if not test.evidence_stored_name:
        raise NotFound("this test has no evidence file")
    path = evidence_path(folder, test)
    if not path.is_file():
        raise NotFound("the evidence file is missing from the server")
    return path


@require_permission("compliance.view")
def search_controls(session: Session, query: str, limit: int = 10) -> list[Control]:
    """Controls whose reference or name contains ``query``."""
    return list(
        session.scalars(
            controls_query(session, q=query[:200]).order_by(Control.reference, Control.id).limit(limit)
        )
    )


@require_permission("compliance.view")
def controls_of_risk(session: Session, risk: Risk) -> list[Control]:
    """The controls linked to ``risk``, by reference."""
    return sorted(risk.controls, key=lambda c: (c.reference, c.id))


__all__ = [
    "CONTROL_SORTS",
    "EvidenceUpload",
    "MAX_EVIDENCE_BYTES",
    "add_months",
    "controls_of_risk",
    "controls_query",
    "create_control",
    "delete_control",
    "discard_evidence",
    "evidence_file",
    "failing_controls",
    "get_control",
    "get_test",
    "is_test_overdue",
    "last_test",
    "latest_tests",
    "list_controls",
    "next_test_after",
    "overdue_controls",
    "record_test",
    "search_controls",
    "tests_of",
    "update_control",
]
