"""Marshmallow schemas of HR's leave API: shapes and types only; the rules are in ``services.leave``.

Bodies refuse unknown fields and NUL characters (:class:`Strict`); days travel as decimal strings
("2.5"); ids are JSON numbers a database can hold. Business rules (half days, balances, overlaps,
who decides) come back from the services as field errors, 403, 404 or 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields, validate

from core.plugin_api import Amount, ListQuery, Strict

from ..models import LEAVE_STATES

MAX_ID = 2**62
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)


class AsciiInteger(fields.Integer):
    """An integer whose text form (a query string's) is ASCII digits only."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def Id(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """A row id: a positive integer any database can hold (``strict``: a JSON number, not text)."""
    return AsciiInteger(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def Day(**kwargs: Any) -> fields.Date:
    """An ISO date (YYYY-MM-DD) between 1900 and 9899."""
    return fields.Date(validate=validate.Range(FIRST_DAY, LAST_DAY), **kwargs)


def Year(*, metadata: dict[str, Any] | None = None, **kwargs: Any) -> fields.Integer:
    """A calendar year from 1900 to 9899."""
    return AsciiInteger(
        validate=validate.Range(1900, 9899), metadata={"example": 2030, **(metadata or {})}, **kwargs
    )


def Days(*, metadata: dict[str, Any] | None = None, **kwargs: Any) -> fields.Decimal:
    """Days (in half days) sent back as a string with one decimal: "2.5", "5.0"."""
    field = Amount(places=1, **kwargs)
    field.metadata = {**field.metadata, "example": "2.5", **(metadata or {})}
    return field


def DaysInput(*, metadata: dict[str, Any] | None = None, **kwargs: Any) -> fields.Decimal:
    """Days received as a decimal string, whole or half ("12", "12.5"); never rounded here, so a
    quarter day is refused by the service with a field message."""
    field = Amount(**kwargs)
    field.metadata = {**field.metadata, "example": "12.5", **(metadata or {})}
    return field


def Text(limit: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), **kwargs)


# --- leave types ----------------------------------------------------------------------------------


class LeaveTypeSchema(Strict):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    needs_allocation = fields.Boolean(metadata={"description": "limited by a yearly allocation"})
    paid = fields.Boolean()
    default_days = Days(metadata={"description": "what allocating the defaults gives each employee"})
    color = fields.String(metadata={"example": "#2563eb"})
    active = fields.Boolean()


class LeaveTypePatchSchema(Strict):
    """A leave type's fields, each optional; ``active: false`` stops new requests of the type."""

    code = Text(20, metadata={"description": "unique; letters, digits, - and _ (stored upper case)"})
    name = Text(100)
    needs_allocation = fields.Boolean()
    paid = fields.Boolean()
    default_days = DaysInput()
    color = Text(7, metadata={"example": "#2563eb"})
    active = fields.Boolean()


class LeaveTypeCreateSchema(LeaveTypePatchSchema):
    code = Text(20, required=True, metadata={"description": "unique; letters, digits, - and _"})
    name = Text(100, required=True)


class LeaveTypeQuery(Strict):
    active = fields.Boolean(load_default=None, metadata={"description": "true: only the types offered"})


class LeaveTypePage(Strict):
    items = fields.List(fields.Nested(LeaveTypeSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every type"})


# --- holidays -------------------------------------------------------------------------------------


class HolidaySchema(Strict):
    id = fields.Integer(dump_only=True)
    date = Day(required=True)
    name = Text(100, required=True)


class HolidayQuery(Strict):
    year = Year(load_default=None, metadata={"description": "this year by default"})


class HolidayPage(Strict):
    items = fields.List(fields.Nested(HolidaySchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: the whole year"})


class HolidayImportRequest(Strict):
    csv = fields.String(
        required=True,
        validate=validate.Length(max=200_000),
        metadata={"description": "rows date,name (a first row date,name is a header)"},
    )


# --- allocations ----------------------------------------------------------------------------------


class AllocationSchema(Strict):
    id = fields.Integer()
    employee_id = fields.Integer()
    employee_name = fields.String()
    leave_type_id = fields.Integer()
    leave_type_code = fields.String()
    year = fields.Integer()
    days = Days()


class AllocationSetRequest(Strict):
    """Set (create or replace) an employee's days of a leave type for a year."""

    employee_id = Id(required=True)
    leave_type_id = Id(required=True)
    year = Year(strict=True, required=True)
    days = DaysInput(required=True)


class AllocationQuery(Strict):
    year = Year(load_default=None, metadata={"description": "this year by default"})
    employee_id = Id(strict=False, load_default=None)


class AllocationPage(Strict):
    items = fields.List(fields.Nested(AllocationSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: the whole year"})


class AllocateDefaultsRequest(Strict):
    year = Year(strict=True, required=True)


class AllocateDefaultsResult(Strict):
    year = fields.Integer()
    created = fields.Integer(metadata={"description": "allocations created"})


# --- balances and working days --------------------------------------------------------------------


class BalanceSchema(Strict):
    leave_type_id = fields.Integer()
    leave_type_code = fields.String()
    leave_type_name = fields.String()
    year = fields.Integer()
    allocated = Days()
    taken = Days(metadata={"description": "approved days in the year"})
    pending = Days(metadata={"description": "submitted days in the year"})
    remaining = Days(metadata={"description": "allocated - taken - pending"})


class BalanceQuery(Strict):
    year = Year(load_default=None, metadata={"description": "this year by default"})


class BalancePage(Strict):
    items = fields.List(fields.Nested(BalanceSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null"})


class WorkingDaysQuery(Strict):
    start = Day(required=True)
    end = Day(required=True)
    half_day_start = fields.Boolean(
        load_default=False, metadata={"description": "the first day starts at noon"}
    )
    half_day_end = fields.Boolean(load_default=False, metadata={"description": "the last day ends at noon"})


class WorkingDaysSchema(Strict):
    start = fields.Date()
    end = fields.Date()
    half_day_start = fields.Boolean()
    half_day_end = fields.Boolean()
    days = Days(metadata={"description": "Monday to Friday, minus public holidays and half days"})


# --- leave requests -------------------------------------------------------------------------------


class LeaveRequestPatchSchema(Strict):
    """A draft's fields, each optional."""

    leave_type_id = Id()
    start_date = Day()
    end_date = Day()
    half_day_start = fields.Boolean(metadata={"description": "the first day starts at noon"})
    half_day_end = fields.Boolean(metadata={"description": "the last day ends at noon"})
    reason = Text(2000)


class LeaveRequestCreateSchema(LeaveRequestPatchSchema):
    employee_id = Id(
        allow_none=True,
        metadata={
            "description": "the caller's own employee by default; someone else needs hr.employee.manage"
        },
    )
    leave_type_id = Id(required=True)
    start_date = Day(required=True)
    end_date = Day(required=True)
    submit = fields.Boolean(load_default=False, metadata={"description": "submit at once (else a draft)"})


class LeaveRequestSchema(Strict):
    id = fields.Integer()
    employee_id = fields.Integer()
    employee_name = fields.String()
    leave_type_id = fields.Integer()
    leave_type_code = fields.String()
    leave_type_name = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    half_day_start = fields.Boolean()
    half_day_end = fields.Boolean()
    days = Days()
    reason = fields.String()
    state = fields.String(metadata={"description": ", ".join(LEAVE_STATES)})
    requested_by_id = fields.Integer(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String()
    actions = fields.List(
        fields.String(),
        metadata={"description": "what the caller may do now: edit, submit, approve, refuse, cancel"},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class LeaveRequestQuery(ListQuery):
    employee_id = Id(strict=False, load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(LEAVE_STATES))
    year = Year(load_default=None, metadata={"description": "requests overlapping this year"})
    mine = fields.Boolean(load_default=False, metadata={"description": "only the caller's own leave"})
    to_approve = fields.Boolean(
        load_default=False, metadata={"description": "only submitted requests the caller may decide"}
    )


class LeaveRequestPage(Strict):
    items = fields.List(fields.Nested(LeaveRequestSchema))
    next_cursor = fields.String(allow_none=True)


class DecisionRequest(Strict):
    note = Text(500, load_default="", metadata={"description": "to the employee; required to refuse"})


class EmptyRequest(Strict):
    """No fields."""
