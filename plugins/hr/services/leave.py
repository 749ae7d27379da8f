"""Leave: public holidays, leave types, yearly allocations, leave requests (half days, approval),
balances and the team calendar.

Days are Decimals counted in half days: Monday to Friday, minus the company's public holidays,
minus half a day for a request that starts at noon or ends at noon. A request moves
draft -> submitted -> approved | refused, and may be cancelled (see :func:`cancel_request`).
Whoever may decide a request is the employee's manager (through the manager's login) or a
holder of ``hr.leave.approve`` — never the employee, never whoever made the request.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.plugin_api import (
    Conflict,
    Contact,
    NotFound,
    Page,
    PermissionDenied,
    ValidationError,
    check_duty,
    company_id_of,
    emit,
    keyset_page,
    notifications,
    require_permission,
    users,
    utcnow,
    validation,
)

from ..models import LEAVE_STATES, Department, Employee, Holiday, LeaveAllocation, LeaveRequest, LeaveType
from .common import actor_id, can, find_record, get_record, my_employee

HALF = Decimal("0.5")
ZERO = Decimal("0")
MAX_DAYS = Decimal("366")
MAX_SPAN_DAYS = 366  # a request covers at most a year; longer leave is split
FIRST_YEAR, LAST_YEAR = 1900, 9899
ACTIVE_STATES = ("draft", "submitted", "approved")  # these block an overlapping request
COUNTED_STATES = ("submitted", "approved")  # these use up the balance
LEAVE_SORTS = {
    "start_date": LeaveRequest.start_date,
    "created_at": LeaveRequest.created_at,
    "id": LeaveRequest.id,
}
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_IMPORT_ROWS = 1000
SOURCE = "hr"
ONE_DAY_BOTH_HALVES = (
    "a one-day request cannot both start and end at noon: tick one half day, or none for a full day"
)


def _days_text(value: Decimal) -> str:
    """``2.5``, ``3`` (not ``3.0``)."""
    return f"{value.normalize():f}"


def _flag(value: Any, field_name: str, errors: dict[str, list[str]]) -> bool:
    """A yes/no value from JSON (true/false) or a form (a ticked checkbox sends "on")."""
    if value is None or value is False or value == "":
        return False
    if value is True:
        return True
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "on", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "off", "no"):
        return False
    errors[field_name] = ["must be true or false"]
    return False


def _year(value: Any, field_name: str, errors: dict[str, list[str]]) -> int | None:
    year = validation.parse_id(value)
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        errors[field_name] = [f"must be a year from {FIRST_YEAR} to {LAST_YEAR}"]
        return None
    return year


def _half_days(value: Any, field_name: str, errors: dict[str, list[str]], *, default: Decimal) -> Decimal:
    """A number of days in half days: 0, 0.5, 1, ... up to 366."""
    days = validation.parse_decimal(value, field_name, errors, places=1, minimum=ZERO, default=default)
    if field_name in errors:
        return ZERO
    if days > MAX_DAYS:
        errors[field_name] = [f"must be at most {MAX_DAYS} days"]
    elif days % HALF:
        errors[field_name] = ["must be a whole or half number of days (e.g. 12 or 12.5)"]
    return days


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


# --- public holidays ------------------------------------------------------------------------------


def list_holidays(session: Session, year: int) -> list[Holiday]:
    """The company's public holidays in ``year``, by date (every signed-in user may read them)."""
    first, last = _year_bounds(year)
    return list(
        session.scalars(
            select(Holiday)
            .where(Holiday.company_id == company_id_of(session), Holiday.date.between(first, last))
            .order_by(Holiday.date)
        )
    )


def get_holiday(session: Session, holiday_id: Any) -> Holiday:
    return get_record(session, Holiday, holiday_id, "holiday")


def _clean_holiday(
    session: Session, data: Mapping[str, Any], errors: dict[str, list[str]], taken: set[dt.date] | None = None
) -> tuple[dt.date | None, str]:
    day = None
    if data.get("date") in (None, ""):
        errors["date"] = ["is required"]
    else:
        day = validation.parse_date(data.get("date"), "date", errors)
    name = validation.parse_text(data.get("name"), "name", errors, limit=100, required=True)
    if day is not None:
        existing = session.scalar(
            select(Holiday).where(Holiday.company_id == company_id_of(session), Holiday.date == day)
        )
        if existing is not None:
            errors["date"] = [f"is already a public holiday ({existing.name})"]
        elif taken is not None and day in taken:
            errors["date"] = ["appears twice in the file"]
    return day, name


@require_permission("hr.employee.manage")
def add_holiday(session: Session, data: Mapping[str, Any]) -> Holiday:
    """Add a public holiday: ``date`` (one per day) and ``name``.

    Requests already submitted keep their day count; a request submitted later is counted again.
    """
    errors: dict[str, list[str]] = {}
    day, name = _clean_holiday(session, data, errors)
    validation.raise_if(errors, "invalid holiday")
    holiday = Holiday(company_id=company_id_of(session), date=day, name=name)
    session.add(holiday)
    session.flush()
    emit(session, "hr.holiday.added", {"id": holiday.id, "date": holiday.date.isoformat()})
    return holiday


@require_permission("hr.employee.manage")
def delete_holiday(session: Session, holiday: Holiday) -> None:
    """Remove a public holiday."""
    payload = {"id": holiday.id, "date": holiday.date.isoformat()}
    session.delete(holiday)
    session.flush()
    emit(session, "hr.holiday.deleted", payload)


@require_permission("hr.employee.manage")
def import_holidays(session: Session, content: str | bytes) -> list[Holiday]:
    """Add public holidays from CSV rows ``date,name`` (a first row ``date,name`` is a header).

    All or nothing: a bad row (a wrong date, a day that already is a holiday) refuses the file
    with a message per row, named ``rows.N.date`` / ``rows.N.name`` (N counts data rows from 1).
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("not UTF-8", fields={"file": ["must be a UTF-8 CSV file"]}) from None
    try:
        rows = [
            row for row in csv.reader(io.StringIO(content.replace("\x00", ""))) if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise ValidationError(
            "unreadable CSV", fields={"file": [f"is not a readable CSV file: {exc}"]}
        ) from None
    if rows and [c.strip().lower() for c in rows[0]] == ["date", "name"]:
        rows = rows[1:]
    if not rows:
        raise ValidationError("empty file", fields={"file": ["has no rows (expected: date,name)"]})
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError("too many rows", fields={"file": [f"at most {MAX_IMPORT_ROWS} rows"]})
    errors: dict[str, list[str]] = {}
    clean: list[tuple[dt.date, str]] = []
    seen: set[dt.date] = set()
    for number, row in enumerate(rows, start=1):
        if len(row) != 2:
            errors[f"rows.{number}"] = [f"has {len(row)} columns, expected 2 (date,name)"]
            continue
        row_errors: dict[str, list[str]] = {}
        day, name = _clean_holiday(session, {"date": row[0].strip(), "name": row[1]}, row_errors, seen)
        for key, messages in row_errors.items():
            errors[f"rows.{number}.{key}"] = messages
        if not row_errors and day is not None:
            seen.add(day)
            clean.append((day, name))
    if errors:
        raise ValidationError(f"{len({k.split('.')[1] for k in errors})} rows are invalid", fields=errors)
    company_id = company_id_of(session)
    holidays = [Holiday(company_id=company_id, date=day, name=name) for day, name in clean]
    session.add_all(holidays)
    session.flush()
    emit(session, "hr.holidays.imported", {"count": len(holidays)})
    return holidays


# --- leave types ----------------------------------------------------------------------------------


def list_leave_types(session: Session, *, active_only: bool = False) -> list[LeaveType]:
    """The company's leave types by name (every signed-in user may read them, to ask for leave)."""
    stmt = select(LeaveType).where(LeaveType.company_id == company_id_of(session))
    if active_only:
        stmt = stmt.where(LeaveType.active.is_(True))
    return list(session.scalars(stmt.order_by(LeaveType.name, LeaveType.id)))


def get_leave_type(session: Session, leave_type_id: Any) -> LeaveType:
    return get_record(session, LeaveType, leave_type_id, "leave type")


def _clean_leave_type(
    session: Session, data: Mapping[str, Any], current: LeaveType | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if current is None or "code" in data:
        code = validation.parse_text(data.get("code"), "code", errors, limit=20, required=True)
        if code and "code" not in errors:
            # Checked before upper-casing: ASCII keeps its length ("ß" would become "SS").
            if not CODE_PATTERN.match(code):
                errors["code"] = ["letters, digits, - and _ only (e.g. ANNUAL)"]
            elif session.scalar(
                select(LeaveType.id).where(
                    LeaveType.company_id == company_id_of(session),
                    func.upper(LeaveType.code) == code.upper(),
                    LeaveType.id != (current.id if current is not None else -1),
                )
            ):
                errors["code"] = ["another leave type has this code"]
        values["code"] = code.upper()
    if current is None or "name" in data:
        values["name"] = validation.parse_text(data.get("name"), "name", errors, limit=100, required=True)
    for key in ("needs_allocation", "paid", "active"):
        if key in data:
            values[key] = _flag(data[key], key, errors)
        elif current is None:
            values[key] = True
    if current is None or "default_days" in data:
        values["default_days"] = _half_days(data.get("default_days"), "default_days", errors, default=ZERO)
    if current is None or "color" in data:
        color = validation.parse_text(data.get("color"), "color", errors, limit=7) or "#2563eb"
        if "color" not in errors and not COLOR_PATTERN.match(color):
            errors["color"] = ["must be a colour like #2563eb"]
        values["color"] = color.lower()
    return values


@require_permission("hr.employee.manage")
def create_leave_type(session: Session, data: Mapping[str, Any]) -> LeaveType:
    """A new kind of leave: ``code`` (unique), ``name``, ``needs_allocation`` (limited by a yearly
    allocation), ``paid``, ``default_days`` (what :func:`allocate_defaults` gives), ``color``."""
    errors: dict[str, list[str]] = {}
    values = _clean_leave_type(session, data, None, errors)
    validation.raise_if(errors, "invalid leave type")
    leave_type = LeaveType(company_id=company_id_of(session), **values)
    session.add(leave_type)
    session.flush()
    emit(session, "hr.leave_type.created", {"id": leave_type.id, "code": leave_type.code})
    return leave_type


@require_permission("hr.employee.manage")
def update_leave_type(session: Session, leave_type: LeaveType, data: Mapping[str, Any]) -> LeaveType:
    """Change the fields given in ``data``; ``active: false`` stops new requests of this type."""
    validation.lock_row(session, leave_type)
    errors: dict[str, list[str]] = {}
    values = _clean_leave_type(session, data, leave_type, errors)
    validation.raise_if(errors, "invalid leave type")
    for key, value in values.items():
        setattr(leave_type, key, value)
    session.flush()
    emit(session, "hr.leave_type.updated", {"id": leave_type.id, "fields": sorted(values)})
    return leave_type


@require_permission("hr.employee.manage")
def deactivate_leave_type(session: Session, leave_type: LeaveType) -> LeaveType:
    """No new requests of this type; existing requests and allocations stay."""
    return update_leave_type(session, leave_type, {"active": False})


# --- working days ---------------------------------------------------------------------------------


def _holidays_between(session: Session, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    rows = session.execute(
        select(Holiday.date, Holiday.name).where(
            Holiday.company_id == company_id_of(session), Holiday.date.between(start, end)
        )
    )
    return {day: name for day, name in rows}


def _weekdays(start: dt.date, end: dt.date) -> int:
    """Mondays to Fridays from ``start`` to ``end`` inclusive."""
    if end < start:
        return 0
    weeks, extra = divmod((end - start).days + 1, 7)
    first = start.weekday()
    return weeks * 5 + sum(1 for i in range(extra) if (first + i) % 7 < 5)


def _count(
    start: dt.date, end: dt.date, half_start: bool, half_end: bool, holidays: Mapping[dt.date, Any]
) -> Decimal:
    days = Decimal(_weekdays(start, end) - sum(1 for d in holidays if start <= d <= end and d.weekday() < 5))
    # Half a day off only where there is a working day to halve.
    if half_start and start.weekday() < 5 and start not in holidays:
        days -= HALF
    if half_end and end.weekday() < 5 and end not in holidays:
        days -= HALF
    return days


def _days_by_year(
    session: Session, start: dt.date, end: dt.date, half_start: bool, half_end: bool
) -> dict[int, Decimal]:
    """Working days of a period, per calendar year (a request over New Year counts in both)."""
    holidays = _holidays_between(session, start, end)
    result: dict[int, Decimal] = {}
    for year in range(start.year, end.year + 1):
        first, last = _year_bounds(year)
        a, b = max(start, first), min(end, last)
        result[year] = _count(a, b, half_start and a == start, half_end and b == end, holidays)
    return result


def _check_period(
    start: dt.date | None,
    end: dt.date | None,
    half_start: bool,
    half_end: bool,
    errors: dict[str, list[str]],
) -> None:
    if start is None or end is None:
        return
    if end < start:
        errors["end_date"] = ["is before the start date"]
    elif (end - start).days >= MAX_SPAN_DAYS:
        errors["end_date"] = [f"a request covers at most {MAX_SPAN_DAYS} days: split longer leave"]
    elif start == end and half_start and half_end:
        errors["half_day_end"] = [ONE_DAY_BOTH_HALVES]


def _required_date(value: Any, field_name: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        errors[field_name] = ["is required"]
        return None
    return validation.parse_date(value, field_name, errors)


def working_days(
    session: Session, start: Any, end: Any, half_day_start: Any = False, half_day_end: Any = False
) -> Decimal:
    """Working days from ``start`` to ``end`` inclusive: Monday to Friday minus the company's public
    holidays, minus 0.5 when the first day starts at noon (``half_day_start``) and 0.5 when the last
    day ends at noon (``half_day_end``). A single day with one half flag is 0.5; with both it is
    refused, as is an end before the start (:class:`ValidationError` with field messages)."""
    errors: dict[str, list[str]] = {}
    first = _required_date(start, "start_date", errors)
    last = _required_date(end, "end_date", errors)
    half_start = _flag(half_day_start, "half_day_start", errors)
    half_end = _flag(half_day_end, "half_day_end", errors)
    if first is not None and last is not None and last < first:
        errors["end_date"] = ["is before the start date"]
    elif first is not None and first == last and half_start and half_end:
        errors["half_day_end"] = [ONE_DAY_BOTH_HALVES]
    validation.raise_if(errors, "invalid period")
    assert first is not None and last is not None
    return _count(first, last, half_start, half_end, _holidays_between(session, first, last))


# --- allocations and balances ---------------------------------------------------------------------


@dataclass(frozen=True)
class Balance:
    """An employee's days of one leave type in a year; ``remaining`` = allocated - taken - pending."""

    leave_type: LeaveType
    year: int
    allocated: Decimal
    taken: Decimal
    pending: Decimal
    remaining: Decimal


def _manager_user_id(employee: Employee) -> int | None:
    return employee.manager.user_id if employee.manager is not None else None


def _may_see_leave_of(session: Session, employee: Employee) -> bool:
    """HR staff and approvers see everyone's leave; others their own and their direct reports'."""
    if can(session, "hr.view") or can(session, "hr.leave.approve"):
        return True
    uid = actor_id(session)
    return uid is not None and uid in (employee.user_id, _manager_user_id(employee))


def _used(
    session: Session, employee_id: int, year: int, *, exclude_id: int | None = None
) -> dict[tuple[int, str], Decimal]:
    """Days of submitted and approved requests in ``year`` by (leave type id, state)."""
    first, last = _year_bounds(year)
    stmt = select(LeaveRequest).where(
        LeaveRequest.employee_id == employee_id,
        LeaveRequest.state.in_(COUNTED_STATES),
        LeaveRequest.start_date <= last,
        LeaveRequest.end_date >= first,
    )
    if exclude_id is not None:
        stmt = stmt.where(LeaveRequest.id != exclude_id)
    used: dict[tuple[int, str], Decimal] = {}
    for request in session.scalars(stmt):
        if request.start_date.year == request.end_date.year:
            days = request.days
        else:
            days = _days_by_year(
                session, request.start_date, request.end_date, request.half_day_start, request.half_day_end
            ).get(year, ZERO)
        key = (request.leave_type_id, request.state)
        used[key] = used.get(key, ZERO) + days
    return used


def _allocated(session: Session, employee_id: int, year: int) -> dict[int, Decimal]:
    rows = session.execute(
        select(LeaveAllocation.leave_type_id, LeaveAllocation.days).where(
            LeaveAllocation.employee_id == employee_id, LeaveAllocation.year == year
        )
    )
    return {type_id: days for type_id, days in rows}


def _balances(
    session: Session, employee: Employee, year: int, *, exclude_id: int | None = None
) -> list[Balance]:
    allocated = _allocated(session, employee.id, year)
    used = _used(session, employee.id, year, exclude_id=exclude_id)
    types = [
        t
        for t in list_leave_types(session)
        if t.needs_allocation and (t.active or t.id in allocated or any(k[0] == t.id for k in used))
    ]
    result = []
    for leave_type in types:
        given = allocated.get(leave_type.id, ZERO)
        taken = used.get((leave_type.id, "approved"), ZERO)
        pending = used.get((leave_type.id, "submitted"), ZERO)
        result.append(Balance(leave_type, year, given, taken, pending, given - taken - pending))
    return result


def balances(session: Session, employee: Employee, year: Any) -> list[Balance]:
    """For each leave type limited by an allocation: allocated, taken (approved days in ``year``),
    pending (submitted days), remaining. The employee themselves, their manager and HR may ask;
    anyone else gets :class:`NotFound`."""
    if not _may_see_leave_of(session, employee):
        raise NotFound(f"employee {employee.id} not found")
    errors: dict[str, list[str]] = {}
    found = _year(year, "year", errors)
    validation.raise_if(errors, "invalid year")
    assert found is not None
    return _balances(session, employee, found)


def employee_balances(session: Session, employee_id: Any, year: Any) -> list[Balance]:
    """:func:`balances` of an employee by id (:class:`NotFound` when unknown or not the actor's to see)."""
    return balances(session, get_record(session, Employee, employee_id, "employee"), year)


def _employee_ref(session: Session, value: Any, errors: dict[str, list[str]]) -> Employee | None:
    if isinstance(value, Employee):
        return value
    if value in (None, ""):
        errors["employee_id"] = ["is required"]
        return None
    return find_record(session, Employee, value, "employee_id", errors, "employee")


def _leave_type_ref(session: Session, value: Any, errors: dict[str, list[str]]) -> LeaveType | None:
    if isinstance(value, LeaveType):
        return value
    if value in (None, ""):
        errors["leave_type_id"] = ["is required"]
        return None
    return find_record(session, LeaveType, value, "leave_type_id", errors, "leave type")


@require_permission("hr.employee.manage")
def set_allocation(session: Session, employee: Any, leave_type: Any, year: Any, days: Any) -> LeaveAllocation:
    """Set how many days (whole or half) of ``leave_type`` ``employee`` may take in ``year``.

    ``employee`` and ``leave_type`` are records or ids. The type must be one limited by an
    allocation, and the days cannot go below what is already approved or submitted that year.
    """
    errors: dict[str, list[str]] = {}
    found_employee = _employee_ref(session, employee, errors)
    found_type = _leave_type_ref(session, leave_type, errors)
    found_year = _year(year, "year", errors)
    if days in (None, ""):
        errors["days"] = ["is required"]
        amount = ZERO
    else:
        amount = _half_days(days, "days", errors, default=ZERO)
    if found_type is not None and not found_type.needs_allocation:
        errors["leave_type_id"] = [f"{found_type.name} is not limited by an allocation"]
    if not errors and found_employee is not None and found_type is not None and found_year is not None:
        used = _used(session, found_employee.id, found_year)
        booked = used.get((found_type.id, "approved"), ZERO) + used.get((found_type.id, "submitted"), ZERO)
        if amount < booked:
            errors["days"] = [
                f"{_days_text(booked)} days are already approved or requested in {found_year}: "
                f"allocate at least that"
            ]
    validation.raise_if(errors, "invalid allocation")
    assert found_employee is not None and found_type is not None and found_year is not None
    allocation = session.scalar(
        select(LeaveAllocation).where(
            LeaveAllocation.employee_id == found_employee.id,
            LeaveAllocation.leave_type_id == found_type.id,
            LeaveAllocation.year == found_year,
        )
    )
    if allocation is None:
        allocation = LeaveAllocation(
            company_id=company_id_of(session),
            employee_id=found_employee.id,
            leave_type_id=found_type.id,
            year=found_year,
            days=amount,
        )
        session.add(allocation)
    else:
        allocation.days = amount
    session.flush()
    emit(
        session,
        "hr.leave.allocated",
        {
            "employee_id": found_employee.id,
            "leave_type": found_type.code,
            "year": found_year,
            "days": str(amount),
        },
    )
    return allocation


def _employees_during(
    session: Session, first: dt.date, last: dt.date, department_id: int | None = None
) -> Select:
    """Employees employed at some point from ``first`` to ``last``, by name."""
    stmt = (
        select(Employee)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(
            Employee.company_id == company_id_of(session),
            Employee.hire_date <= last,
            or_(Employee.termination_date.is_(None), Employee.termination_date >= first),
        )
        .order_by(Contact.name, Employee.id)
    )
    if department_id is not None:
        found_id = validation.parse_id(department_id)
        stmt = stmt.where(Employee.department_id == found_id if found_id is not None else false())
    return stmt


@require_permission("hr.employee.manage")
def allocate_defaults(session: Session, year: Any) -> int:
    """Give every current employee (hired by the end of ``year``, not terminated) each active
    allocation-limited leave type's ``default_days`` for ``year``, where they have no allocation
    of that type yet. Returns how many allocations were created."""
    errors: dict[str, list[str]] = {}
    found_year = _year(year, "year", errors)
    validation.raise_if(errors, "invalid year")
    assert found_year is not None
    first, last = _year_bounds(found_year)
    people = session.scalars(_employees_during(session, first, last).where(Employee.status != "terminated"))
    types = [t for t in list_leave_types(session, active_only=True) if t.needs_allocation]
    existing = {
        (employee_id, type_id)
        for employee_id, type_id in session.execute(
            select(LeaveAllocation.employee_id, LeaveAllocation.leave_type_id).where(
                LeaveAllocation.company_id == company_id_of(session), LeaveAllocation.year == found_year
            )
        )
    }
    created = 0
    for employee in people:
        for leave_type in types:
            if (employee.id, leave_type.id) not in existing:
                session.add(
                    LeaveAllocation(
                        company_id=company_id_of(session),
                        employee_id=employee.id,
                        leave_type_id=leave_type.id,
                        year=found_year,
                        days=leave_type.default_days,
                    )
                )
                created += 1
    session.flush()
    emit(session, "hr.leave.defaults_allocated", {"year": found_year, "count": created})
    return created


def list_allocations(session: Session, year: Any, employee_id: Any = None) -> list[LeaveAllocation]:
    """Allocations of ``year``: HR staff see everyone's (or ``employee_id``'s); others only their own."""
    errors: dict[str, list[str]] = {}
    found_year = _year(year, "year", errors)
    validation.raise_if(errors, "invalid year")
    stmt = (
        select(LeaveAllocation)
        .join(Employee, Employee.id == LeaveAllocation.employee_id)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(LeaveAllocation.company_id == company_id_of(session), LeaveAllocation.year == found_year)
        .order_by(Contact.name, LeaveAllocation.id)
    )
    if employee_id not in (None, ""):
        employee = get_record(session, Employee, employee_id, "employee")
        if not _may_see_leave_of(session, employee):
            raise NotFound(f"employee {employee_id} not found")
        stmt = stmt.where(LeaveAllocation.employee_id == employee.id)
    elif not can(session, "hr.view"):
        own = my_employee(session)
        stmt = stmt.where(LeaveAllocation.employee_id == (own.id if own is not None else -1))
    return list(session.scalars(stmt))


@dataclass
class AllocationGrid:
    """Employees (rows) by allocation-limited leave types (columns): days, None where unset."""

    year: int
    employees: list[Employee]
    leave_types: list[LeaveType]
    days: dict[tuple[int, int], Decimal]


@require_permission("hr.view")
def allocation_grid(session: Session, year: int) -> AllocationGrid:
    """Everyone employed in ``year`` by each active allocation-limited leave type."""
    first, last = _year_bounds(year)
    employees = list(session.scalars(_employees_during(session, first, last)))
    types = [t for t in list_leave_types(session, active_only=True) if t.needs_allocation]
    rows = session.execute(
        select(LeaveAllocation.employee_id, LeaveAllocation.leave_type_id, LeaveAllocation.days).where(
            LeaveAllocation.company_id == company_id_of(session), LeaveAllocation.year == year
        )
    )
    return AllocationGrid(year, employees, types, {(e, t): d for e, t, d in rows})


# --- who sees and decides a request ---------------------------------------------------------------


def _decide_problem(session: Session, request: LeaveRequest) -> str | None:
    """Why the actor may not approve or refuse ``request``; None when they may."""
    uid = actor_id(session)
    if uid is not None:
        if request.employee.user_id == uid:
            return "you cannot approve or refuse your own leave: your manager or HR decides it"
        if request.requested_by_id == uid:
            return "you made this request: someone else (the manager or HR) must approve or refuse it"
        if _manager_user_id(request.employee) == uid:
            return None
    if can(session, "hr.leave.approve"):
        return None
    return "only the employee's manager or a holder of hr.leave.approve may approve or refuse this request"


def may_decide(session: Session, request: LeaveRequest) -> bool:
    """Whether the actor may approve or refuse ``request`` (whatever its state)."""
    return _decide_problem(session, request) is None


def _may_change(session: Session, request: LeaveRequest) -> bool:
    """The employee, whoever made the request, or HR (``hr.employee.manage``)."""
    uid = actor_id(session)
    own = uid is not None and uid in (request.employee.user_id, request.requested_by_id)
    return own or can(session, "hr.employee.manage")


def _can_see(session: Session, request: LeaveRequest) -> bool:
    if _may_see_leave_of(session, request.employee):
        return True
    uid = actor_id(session)
    return uid is not None and request.requested_by_id == uid


def get_request(session: Session, request_id: Any) -> LeaveRequest:
    """A leave request the actor may see: HR staff and approvers any; others their own, those they
    made and their direct reports'. Anyone else's is :class:`NotFound` (no hint it exists)."""
    request = get_record(session, LeaveRequest, request_id, "leave request")
    if not _can_see(session, request):
        raise NotFound(f"leave request {request_id} not found")
    return request


def available_actions(session: Session, request: LeaveRequest) -> list[str]:
    """What the actor may do with ``request`` now: edit, submit, approve, refuse, cancel."""
    actions: list[str] = []
    change = _may_change(session, request)
    if request.state == "draft" and change:
        actions += ["edit", "submit"]
    if request.state == "submitted" and may_decide(session, request):
        actions += ["approve", "refuse"]
    if change and (
        request.state in ("draft", "submitted")
        or (
            request.state == "approved"
            and (request.start_date > dt.date.today() or can(session, "hr.employee.manage"))
        )
    ):
        actions.append("cancel")
    return actions


# --- requests -------------------------------------------------------------------------------------


def _halves(
    request_start: dt.date, request_end: dt.date, half_start: bool, half_end: bool, day: dt.date
) -> set[str]:
    """Which halves of ``day`` (inside the request) the request takes: {"am", "pm"}."""
    halves = {"am", "pm"}
    if day == request_start and half_start:
        halves.discard("am")
    if day == request_end and half_end:
        halves.discard("pm")
    return halves


def _request_halves(request: LeaveRequest, day: dt.date) -> set[str]:
    return _halves(request.start_date, request.end_date, request.half_day_start, request.half_day_end, day)


def _overlapping(
    session: Session,
    employee_id: int,
    start: dt.date,
    end: dt.date,
    half_start: bool,
    half_end: bool,
    exclude_id: int | None,
) -> LeaveRequest | None:
    stmt = select(LeaveRequest).where(
        LeaveRequest.employee_id == employee_id,
        LeaveRequest.state.in_(ACTIVE_STATES),
        LeaveRequest.start_date <= end,
        LeaveRequest.end_date >= start,
    )
    if exclude_id is not None:
        stmt = stmt.where(LeaveRequest.id != exclude_id)
    for other in session.scalars(stmt.order_by(LeaveRequest.start_date)):
        first, last = max(start, other.start_date), min(end, other.end_date)
        if first < last:
            return other
        # One common day: a morning off and an afternoon off may share it.
        mine = _halves(start, end, half_start, half_end, first)
        theirs = _request_halves(other, first)
        if mine & theirs:
            return other
    return None


@dataclass
class _Checked:
    employee: Employee
    leave_type: LeaveType
    start: dt.date
    end: dt.date
    half_start: bool
    half_end: bool
    reason: str
    by_year: dict[int, Decimal] = field(default_factory=dict)

    @property
    def days(self) -> Decimal:
        return sum(self.by_year.values(), ZERO)


def _check_rules(
    session: Session, checked: _Checked, errors: dict[str, list[str]], *, exclude_id: int | None
) -> None:
    """The rules on a whole request: type offered, period, employment, working days, no overlap."""
    # One employee's requests are checked one at a time (until the transaction ends), so two
    # requests sent at once cannot both take the same days or the last of the balance.
    validation.lock_row(session, checked.employee)
    employee, start, end = checked.employee, checked.start, checked.end
    if not checked.leave_type.active:
        errors["leave_type_id"] = [f"{checked.leave_type.name} is no longer offered"]
    _check_period(start, end, checked.half_start, checked.half_end, errors)
    if errors.keys() & {"end_date", "half_day_end"}:
        return
    if start < employee.hire_date:
        errors["start_date"] = [f"is before {employee.name}'s hire date ({employee.hire_date.isoformat()})"]
    if employee.termination_date is not None and end > employee.termination_date:
        errors["end_date"] = [
            f"is after {employee.name}'s last day of employment ({employee.termination_date.isoformat()})"
        ]
    checked.by_year = _days_by_year(session, start, end, checked.half_start, checked.half_end)
    if checked.days <= 0:
        errors.setdefault(
            "start_date",
            ["there are no working days in this period (weekends and public holidays do not count)"],
        )
        return
    other = _overlapping(session, employee.id, start, end, checked.half_start, checked.half_end, exclude_id)
    if other is not None:
        period = (
            other.start_date.isoformat()
            if other.start_date == other.end_date
            else f"{other.start_date.isoformat()} to {other.end_date.isoformat()}"
        )
        errors.setdefault(
            "start_date",
            [f"overlaps another leave request of {employee.name} ({other.state}, {period}, #{other.id})"],
        )


def _check_balance(
    session: Session, checked: _Checked, errors: dict[str, list[str]], *, exclude_id: int | None
) -> None:
    """For allocation-limited types: each year's days fit in that year's remaining balance."""
    if not checked.leave_type.needs_allocation:
        return
    for year, days in sorted(checked.by_year.items()):
        if days <= 0:
            continue
        balance = next(
            (
                b
                for b in _balances(session, checked.employee, year, exclude_id=exclude_id)
                if b.leave_type.id == checked.leave_type.id
            ),
            None,
        )
        remaining = balance.remaining if balance is not None else ZERO
        if days > remaining:
            errors["days"] = [
                f"{_days_text(days)} days of {checked.leave_type.name} asked in {year}, but only "
                f"{_days_text(max(remaining, ZERO))} remain of the {year} allocation"
            ]
            return


def _read(
    session: Session,
    data: Mapping[str, Any],
    current: LeaveRequest | None,
    employee: Employee | None,
    errors: dict[str, list[str]],
) -> _Checked | None:
    """The request's fields from ``data`` (over ``current`` when editing), parsed."""

    def pick(key: str, default: Any) -> Any:
        return data.get(key, default)

    leave_type = _leave_type_ref(
        session, pick("leave_type_id", current.leave_type_id if current else None), errors
    )
    start = _required_date(pick("start_date", current.start_date if current else None), "start_date", errors)
    end = _required_date(pick("end_date", current.end_date if current else None), "end_date", errors)
    half_start = _flag(
        pick("half_day_start", current.half_day_start if current else False), "half_day_start", errors
    )
    half_end = _flag(pick("half_day_end", current.half_day_end if current else False), "half_day_end", errors)
    reason = validation.parse_text(
        pick("reason", current.reason if current else ""), "reason", errors, limit=2000
    )
    if employee is None or leave_type is None or start is None or end is None:
        return None
    return _Checked(employee, leave_type, start, end, half_start, half_end, reason)


def _requested_employee(session: Session, value: Any, errors: dict[str, list[str]]) -> Employee | None:
    """The employee a new request is for: the actor's own by default; someone else needs
    ``hr.employee.manage``."""
    own = my_employee(session)
    if value in (None, ""):
        if own is None:
            errors["employee_id"] = [
                "you have no employee file: choose the employee (HR) or ask HR to link your user"
            ]
        return own
    wanted = validation.parse_id(value)
    if own is not None and wanted == own.id:
        return own
    if not can(session, "hr.employee.manage"):
        raise PermissionDenied(
            "hr.employee.manage", "only HR (hr.employee.manage) may request leave for someone else"
        )
    return find_record(session, Employee, value, "employee_id", errors, "employee")


def create_request(session: Session, data: Mapping[str, Any]) -> LeaveRequest:
    """Ask for leave: ``leave_type_id``, ``start_date``, ``end_date``, ``half_day_start`` (the first
    day starts at noon), ``half_day_end`` (the last day ends at noon), ``reason``.

    ``employee_id`` defaults to the actor's own employee file; for someone else it needs
    ``hr.employee.manage``. The request is a draft unless ``submit`` is true (then it is submitted
    at once, with the balance check). Bad input raises :class:`ValidationError`; nothing is stored.
    """
    errors: dict[str, list[str]] = {}
    employee = _requested_employee(session, data.get("employee_id"), errors)
    submit = _flag(data.get("submit"), "submit", errors)
    checked = _read(session, data, None, employee, errors)
    if checked is not None:
        _check_rules(session, checked, errors, exclude_id=None)
    validation.raise_if(errors, "invalid leave request")
    assert checked is not None
    request = LeaveRequest(
        company_id=company_id_of(session),
        employee_id=checked.employee.id,
        leave_type_id=checked.leave_type.id,
        start_date=checked.start,
        end_date=checked.end,
        half_day_start=checked.half_start,
        half_day_end=checked.half_end,
        days=checked.days,
        reason=checked.reason,
        state="draft",
        requested_by_id=actor_id(session),
    )
    request.employee = checked.employee
    request.leave_type = checked.leave_type
    session.add(request)
    session.flush()
    emit(session, "hr.leave.created", _payload(request))
    if submit:
        submit_request(session, request)
    return request


def _payload(request: LeaveRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "employee_id": request.employee_id,
        "leave_type": request.leave_type.code,
        "start_date": request.start_date.isoformat(),
        "end_date": request.end_date.isoformat(),
        "days": str(request.days),
        "state": request.state,
    }


def _refuse_state(request: LeaveRequest, allowed: tuple[str, ...], action: str) -> None:
    if request.state not in allowed:
        raise Conflict(
            f"the leave request is {request.state}: it cannot be {action}",
            fields={"state": [f"is {request.state}"]},
        )


def _check_may_change(session: Session, request: LeaveRequest, action: str) -> None:
    if not _may_change(session, request):
        raise PermissionDenied(
            "hr.employee.manage",
            f"only the employee, whoever made the request, or HR (hr.employee.manage) may {action} it",
        )


def update_request(session: Session, request: LeaveRequest, data: Mapping[str, Any]) -> LeaveRequest:
    """Change a draft (the fields of :func:`create_request`, except the employee)."""
    validation.lock_row(session, request)
    _check_may_change(session, request, "change")
    _refuse_state(request, ("draft",), "changed (only drafts can)")
    errors: dict[str, list[str]] = {}
    if "employee_id" in data and validation.parse_id(data["employee_id"]) != request.employee_id:
        errors["employee_id"] = ["cannot change: cancel this request and make one for the other employee"]
    checked = _read(session, data, request, request.employee, errors)
    if checked is not None:
        _check_rules(session, checked, errors, exclude_id=request.id)
    validation.raise_if(errors, "invalid leave request")
    assert checked is not None
    request.leave_type_id, request.leave_type = checked.leave_type.id, checked.leave_type
    request.start_date, request.end_date = checked.start, checked.end
    request.half_day_start, request.half_day_end = checked.half_start, checked.half_end
    request.days, request.reason = checked.days, checked.reason
    session.flush()
    emit(session, "hr.leave.updated", _payload(request))
    return request


def _recheck(session: Session, request: LeaveRequest) -> _Checked:
    """Every rule again on a stored request (holidays, balances or employment may have changed)."""
    errors: dict[str, list[str]] = {}
    checked = _Checked(
        request.employee,
        request.leave_type,
        request.start_date,
        request.end_date,
        request.half_day_start,
        request.half_day_end,
        request.reason,
    )
    _check_rules(session, checked, errors, exclude_id=request.id)
    if not errors:
        _check_balance(session, checked, errors, exclude_id=request.id)
    validation.raise_if(errors, "the leave request cannot go ahead")
    return checked


def _deciders(session: Session, request: LeaveRequest) -> list[int]:
    """Who is asked to decide: the manager's user, else every user holding ``hr.leave.approve``;
    never the employee nor whoever made the request."""
    excluded = {request.employee.user_id, request.requested_by_id} - {None}
    manager_user = _manager_user_id(request.employee)
    if (
        manager_user is not None
        and manager_user not in excluded
        and users.company_user(session, manager_user) is not None
    ):
        return [manager_user]
    return [
        u.id
        for u in users.company_users(session)
        if u.id not in excluded and u.has_permission("hr.leave.approve")
    ]


def _period_text(request: LeaveRequest) -> str:
    start, end = request.start_date.isoformat(), request.end_date.isoformat()
    period = start if start == end else f"{start} to {end}"
    unit = "day" if request.days <= 1 else "days"
    return f"{request.leave_type.name}, {period} ({_days_text(request.days)} {unit})"


def submit_request(session: Session, request: LeaveRequest) -> LeaveRequest:
    """Send a draft for approval: the rules and the balance are checked again, the manager (or the
    approvers) are notified."""
    validation.lock_row(session, request)
    _check_may_change(session, request, "submit")
    _refuse_state(request, ("draft",), "submitted (only drafts can)")
    checked = _recheck(session, request)
    request.days = checked.days
    request.state = "submitted"
    session.flush()
    deciders = _deciders(session, request)
    if deciders:
        notifications.notify(
            session,
            deciders,
            f"Leave to approve: {request.employee.name}",
            body=_period_text(request) + (f"\n{request.reason}" if request.reason else ""),
            url=f"/hr/leave/{request.id}",
            source=SOURCE,
        )
    emit(session, "hr.leave.submitted", _payload(request))
    return request


def _check_decider(session: Session, request: LeaveRequest) -> None:
    problem = _decide_problem(session, request)
    if problem is not None:
        raise PermissionDenied("hr.leave.approve", problem)


def _tell_employee(session: Session, request: LeaveRequest, title: str, body: str) -> None:
    recipients = [uid for uid in (request.employee.user_id, request.requested_by_id) if uid is not None]
    recipients = [uid for uid in dict.fromkeys(recipients) if uid != actor_id(session)]
    if recipients:
        notifications.notify(
            session, recipients, title, body=body, url=f"/hr/leave/{request.id}", source=SOURCE
        )


def approve_request(session: Session, request: LeaveRequest, note: Any = "") -> LeaveRequest:
    """Approve a submitted request (the balance is checked again); the employee is notified."""
    validation.lock_row(session, request)
    _check_decider(session, request)
    _refuse_state(request, ("submitted",), "approved (only submitted requests can)")
    errors: dict[str, list[str]] = {}
    text = validation.parse_text(note, "note", errors, limit=500)
    validation.raise_if(errors, "invalid note")
    checked = _recheck(session, request)
    check_duty(session, "hr.leave.approve", request, label=f"leave request #{request.id}")
    request.days = checked.days
    request.state, request.decided_by_id, request.decided_at = "approved", actor_id(session), utcnow()
    request.decision_note = text
    session.flush()
    _tell_employee(
        session,
        request,
        f"Leave approved: {_period_text(request)}",
        text or "Your leave request was approved.",
    )
    emit(session, "hr.leave.approved", _payload(request))
    return request


def refuse_request(session: Session, request: LeaveRequest, note: Any) -> LeaveRequest:
    """Refuse a submitted request; ``note`` (why) is required and sent to the employee."""
    validation.lock_row(session, request)
    _check_decider(session, request)
    _refuse_state(request, ("submitted",), "refused (only submitted requests can)")
    errors: dict[str, list[str]] = {}
    text = validation.parse_text(note, "note", errors, limit=500, required=True)
    if errors.get("note") == ["is required"]:
        errors["note"] = ["is required: tell the employee why"]
    validation.raise_if(errors, "cannot refuse")
    request.state, request.decided_by_id, request.decided_at = "refused", actor_id(session), utcnow()
    request.decision_note = text
    session.flush()
    _tell_employee(session, request, f"Leave refused: {_period_text(request)}", text)
    emit(session, "hr.leave.refused", _payload(request))
    return request


def cancel_request(session: Session, request: LeaveRequest) -> LeaveRequest:
    """Cancel a draft, a submitted request, or approved leave that has not started (HR,
    ``hr.employee.manage``, may cancel approved leave at any time). The employee, whoever made
    the request, or HR may cancel. The employee and whoever made the request are told (unless they
    cancelled it), and so is whoever had approved it."""
    validation.lock_row(session, request)
    _check_may_change(session, request, "cancel")
    _refuse_state(request, ACTIVE_STATES, "cancelled")
    if (
        request.state == "approved"
        and request.start_date <= dt.date.today()
        and not can(session, "hr.employee.manage")
    ):
        raise Conflict(
            "the leave has started: only HR (hr.employee.manage) can cancel it now",
            fields={"state": ["approved leave that has started"]},
        )
    was = request.state
    request.state = "cancelled"
    session.flush()
    if was != "draft":
        _tell_employee(
            session, request, f"Leave cancelled: {_period_text(request)}", "Your leave request was cancelled."
        )
    told = {request.employee.user_id, request.requested_by_id, actor_id(session)}
    if was == "approved" and request.decided_by_id is not None and request.decided_by_id not in told:
        notifications.notify(
            session,
            request.decided_by_id,
            f"Leave cancelled: {request.employee.name}",
            body=_period_text(request),
            url=f"/hr/leave/{request.id}",
            source=SOURCE,
        )
    emit(session, "hr.leave.cancelled", {**_payload(request), "was": was})
    return request


# --- lists ----------------------------------------------------------------------------------------


def requests_query(
    session: Session,
    *,
    employee_id: int | None = None,
    state: str | None = None,
    year: int | None = None,
    mine: bool = False,
    to_approve: bool = False,
) -> Select:
    """Leave requests the actor may see, filtered. ``mine``: the actor's own leave; ``to_approve``:
    submitted requests the actor may decide."""
    employee = aliased(Employee)
    manager = aliased(Employee)
    uid = actor_id(session)
    stmt = (
        select(LeaveRequest)
        .join(employee, employee.id == LeaveRequest.employee_id)
        .outerjoin(manager, manager.id == employee.manager_id)
        .where(LeaveRequest.company_id == company_id_of(session))
    )
    sees_all = can(session, "hr.view") or can(session, "hr.leave.approve")
    if not sees_all:
        stmt = stmt.where(
            or_(employee.user_id == uid, LeaveRequest.requested_by_id == uid, manager.user_id == uid)
            if uid is not None
            else LeaveRequest.id.is_(None)
        )
    if employee_id is not None:
        found_id = validation.parse_id(employee_id)
        stmt = stmt.where(LeaveRequest.employee_id == found_id if found_id is not None else false())
    if state:
        if state not in LEAVE_STATES:
            raise ValidationError(
                "invalid filter", fields={"state": [f"must be one of {', '.join(LEAVE_STATES)}"]}
            )
        stmt = stmt.where(LeaveRequest.state == state)
    if year is not None:
        first, last = _year_bounds(year)
        stmt = stmt.where(LeaveRequest.start_date <= last, LeaveRequest.end_date >= first)
    if mine:
        stmt = (
            stmt.where(employee.user_id == uid) if uid is not None else stmt.where(LeaveRequest.id.is_(None))
        )
    if to_approve:
        stmt = stmt.where(LeaveRequest.state == "submitted")
        if uid is not None:
            stmt = stmt.where(
                or_(employee.user_id.is_(None), employee.user_id != uid),
                or_(LeaveRequest.requested_by_id.is_(None), LeaveRequest.requested_by_id != uid),
            )
            if not can(session, "hr.leave.approve"):
                stmt = stmt.where(manager.user_id == uid)
    return stmt


def list_requests(
    session: Session,
    *,
    sort: str = "start_date",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    """One page of the requests the actor may see (filters of :func:`requests_query`)."""
    if sort not in LEAVE_SORTS:
        raise ValidationError("invalid sort", fields={"sort": [f"must be one of {', '.join(LEAVE_SORTS)}"]})
    return keyset_page(
        session,
        requests_query(session, **filters),
        column=LEAVE_SORTS[sort],
        id_column=LeaveRequest.id,
        descending=descending,
        after=after,
        limit=limit,
    )


def requests_to_approve(session: Session) -> list[LeaveRequest]:
    """Submitted requests the actor may approve or refuse, soonest first."""
    stmt = requests_query(session, to_approve=True).order_by(LeaveRequest.start_date, LeaveRequest.id)
    return list(session.scalars(stmt.limit(500)))


def count_to_approve(session: Session) -> int:
    stmt = requests_query(session, to_approve=True).with_only_columns(func.count(LeaveRequest.id))
    return session.scalar(stmt) or 0


def my_requests(session: Session) -> list[LeaveRequest]:
    """The actor's own leave requests (through their employee file), latest first."""
    stmt = requests_query(session, mine=True).order_by(LeaveRequest.start_date.desc(), LeaveRequest.id.desc())
    return list(session.scalars(stmt.limit(500)))


@require_permission("hr.view")
def on_leave(session: Session, day: dt.date) -> list[LeaveRequest]:
    """Approved leave covering ``day``, by employee name."""
    stmt = (
        select(LeaveRequest)
        .join(Employee, Employee.id == LeaveRequest.employee_id)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(
            LeaveRequest.company_id == company_id_of(session),
            LeaveRequest.state == "approved",
            LeaveRequest.start_date <= day,
            LeaveRequest.end_date >= day,
        )
        .order_by(Contact.name, LeaveRequest.id)
    )
    return list(session.scalars(stmt))


def employee_choices(session: Session) -> list[Employee]:
    """Current (not terminated) employees by name, for HR's selects."""
    stmt = (
        select(Employee)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(Employee.company_id == company_id_of(session), Employee.status != "terminated")
        .order_by(Contact.name, Employee.id)
    )
    return list(session.scalars(stmt))


def department_choices(session: Session) -> list[Department]:
    """Active departments by name, for the team calendar's filter."""
    stmt = (
        select(Department)
        .where(Department.company_id == company_id_of(session), Department.active.is_(True))
        .order_by(Department.name)
    )
    return list(session.scalars(stmt))


# --- team calendar --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    weekend: bool
    holiday: str | None

    @property
    def working(self) -> bool:
        return not self.weekend and self.holiday is None


@dataclass(frozen=True)
class CalendarCell:
    """One employee's day: ``state`` approved/submitted when on leave (working days only)."""

    day: CalendarDay
    request: LeaveRequest | None = None
    half: str | None = None  # "am" or "pm" when only half the day is off

    @property
    def state(self) -> str | None:
        return self.request.state if self.request is not None else None


@dataclass
class CalendarRow:
    employee: Employee
    cells: list[CalendarCell]


@dataclass
class TeamCalendar:
    year: int
    month: int
    department_id: int | None
    days: list[CalendarDay]
    rows: list[CalendarRow]
    previous: tuple[int, int] | None
    next: tuple[int, int] | None

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)


@require_permission("hr.view")
def team_calendar(session: Session, year: Any, month: Any, department_id: int | None = None) -> TeamCalendar:
    """A month grid: one row per employee employed that month (of ``department_id``), a cell per day
    marking approved and submitted leave on working days; weekends and holidays flagged."""
    errors: dict[str, list[str]] = {}
    found_year = _year(year, "year", errors)
    found_month = validation.parse_id(month)
    if found_month is None or not 1 <= found_month <= 12:
        errors["month"] = ["must be a month from 1 to 12"]
    validation.raise_if(errors, "invalid month")
    assert found_year is not None and found_month is not None
    first = dt.date(found_year, found_month, 1)
    last = dt.date(found_year, found_month, calendar.monthrange(found_year, found_month)[1])
    holidays = _holidays_between(session, first, last)
    dates = [first + dt.timedelta(days=i) for i in range(last.day)]
    days = [CalendarDay(d, d.weekday() >= 5, holidays.get(d)) for d in dates]
    employees = list(session.scalars(_employees_during(session, first, last, department_id)))
    requests = session.scalars(
        select(LeaveRequest)
        .where(
            LeaveRequest.company_id == company_id_of(session),
            LeaveRequest.state.in_(COUNTED_STATES),
            LeaveRequest.start_date <= last,
            LeaveRequest.end_date >= first,
            LeaveRequest.employee_id.in_([e.id for e in employees] or [-1]),
        )
        .order_by(LeaveRequest.start_date)
    )
    by_employee: dict[int, list[LeaveRequest]] = {}
    for request in requests:
        by_employee.setdefault(request.employee_id, []).append(request)
    rows = []
    for employee in employees:
        cells = []
        for day in days:
            found: LeaveRequest | None = None
            half: str | None = None
            if day.working:
                for request in by_employee.get(employee.id, []):
                    if request.start_date <= day.date <= request.end_date and (
                        found is None or request.state == "approved"
                    ):
                        halves = _request_halves(request, day.date)
                        found, half = request, (None if len(halves) == 2 else next(iter(halves)))
            cells.append(CalendarCell(day, found, half))
        rows.append(CalendarRow(employee, cells))
    previous = (found_year, found_month - 1) if found_month > 1 else (found_year - 1, 12)
    following = (found_year, found_month + 1) if found_month < 12 else (found_year + 1, 1)
    return TeamCalendar(
        found_year,
        found_month,
        department_id,
        days,
        rows,
        previous if previous[0] >= FIRST_YEAR else None,
        following if following[0] <= LAST_YEAR else None,
    )


__all__ = [
    "AllocationGrid",
    "Balance",
    "LEAVE_SORTS",
    "TeamCalendar",
    "add_holiday",
    "allocate_defaults",
    "allocation_grid",
    "approve_request",
    "available_actions",
    "balances",
    "cancel_request",
    "count_to_approve",
    "create_leave_type",
    "create_request",
    "deactivate_leave_type",
    "delete_holiday",
    "employee_balances",
    "department_choices",
    "employee_choices",
    "get_holiday",
    "get_leave_type",
    "get_request",
    "import_holidays",
    "list_allocations",
    "list_holidays",
    "list_leave_types",
    "list_requests",
    "may_decide",
    "my_requests",
    "on_leave",
    "refuse_request",
    "requests_query",
    "requests_to_approve",
    "set_allocation",
    "submit_request",
    "team_calendar",
    "update_leave_type",
    "update_request",
    "working_days",
]
