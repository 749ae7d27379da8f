"""Payroll's API shapes: runs, payslips and their lines, adjustments, payroll items and settings.

Types only; the rules (one regular run a month, percentages from 0 to 100, account codes, who
may see a payslip) are the services', reported as the same field errors. Amounts and rates
travel as decimal strings.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from core.plugin_api import Amount, ListQuery, Strict

from ..models import PAYROLL_ITEM_KINDS, PAYROLL_ITEM_METHODS, PAYROLL_RUN_KINDS, PAYROLL_RUN_STATES

MAX_ID = 2**62


def Id(**kwargs: Any) -> fields.Integer:
    """A row id: a positive integer (a JSON number) any database can hold."""
    return fields.Integer(strict=True, validate=validate.Range(1, MAX_ID), **kwargs)


def described(field: fields.Field, metadata: dict[str, Any]) -> fields.Field:
    """``field`` with more OpenAPI metadata (a description)."""
    field.metadata = {**field.metadata, **metadata}
    return field


def Rate(**kwargs: Any) -> fields.Decimal:
    """A percentage as a decimal string with up to 4 decimals ("20", "2.5125")."""
    metadata = {"type": "string", "format": "decimal", "example": "20.00", **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


# --- runs -----------------------------------------------------------------------------------------


class PayrollRunCreateSchema(Strict):
    """A run to compute: ``regular`` (every employee with a contract in the month; one per month) or
    ``correction`` (for ``employee_ids``, once the month's regular run is confirmed)."""

    month = fields.String(
        required=True,
        validate=validate.Length(max=7),
        metadata={"description": "YYYY-MM", "example": "2026-11"},
    )
    kind = fields.String(load_default="regular", validate=validate.OneOf(PAYROLL_RUN_KINDS))
    payment_date = fields.Date(
        load_default=None, allow_none=True, metadata={"description": "the entry's date; the month's last day"}
    )
    employee_ids = fields.List(
        Id(),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=10_000),
        metadata={"description": "a correction run's employees"},
    )


class PayrollRunSchema(Strict):
    id = fields.Integer()
    period = fields.String(metadata={"description": "YYYY-MM"})
    year = fields.Integer()
    month = fields.Integer()
    kind = fields.String(metadata={"description": ", ".join(PAYROLL_RUN_KINDS)})
    state = fields.String(metadata={"description": ", ".join(PAYROLL_RUN_STATES)})
    payment_date = fields.Date()
    employee_count = fields.Integer()
    total_gross = Amount()
    total_deductions = Amount()
    total_contributions = described(Amount(), {"description": "the employer's cost on top of gross"})
    total_net = Amount()
    entry_id = fields.Integer(allow_none=True, metadata={"description": "the ledger entry, once confirmed"})
    entry_number = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class PayrollRunQuery(ListQuery):
    year = fields.Integer(load_default=None, validate=validate.Range(1900, 9899))


class PayrollRunPage(Strict):
    items = fields.List(fields.Nested(PayrollRunSchema))
    next_cursor = fields.String(allow_none=True)


# --- payslips -------------------------------------------------------------------------------------


class PayslipLineSchema(Strict):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "basic, adjustment, deduction, contribution"})
    code = fields.String()
    name = fields.String()
    rate = Rate(allow_none=True, metadata={"description": "percent, for a percentage item"})
    amount = Amount()
    account = fields.String(metadata={"description": "the payable account of a deduction or contribution"})


class PayslipSummarySchema(Strict):
    id = fields.Integer()
    run_id = fields.Integer()
    period = fields.String()
    run_kind = fields.String()
    run_state = fields.String()
    payment_date = fields.Date()
    employee_id = fields.Integer()
    employee_number = fields.String()
    employee_name = fields.String()
    contract_id = fields.Integer(allow_none=True)
    gross = Amount()
    total_deductions = Amount()
    total_contributions = Amount()
    net = Amount()


class PayslipSchema(PayslipSummarySchema):
    lines = fields.List(fields.Nested(PayslipLineSchema))


class PayslipPage(Strict):
    items = fields.List(fields.Nested(PayslipSummarySchema))
    next_cursor = fields.String(allow_none=True)


class PayslipPageQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))


class AdjustmentCreateSchema(Strict):
    """A bonus (positive) or a reduction of gross (negative) on a draft payslip."""

    name = fields.String(required=True, validate=validate.Length(max=200))
    amount = Amount(required=True)


# --- items and settings ---------------------------------------------------------------------------


class PayrollItemPatchSchema(Strict):
    """A payroll item's fields, each optional."""

    code = fields.String(validate=validate.Length(max=20))
    name = fields.String(validate=validate.Length(max=100))
    kind = fields.String(validate=validate.OneOf(PAYROLL_ITEM_KINDS))
    method = fields.String(validate=validate.OneOf(PAYROLL_ITEM_METHODS))
    rate = Rate(metadata={"description": "percent of gross, 0 to 100, up to 4 decimals (method percent)"})
    amount = described(Amount(), {"description": "a fixed amount, not negative (method fixed)"})
    payable_account = fields.String(
        validate=validate.Length(max=20), metadata={"description": "the account code it is owed to"}
    )
    sequence = fields.Integer(strict=True, validate=validate.Range(0, 10_000))
    active = fields.Boolean()


class PayrollItemCreateSchema(PayrollItemPatchSchema):
    code = fields.String(required=True, validate=validate.Length(max=20))
    name = fields.String(required=True, validate=validate.Length(max=100))
    payable_account = fields.String(required=True, validate=validate.Length(max=20))


class PayrollItemSchema(Strict):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    method = fields.String()
    rate = Rate()
    amount = Amount()
    payable_account = fields.String()
    sequence = fields.Integer()
    active = fields.Boolean()


class PayrollItemPage(Strict):
    items = fields.List(fields.Nested(PayrollItemSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every item"})


class PayrollSettingsPatchSchema(Strict):
    """Account codes are created (as expense or liability accounts) when a run is confirmed."""

    journal_code = fields.String(validate=validate.Length(max=20))
    salary_expense_account = fields.String(validate=validate.Length(max=20))
    contribution_expense_account = fields.String(validate=validate.Length(max=20))
    net_payable_account = fields.String(validate=validate.Length(max=20))


class PayrollSettingsSchema(Strict):
    journal_code = fields.String()
    salary_expense_account = fields.String()
    contribution_expense_account = fields.String()
    net_payable_account = fields.String()
