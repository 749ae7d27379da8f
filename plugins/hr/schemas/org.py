"""Schemas of the organisation's API: employees, contracts, departments, positions, the org chart.

Shapes and types only: the rules (a wage above zero, contracts that do not overlap, a manager who
is an employee of the company, a department tree without loops) are the services', and come back
as the same field errors. Bodies refuse unknown fields (:class:`Strict`); amounts are decimal
strings (:class:`Amount`); ids are JSON numbers a database can hold.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields, validate

from core.plugin_api import Amount, ListQuery, Strict

from ..models import CONTRACT_KINDS, EMPLOYEE_STATUSES, WAGE_PERIODS

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


def Text(limit: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), **kwargs)


def described(field: fields.Field, metadata: dict[str, Any]) -> fields.Field:
    field.metadata = {**field.metadata, **metadata}
    return field


# --- employees ------------------------------------------------------------------------------------


class EmployeePatchSchema(Strict):
    """The HR file's fields, each optional (``null`` clears a link). The person's name, email and
    phone live on their contact (``PATCH /api/v1/contacts/{id}``)."""

    hire_date = Day()
    department_id = Id(allow_none=True)
    position_id = Id(allow_none=True)
    manager_id = Id(allow_none=True, metadata={"description": "an employee id; no loops"})
    user_id = Id(allow_none=True, metadata={"description": "the login of the employee (self-service)"})
    job_title = Text(100)
    emergency_name = Text(200)
    emergency_phone = Text(50)
    notes = Text(10_000)
    status = fields.String(
        validate=validate.OneOf(("active", "on_leave")),
        metadata={"description": "active or on_leave; terminate to end the employment"},
    )


class EmployeeCreateSchema(EmployeePatchSchema):
    """Hire a new person (``name``, ``email``, ``phone``) or an existing person contact (``contact_id``)."""

    contact_id = Id(allow_none=True, metadata={"description": "an existing person contact"})
    name = Text(200, metadata={"description": "the new person's name (without contact_id)"})
    email = Text(254, allow_none=True)
    phone = Text(50, allow_none=True)
    number = Text(30, metadata={"description": "EMP-00001... by default"})
    hire_date = Day(required=True)


class EmployeeSchema(Strict):
    id = fields.Integer()
    number = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    contact_id = fields.Integer()
    user_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True)
    department = fields.String(allow_none=True, metadata={"description": "the department's name"})
    position_id = fields.Integer(allow_none=True)
    position = fields.String(allow_none=True, metadata={"description": "the position's name"})
    manager_id = fields.Integer(allow_none=True)
    manager_name = fields.String(allow_none=True)
    job_title = fields.String()
    hire_date = fields.Date()
    termination_date = fields.Date(allow_none=True)
    status = fields.String(metadata={"description": ", ".join(EMPLOYEE_STATUSES)})
    emergency_name = fields.String()
    emergency_phone = fields.String()
    notes = fields.String(allow_none=True, metadata={"description": "null unless the caller holds hr.view"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EmployeeQuery(ListQuery):
    """``q`` matches the name, number and job title; ``status`` ``current`` leaves out those who left."""

    department_id = Id(load_default=None, strict=False)
    status = fields.String(load_default=None, validate=validate.OneOf((*EMPLOYEE_STATUSES, "current")))


class EmployeePage(Strict):
    items = fields.List(fields.Nested(EmployeeSchema))
    next_cursor = fields.String(allow_none=True)


class TerminateRequest(Strict):
    date = Day(required=True, metadata={"description": "the last day of the employment"})
    reason = Text(500, load_default="")


# --- contracts ------------------------------------------------------------------------------------


class ContractPatchSchema(Strict):
    """A contract's fields, each optional; the result must keep every rule of a new contract."""

    kind = fields.String(validate=validate.OneOf(CONTRACT_KINDS))
    start_date = Day()
    end_date = Day(allow_none=True, metadata={"description": "null: open-ended"})
    wage = described(Amount(), {"description": "greater than zero", "example": "4200.00"})
    wage_period = fields.String(validate=validate.OneOf(WAGE_PERIODS))
    hours_per_week = described(Amount(), {"description": "more than 0, at most 168", "example": "40"})
    notes = Text(10_000)


class ContractCreateSchema(ContractPatchSchema):
    kind = fields.String(validate=validate.OneOf(CONTRACT_KINDS), load_default="permanent")
    start_date = Day(required=True, metadata={"description": "not before the hire date"})
    wage = described(Amount(required=True), {"description": "greater than zero", "example": "4200.00"})


class ContractSchema(Strict):
    id = fields.Integer()
    employee_id = fields.Integer()
    employee_name = fields.String()
    kind = fields.String(metadata={"description": ", ".join(CONTRACT_KINDS)})
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True, metadata={"description": "null: open-ended"})
    wage = described(
        Amount(allow_none=True),
        {"description": "null unless the caller holds hr.payroll.view or is the employee"},
    )
    wage_period = fields.String(
        allow_none=True, metadata={"description": "month or hour; null with the wage"}
    )
    hours_per_week = Amount()
    notes = fields.String()
    running = fields.Boolean(metadata={"description": "the contract runs today"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ContractPage(Strict):
    items = fields.List(fields.Nested(ContractSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every contract"})


# --- departments and positions --------------------------------------------------------------------


class DepartmentPatchSchema(Strict):
    """``active`` false retires a department (409 while people or active sub-departments are in it)."""

    name = Text(100)
    parent_id = Id(allow_none=True, metadata={"description": "a department; never one below this one"})
    manager_id = Id(allow_none=True, metadata={"description": "an employee id"})
    active = fields.Boolean()


class DepartmentCreateSchema(Strict):
    name = Text(100, required=True)
    parent_id = Id(allow_none=True)
    manager_id = Id(allow_none=True, metadata={"description": "an employee id"})


class DepartmentSchema(Strict):
    id = fields.Integer()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    parent = fields.String(allow_none=True, metadata={"description": "the parent's name"})
    manager_id = fields.Integer(allow_none=True)
    manager_name = fields.String(allow_none=True)
    active = fields.Boolean()
    headcount = fields.Integer(metadata={"description": "current employees of this department"})


class DepartmentQuery(Strict):
    include_inactive = fields.Boolean(load_default=False)


class DepartmentPage(Strict):
    items = fields.List(fields.Nested(DepartmentSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every department"})


class PositionPatchSchema(Strict):
    name = Text(100)
    department_id = Id(allow_none=True)
    description = Text(10_000)


class PositionCreateSchema(PositionPatchSchema):
    name = Text(100, required=True)


class PositionSchema(Strict):
    id = fields.Integer()
    name = fields.String()
    department_id = fields.Integer(allow_none=True)
    department = fields.String(allow_none=True)
    description = fields.String()
    headcount = fields.Integer(metadata={"description": "current employees holding it"})


class PositionPage(Strict):
    items = fields.List(fields.Nested(PositionSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every position"})


# --- the org chart --------------------------------------------------------------------------------


class OrgNodeSchema(Strict):
    id = fields.Integer(metadata={"description": "the employee's id"})
    number = fields.String()
    name = fields.String()
    job_title = fields.String()
    position = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    reports = fields.List(fields.Nested(lambda: OrgNodeSchema()), metadata={"description": "the same shape"})


class OrgChartQuery(Strict):
    department_id = Id(load_default=None, strict=False)


class OrgChartSchema(Strict):
    items = fields.List(fields.Nested(OrgNodeSchema), metadata={"description": "the roots: nobody above"})
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null"})
