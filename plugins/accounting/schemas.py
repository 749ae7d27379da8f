"""Marshmallow schemas of accounting's REST API: shapes and types only; the rules are in ``services``.

Bodies refuse unknown fields and NUL characters (:class:`Strict`), amounts travel
as decimal strings (:class:`Amount`), and read-only fields are ``dump_only`` so
that sending them is an error too. Dates are bounded so that date arithmetic
(due dates, previous periods, ageing) can never overflow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate

from core.plugin_api import Amount, ListQuery, Strict

from .models import CUSTOMER_KINDS, INVOICE_STATES, TAX_SCOPES, VENDOR_KINDS

MAX_ID = 2**62
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)


def Id(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """A row id: a positive integer any database can hold (``strict``: a JSON number, not text)."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def Day(**kwargs: Any) -> fields.Date:
    """An ISO date (YYYY-MM-DD) between 1900 and 9899."""
    return fields.Date(validate=validate.Range(FIRST_DAY, LAST_DAY), **kwargs)


def Text(limit: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), **kwargs)


def described(field: fields.Field, metadata: dict[str, Any]) -> fields.Field:
    """``field`` with more OpenAPI metadata (a description, an example)."""
    field.metadata = {**field.metadata, **metadata}
    return field


class CodeOrId(fields.Field):
    """A reference by code (text) or by id (integer), e.g. a bank journal: ``"BNK"`` or ``3``."""

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        one_of = {"oneOf": [{"type": "string", "maxLength": 50}, {"type": "integer", "minimum": 1}]}
        super().__init__(metadata={**one_of, **(metadata or {})}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SchemaError("must be a code (text) or an id (integer)")
        if isinstance(value, str) and not 0 < len(value) <= 50:
            raise SchemaError("must be 1 to 50 characters")
        if isinstance(value, int) and not 0 < value < MAX_ID:
            raise SchemaError("no such id")
        return value


# --- chart of accounts ----------------------------------------------------------------------------


class ChartAccountSchema(Strict):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    type = fields.String()
    parent = fields.String(allow_none=True, metadata={"description": "the parent account's code"})
    active = fields.Boolean()
    balance = described(Amount(), {"description": "debit minus credit over posted entries"})
    depth = fields.Integer(metadata={"description": "0 for a top-level account"})
    has_postings = fields.Boolean()
    deletable = fields.Boolean(metadata={"description": "no postings, sub-accounts or references"})


class ChartSchema(Strict):
    items = fields.List(fields.Nested(ChartAccountSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: the whole chart"})


# --- taxes ----------------------------------------------------------------------------------------


class TaxSchema(Strict):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    rate = described(Amount(required=True), {"description": 'percent, e.g. "20"', "example": "20.00"})
    price_include = fields.Boolean(load_default=False)
    scope = fields.String(load_default="sale", validate=validate.OneOf(TAX_SCOPES))
    account = fields.String(required=True, validate=validate.Length(min=1, max=20))
    active = fields.Boolean(load_default=True)


class TaxPatchSchema(Strict):
    name = fields.String(validate=validate.Length(min=1, max=100))
    rate = Amount()
    price_include = fields.Boolean()
    scope = fields.String(validate=validate.OneOf(TAX_SCOPES))
    account = fields.String(validate=validate.Length(min=1, max=20))
    active = fields.Boolean()


class TaxQuery(ListQuery):
    scope = fields.String(load_default=None, validate=validate.OneOf(TAX_SCOPES))
    active = fields.Boolean(load_default=None)


class TaxPage(Strict):
    items = fields.List(fields.Nested(TaxSchema))
    next_cursor = fields.String(allow_none=True)


# --- invoices and bills ---------------------------------------------------------------------------


class InvoiceLineSchema(Strict):
    id = fields.Integer(dump_only=True)
    description = fields.String(required=True, validate=validate.Length(max=500))
    quantity = described(Amount(load_default="1"), {"example": "2"})
    unit_price = Amount(required=True)
    tax = Id(allow_none=True, metadata={"description": "a tax id (null: no tax)"})
    tax_name = fields.String(dump_only=True, allow_none=True)
    account = fields.String(
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "an account code; the default income or expense account otherwise"},
    )
    subtotal = described(Amount(dump_only=True), {"description": "untaxed"})
    tax_amount = Amount(dump_only=True)
    total = Amount(dump_only=True)


class InvoicePatchSchema(Strict):
    """A draft's fields, each optional; ``lines``, when given, replace every line."""

    contact_id = Id()
    date = Day()
    due_date = Day(allow_none=True)
    payment_term_id = Id(allow_none=True)
    reference = Text(100)
    notes = Text(5000)
    lines = fields.List(fields.Nested(InvoiceLineSchema), validate=validate.Length(max=500))


class InvoiceCreateSchema(InvoicePatchSchema):
    """A new draft; ``"post": true`` posts it at once (needs ``accounting.invoice.post``)."""

    kind = fields.String(load_default="out_invoice", validate=validate.OneOf(CUSTOMER_KINDS))
    contact_id = Id(required=True)
    lines = fields.List(
        fields.Nested(InvoiceLineSchema), load_default=list, validate=validate.Length(max=500)
    )
    post = fields.Boolean(load_default=False)


class BillCreateSchema(InvoiceCreateSchema):
    kind = fields.String(load_default="in_invoice", validate=validate.OneOf(VENDOR_KINDS))


class DocumentAllocationSchema(Strict):
    id = fields.Integer()
    date = fields.Date()
    amount = Amount()
    invoice_id = fields.Integer(metadata={"description": "the settled document"})
    payment_id = fields.Integer(allow_none=True)
    credit_note_id = fields.Integer(allow_none=True)


class InvoiceSummarySchema(Strict):
    id = fields.Integer()
    kind = fields.String()
    number = fields.String(allow_none=True)
    state = fields.String()
    contact_id = fields.Integer()
    contact_name = fields.String()
    date = fields.Date()
    due_date = fields.Date()
    reference = fields.String()
    currency = fields.String()
    untaxed_amount = Amount()
    tax_amount = Amount()
    total = Amount()
    residual = Amount()
    refund_of_id = fields.Integer(allow_none=True)


class InvoiceSchema(InvoiceSummarySchema):
    payment_term_id = fields.Integer(allow_none=True)
    notes = fields.String()
    entry_id = fields.Integer(allow_none=True)
    entry_number = fields.String(allow_none=True)
    posted_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    allocations = fields.List(fields.Nested(DocumentAllocationSchema))


class InvoiceQuery(ListQuery):
    state = fields.String(load_default=None, validate=validate.OneOf(INVOICE_STATES))
    contact_id = Id(load_default=None, strict=False)
    date_from = Day(load_default=None)
    date_to = Day(load_default=None)


class InvoicePage(Strict):
    items = fields.List(fields.Nested(InvoiceSummarySchema))
    next_cursor = fields.String(allow_none=True)


class CreditNoteRequest(Strict):
    date = Day(load_default=None)
    reason = Text(500, load_default="")
    post = fields.Boolean(load_default=False)


class ApplyCreditRequest(Strict):
    invoice_id = Id(required=True)
    amount = Amount(load_default=None, allow_none=True)


# --- payments -------------------------------------------------------------------------------------


class AllocationRequest(Strict):
    invoice_id = Id(required=True)
    amount = described(Amount(), {"description": "defaults to what is left to pay on the document"})


class PaymentCreateSchema(Strict):
    """Either ``allocations`` (the contact and direction follow from the documents) or
    ``contact_id``, ``partner_type`` and ``direction`` for a payment on account."""

    bank_journal = CodeOrId(required=True, metadata={"description": "a bank or cash journal's code or id"})
    date = Day()
    amount = described(Amount(), {"description": "defaults to the allocated total"})
    reference = Text(100)
    allocations = fields.List(fields.Nested(AllocationRequest), validate=validate.Length(max=500))
    contact_id = Id()
    partner_type = fields.String(validate=validate.OneOf(["customer", "vendor"]))
    direction = fields.String(validate=validate.OneOf(["inbound", "outbound"]))


class AllocateRequest(Strict):
    allocations = fields.List(
        fields.Nested(AllocationRequest), required=True, validate=validate.Length(min=1, max=500)
    )


class CancelRequest(Strict):
    date = Day(load_default=None, metadata={"description": "of the reversal; the payment's date by default"})


class PaymentAllocationSchema(Strict):
    id = fields.Integer()
    invoice_id = fields.Integer()
    invoice_number = fields.String(allow_none=True)
    date = fields.Date()
    amount = Amount()


class PaymentSummarySchema(Strict):
    id = fields.Integer()
    partner_type = fields.String()
    direction = fields.String()
    contact_id = fields.Integer()
    contact_name = fields.String()
    date = fields.Date()
    amount = Amount()
    bank_journal = fields.String(metadata={"description": "the journal's code"})
    reference = fields.String()
    state = fields.String()


class PaymentSchema(PaymentSummarySchema):
    entry_id = fields.Integer(allow_none=True)
    entry_number = fields.String(allow_none=True)
    allocated = Amount()
    unallocated = Amount()
    allocations = fields.List(fields.Nested(PaymentAllocationSchema))


class PaymentQuery(ListQuery):
    contact_id = Id(load_default=None, strict=False)
    partner_type = fields.String(load_default=None, validate=validate.OneOf(["customer", "vendor"]))


class PaymentPage(Strict):
    items = fields.List(fields.Nested(PaymentSummarySchema))
    next_cursor = fields.String(allow_none=True)


# --- reports --------------------------------------------------------------------------------------


class PeriodQuery(Strict):
    date_from = Day(load_default=None)
    date_to = Day(load_default=None)


class RequiredPeriodQuery(Strict):
    date_from = Day(required=True)
    date_to = Day(required=True)


class GeneralLedgerQuery(PeriodQuery):
    account = fields.String(required=True, validate=validate.Length(min=1, max=20))


class BalanceSheetQuery(Strict):
    date_to = Day(load_default=None, metadata={"description": "today by default"})
    date_from = Day(load_default=None, metadata={"description": "start of the period compared with"})


class AgedQuery(Strict):
    as_of = Day(load_default=None, metadata={"description": "today by default"})


class ReportTrialBalanceRowSchema(Strict):
    account = fields.String()
    name = fields.String()
    type = fields.String()
    debit = Amount()
    credit = Amount()
    balance = described(Amount(), {"description": "debit minus credit"})


class ReportTrialBalanceSchema(Strict):
    date_from = fields.Date(allow_none=True)
    date_to = fields.Date(allow_none=True)
    rows = fields.List(fields.Nested(ReportTrialBalanceRowSchema))
    total_debit = Amount()
    total_credit = Amount()


class GeneralLedgerAccountSchema(Strict):
    code = fields.String()
    name = fields.String()
    type = fields.String()


class GeneralLedgerLineSchema(Strict):
    date = fields.Date()
    number = fields.String()
    entry_id = fields.Integer()
    memo = fields.String()
    contact = fields.String()
    debit = Amount()
    credit = Amount()
    balance = described(Amount(), {"description": "running balance, debit minus credit"})


class GeneralLedgerSchema(Strict):
    account = fields.Nested(GeneralLedgerAccountSchema)
    date_from = fields.Date(allow_none=True)
    date_to = fields.Date(allow_none=True)
    opening = Amount()
    lines = fields.List(fields.Nested(GeneralLedgerLineSchema))
    total_debit = Amount()
    total_credit = Amount()
    closing = Amount()


class ReportRowSchema(Strict):
    code = fields.String(metadata={"description": "empty for computed rows (earnings)"})
    name = fields.String()
    amount = Amount()
    previous = described(Amount(), {"description": "the same figure for the previous period"})


class ReportSectionSchema(Strict):
    key = fields.String()
    title = fields.String()
    rows = fields.List(fields.Nested(ReportRowSchema))
    total = Amount()
    previous_total = Amount()


class ProfitAndLossSchema(Strict):
    date_from = fields.Date()
    date_to = fields.Date()
    previous_from = fields.Date()
    previous_to = fields.Date()
    income = fields.Nested(ReportSectionSchema)
    expenses = fields.Nested(ReportSectionSchema)
    net_profit = Amount()
    previous_net_profit = Amount()


class BalanceSheetSchema(Strict):
    date = fields.Date()
    previous_date = fields.Date()
    assets = fields.Nested(ReportSectionSchema)
    liabilities = fields.Nested(ReportSectionSchema)
    equity = fields.Nested(ReportSectionSchema)
    total_assets = Amount()
    previous_total_assets = Amount()
    liabilities_and_equity = Amount()
    previous_liabilities_and_equity = Amount()
    balanced = fields.Boolean()


class AgedRowSchema(Strict):
    contact_id = fields.Integer()
    contact = fields.String()
    amounts = fields.List(Amount(), metadata={"description": "one per bucket, in the order of buckets"})
    total = Amount()


class AgedSchema(Strict):
    side = fields.String()
    as_of = fields.Date()
    buckets = fields.List(fields.String(), metadata={"description": "days past due"})
    rows = fields.List(fields.Nested(AgedRowSchema))
    totals = fields.List(Amount())
    total = Amount()


# --- bank statements ------------------------------------------------------------------------------


class StatementImportSchema(Strict):
    bank_journal = CodeOrId(required=True, metadata={"description": "a bank or cash journal's code or id"})
    name = Text(200, load_default="")
    csv = fields.String(
        required=True,
        validate=validate.Length(max=1_500_000),
        metadata={"description": "rows of date,description,amount (a header row is optional)"},
    )


class SuggestionSchema(Strict):
    invoice_id = fields.Integer()
    number = fields.String(allow_none=True)
    contact = fields.String()
    residual = Amount()
    reason = fields.String(metadata={"description": "reference or amount"})


class StatementLineSchema(Strict):
    id = fields.Integer()
    date = fields.Date()
    description = fields.String()
    amount = described(Amount(), {"description": "positive: money in; negative: money out"})
    state = fields.String(metadata={"description": "open, matched or booked"})
    payment_id = fields.Integer(allow_none=True)
    entry_id = fields.Integer(allow_none=True)
    suggestions = fields.List(fields.Nested(SuggestionSchema))


class StatementSchema(Strict):
    id = fields.Integer()
    name = fields.String()
    bank_journal = fields.String()
    created_at = fields.DateTime()
    lines = fields.List(fields.Nested(StatementLineSchema))


class MatchRequest(Strict):
    invoice_id = Id(required=True)


class BookRequest(Strict):
    account = fields.String(required=True, validate=validate.Length(min=1, max=20))
    memo = Text(500, load_default="")


# --- lock date ------------------------------------------------------------------------------------


class LockDateSchema(Strict):
    lock_date = Day(
        required=True,
        allow_none=True,
        metadata={"description": "postings on or before it are refused; null unlocks"},
    )
