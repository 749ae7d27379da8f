"""Employment contracts: an employee's contracts never overlap, sit inside the employment, and carry
the wage that payroll pays. Only payroll staff and the employee themselves see a wage."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.plugin_api import Conflict, company_id_of, emit, require_permission, validation

from ..models import CONTRACT_KINDS, WAGE_PERIODS, Contract, Employee, Payslip
from .common import can_see_pay, get_record, visible_employee

MAX_HOURS = Decimal("168")  # every hour of a week
DEFAULT_HOURS = Decimal("40")
NOTES_LIMIT = 10_000
FIELDS = ("kind", "start_date", "end_date", "wage", "wage_period", "hours_per_week", "notes")


def can_see_wage(session: Session, employee: Employee) -> bool:
    """Whether the actor may read the wages of ``employee``'s contracts (``hr.payroll.view`` or the
    employee themselves). Pages and the API ask this before showing a wage."""
    return can_see_pay(session, employee)


def wage_of(session: Session, contract: Contract) -> Decimal | None:
    """The contract's wage for the actor: the amount, or None when they may not see it."""
    return contract.wage if can_see_wage(session, contract.employee) else None


def get_contract(session: Session, contract_id: Any) -> Contract:
    """A contract of an employee the actor may see (HR staff: anyone's; others: their own), else
    :class:`NotFound`. Read its wage through :func:`wage_of`."""
    contract = get_record(session, Contract, contract_id, "contract")
    visible_employee(session, contract.employee_id)
    return contract


def contracts_of(session: Session, employee: Employee) -> list[Contract]:
    """An employee's contracts, the latest first (the employee must be visible to the actor)."""
    visible_employee(session, employee.id)
    return list(
        session.scalars(
            select(Contract)
            .where(Contract.employee_id == employee.id)
            .order_by(Contract.start_date.desc(), Contract.id.desc())
        )
    )


def _span(start: dt.date, end: dt.date | None) -> str:
    return (
        f"from {start.isoformat()} to {end.isoformat()}" if end else f"from {start.isoformat()} (open-ended)"
    )


def _overlapping(
    session: Session, employee: Employee, start: dt.date, end: dt.date | None, own_id: int | None
) -> Contract | None:
    """Another contract of ``employee`` sharing a day with [start, end] (no end: for ever)."""
    stmt = select(Contract).where(
        Contract.employee_id == employee.id,
        Contract.id != (own_id if own_id is not None else -1),
        (Contract.end_date.is_(None)) | (Contract.end_date >= start),
    )
    if end is not None:
        stmt = stmt.where(Contract.start_date <= end)
    return session.scalars(stmt.order_by(Contract.start_date, Contract.id).limit(1)).first()


def _clean(
    session: Session, employee: Employee, data: Mapping[str, Any], contract: Contract | None
) -> dict[str, Any]:
    """The contract's values after applying ``data`` (every field on create), checked as a whole."""
    errors: dict[str, list[str]] = {}
    current: dict[str, Any] = (
        {key: getattr(contract, key) for key in FIELDS}
        if contract is not None
        else {
            "kind": "permanent",
            "end_date": None,
            "wage_period": "month",
            "hours_per_week": DEFAULT_HOURS,
            "notes": "",
        }
    )
    values = dict(current)
    if "kind" in data or contract is None:
        kind = data.get("kind") or current["kind"]
        if kind not in CONTRACT_KINDS:
            errors["kind"] = [f"must be one of {', '.join(CONTRACT_KINDS)}"]
        values["kind"] = kind
    if "start_date" in data or contract is None:
        values["start_date"] = validation.parse_date(data.get("start_date"), "start_date", errors)
    if "end_date" in data:
        values["end_date"] = validation.parse_date(data["end_date"], "end_date", errors, required=False)
    if "wage" in data or contract is None:
        if data.get("wage") in (None, ""):
            errors["wage"] = ["is required"]
        else:
            values["wage"] = validation.parse_decimal(data["wage"], "wage", errors, positive=True)
    if "wage_period" in data or contract is None:
        period = data.get("wage_period") or current["wage_period"]
        if period not in WAGE_PERIODS:
            errors["wage_period"] = [f"must be one of {', '.join(WAGE_PERIODS)}"]
        values["wage_period"] = period
    if "hours_per_week" in data and data["hours_per_week"] not in (None, ""):
        hours = validation.parse_decimal(data["hours_per_week"], "hours_per_week", errors, positive=True)
        if "hours_per_week" not in errors and hours > MAX_HOURS:
            errors["hours_per_week"] = [f"must be at most {MAX_HOURS} (the hours of a week)"]
        values["hours_per_week"] = hours
    if "notes" in data:
        values["notes"] = validation.parse_text(data["notes"], "notes", errors, limit=NOTES_LIMIT)

    start, end = values["start_date"], values["end_date"]
    if start is not None and "start_date" not in errors:
        if start < employee.hire_date:
            errors["start_date"] = [f"is before the hire date ({employee.hire_date.isoformat()})"]
        elif employee.termination_date is not None and start > employee.termination_date:
            errors["start_date"] = [
                f"is after the termination date ({employee.termination_date.isoformat()})"
            ]
    if start is not None and end is not None and end < start and "end_date" not in errors:
        errors["end_date"] = ["is before the start date: a contract cannot end before it starts"]
    if values["kind"] == "fixed_term" and end is None and "end_date" not in errors:
        errors["end_date"] = ["a fixed-term contract needs an end date"]
    if (
        employee.termination_date is not None
        and "end_date" not in errors
        and (end is None or end > employee.termination_date)
    ):
        errors["end_date"] = [f"must end by the termination date ({employee.termination_date.isoformat()})"]
    if start is not None and not errors:
        other = _overlapping(session, employee, start, end, contract.id if contract is not None else None)
        if other is not None:
            kind = other.kind.replace("_", "-")
            errors["start_date"] = [f"overlaps the {kind} contract {_span(other.start_date, other.end_date)}"]
    validation.raise_if(errors, "invalid contract")
    return values


@require_permission("hr.employee.manage")
def create_contract(session: Session, employee: Employee, data: Mapping[str, Any]) -> Contract:
    """A contract for ``employee``: ``kind`` (permanent, fixed_term, contractor), ``start_date``,
    ``end_date`` (empty: open-ended; required for fixed-term), ``wage`` (> 0) per ``wage_period``
    (month or hour), ``hours_per_week`` (default 40), ``notes``.

    It must lie inside the employment (from the hire date, up to any termination date) and share
    no day with the employee's other contracts.
    """
    validation.lock_row(session, employee)  # two contracts saved at once are checked one after the other
    values = _clean(session, employee, data, None)
    contract = Contract(company_id=employee.company_id, employee_id=employee.id, **values)
    contract.employee = employee
    session.add(contract)
    session.flush()
    emit(session, "hr.contract.created", {"id": contract.id, "employee_id": employee.id})
    return contract


@require_permission("hr.employee.manage")
def update_contract(session: Session, contract: Contract, data: Mapping[str, Any]) -> Contract:
    """Change the fields given in ``data``; the same rules as :func:`create_contract` apply to the
    result."""
    employee = contract.employee
    validation.lock_row(session, employee)
    validation.lock_row(session, contract)
    values = _clean(session, employee, data, contract)
    changed = sorted(key for key in FIELDS if getattr(contract, key) != values[key])
    for key in changed:
        setattr(contract, key, values[key])
    session.flush()
    emit(session, "hr.contract.updated", {"id": contract.id, "fields": changed})
    return contract


@require_permission("hr.employee.manage")
def end_contract(session: Session, contract: Contract, end_date: Any) -> Contract:
    """End a contract on ``end_date`` (it must not be before the start; a contract already ending by
    then is 409)."""
    errors: dict[str, list[str]] = {}
    end = validation.parse_date(end_date, "end_date", errors)
    validation.raise_if(errors, "invalid end date")
    assert end is not None
    if contract.end_date is not None and contract.end_date <= end:
        raise Conflict(
            f"the contract already ends on {contract.end_date.isoformat()}",
            fields={"end_date": [f"the contract already ends on {contract.end_date.isoformat()}"]},
        )
    return update_contract(session, contract, {"end_date": end})


def payslip_count(session: Session, contract: Contract) -> int:
    return session.scalar(select(func.count(Payslip.id)).where(Payslip.contract_id == contract.id)) or 0


@require_permission("hr.employee.manage")
def delete_contract(session: Session, contract: Contract, *, today: dt.date | None = None) -> None:
    """Delete a contract entered by mistake: only one that has not started yet and was never paid.

    A contract that has started is history (payroll, certificates): end it instead (409).
    """
    validation.lock_row(session, contract)
    today = today or dt.date.today()
    if contract.start_date <= today:
        raise Conflict(
            f"the contract started on {contract.start_date.isoformat()}: end it instead of deleting it",
            fields={"contract": ["has started"]},
        )
    if payslip_count(session, contract):
        raise Conflict(
            "payslips were computed on this contract: end it instead of deleting it",
            fields={"contract": ["has payslips"]},
        )
    data = {"id": contract.id, "employee_id": contract.employee_id}
    session.delete(contract)
    session.flush()
    emit(session, "hr.contract.deleted", data)


def active_contract(session: Session, employee: Employee, on: dt.date) -> Contract | None:
    """The employee's contract running on day ``on``, if any (contracts never overlap).

    For payroll and other services: it returns the wage, so callers check who may see it.
    """
    return session.scalars(
        select(Contract).where(
            Contract.employee_id == employee.id,
            Contract.start_date <= on,
            (Contract.end_date.is_(None)) | (Contract.end_date >= on),
        )
    ).first()


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """The first and last day of a month."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def contracts_for_month(session: Session, year: int, month: int) -> list[Contract]:
    """The company's contracts sharing at least a day with the month, of employees not terminated
    before the month starts; by employee number, then start date (payroll's input)."""
    first, last = month_bounds(year, month)
    return list(
        session.scalars(
            select(Contract)
            .join(Employee, Employee.id == Contract.employee_id)
            .where(
                Contract.company_id == company_id_of(session),
                Contract.start_date <= last,
                (Contract.end_date.is_(None)) | (Contract.end_date >= first),
                (Employee.termination_date.is_(None)) | (Employee.termination_date >= first),
            )
            .order_by(Employee.number, Contract.start_date, Contract.id)
        )
    )


__all__ = [
    "active_contract",
    "can_see_wage",
    "contracts_for_month",
    "contracts_of",
    "create_contract",
    "delete_contract",
    "end_contract",
    "get_contract",
    "month_bounds",
    "payslip_count",
    "update_contract",
    "wage_of",
]
