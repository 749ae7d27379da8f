"""Employees: the HR file over a core person contact — hire, edit, terminate, list, the org chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Contact,
    Page,
    ValidationError,
    call_hook,
    company_id_of,
    contacts,
    emit,
    granting,
    keyset_page,
    ledger,
    require_permission,
    validation,
)

from ..models import EMPLOYEE_STATUSES, Contract, Department, Employee, Position
from . import contracts
from .common import actor_id, can, company_user_id, find_record, get_record, visible_employee

EMPLOYEE_SORTS = {
    "name": Contact.name,
    "number": Employee.number,
    "hire_date": Employee.hire_date,
}
NUMBER_KEY = "hr.employee"
TEXT_LIMITS = {
    "job_title": 100,
    "emergency_name": 200,
    "emergency_phone": 50,
    "notes": 10_000,
}


def _next_number(session: Session) -> str:
    """The next EMP-00001... number no employee has (one may have been given by hand)."""
    while True:
        number = f"EMP-{ledger.allocate_numbers(session, company_id_of(session), NUMBER_KEY, 0):05d}"
        if employee_by_number(session, number) is None:
            return number


def _check_manager(
    session: Session, employee: Employee | None, manager: Employee | None, errors: dict[str, list[str]]
) -> None:
    """A manager must be someone else, and the chain of managers must not loop back."""
    if manager is None or employee is None or employee.id is None:
        return
    seen: set[int] = set()
    current: Employee | None = manager
    while current is not None and current.id not in seen:
        if current.id == employee.id:
            errors["manager_id"] = ["would make a loop: this employee is above that manager"]
            return
        seen.add(current.id)
        current = current.manager


def _clean(
    session: Session, data: Mapping[str, Any], employee: Employee | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    """The editable HR fields present in ``data``, validated."""
    values: dict[str, Any] = {}
    for key, limit in TEXT_LIMITS.items():
        if key in data:
            values[key] = validation.parse_text(data[key], key, errors, limit=limit)
    if "department_id" in data:
        department = find_record(session, Department, data["department_id"], "department_id", errors)
        values["department_id"] = department.id if department else None
    if "position_id" in data:
        position = find_record(session, Position, data["position_id"], "position_id", errors)
        values["position_id"] = position.id if position else None
    if "manager_id" in data:
        manager = find_record(session, Employee, data["manager_id"], "manager_id", errors, "employee")
        if manager is not None and employee is not None and manager.id == employee.id:
            errors["manager_id"] = ["an employee cannot be their own manager"]
        else:
            _check_manager(session, employee, manager, errors)
        values["manager_id"] = manager.id if manager else None
    if "user_id" in data:
        user_id = company_user_id(session, data["user_id"], "user_id", errors)
        if user_id is not None:
            taken = session.scalar(
                select(Employee.id).where(
                    Employee.company_id == company_id_of(session),
                    Employee.user_id == user_id,
                    Employee.id != (employee.id if employee is not None else -1),
                )
            )
            if taken is not None:
                errors["user_id"] = ["that user is already linked to another employee"]
        values["user_id"] = user_id
    if "hire_date" in data:
        values["hire_date"] = validation.parse_date(data["hire_date"], "hire_date", errors)
    if "status" in data and data["status"] not in (None, ""):
        if data["status"] not in ("active", "on_leave"):
            errors["status"] = ["must be active or on_leave (terminate an employee to end their employment)"]
        else:
            values["status"] = data["status"]
    return values


@require_permission("hr.employee.manage")
def create_employee(session: Session, data: Mapping[str, Any]) -> Employee:
    """Hire someone: ``contact_id`` (an existing person) or ``name`` (+ ``email``, ``phone``) for a new
    person contact; ``hire_date``; optional ``number`` (else EMP-00001...), ``department_id``,
    ``position_id``, ``manager_id``, ``user_id``, ``job_title``, emergency contact, ``notes``.

    Fires ``officium_employee_hired`` inside the transaction.
    """
    errors: dict[str, list[str]] = {}
    company_id = company_id_of(session)
    contact: Contact | None = None
    if data.get("contact_id") not in (None, ""):
        contact = validation.company_contact(session, data["contact_id"], "contact_id", errors)
        if contact is not None and contact.kind != "person":
            errors["contact_id"] = ["an employee is a person, not an organization"]
        elif contact is not None and session.scalar(
            select(Employee.id).where(Employee.company_id == company_id, Employee.contact_id == contact.id)
        ):
            errors["contact_id"] = ["this person is already an employee"]
    else:
        validation.parse_text(data.get("name"), "name", errors, limit=200, required=True)
    number = validation.parse_text(data.get("number"), "number", errors, limit=30)
    if number and session.scalar(
        select(Employee.id).where(Employee.company_id == company_id, Employee.number == number)
    ):
        errors["number"] = ["another employee has this number"]
    if data.get("hire_date") in (None, ""):
        errors["hire_date"] = ["required"]
    values = _clean(session, {"hire_date": None, **data}, None, errors)
    validation.raise_if(errors, "invalid employee")
    if contact is None:
        with granting(session, "contacts.create"):
            try:
                contact = contacts.create_contact(
                    session,
                    kind="person",
                    name=data.get("name"),
                    email=data.get("email") or None,
                    phone=data.get("phone") or "",
                )
            except ValidationError as exc:
                raise ValidationError(
                    f"invalid employee: {exc.message}", fields=getattr(exc, "fields", None)
                ) from exc
    employee = Employee(
        company_id=company_id,
        contact_id=contact.id,
        number=number or _next_number(session),
        status=values.pop("status", "active"),
        **values,
    )
    employee.contact = contact
    session.add(employee)
    session.flush()
    emit(session, "hr.employee.hired", {"id": employee.id, "number": employee.number})
    call_hook(session, "officium_employee_hired", employee=employee, session=session)
    return employee


@require_permission("hr.employee.manage")
def update_employee(session: Session, employee: Employee, data: Mapping[str, Any]) -> Employee:
    """Change the HR fields given in ``data`` (the person's name and email live on the contact)."""
    validation.lock_row(session, employee)
    errors: dict[str, list[str]] = {}
    if employee.status == "terminated" and data.get("status") not in (None, ""):
        errors["status"] = ["a terminated employee's status cannot change; hire them again"]
    values = _clean(session, data, employee, errors)
    if "hire_date" in values and values["hire_date"] is None:
        errors["hire_date"] = ["required"]
    linked = values.get("user_id")
    if (
        linked is not None
        and linked != employee.user_id
        and linked == actor_id(session)
        and not can(session, "hr.payroll.view")
    ):
        # The employee's own pay is readable through the link: it is not a way around hr.payroll.view.
        errors["user_id"] = [
            "you cannot link your own login to this file (its wage and payslips would become yours "
            "to read): ask someone with payroll access"
        ]
    validation.raise_if(errors, "invalid employee")
    for key, value in values.items():
        setattr(employee, key, value)
    session.flush()
    emit(session, "hr.employee.updated", {"id": employee.id, "fields": sorted(values)})
    return employee


@require_permission("hr.employee.manage")
def terminate_employee(session: Session, employee: Employee, *, date: Any, reason: str = "") -> Employee:
    """End the employment on ``date``: status terminated, the running contract ends that day,
    and the people and departments they managed go to their own manager."""
    validation.lock_row(session, employee)
    errors: dict[str, list[str]] = {}
    end = validation.parse_date(date, "date", errors)
    if employee.status == "terminated":
        errors["status"] = ["already terminated"]
    elif end is not None and end < employee.hire_date:
        errors["date"] = ["is before the hire date"]
    later = (
        list(
            session.scalars(
                select(Contract).where(
                    Contract.employee_id == employee.id,
                    (Contract.end_date.is_(None)) | (Contract.end_date > end),
                )
            )
        )
        if end is not None
        else []
    )
    for contract in later:
        # A contract that has not started by then goes, unless payroll paid it (as delete_contract).
        if contract.start_date > end and contracts.payslip_count(session, contract) and "date" not in errors:
            errors["date"] = [
                f"payslips were computed on the contract starting {contract.start_date.isoformat()}: "
                "end the employment on or after that day (or delete the draft payroll run first)"
            ]
    validation.raise_if(errors, "cannot terminate")
    assert end is not None
    employee.status = "terminated"
    employee.termination_date = end
    if reason:
        employee.notes = (employee.notes + "\n" if employee.notes else "") + f"Terminated: {reason[:500]}"
    for contract in later:
        if contract.start_date > end:
            session.delete(contract)  # never started
        else:
            contract.end_date = end
    for report in session.scalars(select(Employee).where(Employee.manager_id == employee.id)):
        report.manager_id = employee.manager_id
    for department in session.scalars(
        select(Department).where(
            Department.company_id == employee.company_id, Department.manager_id == employee.id
        )
    ):
        department.manager_id = employee.manager_id
    session.flush()
    emit(session, "hr.employee.terminated", {"id": employee.id, "date": end.isoformat()})
    return employee


def get_employee(session: Session, employee_id: Any) -> Employee:
    """An employee the actor may see (HR staff: anyone; others: only themselves)."""
    return visible_employee(session, employee_id)


def employees_query(
    session: Session, *, q: str | None = None, department_id: int | None = None, status: str | None = None
) -> Select:
    stmt = (
        select(Employee)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(Employee.company_id == company_id_of(session))
    )
    if q:
        text = q.strip()
        stmt = stmt.where(
            Contact.name.icontains(text, autoescape=True)
            | Employee.number.icontains(text, autoescape=True)
            | Employee.job_title.icontains(text, autoescape=True)
        )
    if department_id is not None:
        stmt = stmt.where(Employee.department_id == department_id)
    if status == "current":
        stmt = stmt.where(Employee.status != "terminated")
    elif status:
        if status not in EMPLOYEE_STATUSES:
            raise ValidationError(
                "invalid status",
                fields={"status": [f"must be one of {', '.join(EMPLOYEE_STATUSES)}, current"]},
            )
        stmt = stmt.where(Employee.status == status)
    return stmt


@require_permission("hr.view")
def list_employees(
    session: Session,
    *,
    q: str | None = None,
    department_id: int | None = None,
    status: str | None = None,
    sort: str = "name",
    descending: bool = False,
    limit: int = 50,
    after: tuple[Any, int] | None = None,
) -> Page:
    """One page of employees by keyset (``status="current"`` leaves out the terminated)."""
    if sort not in EMPLOYEE_SORTS:
        raise ValidationError(
            "invalid sort", fields={"sort": [f"must be one of {', '.join(EMPLOYEE_SORTS)}"]}
        )
    stmt = employees_query(session, q=q, department_id=department_id, status=status)
    return keyset_page(
        session,
        stmt,
        column=EMPLOYEE_SORTS[sort],
        id_column=Employee.id,
        descending=descending,
        after=after,
        limit=limit,
    )


@require_permission("hr.view")
def headcount_by_department(session: Session) -> list[tuple[str, int]]:
    """Current (not terminated) employees per department, largest first; "No department" last."""
    rows = session.execute(
        select(Department.name, func.count(Employee.id))
        .select_from(Employee)
        .outerjoin(Department, Department.id == Employee.department_id)
        .where(Employee.company_id == company_id_of(session), Employee.status != "terminated")
        .group_by(Department.name)
    ).all()
    named = sorted(((name, n) for name, n in rows if name is not None), key=lambda r: (-r[1], r[0]))
    unassigned = [("No department", n) for name, n in rows if name is None]
    return named + unassigned


@dataclass
class OrgNode:
    employee: Employee
    reports: list[OrgNode] = field(default_factory=list)


@require_permission("hr.view")
def org_chart(session: Session, *, department_id: int | None = None) -> list[OrgNode]:
    """The manager hierarchy of current employees as trees: roots are those without a (current) manager.

    With ``department_id``, the trees are cut to that department (a manager outside it becomes a root's
    absence: their reports in the department are roots).
    """
    stmt = employees_query(session, department_id=department_id, status="current").order_by(Contact.name)
    people = list(session.scalars(stmt))
    nodes = {e.id: OrgNode(e) for e in people}
    roots: list[OrgNode] = []
    for employee in people:
        parent = nodes.get(employee.manager_id) if employee.manager_id else None
        (parent.reports if parent is not None else roots).append(nodes[employee.id])
    return roots


def employee_by_number(session: Session, number: str) -> Employee | None:
    return session.scalar(
        select(Employee).where(Employee.company_id == company_id_of(session), Employee.number == number)
    )


def as_of(employee: Employee, day: dt.date) -> bool:
    """Whether the employee is employed on ``day``."""
    return employee.hire_date <= day and (
        employee.termination_date is None or employee.termination_date >= day
    )


__all__ = [
    "EMPLOYEE_SORTS",
    "OrgNode",
    "as_of",
    "create_employee",
    "employee_by_number",
    "employees_query",
    "get_employee",
    "get_record",
    "headcount_by_department",
    "list_employees",
    "org_chart",
    "terminate_employee",
    "update_employee",
]
