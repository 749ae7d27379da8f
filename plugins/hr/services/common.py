"""Helpers every HR service shares: finding records of the company, who the actor is, who sees what."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.plugin_api import NotFound, actor_of, company_id_of, has_permission, users, validation

from ..models import Employee

T = TypeVar("T")
MAX_ID = validation.MAX_ID


def get_record(session: Session, model: type[T], record_id: Any, label: str | None = None) -> T:
    """A record of ``model`` in the current company by id, else :class:`NotFound` (also for another
    company's record, so ids of other companies reveal nothing)."""
    found_id = validation.parse_id(record_id)
    record = session.get(model, found_id) if found_id is not None and 0 < found_id < MAX_ID else None
    if record is None or getattr(record, "company_id", None) != company_id_of(session):
        raise NotFound(f"{label or model.__name__.lower()} {record_id} not found")
    return record


def find_record(
    session: Session, model: type[T], value: Any, field: str, errors: dict[str, list[str]], label: str = ""
) -> T | None:
    """For forms: a record of the company by id, or None when empty; a bad id becomes a field message."""
    if value in (None, ""):
        return None
    try:
        return get_record(session, model, value)
    except NotFound:
        errors[field] = [f"no such {label or model.__name__.lower()}"]
        return None


def company_user_id(session: Session, value: Any, field: str, errors: dict[str, list[str]]) -> int | None:
    """An active user with access to the company, or None for "nobody"."""
    if value in (None, ""):
        return None
    user_id = validation.parse_id(value)
    user = users.company_user(session, user_id) if user_id is not None and 0 < user_id < MAX_ID else None
    if user is None:
        errors[field] = ["no such user"]
        return None
    return user.id


def actor_id(session: Session) -> int | None:
    """The acting user's id; None for the system (CLI, jobs)."""
    return getattr(actor_of(session), "id", None)


def can(session: Session, code: str) -> bool:
    return has_permission(actor_of(session), code)


def my_employee(session: Session) -> Employee | None:
    """The employee record linked to the acting user in the current company (self-service)."""
    user_id = actor_id(session)
    if user_id is None:
        return None
    return session.scalar(
        select(Employee).where(Employee.company_id == company_id_of(session), Employee.user_id == user_id)
    )


def is_self(session: Session, employee: Employee) -> bool:
    user_id = actor_id(session)
    return user_id is not None and employee.user_id == user_id


def can_see_employee(session: Session, employee: Employee) -> bool:
    """HR staff (``hr.view``) see every employee; anyone else only their own file."""
    return can(session, "hr.view") or is_self(session, employee)


def can_see_pay(session: Session, employee: Employee) -> bool:
    """Salaries and payslips: ``hr.payroll.view`` or the employee themselves."""
    return can(session, "hr.payroll.view") or is_self(session, employee)


def visible_employee(session: Session, employee_id: Any) -> Employee:
    """An employee the actor may see; anyone else's file is "not found" (no hint that it exists)."""
    employee = get_record(session, Employee, employee_id, "employee")
    if not can_see_employee(session, employee):
        raise NotFound(f"employee {employee_id} not found")
    return employee
